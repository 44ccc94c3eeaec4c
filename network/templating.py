"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from typing import Any

from flask import Flask, request, url_for
from flask_babel import format_date, format_datetime, format_decimal
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

from network.geo import country_name, current_language
from network.i18n import LANGUAGE_NAMES
from network.markup import render_markdown
from network.security import can_manage_chapter, is_ime_admin, is_verified_organisation_user


def _url_for_other_page(page: int) -> str:
    args = dict(request.view_args or {})
    args.update(request.args.to_dict())
    args["page"] = page
    return url_for(request.endpoint or "chapters.home", **args)


class _ProcessBytecodeCache(BytecodeCache):
    """Compiled templates shared by every app of the process. Jinja keys each entry by the
    template's name and a checksum of its source, so an edited template is compiled again.
    It matters for the test suite, which builds a fresh app per test: without it every test
    compiled every template it rendered again (about half of a page test's time)."""

    def __init__(self) -> None:
        self._store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._store[bucket.key] = bucket.bytecode_to_string()


_BYTECODE_CACHE = _ProcessBytecodeCache()


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.bytecode_cache = _BYTECODE_CACHE
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
            "is_verified_organisation_user": is_verified_organisation_user,
            "url_for_other_page": _url_for_other_page,
        }
