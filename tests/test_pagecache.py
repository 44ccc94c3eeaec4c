"""The page cache for anonymous visitors (network/pagecache.py): many visits, one render, and
never a stale, hidden or signed-in page."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, flash, make_response, render_template_string, template_rendered
from flask.testing import FlaskClient
from sqlalchemy import select, update

from network import pagecache as pagecache_module
from network.config import TestConfig
from network.extensions import db
from network.forms import ActionForm
from network.members.models import Profile
from network.pagecache import PageCache, read_generation
from network.signals import index_written
from tests.conftest import PASSWORD, app_for, bearer, login
from tests.members.test_profile import FORM

CACHED = ("chapters.home", "members.directory", "search.page")
TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


class CachedConfig(TestConfig):
    PAGE_CACHE_ENDPOINTS = CACHED
    PAGE_CACHE_MAX_ENTRIES = 50
    PAGE_CACHE_SECONDS = 60


@pytest.fixture
def app(request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The suite's app with the page cache on; `parametrize("app", [{...}], indirect=True)`
    changes settings."""
    yield from app_for(type("Config", (CachedConfig,), dict(getattr(request, "param", {}))))


@pytest.fixture
def renders(app: Flask) -> Iterator[list[str]]:
    """The templates rendered (one per page: includes are not counted)."""
    names: list[str] = []

    def record(sender: Flask, template: Any, context: dict[str, Any], **extra: Any) -> None:
        names.append(template.name)

    template_rendered.connect(record, app)
    yield names
    template_rendered.disconnect(record, app)


@pytest.fixture
def ana(make_member, vocabulary):
    """A member whose name, headline and expertise anyone may see."""
    return make_member(
        {
            "expertise": "hydrology",
            "expertise_visibility": "public",
            "name_public": True,
            "headline": "Hidróloga en Tucson",
            "headline_visibility": "public",
        },
        full_name="Ana Pública",
    )


def cache(app: Flask) -> PageCache:
    return app.extensions["pagecache"]


def text(response: Any) -> str:
    """The page without its CSRF tokens, which are each visitor's own."""
    return TOKEN.sub('name="csrf_token" value=""', response.get_data(as_text=True))


def generation(app: Flask) -> int:
    with app.app_context():
        value = read_generation()
    assert value is not None
    return value


def edit_profile(client: FlaskClient, **changes: str) -> None:
    """The member's own edit form, as they send it (everything public unless changed)."""
    data = {
        **FORM,
        "full_name": "Ana Pública",
        "name_public": "y",
        "city": "Tucson",
        "headline": "Hidróloga en Tucson",
        "expertise": "hydrology",
        **{name: "public" for name in FORM if name.endswith("_visibility")},
        **changes,
    }
    response = client.post("/members/me/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


@pytest.mark.parametrize("path", ["/", "/members", "/search?q=hydrology"])
def test_an_anonymous_page_is_rendered_once_for_many_visits(app, ana, renders, count_queries, path):
    visitor = app.test_client()
    first = visitor.get(path)
    assert first.status_code == 200 and len(renders) == 1
    with count_queries() as queries:
        again = visitor.get(path)
        newcomer = app.test_client().get(path)
    assert len(renders) == 1, "the kept copy is served, not rendered again"
    assert queries.count == 2, "one query per visit: the data generation"
    assert text(again) == text(first) == text(newcomer)
    assert path == "/" or "Ana Pública" in text(first)
    assert again.headers["Cache-Control"] == "private, no-store", "no shared cache downstream"


def test_a_field_the_member_hides_leaves_the_next_anonymous_pages(app, ana, renders):
    visitor = app.test_client()
    for path in ("/members", "/search?q=tucson"):
        assert "Hidróloga en Tucson" in text(visitor.get(path))
        assert "Hidróloga en Tucson" in text(visitor.get(path))
    assert len(renders) == 2, "both pages were kept"
    member = login(app.test_client(), ana)
    edit_profile(member, headline_visibility="members", city_visibility="private")
    directory = text(visitor.get("/members"))
    assert "Ana Pública" in directory, "her name is still public"
    assert "Hidróloga en Tucson" not in directory
    search = text(visitor.get("/search?q=tucson"))
    assert "Ana Pública" not in search, "a hidden field no longer matches"
    assert "Hidróloga en Tucson" not in search


def test_a_member_who_leaves_public_view_leaves_the_anonymous_pages(app, ana):
    visitor = app.test_client()
    assert "Ana Pública" in text(visitor.get("/members"))
    assert "Ana Pública" in text(visitor.get("/search?q=hydrology"))
    login(app.test_client(), ana).post("/members/me/visibility", data={"preset": "members"})
    assert "Ana Pública" not in text(visitor.get("/members"))
    assert "Ana Pública" not in text(visitor.get("/search?q=hydrology"))


def test_a_new_headline_shows_on_the_next_anonymous_pages(app, ana, renders):
    visitor = app.test_client()
    for _ in range(2):
        visitor.get("/members")
        visitor.get("/search?q=hydrology")
    edit_profile(login(app.test_client(), ana), headline="Hidrogeóloga en Phoenix")
    for path in ("/members", "/search?q=hydrology"):
        page = text(visitor.get(path))
        assert "Hidrogeóloga en Phoenix" in page and "Hidróloga en Tucson" not in page


def test_a_search_page_rendered_before_the_index_has_the_change_is_not_kept(app, ana, monkeypatch):
    """The index is written after the commit: a visitor in between sees the new generation with
    the old index. That page must not outlive the index write."""
    visitor = app.test_client()
    assert "Ana Pública" in text(visitor.get("/search?q=tucson"))
    index = app.extensions["search_index"]
    write = index.write
    before = generation(app)
    in_between: list[tuple[int, str]] = []

    def visit() -> None:
        in_between.append((generation(app), text(app.test_client().get("/search?q=tucson"))))

    def write_after_a_visit(updates: Any, deletions: Any) -> None:
        # Another visitor's request: its own thread, so its own app context and session.
        other = threading.Thread(target=visit)
        other.start()
        other.join()
        write(updates, deletions)

    monkeypatch.setattr(index, "write", write_after_a_visit)
    edit_profile(login(app.test_client(), ana), headline="Hidrogeóloga en Phoenix", city="Phoenix")
    [(seen, page)] = in_between
    assert seen > before, "the generation changed with the commit, before the index write"
    assert "Ana Pública" in page, "the old index still matched her in that moment"
    assert "Ana Pública" not in text(visitor.get("/search?q=tucson"))
    assert "Ana Pública" not in text(app.test_client().get("/search?q=tucson"))


def test_signed_in_pages_are_never_served_from_or_kept_in_the_cache(app, ana, make_member, renders):
    make_member({"headline": "Solo para la red"}, full_name="Berta Reservada")  # name not public
    member = login(app.test_client(), ana)
    for expected in (1, 2):
        page = text(member.get("/members"))
        assert len(renders) == expected, "a signed-in page is rendered every time"
        assert "Berta Reservada" in page and 'id="account-menu"' in page
    assert len(cache(app)) == 0
    visitor = app.test_client()
    for expected in (3, 3):
        page = text(visitor.get("/members"))
        assert len(renders) == expected
        assert "Berta Reservada" not in page and 'id="account-menu"' not in page
    page = text(member.get("/members"))
    assert len(renders) == 4 and "Berta Reservada" in page, "nor is the anonymous copy theirs"


def test_a_token_holder_or_a_remembered_session_is_not_anonymous(app, ana, renders):
    visitor = app.test_client()
    visitor.get("/members")
    visitor.get("/members", headers=bearer(app, ana))
    assert len(renders) == 2, "a request with credentials is rendered for itself"
    remembered = app.test_client()
    remembered.post("/login", data={"email": ana.email, "password": PASSWORD, "remember": "y"})
    remembered.delete_cookie("session")  # the browser was closed; "remember me" signs in again
    page = text(remembered.get("/members"))
    assert len(renders) == 3 and 'id="account-menu"' in page


def test_language_and_time_zone_each_have_their_own_copy(app, ana, renders):
    visitor = app.test_client()
    spanish = text(visitor.get("/members", headers={"Accept-Language": "es"}))
    english = text(visitor.get("/members", headers={"Accept-Language": "en"}))
    assert len(renders) == 2
    assert '<html lang="es">' in spanish and '<html lang="en">' in english
    visitor.set_cookie("lang", "en")  # the switcher's choice outweighs the browser's
    assert text(visitor.get("/members", headers={"Accept-Language": "es"})) == english
    assert len(renders) == 2
    visitor.set_cookie("tz", "America/Mexico_City")
    visitor.get("/members", headers={"Accept-Language": "es"})
    assert len(renders) == 3, "a time zone is a page of its own (event times)"
    visitor.set_cookie("tz", "Not/AZone")
    visitor.get("/members", headers={"Accept-Language": "es"})
    assert len(renders) == 3, "an unknown zone is no zone: the English copy"
    visitor.get("/members?page=2", headers={"Accept-Language": "es"})
    assert len(renders) == 4, "the query string is part of the key"


def test_a_session_with_flashed_messages_gets_its_own_page_and_it_is_not_kept(app, renders):
    visitor = app.test_client()
    english = {"Accept-Language": "en"}
    visitor.get("/", headers=english)
    visitor.post("/logout", headers=english)  # not signed in, still told so
    assert "You have signed out." in text(visitor.get("/", headers=english))
    assert len(renders) == 2
    assert "You have signed out." not in text(app.test_client().get("/", headers=english))
    assert "You have signed out." not in text(visitor.get("/", headers=english))
    assert len(renders) == 2


@pytest.mark.parametrize("app", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_each_visitor_gets_a_working_csrf_token_of_their_own_from_one_copy(app, renders):
    first, second = app.test_client(), app.test_client()
    [mine] = TOKEN.findall(first.get("/members").get_data(as_text=True))
    [theirs] = TOKEN.findall(second.get("/members").get_data(as_text=True))
    assert len(renders) == 1
    assert mine and theirs and mine != theirs
    [entry] = cache(app)._entries.values()
    assert cache(app).placeholder.encode() in entry.body
    assert mine.encode() not in entry.body and theirs.encode() not in entry.body
    refused = first.post("/language", data={"csrf_token": theirs, "language": "en"})
    assert "lang=" not in refused.headers.get("Set-Cookie", ""), "another session's token fails"
    switched = second.post(
        "/language", data={"csrf_token": theirs, "language": "en", "next": "/members"}
    )
    assert switched.status_code == 302 and "lang=en" in switched.headers["Set-Cookie"]
    assert '<html lang="en">' in text(second.get("/members"))


@pytest.mark.parametrize("app", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_pages_that_set_cookies_flash_fail_or_hold_a_real_token_are_not_kept(app):
    calls: dict[str, int] = {}

    def view(name: str) -> Any:
        def respond() -> Any:
            calls[name] = calls.get(name, 0) + 1
            if name == "cookie":
                response = make_response("a page")
                response.set_cookie("seen", "1")
                return response
            if name == "flashed":
                flash("Hola")
                return "a page"
            if name == "created":
                return "a page", 201
            if name == "form":
                return render_template_string("{{ form.hidden_tag() }}", form=ActionForm())
            return "a page"

        return respond

    names = ("plain", "cookie", "flashed", "created", "form")
    for name in names:
        app.add_url_rule(f"/odd/{name}", f"odd_{name}", view(name))
    cache(app).endpoints = frozenset({*CACHED, *(f"odd_{name}" for name in names)})
    for name in names:
        for _ in range(2):
            app.test_client().get(f"/odd/{name}")
    assert calls == {"plain": 1, "cookie": 2, "flashed": 2, "created": 2, "form": 2}


@pytest.mark.parametrize("app", [{"PAGE_CACHE_MAX_ENTRIES": 2}], indirect=True)
def test_the_cache_is_bounded_and_drops_the_least_recently_used(app, renders):
    visitor = app.test_client()
    for path in ("/", "/members", "/search?q=agua"):
        visitor.get(path)
    assert len(cache(app)) == 2 and len(renders) == 3
    visitor.get("/members")
    visitor.get("/search?q=agua")
    assert len(renders) == 3
    visitor.get("/")
    assert len(renders) == 4, "the oldest one had been dropped"
    assert len(cache(app)) == 2


def test_a_copy_lives_at_most_page_cache_seconds(app, renders, monkeypatch):
    visitor = app.test_client()
    visitor.get("/")
    visitor.get("/")
    assert len(renders) == 1
    now = pagecache_module.time.monotonic()
    monkeypatch.setattr(pagecache_module.time, "monotonic", lambda: now + 61)
    visitor.get("/")
    assert len(renders) == 2, "upcoming events and dates move on without a write"


def test_only_writes_that_pages_show_change_the_generation(app, ana, renders):
    visitor = app.test_client()
    visitor.get("/members")
    start = generation(app)
    # Signing in writes last_login_at (and may rehash the password); no page shows either.
    response = app.test_client().post("/login", data={"email": ana.email, "password": PASSWORD})
    assert response.status_code == 302
    bearer(app, ana)  # an API token
    with app.app_context():
        profile = db.session.scalar(select(Profile).where(Profile.user_id == ana.id))
        profile.headline = "Nunca guardado"
        db.session.flush()
        db.session.rollback()
    assert generation(app) == start
    visitor.get("/members")
    assert len(renders) == 1, "the copy survived"
    with app.app_context():  # a bulk statement bypasses the flush, and still counts
        db.session.execute(update(Profile).values(headline="Hidróloga en Yuma"))
        db.session.commit()
    assert generation(app) > start
    assert "Hidróloga en Yuma" in text(visitor.get("/members"))
    assert len(renders) == 2


@pytest.mark.parametrize("app", [{"DEBUG": True}], indirect=True)
def test_the_debugger_sees_every_render(app, renders):
    visitor = app.test_client()
    visitor.get("/")
    visitor.get("/")
    assert len(renders) == 2 and "pagecache" not in app.extensions


@pytest.mark.parametrize("app", [{"SEARCH_TIME_BUDGET": 0.5}], indirect=True)
def test_a_search_that_ran_out_of_time_is_not_kept(app, ana, renders, monkeypatch):
    """A search out of time answers with what it found so far (or says it was too slow): that
    answer must not be what every later visitor gets."""
    import search.views
    from search.queries import mark_incomplete

    real = search.views.search

    def out_of_time(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        mark_incomplete()  # what the backends do when the budget runs out
        return result

    visitor = app.test_client()
    with monkeypatch.context() as patch:
        patch.setattr(search.views, "search", out_of_time)
        visitor.get("/search?q=hydrology")
        visitor.get("/search?q=hydrology")
    assert len(renders) == 2, "the partial page was rendered for each visit"
    visitor.get("/search?q=hydrology")
    visitor.get("/search?q=hydrology")
    assert len(renders) == 3, "a complete page is kept"


@pytest.mark.parametrize("command", [["search", "reindex"], ["search", "reindex", "--pending"]])
def test_index_writes_from_the_command_line_drop_the_kept_search_pages(app, ana, renders, command):
    visitor = app.test_client()
    visitor.get("/search?q=tucson")
    visitor.get("/search?q=tucson")
    assert len(renders) == 1
    if command[-1] == "--pending":  # a change an earlier write could not apply
        from search.models import SearchPending

        with app.app_context():
            db.session.add(SearchPending(key=f"member:{ana.id}", attempts=1))
            db.session.commit()  # no page shows this table: the copy stays
        visitor.get("/search?q=tucson")
        assert len(renders) == 1
    result = app.test_cli_runner().invoke(args=command)
    assert result.exit_code == 0, result.output
    visitor.get("/search?q=tucson")
    assert len(renders) == 2, "the index changed: rendered again"


def test_an_announced_index_write_drops_the_kept_pages(app, ana, renders):
    """The cache listens for `index_written`: whatever writes the index (a backend, the indexer,
    a command) only announces it, and need not know any cache exists."""
    visitor = app.test_client()
    visitor.get("/search?q=tucson")
    visitor.get("/search?q=tucson")
    assert len(renders) == 1
    with app.app_context():
        before = read_generation()
        index_written.send(app.extensions["search_index"], keys=[f"member:{ana.id}"])
        assert read_generation() == before + 1
    visitor.get("/search?q=tucson")
    assert len(renders) == 2, "the index changed: rendered again"
