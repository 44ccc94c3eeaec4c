"""Account rules: registration, confirmation, passwords, e-mail changes, API tokens, and IME's
suspension of accounts.

Services never commit: the view or CLI command that calls them owns the transaction, so an
e-mail queued here is only sent if the whole change is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from datetime import timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import or_, select

from network import audit
from network.auth.models import ApiToken, User, new_auth_stamp
from network.db import db, utcnow
from network.errors import Conflict, Forbidden, NotFound, ValidationError
from network.members.models import Profile
from network.outbox import notify, queue_email
from network.security import Role, is_ime_admin
from network.signals import account_suspended
from network.urls import external_url

MIN_PASSWORD_LENGTH = 10

# The most common passwords of ten characters or more; anything here is refused outright.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "0123456789",
        "12345678910",
        "1111111111",
        "0000000000",
        "qwertyuiop",
        "password123",
        "password12",
        "passw0rd12",
        "iloveyou12",
        "contraseña",
        "contrasena",
        "contrasena1",
        "contraseña1",
        "qwerty1234",
        "1q2w3e4r5t",
        "abcdefghij",
        "abc1234567",
        "mexico1234",
        "méxico1234",
        "mexico2024",
        "mexico2025",
        "mexico2026",
        "0987654321",
        "1234qwerty",
        "qwertyuiop1",
        "asdfghjkl1",
        "zxcvbnm123",
        "administrator",
        "letmein123",
        "welcome123",
        "bienvenido",
        "bienvenido1",
        "redglobalmx",
        "redglobal123",
    }
)


# ---------------------------------------------------------------- passwords


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password_strength(password: str, *, email: str = "", name: str = "") -> None:
    """Refuse passwords that are short or easy to guess, with a message that says why."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            "password", _l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
        )
    lowered = password.casefold()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
        raise ValidationError("password", _l("This password is too easy to guess."))
    local_part = email.split("@")[0].casefold()
    if (local_part and len(local_part) >= 4 and local_part in lowered) or (
        name and lowered.replace(" ", "") == name.casefold().replace(" ", "")
    ):
        raise ValidationError(
            "password", _l("Do not use your name or e-mail address as your password.")
        )


def verify_password(user: User, password: str) -> bool:
    hasher = _hasher()
    try:
        hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


# ---------------------------------------------------------------- e-mail addresses


def canonical_email(raw: str) -> str | None:
    """The one spelling of an address that accounts are stored, looked up and rate-limited
    under, or None if it is not an address.

    email-validator normalises the domain (IDNA: fullwidth letters and dots become ASCII, so a
    fullwidth `example.org` is `example.org`) and the local part (NFC); then it is lower-cased. Every
    look-up and every limit keyed on an address goes through here, so no other spelling of an
    address can reach an account under a limit bucket of its own. No DNS: it must work offline."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def email_limit_key(raw: str) -> str:
    """What a per-address rate limit counts under: the canonical address, the same one the
    account look-up uses; text that is no address at all is counted under itself, folded."""
    return canonical_email(raw) or " ".join(raw.split()).casefold()


def normalise_email(raw: str, field: str = "email") -> str:
    """The canonical address (see canonical_email), or a ValidationError on `field`."""
    email = canonical_email(raw)
    if email is None:
        raise ValidationError(field, _l("Enter a valid e-mail address."))
    return email


def get_user_by_email(email: str) -> User | None:
    normalised = canonical_email(email)
    if normalised is None:
        return None
    return db.session.scalar(select(User).where(User.email == normalised))


def _ensure_email_free(email: str, field: str = "email") -> None:
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise ValidationError(field, _l("An account with this e-mail address already exists."))


# ---------------------------------------------------------------- signed links


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"redglobal.{purpose}")


def make_token(purpose: str, payload: dict[str, Any]) -> str:
    return _serializer(purpose).dumps(payload)


def _invalid_link() -> NotFound:
    """A link that is forged, already used, or for an account or address that is gone."""
    return NotFound(_l("This link is not valid or has already been used."))


def read_token(purpose: str, token: str, max_age: int) -> dict[str, Any]:
    """The link's payload. An expired link is a Conflict (it was good once: the page offers a
    new one); any other bad link is a NotFound."""
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise Conflict("token", _l("This link has expired.")) from exc
    except BadSignature as exc:
        raise _invalid_link() from exc
    if not isinstance(data, dict):
        raise _invalid_link()
    return data


def _user_from_token(data: dict[str, Any]) -> User:
    user_id = data.get("uid")
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None:
        raise _invalid_link()
    return user


# ---------------------------------------------------------------- registration


def register_user(
    full_name: str, email: str, password: str, language: str, role: Role = Role.MEMBER
) -> User | None:
    """Create an unconfirmed account and queue the confirmation e-mail in its language.

    None when the address already has an account: its owner was e-mailed instead, and the
    caller answers as for a new account ("check your e-mail"), so that a stranger does not
    learn who has one."""
    full_name = " ".join(full_name.split())
    if len(full_name) < 2:
        raise ValidationError("full_name", _l("Enter your full name."))
    email = normalise_email(email)
    check_password_strength(password, email=email, name=full_name)
    if language not in current_app.config["LANGUAGES"]:
        raise ValidationError("language", _l("Choose Spanish or English."))
    existing = get_user_by_email(email)
    if existing is not None:
        # The page must not tell a stranger who has an account: it answers as for a new one,
        # and the owner (only they read that inbox) learns of the attempt and how to get in.
        hash_password(password)  # the same work as a real registration, so the same delay
        notify(
            existing,
            _l("Someone tried to register with your address"),
            "register_existing",
            login=external_url("auth.login", email=email),
            reset=external_url("auth.request_password_reset"),
        )
        return None
    user = User(
        full_name=full_name,
        email=email,
        password_hash=hash_password(password),
        preferred_language=language,
        role=role,
    )
    if role == Role.MEMBER:
        user.profile = Profile()
    db.session.add(user)
    db.session.flush()
    send_confirmation(user)
    return user


def send_confirmation(user: User) -> None:
    token = make_token("confirm", {"uid": user.id, "email": user.email})
    queue_email(
        user.email,
        _l("Confirm your e-mail address"),
        "confirm_email",
        locale=user.preferred_language,
        kind="confirm_email",
        user=user,
        link=external_url("auth.confirm_email", token=token),
    )


def confirm_email(token: str) -> User:
    """Mark the address confirmed; a link for an address the account no longer has is refused."""
    data = read_token("confirm", token, current_app.config["EMAIL_CONFIRM_MAX_AGE"])
    user = _user_from_token(data)
    if data.get("email") != user.email:
        raise _invalid_link()
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    return user


# ---------------------------------------------------------------- log-in


@cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return PasswordHasher(time_cost, memory_cost, parallelism).hash(secrets.token_urlsafe(16))


def authenticate(email: str, password: str) -> User | None:
    """The account for these credentials, or None. Unknown addresses cost a hash too, so timing
    does not tell which addresses have accounts."""
    user = get_user_by_email(email)
    if user is None:
        config = current_app.config
        dummy = _dummy_hash(
            config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"]
        )
        with contextlib.suppress(VerificationError):
            _hasher().verify(dummy, password)
        return None
    if not verify_password(user, password):
        return None
    return user


def record_login(user: User) -> None:
    user.last_login_at = utcnow()


def load_user_from_session(session_id: str) -> User | None:
    """Flask-Login's loader: the id carries the auth stamp, so a password change ends old sessions."""
    user_id, _, stamp = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.auth_stamp != stamp or user.is_suspended:
        return None
    return user


# ---------------------------------------------------------------- passwords


def request_password_reset(email: str) -> None:
    """Queue a reset link if the account exists. The caller says the same thing either way."""
    user = get_user_by_email(email)
    if user is None or user.is_suspended:
        return
    send_password_link(
        user,
        "reset",
        _l("Reset your password"),
        "reset_password",
        hours=current_app.config["PASSWORD_RESET_MAX_AGE"] // 3600,
    )


def send_password_link(
    user: User, purpose: str, subject: Any, template: str, **context: Any
) -> None:
    """Queue a link to choose a password: "reset" (short-lived) or "invite" (imported members).

    Both are tied to the auth stamp, so either stops working once a password is chosen."""
    token = make_token(purpose, {"uid": user.id, "stamp": user.auth_stamp})
    queue_email(
        user.email,
        subject,
        template,
        locale=user.preferred_language,
        kind=template,
        user=user,
        link=external_url("auth.reset_password", token=token),
        **context,
    )


def check_reset_token(token: str) -> User:
    """The token is tied to the auth stamp, which the reset changes: each link works once."""
    try:
        data = read_token("reset", token, current_app.config["PASSWORD_RESET_MAX_AGE"])
    except (Conflict, NotFound) as reset_error:
        # An invitation (imported member) is the same link with a longer life.
        try:
            data = read_token("invite", token, current_app.config["INVITATION_MAX_AGE"])
        except (Conflict, NotFound):
            raise reset_error from None
    user = _user_from_token(data)
    # Suspension changes the stamp too; the check on is_suspended also covers a link asked for
    # later, so a suspended person cannot use a new password until IME reinstates them.
    if data.get("stamp") != user.auth_stamp or user.is_suspended:
        raise _invalid_link()
    return user


def reset_password(token: str, new_password: str) -> User:
    user = check_reset_token(token)
    _set_password(user, new_password)
    # Following the link proves the address too.
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not verify_password(user, current_password):
        raise ValidationError("current_password", _l("Your current password is not correct."))
    _set_password(user, new_password)


def _set_password(user: User, new_password: str) -> None:
    """Every password change ends the other sessions (a new auth stamp) and tells the owner by
    e-mail, so a change they did not make (a stolen session, a read inbox) does not go unseen."""
    check_password_strength(new_password, email=user.email, name=user.full_name)
    user.password_hash = hash_password(new_password)
    user.auth_stamp = new_auth_stamp()
    notify(
        user,
        _l("Your Red Global MX password was changed"),
        "password_changed",
        when=utcnow(),
        reset=external_url("auth.request_password_reset"),
    )


def end_sessions(user: User) -> None:
    """Signing out ends every session of the account, on every device: sessions live in signed
    cookies, so a copy of one would otherwise still open the account after "Sign out"."""
    user.auth_stamp = new_auth_stamp()


# ---------------------------------------------------------------- e-mail change


def request_email_change(user: User, new_email: str, password: str) -> str:
    """Send a confirmation link to the new address; the account keeps the old one until then."""
    if not verify_password(user, password):
        raise ValidationError("password", _l("Your current password is not correct."))
    email = normalise_email(new_email, field="new_email")
    if email == user.email:
        raise ValidationError("new_email", _l("This is already your e-mail address."))
    _ensure_email_free(email, field="new_email")
    token = make_token("email-change", {"uid": user.id, "new": email, "old": user.email})
    queue_email(
        email,
        _l("Confirm your new e-mail address"),
        "change_email",
        locale=user.preferred_language,
        kind="change_email",
        user=user,
        new_email=email,
        link=external_url("auth.confirm_email_change", token=token),
    )
    return email


def confirm_email_change(token: str) -> User:
    data = read_token("email-change", token, current_app.config["EMAIL_CONFIRM_MAX_AGE"])
    user = _user_from_token(data)
    new_email = data.get("new")
    if data.get("old") != user.email or not isinstance(new_email, str):
        raise _invalid_link()
    _ensure_email_free(new_email)
    old_email = user.email
    user.email = new_email
    user.email_confirmed_at = utcnow()
    queue_email(
        old_email,
        _l("Your e-mail address was changed"),
        "email_changed",
        locale=user.preferred_language,
        kind="email_changed",
        user=user,
        new_email=new_email,
    )
    return user


# ---------------------------------------------------------------- settings


def update_settings(user: User, full_name: str, language: str) -> None:
    full_name = " ".join(full_name.split())
    if len(full_name) < 2:
        raise ValidationError("full_name", _l("Enter your full name."))
    if language not in current_app.config["LANGUAGES"]:
        raise ValidationError("language", _l("Choose Spanish or English."))
    user.full_name = full_name
    user.preferred_language = language


# ---------------------------------------------------------------- API tokens

TOKEN_PREFIX = "rgmx_"


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Make a token; the plain value is returned once and never stored."""
    name = name.strip()
    if not name:
        raise ValidationError("name", _l("Give the token a name, such as the script that uses it."))
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name[:80], token_hash=_hash_token(plain), prefix=plain[:10])
    db.session.add(token)
    return token, plain


def revoke_api_token(user: User, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise ValidationError(None, _l("That token does not exist."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def user_for_api_token(plain: str) -> User | None:
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(plain)))
    # A suspended account's tokens are refused, not revoked: reinstating brings them back.
    if token is None or token.revoked_at is not None or token.user.is_suspended:
        return None
    # Coarse on purpose: a write on every API read would contend with real writes.
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
    return token.user


# ---------------------------------------------------------------- suspension (IME)


def ime_contact_address() -> str:
    """Where a suspended person writes to IME: IME_CONTACT_EMAIL if the deployment sets it."""
    return current_app.config.get("IME_CONTACT_EMAIL") or ""


def suspend_account(admin: User, user: User, reason: str) -> None:
    """IME suspends an account: it can no longer sign in or use its API tokens, and leaves the
    directory and search (the search index follows `suspended_at`).

    Changing the auth stamp ends every open session and outstanding password link at once. The
    reason is required because the person is told it, with whom to ask about it."""
    if not is_ime_admin(admin):
        raise Forbidden(_l("Only IME administrators suspend and reinstate accounts."))
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            "reason", _l("Give the reason for the suspension: the person will read it.")
        )
    if user.id == admin.id:
        raise ValidationError(None, _l("You cannot suspend your own account."))
    if user.is_suspended:
        raise ValidationError(None, _l("%(name)s is already suspended.", name=user.full_name))
    user.suspended_at = utcnow()
    user.suspension_reason = reason[:2000]
    user.auth_stamp = new_auth_stamp()
    # Nobody waits on a suspended person: the domains that hold their open requests settle
    # them (seats, mentoring, contact requests; reinstating reopens none of them).
    account_suspended.send(user, admin=admin)
    audit.record(admin, "account.suspended", "user", user.id, reason)
    notify(
        user,
        _l("Your Red Global MX account is suspended"),
        "account_suspended",
        reason=user.suspension_reason,
        contact=ime_contact_address() or admin.email,
    )


def reinstate_account(admin: User, user: User) -> None:
    """IME lifts a suspension: the same password and API tokens work again, and the member
    returns to the directory and search. The person is told they may sign in."""
    if not is_ime_admin(admin):
        raise Forbidden(_l("Only IME administrators suspend and reinstate accounts."))
    if not user.is_suspended:
        raise ValidationError(None, _l("%(name)s is not suspended.", name=user.full_name))
    user.suspended_at = None
    user.suspension_reason = ""
    audit.record(admin, "account.reinstated", "user", user.id)
    notify(
        user,
        _l("Your Red Global MX account is active again"),
        "account_reinstated",
        link=external_url("auth.login"),
    )


def search_accounts(text: str, page: int, per_page: int = 25) -> Pagination:
    """Accounts of every role whose name contains `text`, or whose e-mail address is `text`
    (all of them when it is empty), by name: how IME finds the account to suspend or reinstate.
    Addresses match whole, so that a member's hidden address cannot be guessed piece by piece."""
    query = select(User)
    text = " ".join(text.split())
    if text:
        query = query.where(
            or_(User.full_name.icontains(text, autoescape=True), User.email == text.lower())
        )
    query = query.order_by(User.full_name, User.id)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def list_suspended_accounts() -> list[User]:
    """Every suspended account, the most recent suspension first (IME's list to review)."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.suspended_at.is_not(None))
            .order_by(User.suspended_at.desc(), User.id)
        )
    )
