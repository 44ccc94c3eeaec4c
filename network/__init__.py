"""Red Global MX: create_app and the short list of things it registers.

The factory imports the domains inside its functions, and that is the one real import cycle
left on purpose: every module of `network.*` runs this package first, so a domain module
imported from here at the top (`chapters.models` -> `network.db` -> `network` -> `chapters.models`)
would be half-initialised. Ruff's import-outside-top-level rule is waived for this file alone.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from network.config import ROOT, Config, ConfigurationError, config_from_environment
from network.extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate


def create_app(config: type[Config] | Mapping[str, Any] | None = None) -> Flask:
    """Build the app. `config` is a Config class, or a mapping of overrides on the environment's."""
    app = Flask(
        "network",
        instance_path=os.environ.get("INSTANCE_PATH", str(ROOT / "instance")),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    register_config(app, config)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_template_helpers(app)
    register_cli(app)
    register_page_cache(app)
    return app


def register_config(app: Flask, config: type[Config] | Mapping[str, Any] | None) -> None:
    if config is None or isinstance(config, Mapping):
        app.config.from_object(config_from_environment())
        app.config.update(config or {})
    else:
        app.config.from_object(config)
    if not app.config.get("SECRET_KEY"):
        if app.config.get("SESSION_COOKIE_SECURE"):
            raise ConfigurationError(
                "SECRET_KEY is not set: production needs a long random value in the environment "
                "(e.g. from: python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        app.config["SECRET_KEY"] = _instance_secret_key(Path(app.instance_path))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config.get("TRUSTED_PROXIES"):
        # Behind nginx every request comes from 127.0.0.1: trust that many proxies' X-Forwarded-*
        # headers, so per-address log-in limits and https links see the real client.
        count = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]


def _instance_secret_key(instance: Path) -> str:
    """Development: a random key made once and kept in the instance folder (never in the code)."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _import_models() -> None:
    """Import every model module, so the metadata is complete for create_all and Alembic.

    The app factory is the one place that names every domain (it registers their blueprints
    too); the core (`network.db` and friends) names none, which `make lint` checks."""
    import chapters.models  # noqa: F401
    import network.audit
    import network.auth.models
    import network.dashboard.models
    import network.events.models
    import network.mentoring.models
    import network.needs.models
    import network.organisations.models
    import network.outbox
    import network.pagecache  # noqa: F401
    import search.models  # noqa: F401


def register_extensions(app: Flask) -> None:
    from network.auth.services import load_user_from_session
    from network.i18n import select_locale
    from network.outbox import register_outbox
    from network.security import register_security_headers
    from search.indexer import register_indexer

    _import_models()
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
        elif db.engine.dialect.name == "postgresql":
            event.listen(db.engine, "connect", _postgresql_utc)
    migrate.init_app(
        app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True
    )
    babel.init_app(app, locale_selector=select_locale)
    bootstrap.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user_from_session)
    login_manager.unauthorized_handler(_unauthorized)
    register_outbox(app)
    register_indexer(app)
    register_security_headers(app)


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL lets readers and one writer work together; the busy timeout makes writers wait
    instead of failing with "database is locked"; SQLite leaves foreign keys off by default."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _postgresql_utc(dbapi_connection: Any, connection_record: Any) -> None:
    """Sessions in UTC, whatever the server's TimeZone: the dashboard groups timestamps by
    calendar month with EXTRACT, which PostgreSQL evaluates in the session's time zone."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    dbapi_connection.commit()


def _unauthorized():
    from flask import abort, flash, redirect, request, url_for
    from flask_babel import gettext as _

    from network.errors import wants_json

    if wants_json():
        abort(401)
    flash(_("Please sign in to continue."), "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _digits_up_to(limit: int) -> str:
    """A regular expression for the decimal numbers from 0 to `limit` (leading zeros allowed up
    to `limit`'s width), so that a larger number does not match at all."""
    digits = str(limit)
    options = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        if digit != "0":
            rest = len(digits) - i - 1
            lower = "0" if digit == "1" else f"[0-{int(digit) - 1}]"
            options.append(digits[:i] + lower + (rf"\d{{{rest}}}" if rest else ""))
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


class BoundedInt(IntegerConverter):
    """`<int:...>` in URLs stops at 2**31 - 1: a larger id is a 404, not an overflow in the
    database driver (SQLite refuses integers beyond 64 bits with an error, hence a 500).

    The bound is in the regular expression, not only in `max`: werkzeug checks `max` after it has
    picked a rule by method, so a rule of another method for the same path turned an out-of-range
    id into a 405 naming the wrong methods."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)
        if self.max is not None and not self.signed and not self.fixed_digits:
            self.regex = _digits_up_to(self.max)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedInt
    from chapters import bp as chapters_bp
    from chapters import views as _chapters_views  # noqa: F401  (routes attach to bp)
    from network.admin import accounts as _admin_accounts  # noqa: F401
    from network.admin import bp as admin_bp
    from network.admin import chapters as _admin_chapters  # noqa: F401
    from network.admin import views as _admin_views  # noqa: F401
    from network.admin import vocabulary as _admin_vocabulary  # noqa: F401
    from network.api import register_api
    from network.api.docs import docs_bp as api_docs_bp
    from network.auth import bp as auth_bp
    from network.auth import views as _auth_views  # noqa: F401
    from network.dashboard import bp as dashboard_bp
    from network.dashboard import views as _dashboard_views  # noqa: F401
    from network.events import bp as events_bp
    from network.events import views as _events_views  # noqa: F401
    from network.health import bp as health_bp
    from network.members import bp as members_bp
    from network.members import views as _members_views  # noqa: F401
    from network.mentoring import bp as mentoring_bp
    from network.mentoring import views as _mentoring_views  # noqa: F401
    from network.needs import bp as needs_bp
    from network.needs import views as _needs_views  # noqa: F401
    from network.organisations.views import bp as organisations_bp
    from search import bp as search_bp
    from search import views as _search_views  # noqa: F401

    app.register_blueprint(chapters_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(members_bp)
    app.register_blueprint(events_bp)
    app.register_blueprint(needs_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(mentoring_bp)
    app.register_blueprint(organisations_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(admin_bp)
    register_api(app)
    app.register_blueprint(api_docs_bp)
    app.register_blueprint(health_bp)


def register_error_handlers(app: Flask) -> None:
    from network.errors import register_error_handlers as register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from network.templating import register_template_helpers as register

    register(app)


def register_cli(app: Flask) -> None:
    from network.cli import register_cli as register

    register(app)


def register_page_cache(app: Flask) -> None:
    # Last: its after_request then runs first, on the headers the view made.
    from network.pagecache import register_page_cache as register

    register(app)
