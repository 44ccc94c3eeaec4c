"""Browser fixtures: a live server on port 0 and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page
from werkzeug.serving import make_server

from chapters.models import ChapterMembership, ChapterRole, MembershipStatus
from chapters.services import load_structure
from network import create_app
from network.auth.cli import create_confirmed_user
from network.config import TestConfig
from network.extensions import db, limiter
from network.members.vocabulary import load_vocabulary
from network.security import Role

ARTIFACTS = Path(__file__).parent / "artifacts"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
COORDINATOR = ("coordinacion@ejemplo.mx", "clave de coordinación 2026")

pytestmark = pytest.mark.browser


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail(
            "Browser tests need Debian's Chromium: run `sudo apt-get install chromium` "
            "(make test does it for you when run as root)."
        )
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    """Launch Debian's Chromium; `playwright install` cannot download a browser here."""
    return {
        "executable_path": _chromium(),
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[SimpleNamespace]:
    """The real app (CSRF on) served from a thread, on its own database."""

    class BrowserConfig(TestConfig):
        WTF_CSRF_ENABLED = True
        SQLALCHEMY_DATABASE_URI = os.environ.get(
            "TEST_DATABASE_URL", f"sqlite:///{tmp_path / 'browser.sqlite3'}"
        )

    app = create_app(BrowserConfig)
    with app.app_context():
        db.drop_all()
        db.create_all()
        load_structure(with_chapters=True)
        load_vocabulary()
        coordinator = create_confirmed_user(
            COORDINATOR[0], "José Ángel Gutiérrez", COORDINATOR[1], Role.MEMBER
        )
        from chapters.queries import get_chapter_by_slug

        db.session.add(
            ChapterMembership(
                user=coordinator,
                chapter=get_chapter_by_slug("montreal"),
                role=ChapterRole.COORDINATOR,
                status=MembershipStatus.APPROVED,
            )
        )
        db.session.commit()
    limiter.reset()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}", app=app)
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


class Auditor:
    """Runs axe on every page a journey visits and keeps the browser's console errors."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.axe = Axe()
        self.audited: list[str] = []
        self.console_errors: list[str] = []
        self.expected_error_pages: set[str] = set()
        page.on("console", self._on_console)

    def _on_console(self, message) -> None:
        if message.type != "error":
            return
        if message.location.get("url") in self.expected_error_pages:
            return  # the journey visits an error page on purpose
        self.console_errors.append(f"{message.text} at {message.location.get('url')}")

    def check(self) -> None:
        self.page.wait_for_load_state("load")
        results = self.axe.run(self.page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
        assert results.violations_count == 0, (
            f"axe on {self.page.url}:\n{results.generate_report()}"
        )
        self.audited.append(self.page.url)

    def expect_refusal(self, url: str) -> None:
        """The next answer from `url` is meant to be an error status (a form sent back with
        its problems), which the browser logs as a failed load."""
        self.expected_error_pages.add(url)

    def goto(self, url: str, status: int = 200) -> None:
        if status >= 400:
            self.expected_error_pages.add(url)
        response = self.page.goto(url)
        assert response is not None and response.status == status, url
        self.check()

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def auditor(page: Page) -> Iterator[Auditor]:
    auditor = Auditor(page)
    yield auditor
    assert auditor.console_errors == [], "the browser reported errors (CSP violations?)"


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """Browse as most of our users do: a Mexican Spanish browser (the switcher picks English)."""
    return {**browser_context_args, "locale": "es-MX"}
