"""Password reset, password and e-mail changes, settings, API tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from network.auth.models import ApiToken, User
from network.db import utcnow
from network.extensions import db
from network.outbox import OutboxMessage
from tests.conftest import PASSWORD, link_in, login

NEW = "otra frase secreta 2027"


def _reset_link(client, outbox, email: str) -> str:
    client.post("/reset", data={"email": email})
    return link_in(outbox()[-1].body)


def test_password_reset_works_once(client, outbox, make_user):
    make_user(email="ana@ejemplo.mx")
    link = _reset_link(client, outbox, "ana@ejemplo.mx")
    assert outbox()[-1].recipient == "ana@ejemplo.mx"

    assert client.get(link).status_code == 200
    done = client.post(link, data={"password": NEW, "password_confirm": NEW})
    assert done.status_code == 302

    assert (
        client.post("/login", data={"email": "ana@ejemplo.mx", "password": NEW}).status_code == 302
    )
    client.post("/logout")
    old = client.post("/login", data={"email": "ana@ejemplo.mx", "password": PASSWORD})
    assert old.status_code == 401

    again = client.get(link, follow_redirects=True)
    assert "no es válido o ya se usó" in again.get_data(as_text=True)

    # The owner is told, in case it was not them.
    notice = outbox()[-1]
    assert (notice.recipient, notice.kind) == ("ana@ejemplo.mx", "password_changed")
    assert notice.subject == "Se cambió la contraseña de tu cuenta de Red Global MX"
    assert "/reset" in notice.body


def test_password_reset_link_expires_after_an_hour(client, outbox, make_user):
    make_user(email="ana@ejemplo.mx")
    link = _reset_link(client, outbox, "ana@ejemplo.mx")
    with freeze_time(utcnow() + timedelta(minutes=61)):
        expired = client.get(link, follow_redirects=True)
    assert "Este enlace expiró" in expired.get_data(as_text=True)


def test_reset_request_does_not_reveal_accounts(client, outbox, make_user):
    make_user(email="ana@ejemplo.mx")
    known = client.post("/reset", data={"email": "ana@ejemplo.mx"}, follow_redirects=True)
    unknown = client.post("/reset", data={"email": "nadie@ejemplo.mx"}, follow_redirects=True)
    assert len(outbox()) == 1
    flash = "Si alguna cuenta usa ese correo"
    assert flash in known.get_data(as_text=True) and flash in unknown.get_data(as_text=True)


def test_change_password_signs_out_other_sessions(app, make_user):
    user = make_user(email="ana@ejemplo.mx")
    phone, laptop = login(app.test_client(), user), login(app.test_client(), user)
    wrong = laptop.post(
        "/account/password",
        data={
            "password-current_password": "no es esta",
            "password-password": NEW,
            "password-password_confirm": NEW,
        },
    )
    assert wrong.status_code == 422
    assert "Tu contraseña actual no es correcta" in wrong.get_data(as_text=True)

    changed = laptop.post(
        "/account/password",
        data={
            "password-current_password": PASSWORD,
            "password-password": NEW,
            "password-password_confirm": NEW,
        },
    )
    assert changed.status_code == 302
    assert laptop.get("/account").status_code == 200
    assert phone.get("/account").status_code == 302, "the other device is signed out"
    with app.app_context():
        notices = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "password_changed")
        ).all()
        assert [m.recipient for m in notices] == ["ana@ejemplo.mx"]  # the wrong try sent none
        assert "Tus otros dispositivos" in notices[0].body


def test_change_email_needs_the_new_address_confirmed(client, outbox, make_user, app):
    user = make_user(email="ana@ejemplo.mx")
    make_user(email="ocupado@ejemplo.mx")
    login(client, user)
    taken = client.post(
        "/account/email", data={"email-new_email": "ocupado@ejemplo.mx", "email-password": PASSWORD}
    )
    assert "Ya existe una cuenta con este correo" in taken.get_data(as_text=True)

    client.post(
        "/account/email", data={"email-new_email": "ana@nuevo.mx", "email-password": PASSWORD}
    )
    message = outbox()[-1]
    assert message.recipient == "ana@nuevo.mx"
    with app.app_context():
        assert db.session.get(User, user.id).email == "ana@ejemplo.mx", "unchanged until confirmed"

    client.get(link_in(message.body))
    with app.app_context():
        assert db.session.get(User, user.id).email == "ana@nuevo.mx"
    assert outbox()[-1].recipient == "ana@ejemplo.mx", "the old address is told"


def test_settings_change_name_and_language(client, make_user, app):
    user = make_user()
    login(client, user)
    client.post(
        "/account", data={"settings-full_name": "  Ana   María ", "settings-language": "en"}
    )
    page = client.get("/account").get_data(as_text=True)
    assert "Your account" in page and 'lang="en"' in page
    with app.app_context():
        assert db.session.get(User, user.id).full_name == "Ana María"
    bad = client.post("/account", data={"settings-full_name": "", "settings-language": "fr"})
    assert bad.status_code == 422


def test_api_tokens_are_shown_once_stored_hashed_and_revocable(client, make_user, app):
    user = make_user()
    login(client, user)
    page = client.post("/account/tokens", data={"token-name": "script"}).get_data(as_text=True)
    token = page.split('data-testid="new-token">')[1].split("<")[0]
    assert token.startswith("rgmx_")
    with app.app_context():
        stored = db.session.scalar(select(ApiToken))
        assert token not in stored.token_hash
        token_id = stored.id
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert token not in client.get("/account").get_data(as_text=True), "shown only once"

    client.post(f"/account/tokens/{token_id}/revoke")
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_cannot_revoke_someone_elses_token(client, make_user, app):
    owner, intruder = make_user(), make_user()
    login(client, owner)
    client.post("/account/tokens", data={"token-name": "mine"})
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    client.post("/logout")
    login(client, intruder)
    client.post(f"/account/tokens/{token_id}/revoke")
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is None


@pytest.mark.parametrize("language, text", [("es", "Tu cuenta"), ("en", "Your account")])
def test_account_page_in_both_languages(client, make_user, language, text):
    login(client, make_user(preferred_language=language))
    assert text in client.get("/account").get_data(as_text=True)


def test_signing_out_ends_the_session_even_for_a_copied_cookie(app, make_user):
    """The session is a signed cookie: without ending it server-side, a copy taken before
    "Sign out" (a shared computer, a stolen cookie) would still open the account."""

    user = make_user()
    client = login(app.test_client(), user)
    copy = login(app.test_client(), user)  # the same session cookie, elsewhere
    assert copy.get("/account").status_code == 200
    client.post("/logout")
    assert client.get("/account").status_code == 302
    assert copy.get("/account").status_code == 302
