"""App-wide behaviour: security headers, cookies, error pages, configuration, languages."""

from __future__ import annotations

import os

import pytest
from babel.messages.pofile import read_po

from network import create_app
from network.config import ROOT, ProductionConfig, TestConfig
from tests.conftest import login


def test_security_headers_on_pages(client, network):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "<script>" not in response.get_data(as_text=True), "no inline scripts"


def test_session_cookie_flags(client, make_user):
    make_user(email="ana@ejemplo.mx")
    response = client.post(
        "/login", data={"email": "ana@ejemplo.mx", "password": "una contraseña larga 2026"}
    )
    session = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in session and "SameSite=Lax" in session
    assert "Secure" not in session


def test_production_cookies_are_secure_and_need_a_secret(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)

    class NoSecret(ProductionConfig):
        SECRET_KEY = None
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        SEARCH_BACKEND = "whoosh"  # a SQLite database searches with Whoosh

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(NoSecret)

    class WithSecret(NoSecret):
        SECRET_KEY = "x" * 40

    app = create_app(WithSecret)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


def test_production_sends_mail_over_tls_unless_told_otherwise(monkeypatch):
    """Mail carries sign-in links: production speaks STARTTLS to the mail server by default."""
    import importlib

    import network.config

    monkeypatch.delenv("MAIL_USE_TLS", raising=False)
    config = importlib.reload(network.config)
    assert config.ProductionConfig.MAIL_USE_TLS is True
    assert config.Config.MAIL_USE_TLS is False  # development mail goes to the console
    monkeypatch.setenv("MAIL_USE_TLS", "0")  # a server on a trusted local socket
    assert importlib.reload(network.config).ProductionConfig.MAIL_USE_TLS is False
    monkeypatch.undo()
    importlib.reload(network.config)


def test_development_secret_is_generated_once_into_the_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))

    class Dev(TestConfig):
        SECRET_KEY = None

    first = create_app(Dev).config["SECRET_KEY"]
    second = create_app(Dev).config["SECRET_KEY"]
    assert first == second == (tmp_path / "secret_key").read_text().strip()
    assert len(first) >= 40
    assert first not in (ROOT / "network" / "config.py").read_text()


def test_sqlite_runs_with_wal_busy_timeout_and_foreign_keys(tmp_path):
    from sqlalchemy import text

    from network.extensions import db

    class FileDb(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'x.sqlite3'}"
        SEARCH_BACKEND = "whoosh"  # a SQLite database searches with Whoosh

    app = create_app(FileDb)
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 5000
        db.session.remove()
        db.engine.dispose()


def test_server_errors_show_a_friendly_page_and_json_on_the_api(app):
    @app.route("/boom")
    def boom():
        raise RuntimeError("kaboom")

    @app.route("/api/v1/boom")
    def api_boom():
        raise RuntimeError("kaboom")

    client = app.test_client()
    page = client.get("/boom")
    assert page.status_code == 500
    assert "Algo salió mal" in page.get_data(as_text=True)
    assert "kaboom" not in page.get_data(as_text=True)
    english = client.get("/boom", headers={"Accept-Language": "en"})
    assert "Something went wrong" in english.get_data(as_text=True)
    api = client.get("/api/v1/boom")
    assert api.status_code == 500 and api.is_json and "kaboom" not in api.get_data(as_text=True)


def test_403_page_in_both_languages(app, network):
    client = login(app.test_client(), network.member)
    spanish = client.get("/admin/")
    assert spanish.status_code == 403 and "Acceso denegado" in spanish.get_data(as_text=True)
    client.post("/language", data={"language": "en", "next": "/"})
    english = client.get("/admin/")
    assert "Access denied" in english.get_data(as_text=True)


def test_csrf_is_required_on_forms(app, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    make_user(email="ana@ejemplo.mx")
    response = client.post(
        "/login", data={"email": "ana@ejemplo.mx", "password": "una contraseña larga 2026"}
    )
    assert response.status_code == 400
    assert "Este formulario caducó" in response.get_data(as_text=True)


class TestLanguage:
    def test_spanish_by_default(self, client, network):
        page = client.get("/").get_data(as_text=True)
        assert '<html lang="es">' in page and "Únete a la red" in page

    def test_browser_language_is_honoured(self, client, network):
        page = client.get("/", headers={"Accept-Language": "en-US,en;q=0.8"}).get_data(as_text=True)
        assert '<html lang="en">' in page and "Join the network" in page

    def test_switcher_cookie_beats_the_browser(self, client, network):
        response = client.post("/language", data={"language": "en", "next": "/regions"})
        assert response.headers["Location"] == "/regions"
        page = client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
        assert '<html lang="en">' in page

    def test_account_setting_beats_the_cookie_and_the_switcher_updates_it(self, app, network):
        client = login(app.test_client(), network.member)  # prefers Spanish
        client.set_cookie("lang", "en")
        assert '<html lang="es">' in client.get("/").get_data(as_text=True)
        client.post("/language", data={"language": "en"})
        assert '<html lang="en">' in client.get("/").get_data(as_text=True)

    def test_unknown_language_is_ignored(self, client, network):
        client.post("/language", data={"language": "fr", "next": "//evil.example"})
        assert '<html lang="es">' in client.get("/").get_data(as_text=True)


def test_every_message_has_a_spanish_translation():
    with open(ROOT / "network/translations/es/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    missing = [
        m.id for m in catalog if m.id and not (all(m.string) if m.pluralizable else m.string)
    ]
    assert missing == []
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert fuzzy == []


def test_catalogue_template_is_up_to_date():
    """Every string marked in the code is in the template the catalogues come from."""
    from babel.messages.extract import extract_from_dir

    with open(ROOT / "network/translations/messages.pot", "rb") as handle:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    method_map = [
        ("network/**.py", "python"),
        ("chapters/**.py", "python"),
        ("search/**.py", "python"),
        ("templates/**.html", "jinja2"),
        ("templates/**.txt", "jinja2"),
    ]
    keywords = {"_": None, "_l": None, "lazy_gettext": None, "gettext": None, "ngettext": (1, 2)}
    found = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT),
            method_map,
            keywords=keywords,
            # Babel skips folders starting with "_" by default; our partials live in them.
            directory_filter=lambda path: not os.path.basename(path).startswith("."),
        )
    }
    assert found - template == set(), "run `make extract-messages` and translate"


def test_behind_a_trusted_proxy_the_client_address_is_the_real_one():
    """With nginx in front (TRUSTED_PROXIES=1), per-address limits see each visitor, not nginx;
    without it, a forged X-Forwarded-For is ignored."""
    from flask import request

    from network import create_app
    from network.config import TestConfig

    class BehindNginx(TestConfig):
        TRUSTED_PROXIES = 1

    for config, expected in ((BehindNginx, "203.0.113.7"), (TestConfig, "127.0.0.1")):
        app = create_app(config)
        app.add_url_rule("/_address", "address", lambda: request.remote_addr or "")
        answer = app.test_client().get(
            "/_address",
            headers={"X-Forwarded-For": "203.0.113.7"},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )
        assert answer.get_data(as_text=True) == expected


def test_oversized_bodies_are_refused_before_reading(client):
    assert client.post("/login", data={"email": "a" * (8 * 1024 * 1024 + 1)}).status_code == 413


def test_nul_characters_never_reach_the_database(client):
    """Found by fuzzing on PostgreSQL, which cannot store NUL in text: a filter holding one was
    a database error (500) deep in a query. Query strings drop it; form and JSON bodies holding
    one are refused with a clear 400."""
    for path in ("/members?q=a%00b", "/events?q=%00", "/needs?sector=%00", "/search?q=%00"):
        assert client.get(path).status_code == 200, path
    assert client.post("/login", data={"email": "a\x00@b.mx", "password": "x"}).status_code == 400
    api = client.post(
        "/api/v1/needs", data='{"title": "a\\u0000b"}', content_type="application/json"
    )
    assert api.status_code == 400 and "NUL" in api.get_json()["error"]["message"]
