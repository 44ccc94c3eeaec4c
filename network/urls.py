"""Absolute links that work with or without a request: e-mails, feeds, API bodies, CLI commands.

Flask's `external_url(...)` needs a request (or `SERVER_NAME`) to know the host, so a
service that queues an e-mail crashed when the same service ran from `flask members import` or a
cron job. Every absolute link is built here instead: from the request's own host when a request
is being served (so a site reached through a proxy or another port links back to itself), else
from `BASE_URL`, the setting that says where the site is served.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request, url_for


def base_url() -> str:
    """Where the site is served, without a trailing slash: the request's host, else BASE_URL."""
    if has_request_context():
        return request.host_url.rstrip("/")
    return str(current_app.config["BASE_URL"]).rstrip("/")


def external_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of `endpoint`, in a request, a CLI command or a periodic job alike."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    current_app.inject_url_defaults(endpoint, values)
    parts = urlsplit(base_url())
    adapter = current_app.url_map.bind(
        parts.netloc,
        script_name=parts.path or "/",
        url_scheme=parts.scheme or "http",
    )
    return adapter.build(endpoint, values, force_external=True)
