"""Which language a response speaks.

A page: the account's setting, then the switcher's cookie, then the browser. The JSON API (no
sessions, no cookies): the request's `Accept-Language`, then the token's account, then the
default language, so that a client can ask per request and every part of a response agrees.
"""

from __future__ import annotations

from flask import current_app, g, has_request_context, request
from flask_login import current_user

LANGUAGE_COOKIE = "lang"
LANGUAGE_NAMES = {"es": "Español", "en": "English"}


def supported_languages() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def select_locale() -> str:
    languages = supported_languages()
    if not has_request_context():
        # The command line speaks the default language, English messages aside.
        return current_app.config.get("CLI_LANGUAGE", "en")
    if request.path.startswith("/api/v1/"):  # the JSON API; /api/docs is a page like any other
        return _api_locale(languages)
    if (
        getattr(current_user, "is_authenticated", False)
        and current_user.preferred_language in languages
    ):
        return current_user.preferred_language
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in languages:
        return cookie
    return request.accept_languages.best_match(languages, default=languages[0]) or languages[0]


def _api_locale(languages: tuple[str, ...]) -> str:
    """An API request's language. The token's account is on `g.api_user` once the API has read
    the token (it refreshes the cached locale then); before that, or without one, the default."""
    asked = request.accept_languages.best_match(languages)
    if asked:
        return asked
    user = g.get("api_user")
    if user is not None and user.preferred_language in languages:
        return user.preferred_language
    return current_app.config.get("BABEL_DEFAULT_LOCALE") or languages[0]
