"""Pages of a list, one way for every resource: `page` and `per_page` in the query, and the items
with `page`, `per_page`, `total` and `pages` in the body."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import current_app
from flask_sqlalchemy.pagination import Pagination
from marshmallow import fields

from network.api.schemas.fields import Query, QueryInteger, Response


def default_page_size() -> int:
    """The deployment's page size (API_PAGE_SIZE), when a caller does not ask for one."""
    return current_app.config["API_PAGE_SIZE"]


class PageArgs(Query):
    """The query parameters of a list: the page, and the items per page."""

    page = QueryInteger(
        1, 100_000, load_default=1, metadata={"description": "Page number, from 1."}
    )
    per_page = QueryInteger(
        1, 100, load_default=default_page_size, metadata={"description": "Items per page."}
    )


@cache
def page_of(item: type[Response]) -> type[Response]:
    """The schema of a page of `item`s; shown in place in the document ("page of ...")."""
    return type(
        f"{item.__name__}Page",
        (Response,),
        {
            "inline": True,
            "items": fields.List(fields.Nested(item), required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
            "total": fields.Integer(required=True),
            "pages": fields.Integer(required=True),
        },
    )


def page_body(pagination: Pagination, items: list[Any]) -> dict[str, Any]:
    """A page's body: its (already shaped) items, where it is, and how many there are."""
    return {
        "items": items,
        "page": pagination.page,
        "per_page": pagination.per_page,
        "total": pagination.total or 0,
        "pages": pagination.pages,
    }
