"""The public statistics page passes axe and shows suppressed cells as "< 5"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_public_statistics_page(live_server, page, auditor):
    auditor.goto(live_server.url + "/about/stats")
    expect(page.get_by_role("heading", level=1)).to_have_text("La red en cifras")
    expect(page.get_by_test_id("by-region")).to_contain_text("< 5")
    auditor.screenshot("public-stats")
