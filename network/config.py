"""Configuration classes: safe development defaults, read from the environment where it matters."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import click
from gunicorn.errors import AppImportError

Number = TypeVar("Number", int, float)

ROOT = Path(__file__).resolve().parent.parent


class ConfigurationError(click.ClickException, AppImportError, RuntimeError):
    """A setting is missing or wrong, so the app cannot start: one clear line, no traceback.

    `flask --app wsgi ...` prints a ClickException as `Error: <message>` (exit status 1), and
    gunicorn prints an AppImportError's message and stops ("App failed to load", exit status 4)
    instead of logging a traceback per worker."""


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_number(name: str, default: str, kind: Callable[[str], Number] = int) -> Number:
    """A numeric setting; a value that is not a number stops the start with one clear line."""
    value = os.environ.get(name, default)
    try:
        return kind(value)
    except ValueError:
        expected = "a whole number" if kind is int else "a number"
        raise ConfigurationError(f"{name} must be {expected}, not {value!r}.") from None


def default_base_url(environ: Mapping[str, str] = os.environ) -> str:
    """Development: where `make run` / `flask run` serves, so links in e-mails queued by periodic
    jobs (no request to take the host from) reach it: PORT, else FLASK_RUN_PORT, else 5000."""
    port = (environ.get("PORT") or environ.get("FLASK_RUN_PORT") or "").strip() or "5000"
    return f"http://127.0.0.1:{port}"


def _default_database_url() -> str:
    instance = Path(os.environ.get("INSTANCE_PATH", ROOT / "instance"))
    return f"sqlite:///{instance / 'redglobal.sqlite3'}"


class Config:
    """Development defaults. Every secret comes from the environment or the instance folder."""

    # None means: create_app reads (or creates once) instance/secret_key.
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or _default_database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    LANGUAGES = ("es", "en")
    BABEL_DEFAULT_LOCALE = "es"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).parent / "translations")

    BOOTSTRAP_SERVE_LOCAL = True

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    # Two limits on log-in: one per account (guessing one password) and one per address
    # (spraying many accounts from one place).
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per minute;20 per hour")
    LOGIN_LIMIT_PER_IP = os.environ.get("LOGIN_LIMIT_PER_IP", "30 per minute;200 per hour")
    # Registrations from one client address, and links e-mailed on request (password reset, a
    # new confirmation link) per client address and per recipient address.
    REGISTER_LIMIT_PER_IP = os.environ.get("REGISTER_LIMIT_PER_IP", "10 per hour")
    MAIL_LINK_LIMIT_PER_IP = os.environ.get("MAIL_LINK_LIMIT_PER_IP", "20 per hour")
    MAIL_LINK_LIMIT_PER_ADDRESS = os.environ.get("MAIL_LINK_LIMIT_PER_ADDRESS", "5 per hour")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")

    # argon2id; the library's defaults (~120 ms a hash on 2 cores) are right for production.
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4

    EMAIL_CONFIRM_MAX_AGE = int(timedelta(days=3).total_seconds())
    PASSWORD_RESET_MAX_AGE = int(timedelta(hours=1).total_seconds())
    INVITATION_MAX_AGE = int(timedelta(days=14).total_seconds())
    EVENTS_PAGE_SIZE = 20
    DIRECTORY_PAGE_SIZE = 24
    NEEDS_PAGE_SIZE = 20
    # Fair load: an expert has at most this many unanswered contact requests at a time, and
    # receives at most this many new ones in any 30 days; beyond that, organisations pick others.
    CONTACT_MAX_PENDING = _env_number("CONTACT_MAX_PENDING", "3")
    CONTACT_MAX_PER_30_DAYS = _env_number("CONTACT_MAX_PER_30_DAYS", "6")

    # Mail: every message is written to the outbox table first; the sender delivers it after
    # the commit. "console" prints, "smtp" delivers, "memory" keeps them for tests.
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "console")
    MAIL_FROM = os.environ.get("MAIL_FROM", "Red Global MX <no-reply@redglobal.mx>")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = _env_number("MAIL_PORT", "25")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_MAX_ATTEMPTS = 8
    # Where members write to IME, e.g. about a suspended account (empty: the e-mail names the
    # administrator who acted).
    IME_CONTACT_EMAIL = os.environ.get("IME_CONTACT_EMAIL", "")
    # Request bodies above this are refused with 413 (JSON API, CSV import, forms).
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    # How many reverse proxies (nginx: 1) sit in front and set X-Forwarded-For/-Proto/-Host;
    # 0 trusts none (a client could otherwise forge its address).
    TRUSTED_PROXIES = _env_number("TRUSTED_PROXIES", "0")
    # Where the site is served, for links in e-mails that periodic jobs queue (no request there).
    BASE_URL = os.environ.get("BASE_URL") or default_base_url()

    # "whoosh": an index on this machine's disk (one app server); "postgres": PostgreSQL full-text
    # search in the database itself, for several app servers (needs a PostgreSQL DATABASE_URL).
    SEARCH_BACKEND = os.environ.get("SEARCH_BACKEND", "whoosh")
    # Whoosh: "file": an index under SEARCH_INDEX_DIR (default instance/search_index); "ram" for tests.
    SEARCH_STORAGE = os.environ.get("SEARCH_STORAGE", "file")
    SEARCH_INDEX_DIR = os.environ.get("SEARCH_INDEX_DIR")
    SEARCH_PAGE_SIZE = 20
    SEARCH_TIME_BUDGET = _env_number("SEARCH_TIME_BUDGET", "0.8", float)  # seconds per query

    # /healthz turns "degraded" (still HTTP 200) once the oldest unsent e-mail is older than this.
    HEALTH_OUTBOX_MAX_AGE_MINUTES = _env_number("HEALTH_OUTBOX_MAX_AGE_MINUTES", "60")

    API_PAGE_SIZE = 50
    MEMBER_LIST_PAGE_SIZE = 50

    # Anonymous visitors' copies of these pages, per worker, dropped as soon as any data they
    # show changes (network/pagecache.py). An empty list turns the cache off.
    PAGE_CACHE_ENDPOINTS: tuple[str, ...] = tuple(
        name.strip()
        for name in os.environ.get(
            "PAGE_CACHE_ENDPOINTS", "chapters.home,members.directory,search.page"
        ).split(",")
        if name.strip()
    )
    PAGE_CACHE_MAX_ENTRIES = _env_number("PAGE_CACHE_MAX_ENTRIES", "256")
    # An upper bound on a copy's age: pages also show the time ("upcoming events"), which no
    # write changes. Data changes drop copies at once, whatever this says.
    PAGE_CACHE_SECONDS = _env_number("PAGE_CACHE_SECONDS", "60")
    # IME's whole-network dashboard figures, once data has changed, are served up to this many
    # seconds old (the page says when they are from), unless a change took someone out of a
    # count; `flask dashboard refresh` from cron keeps them fresh. 0: always recomputed.
    DASHBOARD_FIGURES_MAX_AGE = _env_number("DASHBOARD_FIGURES_MAX_AGE", "600")


class TestConfig(Config):
    """Fast and isolated: in-memory SQLite (or TEST_DATABASE_URL), cheap hashes, mail kept in memory."""

    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    WTF_CSRF_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    # Tests post many registrations and reset requests from one address; the tests of these
    # limits set their own.
    REGISTER_LIMIT_PER_IP = MAIL_LINK_LIMIT_PER_IP = MAIL_LINK_LIMIT_PER_ADDRESS = "1000 per hour"
    MAIL_SENDER = "memory"
    SEARCH_STORAGE = "ram"
    # Off, so tests see every render; tests/test_pagecache.py turns it on.
    PAGE_CACHE_ENDPOINTS: tuple[str, ...] = ()
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    ARGON2_PARALLELISM = 1


class ProductionConfig(Config):
    """Production: secure cookies, and a missing SECRET_KEY is an error rather than a surprise."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    # `flask demo seed` makes accounts with a password known from the code.
    DEMO_ALLOWED = False
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "smtp")
    # Mail carries sign-in links: STARTTLS (certificate verified) unless MAIL_USE_TLS=0 says the
    # server is on a trusted local socket.
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", True)


def config_from_environment() -> type[Config]:
    """Pick the configuration class named by REDGLOBAL_ENV (development unless it says production)."""
    if os.environ.get("REDGLOBAL_ENV", "development").lower() == "production":
        return ProductionConfig
    return Config
