"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from typing import Any

from flask import Flask, request, url_for
from flask_babel import format_date, format_datetime, format_decimal

from network.geo import country_name, current_language
from network.i18n import LANGUAGE_NAMES
from network.markup import render_markdown
from network.security import can_manage_chapter, is_ime_admin


def _url_for_other_page(page: int) -> str:
    args = dict(request.view_args or {})
    args.update(request.args.to_dict())
    args["page"] = page
    return url_for(request.endpoint or "chapters.home", **args)


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters.update(
        markdown=render_markdown,
        country=country_name,
        date=format_date,
        datetime=format_datetime,
        number=format_decimal,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "current_language": current_language(),
            "language_names": LANGUAGE_NAMES,
            "is_ime_admin": is_ime_admin,
            "can_manage_chapter": can_manage_chapter,
            "url_for_other_page": _url_for_other_page,
        }
