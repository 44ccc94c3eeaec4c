"""Bearer-token authentication, the one way into the API (cookies are never accepted here).

`token_required` guards writes and private reads; `token_optional` public reads, where a token adds
what its account may see and a bad one is still a 401, never anonymity. Both mark the view for the
document (its security and its 401 answer).
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, request
from flask_babel import get_locale, refresh
from flask_babel import gettext as _

from network.auth.models import User
from network.auth.services import user_for_api_token
from network.extensions import db

F = TypeVar("F", bound=Callable[..., Any])


def _token_user(*, required: bool) -> User | None:
    """The account of the request's `Authorization: Bearer <token>`; None without the header when
    a token is optional. The account is kept on `g.api_user`, where the locale selector finds its
    language."""
    g.api_user = None
    header = request.headers.get("Authorization", "")
    if not header and not required:
        return None
    scheme, _space, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        if required:
            abort(401, description=_("Send an API token as 'Authorization: Bearer <token>'."))
        abort(401, description=_("This token is not valid or has been revoked."))
    user = user_for_api_token(token.strip())
    if user is None:
        abort(401, description=_("This token is not valid or has been revoked."))
    db.session.commit()  # records last_used_at
    g.api_user = user
    refresh()  # the account's language, unless the request asks for one (network.i18n)
    return user


def _authenticated(view: F, *, required: bool) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _token_user(required=required)
        return view(*args, **kwargs)

    # Read by network.api.blueprint when it writes the operation's security and 401 answer.
    wrapped._apidoc = deepcopy(getattr(view, "_apidoc", {}))  # type: ignore[attr-defined]
    wrapped._apidoc["token"] = "required" if required else "optional"  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]


def token_required(view: F) -> F:
    """Authenticate with `Authorization: Bearer <token>`: writes and private reads."""
    return _authenticated(view, required=True)


def token_optional(view: F) -> F:
    """Public reads: `g.api_user` is the token's account if a token is sent, else None."""
    return _authenticated(view, required=False)


def account_may(rule: Callable[[User], Any], refusal: Any) -> Callable[[F], F]:
    """403 with `refusal` unless the token's account passes `rule`: checked before the body is
    read, so an account that may not act learns that first, not what is wrong with its body."""

    def decorator(view: F) -> F:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not rule(g.api_user):
                abort(403, description=str(refusal))
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorator


def loads(
    argument: str,
    load: Callable[[int, Any], Any],
    *,
    to: str,
    rule: Callable[[Any, Any], Any] | None = None,
    refusal: Any = None,
) -> Callable[[F], F]:
    """Hand the view, as `to`, what `load(<argument>, account)` finds (it answers 404, 401 or 403
    itself for what the caller may not see), refused with 403 and `refusal` unless
    `rule(account, found)`: all before the body is read, as for `account_may`."""

    def decorator(view: F) -> F:
        @wraps(view)
        def loaded(*args: Any, **kwargs: Any) -> Any:
            found = load(kwargs.pop(argument), g.api_user)
            if rule is not None and not rule(g.api_user, found):
                abort(403, description=str(refusal))
            return view(*args, **{to: found}, **kwargs)

        return loaded  # type: ignore[return-value]

    return decorator


def api_user() -> Any:
    """The request's account (after token_required or token_optional), or None."""
    return g.api_user


def language() -> str:
    """The language of the response's labels: the one its error messages speak (network.i18n)."""
    return str(get_locale())
