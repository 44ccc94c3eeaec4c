"""Which language a page speaks: the account's setting, then the switcher's cookie, then the browser."""

from __future__ import annotations

from flask import current_app, has_request_context, request
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
    if (
        getattr(current_user, "is_authenticated", False)
        and current_user.preferred_language in languages
    ):
        return current_user.preferred_language
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in languages:
        return cookie
    return request.accept_languages.best_match(languages, default=languages[0]) or languages[0]
