"""Per-address rate limits count every spelling of an address as the address the account is
found under: email-validator maps fullwidth letters and dots in the domain to ASCII, so a limit
keyed on the raw text would give a fullwidth `ana@ejemplo.mx` a fresh bucket for the same account."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

# The same account's address, spelt as a browser would send it from a Japanese or Chinese
# keyboard: fullwidth letters and dots, an ideographic full stop, capitals, spaces around.
SPELLINGS = [
    "ana@\uff45jemplo\uff0emx",
    "ana@\uff25\uff2a\uff25\uff2d\uff30\uff2c\uff2f.\uff2d\uff38",
    "ana@ejemplo\u3002mx",
    "  ANA@Ejemplo.MX ",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_locked_account_stays_locked_under_another_spelling(client, make_user, spelling):
    make_user(email="ana@ejemplo.mx")
    statuses = [
        client.post("/login", data={"email": "ana@ejemplo.mx", "password": f"mala {i}"}).status_code
        for i in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    # The right password under another spelling of the same address: still refused.
    other = client.post("/login", data={"email": spelling, "password": PASSWORD})
    assert other.status_code == 429
    assert "Demasiados intentos" in other.get_data(as_text=True)


def test_the_lockout_counts_attempts_made_under_different_spellings(client, make_user):
    make_user(email="ana@ejemplo.mx")
    statuses = [
        client.post("/login", data={"email": spelling, "password": "mala"}).status_code
        for spelling in [*SPELLINGS, "ana@ejemplo.mx"]
    ]
    assert statuses == [401] * 5
    blocked = client.post("/login", data={"email": "ana@ejemplo.mx", "password": PASSWORD})
    assert blocked.status_code == 429


def test_reset_mails_are_capped_across_spellings(client, app, make_user, outbox):
    app.config["MAIL_LINK_LIMIT_PER_ADDRESS"] = "2 per hour"
    make_user(email="ana@ejemplo.mx")
    assert client.post("/reset", data={"email": "ana@ejemplo.mx"}).status_code == 302
    assert client.post("/reset", data={"email": SPELLINGS[0]}).status_code == 302
    for spelling in SPELLINGS:
        assert client.post("/reset", data={"email": spelling}).status_code == 429
    assert [m.recipient for m in outbox()] == ["ana@ejemplo.mx"] * 2


def test_confirmation_mails_are_capped_across_spellings(client, app, make_user, outbox):
    app.config["MAIL_LINK_LIMIT_PER_ADDRESS"] = "2 per hour"
    make_user(email="ana@ejemplo.mx", email_confirmed_at=None)
    for spelling in SPELLINGS[:2]:
        assert client.post("/confirm", data={"email": spelling}).status_code == 302
    for spelling in SPELLINGS:
        assert client.post("/confirm", data={"email": spelling}).status_code == 429
    assert [m.recipient for m in outbox()] == ["ana@ejemplo.mx"] * 2
