"""Property-based fuzzing of every form of the site: whatever is posted, no 5xx, a refused form
is shown again with what was typed, and a refused submit writes nothing.

Each target names a form, the page it lives on and who may use it. The form's fields are read
from the page's HTML (so a field added later is fuzzed too); an example starts from a valid
submission and breaks a few fields of it: strange unicode, numbers out of range, malformed
dates, separators, unknown choices, missing and repeated fields.
"""

# The strange characters (fullwidth digits, RTL marks...) are the point of this file.
# ruff: noqa: RUF001

from __future__ import annotations

import html
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from chapters.models import CcimeTerm, Chapter, ChapterMembership, Region
from network.auth.models import ApiToken, User
from network.events.models import Event, Registration
from network.extensions import db
from network.members.models import Profile
from network.mentoring.models import Mentorship
from network.needs.models import ContactRequest, Interest, Need, Outcome
from network.organisations.models import Organisation
from tests.conftest import login
from tests.fuzz.conftest import FUZZ_SETTINGS

# ---------------------------------------------------------------- reading forms from a page


@dataclass
class Field:
    kind: str  # an <input> type, "select", "select-multiple" or "textarea"
    options: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)  # what the page pre-fills


@dataclass
class HtmlForm:
    action: str
    method: str
    fields: dict[str, Field] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[HtmlForm] = []
        self._select: Field | None = None
        self._textarea: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = urlsplit(a.get("action") or self.page).path or urlsplit(self.page).path
            self.forms.append(HtmlForm(action, (a.get("method") or "get").lower()))
        elif tag == "option" and self._select is not None and "value" in a:
            self._select.options.append(a["value"])
            if "selected" in a:
                self._select.values.append(a["value"])
        elif not self.forms or not a.get("name"):
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "reset", "image"):
                return
            f = self.forms[-1].fields.setdefault(a["name"], Field(kind))
            if kind in ("checkbox", "radio"):
                f.options.append(a.get("value", "on"))
                if "checked" in a:
                    f.values.append(a.get("value", "on"))
            elif a.get("value"):
                f.values.append(a["value"])
        elif tag == "select":
            kind = "select-multiple" if "multiple" in a else "select"
            self._select = self.forms[-1].fields.setdefault(a["name"], Field(kind))
        elif tag == "textarea":
            self.forms[-1].fields.setdefault(a["name"], Field("textarea"))
            self._textarea = [a["name"]]

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self.forms:
            name, *text = self._textarea
            if "".join(text).strip():
                self.forms[-1].fields[name].values = ["".join(text).strip()]
            self._textarea = None


def forms_in(body: str, page: str) -> list[HtmlForm]:
    """The forms of a page, their actions as paths (an empty action is the page itself)."""
    parser = _FormParser(page)
    parser.feed(body)
    return parser.forms


# ---------------------------------------------------------------- strategies

WEIRD_TEXT = [
    "",
    " ",
    "   \t\n ",
    "\x00",
    "a\x00b",
    "\u202eevil\u202c",
    "\u200f\u200e\u200b",
    "\ufeff",
    "😀🇲🇽👩‍🔬",
    "\r\n\r\n",
    "Ñandú ÁÉÍÓÚ ü ß",
    "<script>alert(1)</script>",
    "'\"; DROP TABLE users; --",
    "{{ 7*7 }}",
    "%s%n%x",
    "../../etc/passwd",
    "javascript:alert(1)",
    "None",
    "\U0010ffff",
    "ǅ ﷺ ﬀ",
    "a" * 3000,
    "é" * 5000,
    "😀" * 2000,
    "x " * 1500,
    "\\",
    "`",
    "\x7f\x1b[31m",
]
WEIRD_NUMBERS = [
    "-1",
    "0",
    "-0",
    str(2**31),
    str(2**63),
    str(2**63 - 1),
    str(-(2**63) - 1),
    str(2**64),
    "1e309",
    "-1e309",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "1.5",
    "1,5",
    "0x1F",
    "٣",
    "１２",
    " 12 ",
    "12abc",
    "9" * 400,
    "+5",
    "1_000",
    "",
]
WEIRD_DATES = [
    "2026-02-30",
    "2026-13-01",
    "0000-00-00",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "2026-1-1",
    "26-01-01",
    "2026/01/01",
    "01/02/2026",
    "2026-01-01T25:00",
    "2026-06-01T12:00",
    "2026-06-01T12:00:60",
    "2026-06-01T12:00:00+02:00",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "yesterday",
    "２０２６-０１-０１",
    "2026-03-29T02:30",
    "1970-01-01T00:00",
]
WEIRD_LISTS = [
    ";;;",
    ",,,",
    "a;" * 500,
    "es:native; en:C1; xx:ZZ",
    "es:native;es:C1",
    "es",
    ":",
    "es:",
    ":C1",
    "hydrology;hydrology;HYDROLOGY",
    "hydrology, wind-power",
    "hydrology\nwind-power",
    "; ;\t;",
    "|".join(["x"] * 100),
]

texts = st.one_of(st.sampled_from(WEIRD_TEXT), st.text(max_size=60))
numbers = st.one_of(
    st.sampled_from(WEIRD_NUMBERS),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
dates = st.one_of(
    st.sampled_from(WEIRD_DATES),
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
)
lists = st.one_of(
    st.sampled_from(WEIRD_LISTS), st.lists(st.text(max_size=12), max_size=30).map(";".join)
)
anything = st.one_of(texts, numbers, dates, lists)


def weird_value(f: Field | None) -> st.SearchStrategy[str]:
    """Something a browser would not send for this field (or might, from a crafted request)."""
    kind = f.kind if f else "text"
    if kind == "number":
        return st.one_of(numbers, anything)
    if kind in ("date", "datetime-local"):
        return st.one_of(dates, anything)
    if kind in ("select", "select-multiple", "radio", "checkbox"):
        known = st.sampled_from(f.options) if f and f.options else st.nothing()
        return st.one_of(known, anything)
    return st.one_of(texts, lists, anything)


@st.composite
def submissions(draw: st.DrawFn, base: dict[str, list[str]], fields: dict[str, Field]):
    """A valid submission with up to five fields broken, dropped, emptied or repeated, and
    sometimes a field the form does not have. Returns the data and the untouched names."""
    data = {name: list(values) for name, values in base.items()}
    names = sorted(set(fields) | set(base)) or ["q"]
    touched = draw(st.lists(st.sampled_from(names), max_size=5, unique=True))
    for name in touched:
        f = fields.get(name)
        how = draw(st.sampled_from(["weird", "weird", "drop", "empty", "repeat"]))
        if how == "weird":
            data[name] = [draw(weird_value(f))]
        elif how == "drop":
            data.pop(name, None)
        elif how == "empty":
            data[name] = [""]
        else:
            data[name] = draw(st.lists(weird_value(f), min_size=2, max_size=3))
    if draw(st.booleans()) and draw(st.booleans()):
        data[draw(st.sampled_from(["extra", "id", "csrf_token", "page", f"{names[0]}-0"]))] = [
            draw(anything)
        ]
    return data, set(base) - set(touched)


# ---------------------------------------------------------------- targets


class _Lookup(dict):
    """`str.format_map` over the world's attributes."""

    def __init__(self, world: SimpleNamespace) -> None:
        super().__init__()
        self.world = world

    def __missing__(self, key: str) -> Any:
        value = getattr(self.world, key)
        return value.id if hasattr(value, "id") else value


def _count(model: type, *where: Any) -> Callable[[Flask, SimpleNamespace], Any]:
    def count(app: Flask, world: SimpleNamespace) -> int:
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(model).where(*where))

    return count


def _profile_row(app: Flask, world: SimpleNamespace) -> Any:
    """Every column of the member's profile and its expertise: a refused edit changes none."""
    with app.app_context():
        profile = db.session.scalar(select(Profile).where(Profile.user_id == world.member.id))
        if profile is None:
            return None
        columns = {c.key: getattr(profile, c.key) for c in Profile.__mapper__.column_attrs}
        return columns, sorted(c.id for c in getattr(profile, "concepts", []) or [])


@dataclass
class Target:
    name: str
    user: str | None  # a world attribute, or None for anonymous
    page: str  # where the form is shown (a path template over the world)
    action: str | None = None  # where it posts, when not to the page itself
    method: str = "post"
    valid: dict[str, Any] = field(default_factory=dict)
    snapshot: Callable[[Flask, SimpleNamespace], Any] | None = None
    examples: int | None = None
    is_page: bool = True  # a refused submit shows the form again (not a redirect)


EVENT_VALID = {
    "title": "Agua y ciudades",
    "description": "Una charla sobre hidrología.",
    "chapters": "{madrid}",
    "starts_at": "2031-05-01T18:00",
    "ends_at": "2031-05-01T20:00",
    "timezone": "Europe/Madrid",
    "format": "in_person",
    "language": "es",
    "venue": "Casa de México",
    "city": "Madrid",
    "capacity": "20",
    "topics": "hydrology",
    "visibility": "public",
    "status": "published",
}
NEED_VALID = {
    "title": "Modelo de la cuenca",
    "description": "Asesoría para el modelo.",
    "sector": "water",
    "required": "hydrology",
    "nice": "wind-power",
    "languages": "es",
    "modes": "remote_advice",
    "effort_days": "10",
    "starts_on": "2031-01-10",
    "ends_on": "2031-02-10",
    "state": "MX-SON",
    "remote": "y",
    "status": "open",
}
PROFILE_VALID = {
    "full_name": "Ana López Núñez",
    "headline": "Hidróloga en Madrid",
    "bio": "Trabajo en agua.",
    "country": "ES",
    "city": "Madrid",
    "state_of_origin": "MX-SON",
    "timezone": "Europe/Madrid",
    "languages": "es:native; en:C1",
    "position": "Investigadora",
    "employer": "CSIC",
    "expertise": "hydrology; riego",
    "modes": "remote_advice",
    "days_per_year": "10",
    "open_to_mentor": "y",
    "mentor_capacity": "2",
    "phone": "+34 600 000 000",
    "website": "https://ana.example.org",
    "orcid": "0000-0002-1825-0097",
    "education-0-degree": "Doctorado",
    "education-0-field": "Hidrología",
    "education-0-institution": "UNAM",
    "education-0-year": "2012",
}

TARGETS = [
    # -- accounts
    Target(
        "register",
        None,
        "/register",
        valid={
            "full_name": "Rosa Méndez",
            "email": "rosa{n}@ejemplo.mx",
            "password": "una frase bastante larga",
            "password_confirm": "una frase bastante larga",
            "language": "es",
            "account_type": "member",
        },
        snapshot=_count(User),
        examples=20,
    ),
    Target("login", None, "/login", valid={"email": "ana@ejemplo.mx", "password": "mal 12345678"}),
    Target("resend-confirmation", None, "/confirm", valid={"email": "nadie@ejemplo.mx"}),
    Target("reset-request", None, "/reset", valid={"email": "nadie@ejemplo.mx"}),
    Target(
        "language",
        None,
        "/",
        action="/language",
        valid={"language": "en", "next": "/"},
        is_page=False,
    ),
    Target(
        "account-settings",
        "member",
        "/account",
        valid={"settings-full_name": "Ana López", "settings-language": "es"},
    ),
    Target(
        "account-password",
        "member",
        "/account",
        action="/account/password",
        valid={
            "password-current_password": "mal 12345678",
            "password-password": "otra frase larga 2026",
            "password-password_confirm": "otra frase larga 2026",
        },
    ),
    Target(
        "account-email",
        "member",
        "/account",
        action="/account/email",
        valid={"email-new_email": "ana.nueva@ejemplo.mx", "email-password": "mal 12345678"},
    ),
    Target(
        "account-token",
        "member",
        "/account",
        action="/account/tokens",
        valid={"token-name": "mi guion"},
        snapshot=_count(ApiToken),
    ),
    Target(
        "delete-account",
        "member",
        "/members/me/delete",
        valid={"password": "mal 12345678", "confirm": "y"},
        snapshot=_count(User),
    ),
    # -- members
    Target(
        "profile-edit",
        "member",
        "/members/me/edit",
        valid=PROFILE_VALID,
        snapshot=_profile_row,
        examples=20,
    ),
    Target(
        "visibility-preset",
        "member",
        "/members/me",
        action="/members/me/visibility",
        valid={"preset": "members"},
        is_page=False,
    ),
    Target("directory", None, "/members", method="get", valid={"country": "ES", "sort": "name"}),
    Target(
        "directory-member",
        "member",
        "/members",
        method="get",
        valid={"concept": "hydrology", "mentoring": "y", "page": "1"},
    ),
    Target(
        "concepts-json",
        None,
        "/members/concepts",
        method="get",
        valid={"q": "hidro"},
        is_page=False,
    ),
    # -- chapters
    Target(
        "chapter-propose",
        "member",
        "/chapters/propose",
        valid={
            "name": "Berlín",
            "city": "Berlín",
            "country": "DE",
            "region": "{region_id}",
            "timezone": "Europe/Berlin",
            "proposal_note": "Somos muchos en Berlín.",
        },
        snapshot=_count(Chapter),
        examples=20,
    ),
    Target(
        "chapter-join",
        "member",
        "/chapters/paris",
        action="/chapters/paris/join",
        valid={"message": "Hola"},
        snapshot=_count(ChapterMembership),
        is_page=False,
    ),
    Target(
        "chapter-edit",
        "coordinator",
        "/chapters/madrid/edit",
        valid={
            "name": "Madrid",
            "city": "Madrid",
            "timezone": "Europe/Madrid",
            "founded_year": "2010",
            "description": "Hola",
            "nodes": "{node_id}",
        },
    ),
    Target(
        "chapter-decide",
        "coordinator",
        "/chapters/madrid/requests",
        action="/chapters/madrid/requests/{membership_id}",
        valid={"decision": "approve"},
        is_page=False,
    ),
    # -- events
    Target(
        "events-filter",
        None,
        "/events",
        method="get",
        valid={"country": "ES", "format": "online", "when": "past"},
    ),
    Target(
        "event-create",
        "coordinator",
        "/events/new",
        valid=EVENT_VALID,
        snapshot=_count(Event),
        examples=20,
    ),
    Target("event-create-ime", "ime", "/events/new", valid=EVENT_VALID, snapshot=_count(Event)),
    Target(
        "event-edit",
        "coordinator",
        "/events/{event_id}/edit",
        valid=EVENT_VALID,
        snapshot=_count(Event),
    ),
    Target(
        "event-register",
        "other_coordinator",
        "/events/{event_id}",
        action="/events/{event_id}/register",
        valid={"question-1": "ninguna"},
        snapshot=_count(Registration),
        is_page=False,
    ),
    Target(
        "event-answers",
        "member",
        "/events/{event_id}",
        action="/events/{event_id}/answers",
        valid={"question-1": "vegetariana"},
        is_page=False,
    ),
    Target(
        "event-checkin", "coordinator", "/events/{event_id}/attendees", valid={"code": "ABC123"}
    ),
    Target(
        "event-attended",
        "coordinator",
        "/events/{event_id}/attendees",
        action="/events/{event_id}/attendees/{registration_id}/attended",
        valid={"attended": "yes"},
        is_page=False,
    ),
    Target(
        "event-feed",
        "member",
        "/events/mine",
        action="/events/mine/feed",
        valid={"action": "revoke"},
        is_page=False,
    ),
    # -- needs
    Target(
        "needs-filter",
        None,
        "/needs",
        method="get",
        valid={"sector": "water", "status": "all", "remote": "yes", "concept": "hydrology"},
    ),
    Target(
        "need-create",
        "org_user",
        "/needs/new",
        valid=NEED_VALID,
        snapshot=_count(Need),
        examples=20,
    ),
    Target(
        "need-edit", "org_user", "/needs/{need_id}/edit", valid=NEED_VALID, snapshot=_count(Need)
    ),
    Target(
        "need-status",
        "org_user",
        "/needs/{need_id}",
        action="/needs/{need_id}/status",
        valid={"status": "closed", "reason": "Ya no hace falta."},
        is_page=False,
    ),
    Target(
        "need-interest",
        "member",
        "/needs/{need_id}",
        action="/needs/{need_id}/interest",
        valid={"message": "Puedo ayudar."},
        snapshot=_count(Interest),
        is_page=False,
    ),
    Target(
        "need-shortlist",
        "org_user",
        "/needs/{need_id}/candidates",
        action="/needs/{need_id}/shortlist",
        valid={"member_id": "{expert}", "next": "/needs"},
        is_page=False,
    ),
    Target(
        "need-contact",
        "org_user",
        "/needs/{need_id}/shortlist",
        action="/needs/{need_id}/contact",
        valid={"member_id": "{member}", "message": "¿Nos ayudaría con esto?"},
        snapshot=_count(ContactRequest),
        is_page=False,
    ),
    Target(
        "contact-answer",
        "expert",
        "/needs/requests/{contact_id}",
        action="/needs/requests/{contact_id}/answer",
        valid={"decision": "accept", "reply": "Con gusto."},
        is_page=False,
    ),
    Target(
        "outcome-record",
        "org_user",
        "/needs/{done_id}",
        action="/needs/{done_id}/outcomes",
        valid={"member_id": "{expert}", "days": "7", "achieved": "Un estudio", "rating": "5"},
        snapshot=_count(Outcome),
        is_page=False,
    ),
    Target(
        "outcome-confirm",
        "expert",
        "/needs/{done_id}",
        action="/needs/outcomes/{outcome_id}/confirm",
        valid={"comment": "Gracias"},
        is_page=False,
    ),
    # -- mentoring
    Target(
        "mentoring-ask",
        "other_coordinator",
        "/mentoring/ask/{expert}",
        valid={"goal": "Aprender hidrología aplicada", "duration_weeks": "12"},
        snapshot=_count(Mentorship),
    ),
    Target(
        "mentoring-answer",
        "expert",
        "/mentoring",
        action="/mentoring/{mentorship_id}/answer",
        valid={"decision": "accept", "reply": "Encantada"},
        is_page=False,
    ),
    Target(
        "mentoring-end",
        "member",
        "/mentoring",
        action="/mentoring/{mentorship_id}/end",
        valid={"outcome": "Muy bien"},
        is_page=False,
    ),
    # -- organisations
    Target(
        "organisation-register",
        "pending_user",
        "/organisation/register",
        valid={
            "name": "Conagua",
            "kind": "ministry",
            "country": "MX",
            "state_code": "MX-SON",
            "website": "https://conagua.gob.mx",
            "email_domain": "conagua.gob.mx",
        },
        snapshot=_count(Organisation),
    ),
    # -- search and dashboard
    Target("search", None, "/search", method="get", valid={"q": "hidrología", "kind": "members"}),
    Target(
        "search-member",
        "member",
        "/search",
        method="get",
        valid={"q": "hydrology water", "kind": "needs", "sector": "water", "page": "2"},
    ),
    Target(
        "search-events", "member", "/search", method="get", valid={"q": "agua", "kind": "events"}
    ),
    Target(
        "dashboard-ime",
        "ime",
        "/dashboard",
        method="get",
        valid={"period": "12", "chapter": "madrid", "by": "concept"},
    ),
    Target(
        "dashboard-coordinator",
        "coordinator",
        "/dashboard",
        method="get",
        valid={"period": "all", "chapter": "paris", "by": "sector"},
    ),
    Target(
        "dashboard-csv",
        "ime",
        "/dashboard",
        action="/dashboard/growth.csv",
        method="get",
        valid={"period": "3", "chapter": "madrid"},
        is_page=False,
    ),
    # -- administration (IME)
    Target(
        "admin-region-new",
        "ime",
        "/admin/regions/new",
        valid={
            "slug": "asia",
            "name_es": "Asia",
            "name_en": "Asia",
            "position": "5",
        },
        snapshot=_count(Region),
    ),
    Target(
        "admin-region-edit",
        "ime",
        "/admin/regions/europe/edit",
        valid={"slug": "europe", "name_es": "Europa", "name_en": "Europe", "position": "3"},
    ),
    Target(
        "admin-chapter-new",
        "ime",
        "/admin/chapters/new",
        valid={
            "slug": "roma",
            "name": "Roma",
            "city": "Roma",
            "timezone": "Europe/Rome",
            "region": "{region_id}",
            "country": "IT",
            "founded_year": "2012",
            "is_active": "y",
        },
        snapshot=_count(Chapter),
    ),
    Target(
        "admin-chapter-edit",
        "ime",
        "/admin/chapters/madrid/edit",
        valid={
            "slug": "madrid",
            "name": "Madrid",
            "city": "Madrid",
            "timezone": "Europe/Madrid",
            "region": "{region_id}",
            "country": "ES",
            "is_active": "y",
        },
    ),
    Target(
        "admin-coordinators",
        "ime",
        "/admin/chapters/madrid/coordinators",
        valid={"email": "ana@ejemplo.mx"},
    ),
    Target(
        "admin-node",
        "ime",
        "/admin/nodes/{node_slug}/edit",
        valid={"description_es": "Sonora", "description_en": "Sonora"},
    ),
    Target(
        "admin-tags",
        "ime",
        "/admin/tags",
        valid={"tag": "riego", "concept": "hydrology", "new_tag": ""},
    ),
    Target(
        "admin-concept",
        "ime",
        "/admin/concepts/{concept_id}",
        valid={"label_es": "Hidrología", "label_en": "Hydrology", "synonyms_es": "cuencas"},
    ),
    Target(
        "admin-concept-merge",
        "ime",
        "/admin/concepts/{concept_id}",
        action="/admin/concepts/{concept_id}/merge",
        valid={"target": "water-treatment"},
        is_page=False,
    ),
    Target(
        "admin-concepts-filter",
        "ime",
        "/admin/concepts",
        method="get",
        valid={"sector": "water", "q": "hidro"},
    ),
    Target(
        "admin-ccime",
        "ime",
        "/admin/ccime",
        valid={
            "email": "ana@ejemplo.mx",
            "chapter": "madrid",
            "starts_on": "2026-01-01",
            "ends_on": "2027-12-31",
        },
        snapshot=_count(CcimeTerm),
    ),
    Target(
        "admin-org-reject",
        "ime",
        "/admin/organisations",
        action="/admin/organisations/{pending_org_id}/reject",
        valid={"reason": "No consta."},
        is_page=False,
    ),
    Target(
        "admin-proposal-decline",
        "ime",
        "/admin/chapters/proposals",
        action="/admin/chapters/proposals/{proposal_id}/decline",
        valid={"reason": "Ya existe uno."},
        is_page=False,
    ),
    Target(
        "admin-suspend",
        "ime",
        "/admin/accounts",
        action="/admin/accounts/{other_coordinator}/suspend",
        valid={"reason": "Pruebas"},
        is_page=False,
    ),
    Target("admin-accounts-filter", "ime", "/admin/accounts", method="get", valid={"q": "ana"}),
    Target(
        "admin-audit",
        "ime",
        "/admin/audit",
        method="get",
        valid={
            "actor": "sofia",
            "action": "need.",
            "subject_type": "need",
            "subject_id": "1",
            "date_from": "2026-01-01",
            "date_to": "2030-01-01",
        },
    ),
    Target(
        "admin-audit-csv",
        "ime",
        "/admin/audit",
        action="/admin/audit.csv",
        method="get",
        valid={"subject_id": "1", "date_from": "2026-01-01"},
        is_page=False,
    ),
]


def _world_extras(app: Flask, world: SimpleNamespace) -> SimpleNamespace:
    from chapters.models import Node
    from network.members.models import Concept

    with app.app_context():
        world.region_id = db.session.scalar(select(Region.id).where(Region.slug == "europe"))
        world.node_id = db.session.scalar(select(Node.id).where(Node.code == "MX-SON"))
        world.node_slug = db.session.scalar(select(Node).where(Node.code == "MX-SON")).slug
        world.concept_id = db.session.scalar(select(Concept.id).where(Concept.slug == "hydrology"))
    return world


def _base(target: Target, world: SimpleNamespace, n: int) -> dict[str, list[str]]:
    lookup = _Lookup(world)
    return {
        name: [str(value).replace("{n}", str(n)).format_map(lookup)]
        for name, value in target.valid.items()
    }


def _as_request_data(data: dict[str, list[str]], fields: dict[str, Field]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, values in data.items():
        if fields.get(name) and fields[name].kind == "file":
            out[name] = [(io.BytesIO(v.encode("utf-8", "surrogatepass")), "x.csv") for v in values]
        else:
            out[name] = values
    return out


def _check_shown_again(target: Target, body: str, action: str, data, untouched, fields) -> None:
    """A refused form is on the page again, with what was typed in the fields left alone."""
    again = [f for f in forms_in(body, action) if f.action == action]
    assert again, f"{target.name}: the form is not shown again"
    for name in untouched:
        f = fields.get(name)
        value = data[name][0]
        if f and f.kind in ("text", "email", "textarea", "url", "tel", "search") and value.strip():
            assert html.escape(value, quote=False) in body or html.escape(value) in body, (
                f"{target.name}: “{value}” typed in {name} was lost"
            )


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_no_form_fails(app: Flask, world: SimpleNamespace, target: Target) -> None:
    world = _world_extras(app, world)
    client = app.test_client()
    login(client, getattr(world, target.user) if target.user else None)
    page = target.page.format_map(_Lookup(world))
    action = (target.action or target.page).format_map(_Lookup(world))
    shown = client.get(page, follow_redirects=True)
    assert shown.status_code == 200, f"{target.name}: {page} gives {shown.status_code}"
    body = shown.get_data(as_text=True)
    found = [f for f in forms_in(body, page) if f.action == action]
    fields = found[0].fields if found else {}

    @settings(FUZZ_SETTINGS, max_examples=target.examples or 10)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        n = data.draw(st.integers(0, 10**6), label="n")
        sent, untouched = data.draw(submissions(_base(target, world, n), fields), label="form")
        before = target.snapshot(app, world) if target.snapshot else None
        if target.method == "get":
            response = client.get(action, query_string=sent)
        else:
            response = client.post(action, data=_as_request_data(sent, fields))
        assert response.status_code < 500
        text = response.get_data(as_text=True)
        refused = response.status_code >= 400
        if target.is_page and response.status_code in (200, 422) and found:
            refused = refused or "is-invalid" in text or "alert-danger" in text
            if refused and target.method == "post":
                _check_shown_again(target, text, action, sent, untouched, fields)
        if target.snapshot:
            after = target.snapshot(app, world)
            if refused:
                assert after == before, f"{target.name}: a refused submit wrote something"
            elif isinstance(before, int):
                assert after - before in (0, 1)

    check()


# ---------------------------------------------------------------- what the fuzzer found


def test_changing_event_answers_replaces_them(app: Flask, world: SimpleNamespace) -> None:
    """Found by fuzzing: a second answer to the same question broke a unique constraint (500)."""
    client = login(app.test_client(), world.member)
    path = f"/events/{world.event_id}/answers"
    assert client.post(path, data={"question-1": "vegetariana"}).status_code == 302
    assert client.post(path, data={"question-1": "ninguna"}).status_code == 302
    with app.app_context():
        from network.events.models import RegistrationAnswer

        answers = db.session.scalars(select(RegistrationAnswer.answer)).all()
    assert answers == ["ninguna"]


def test_free_tag_form_errors_are_flashed(app: Flask, world: SimpleNamespace) -> None:
    """Found by fuzzing: a refused free-tag form joined lazy messages with str.join (500)."""
    client = login(app.test_client(), world.ime)
    response = client.post("/admin/tags", data={"tag": ""}, follow_redirects=True)
    assert response.status_code == 200
    assert "is required" in response.get_data(as_text=True) or "obligatorio" in response.get_data(
        as_text=True
    )
