"""/me: the account that owns the token, and a change to one's own profile."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from chapters import queries as chapter_queries
from chapters.models import MembershipStatus
from network.api.auth import account_may, api_user, language, token_required
from network.api.blueprint import Blueprint
from network.api.members import member_body
from network.api.schemas.members import MemberOut, MeOut, ProfileUpdateIn
from network.extensions import db
from network.members import queries as member_queries
from network.members import services as member_services
from network.members.profile_input import parse_profile
from network.security import is_member_account

bp = Blueprint("me", __name__, description="The account that owns the token.")


@bp.route("/me")
@token_required
@bp.response(200, MeOut)
def me() -> dict[str, Any]:
    """The account that owns the token."""
    user = api_user()
    organisation = user.organisation
    return {
        "id": user.id,
        "full_name": user.full_name,
        "email": user.email,
        "role": str(user.role),
        "preferred_language": user.preferred_language,
        "organisation": {
            "slug": organisation.slug,
            "name": organisation.name,
            "kind": str(organisation.kind),
            "is_verified": organisation.is_verified,
        }
        if organisation
        else None,
        "chapters": [
            {"slug": m.chapter.slug, "name": m.chapter.name, "role": str(m.role)}
            for m in chapter_queries.list_user_memberships(user)
            if m.status == MembershipStatus.APPROVED
        ],
    }


@bp.route("/me/profile", methods=["PATCH"])
@token_required
@bp.answers(403)
@account_may(is_member_account, _l("Only member accounts have a profile."))
@bp.arguments(ProfileUpdateIn)
@bp.response(200, MemberOut)
def update_my_profile(sent: dict[str, Any]) -> dict[str, Any]:
    """Change one's own profile, with the same checks as the profile form.

    Send only the fields to change. Errors answer 422 with every problem found.
    """
    user = api_user()
    member_services.update_profile(user, parse_profile(sent))
    db.session.commit()
    profile = member_queries.get_profile_for_user_id(user.id)
    data = member_queries.present_profile(profile, member_queries.build_viewer(user), language())
    return member_body(data)
