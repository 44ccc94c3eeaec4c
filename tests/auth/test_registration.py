"""Registering, confirming the address, signing in and out."""

from __future__ import annotations

from sqlalchemy import func, select

from network.auth.models import User
from network.extensions import db
from tests.conftest import PASSWORD, link_in, login

FORM = {
    "full_name": "Ximena Núñez Peña",
    "email": "Ximena@Ejemplo.MX",
    "password": PASSWORD,
    "password_confirm": PASSWORD,
    "language": "es",
}


def test_register_confirm_and_sign_in(client, outbox, app):
    page = client.post("/register", data=FORM)
    assert page.status_code == 200
    assert "Revisa tu correo" in page.get_data(as_text=True)

    messages = outbox()
    assert [m.recipient for m in messages] == ["ximena@ejemplo.mx"]
    assert messages[0].sent_at is not None, "the confirmation is handed to the sender after commit"
    assert "Ximena Núñez Peña" in messages[0].body
    assert app.extensions["sent_mail"][0]["to"] == "ximena@ejemplo.mx"

    refused = client.post("/login", data={"email": "ximena@ejemplo.mx", "password": PASSWORD})
    assert refused.status_code == 403
    assert "confirma tu correo" in refused.get_data(as_text=True).lower()

    confirmed = client.get(link_in(messages[0].body), follow_redirects=True)
    assert "tu correo electrónico quedó confirmado" in confirmed.get_data(as_text=True)

    signed_in = client.post(
        "/login", data={"email": "XIMENA@ejemplo.mx", "password": PASSWORD}, follow_redirects=True
    )
    assert "Ximena Núñez Peña" in signed_in.get_data(as_text=True)
    assert client.get("/account").status_code == 200

    client.post("/logout")
    assert client.get("/account").status_code == 302


def test_password_is_hashed_with_argon2id(client, app):
    client.post("/register", data=FORM)
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


def test_a_taken_address_gets_the_same_answer_and_its_owner_is_told(client, make_user, outbox, app):
    make_user(email="ximena@ejemplo.mx", full_name="Ximena Original", preferred_language="en")
    page = client.post("/register", data=FORM)
    # A stranger learns nothing: the page is the one a new registration gets.
    assert page.status_code == 200
    assert "Revisa tu correo" in page.get_data(as_text=True)
    assert "Ya existe" not in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1  # no second account
    [notice] = outbox()
    assert notice.recipient == "ximena@ejemplo.mx"
    assert notice.kind == "register_existing"
    assert notice.subject == "Someone tried to register with your address"  # the owner's language
    assert "No new account was created" in notice.body
    assert "/login?email=ximena" in notice.body and "/reset" in notice.body
    # ...and the owner's password did not change.
    signed_in = client.post("/login", data={"email": "ximena@ejemplo.mx", "password": PASSWORD})
    assert signed_in.status_code == 302


def test_registrations_are_limited_per_client_address(client, app):
    app.config["REGISTER_LIMIT_PER_IP"] = "2 per hour"
    for number in range(2):
        form = {**FORM, "email": f"persona{number}@ejemplo.mx"}
        assert client.post("/register", data=form).status_code == 200
    refused = client.post("/register", data={**FORM, "email": "tercera@ejemplo.mx"})
    assert refused.status_code == 429
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 2


def test_reset_links_are_limited_per_recipient(client, app, make_user, outbox):
    app.config["MAIL_LINK_LIMIT_PER_ADDRESS"] = "2 per hour"
    make_user(email="ana@ejemplo.mx")
    for _ in range(2):
        assert client.post("/reset", data={"email": "ana@ejemplo.mx"}).status_code == 302
    assert client.post("/reset", data={"email": "ANA@ejemplo.mx"}).status_code == 429
    assert len(outbox()) == 2
    # Another person's request is not held up by it.
    make_user(email="luis@ejemplo.mx")
    assert client.post("/reset", data={"email": "luis@ejemplo.mx"}).status_code == 302


def test_weak_passwords_are_refused_with_a_reason(client, outbox):
    for password, message in [
        ("corta", "Usa al menos 10 caracteres"),
        ("1234567890", "demasiado fácil de adivinar"),
        ("aaaaaaaaaaaa", "demasiado fácil de adivinar"),
        ("ximena-2026-xyz", "No uses tu nombre ni tu correo"),
    ]:
        data = {**FORM, "password": password, "password_confirm": password}
        body = client.post("/register", data=data).get_data(as_text=True)
        assert message in body, password
    assert outbox() == []


def test_invalid_address_and_missing_fields(client, outbox):
    body = client.post("/register", data={**FORM, "email": "no-es-un-correo"}).get_data(
        as_text=True
    )
    assert "Ingresa un correo electrónico válido" in body
    body = client.post(
        "/register", data={**FORM, "password_confirm": "otra cosa distinta"}
    ).get_data(as_text=True)
    assert "Las contraseñas no coinciden" in body
    body = client.post("/register", data={}).get_data(as_text=True)
    assert "Este campo es obligatorio" in body
    assert outbox() == []


def test_wrong_password_gives_one_message_for_both_cases(client, make_user):
    make_user(email="ana@ejemplo.mx")
    unknown = client.post("/login", data={"email": "nadie@ejemplo.mx", "password": PASSWORD})
    wrong = client.post("/login", data={"email": "ana@ejemplo.mx", "password": "otra contraseña"})
    assert unknown.status_code == wrong.status_code == 401
    message = "El correo electrónico o la contraseña no son correctos."
    assert message in unknown.get_data(as_text=True)
    assert message in wrong.get_data(as_text=True)


def test_remember_me_sets_a_lasting_cookie(client, make_user):
    make_user(email="ana@ejemplo.mx")
    response = client.post(
        "/login", data={"email": "ana@ejemplo.mx", "password": PASSWORD, "remember": "y"}
    )
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0] and "SameSite=Lax" in remember[0]


def test_next_parameter_cannot_leave_the_site(client, make_user):
    make_user(email="ana@ejemplo.mx")
    response = client.post(
        "/login",
        data={"email": "ana@ejemplo.mx", "password": PASSWORD, "next": "https://evil.example/x"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_is_rate_limited_per_account(client, make_user):
    make_user(email="ana@ejemplo.mx")
    statuses = [
        client.post("/login", data={"email": "ana@ejemplo.mx", "password": f"mala {i}"}).status_code
        for i in range(6)
    ]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    blocked = client.post("/login", data={"email": "ana@ejemplo.mx", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Demasiados intentos" in blocked.get_data(as_text=True)
    # Another account from the same address is not blocked by this one's limit.
    make_user(email="otra@ejemplo.mx")
    other = client.post("/login", data={"email": "otra@ejemplo.mx", "password": PASSWORD})
    assert other.status_code == 302


def test_login_is_rate_limited_per_address(app, make_user):
    app.config["LOGIN_LIMIT_PER_IP"] = "3 per minute"
    client = app.test_client()
    statuses = [
        client.post("/login", data={"email": f"n{i}@ejemplo.mx", "password": "x"}).status_code
        for i in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def test_signed_in_users_are_sent_home_from_register(client, make_user):
    login(client, make_user())
    assert client.get("/register").status_code == 302
