"""Response shapes of the API. Views return these; the OpenAPI document is generated from them."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import get_type_hints

from network.events.models import (
    EventFormat,
    EventStatus,
    EventVisibility,
    RegistrationStatus,
)
from network.needs.models import ContactStatus, NeedStatus


@dataclass
class OrganisationOut:
    """The organisation an account speaks for."""

    slug: str
    name: str
    kind: str
    is_verified: bool


@dataclass
class ChapterRef:
    """A chapter the account belongs to, with its role there."""

    slug: str
    name: str
    role: str


@dataclass
class MeOut:
    """The account that owns the token."""

    id: int
    full_name: str
    email: str
    role: str
    preferred_language: str
    organisation: OrganisationOut | None
    chapters: list[ChapterRef]


@dataclass
class ChapterOut:
    """A chapter of the network."""

    slug: str
    name: str
    country: str
    city: str
    region: str
    timezone: str
    member_count: int


@dataclass
class OpenAPIDocument:
    """This document."""

    openapi: str


@dataclass
class NamedCode:
    """A coded value with its name in the viewer's language."""

    code: str
    name: str


@dataclass
class LanguageOut:
    code: str
    name: str
    level: str


@dataclass
class ConceptOut:
    slug: str
    label: str
    sector: str


@dataclass
class PositionOut:
    title: str
    organisation: str


@dataclass
class EducationOut:
    degree: str
    field: str
    institution: str
    year: int | None


@dataclass
class LinksOut:
    website: str | None = None
    linkedin: str | None = None
    orcid: str | None = None


@dataclass
class ModeOut:
    mode: str
    label: str


@dataclass
class MentoringOut:
    open: bool
    capacity: int
    # Every place taken: the mentor cannot be asked until a mentorship ends.
    full: bool = False


@dataclass
class MemberOut:
    """A member as the token's account may see them: hidden fields are absent, not empty."""

    id: int
    full_name: str
    confirmed_at: str
    headline: str | None = None
    bio: str | None = None
    email: str | None = None
    phone: str | None = None
    country: str | None = None
    country_name: str | None = None
    city: str | None = None
    timezone: str | None = None
    state_of_origin: NamedCode | None = None
    languages: list[LanguageOut] | None = None
    position: PositionOut | None = None
    education: list[EducationOut] | None = None
    links: LinksOut | None = None
    expertise: list[ConceptOut] | None = None
    free_tags: list[str] | None = None
    modes: list[ModeOut] | None = None
    days_per_year: int | None = None
    mentoring: MentoringOut | None = None
    open_to_requests: bool | None = None
    chapters: list[ChapterRef] | None = None


@dataclass
class ProfileUpdateIn:
    """Fields to change on one's own profile (any subset). Lists may be JSON arrays or
    `;`-separated strings; visibility keys are `<field>_visibility` with a tier name."""

    full_name: str | None = None
    headline: str | None = None
    bio: str | None = None
    country: str | None = None
    city: str | None = None
    state_of_origin: str | None = None
    timezone: str | None = None
    languages: str | None = None
    position: str | None = None
    employer: str | None = None
    expertise: str | None = None
    modes: str | None = None
    days_per_year: int | None = None
    open_to_mentor: bool | None = None
    mentor_capacity: int | None = None
    open_to_requests: bool | None = None
    phone: str | None = None
    website: str | None = None
    linkedin: str | None = None
    orcid: str | None = None
    name_public: bool | None = None


@dataclass
class WhyOut:
    """One reason a result matched: the field, what matched there, the query word, and how."""

    field: str
    matched: str
    query: str
    via: str


@dataclass
class EventHitOut:
    """An event found by search: when and where, never its online link (see the event itself,
    which shows the link to hosts and confirmed attendees)."""

    starts_at: str
    ends_at: str
    starts_at_utc: str
    timezone: str
    format: str
    city: str
    country: str | None
    language: str
    visibility: str
    chapters: list[str]


@dataclass
class NeedHitOut:
    """A development need found by search (see the need itself for everything else)."""

    organisation: str
    status: str
    state: str | None
    remote: bool
    required_concepts: list[str]


@dataclass
class SearchHitOut:
    kind: str
    id: int
    title: str
    url: str
    score: float
    why: list[WhyOut]
    fields: MemberOut | None = None
    event: EventHitOut | None = None
    need: NeedHitOut | None = None


@dataclass
class SearchOut:
    """Search results with facet counts; only what the caller may see is searched or counted.
    `kinds` counts the results of each kind for the same words (upcoming events only)."""

    total: int
    page: int
    results: list[SearchHitOut]
    facets: dict | None = None
    corrected: str | None = None
    kinds: dict | None = None


# ---------------------------------------------------------------- events


@dataclass
class EventHostOut:
    """A chapter hosting the event."""

    slug: str
    name: str


@dataclass
class EventTopicOut:
    """An expertise concept the event is about, in both languages."""

    slug: str
    label_es: str
    label_en: str


@dataclass
class MyRegistrationOut:
    """The token's own place at the event; `position` is 1 for the head of the waitlist."""

    status: RegistrationStatus
    position: int | None


@dataclass
class EventOut:
    """An event. Local times carry the offset of the event's zone; `online_url` is present only
    for the hosts and confirmed attendees, `my_registration` only when the token's member holds
    a seat or a place on the waitlist."""

    id: int
    title: str
    description: str
    chapters: list[EventHostOut]
    starts_at: str
    ends_at: str
    starts_at_utc: str
    timezone: str
    format: EventFormat
    venue: str
    address: str
    city: str
    country: str | None
    language: str
    capacity: int | None
    seats_taken: int
    waitlist_length: int
    visibility: EventVisibility
    status: EventStatus
    topics: list[EventTopicOut]
    registration_opens_at: str | None
    registration_closes_at: str | None
    url: str
    ics_url: str
    online_url: str | None = None
    my_registration: MyRegistrationOut | None = None


@dataclass
class EventIn:
    """A new event. Times are local wall-clock times in `timezone`, without an offset
    (`2027-03-05T18:00`). `chapters` are the hosting chapters' slugs (IME may leave it empty for
    a network-wide event); `topics` are expertise concept slugs or labels. A new event is a
    draft or published; `cancelled` is only reached by editing."""

    title: str
    starts_at: str
    ends_at: str
    timezone: str
    description: str = ""
    chapters: list[str] = dataclasses.field(default_factory=list)
    format: EventFormat = EventFormat.IN_PERSON
    venue: str = ""
    address: str = ""
    city: str = ""
    country: str | None = None
    language: str = "es"
    online_url: str = ""
    capacity: int | None = None
    visibility: EventVisibility = EventVisibility.PUBLIC
    status: EventStatus = EventStatus.DRAFT
    registration_opens_at: str | None = None
    registration_closes_at: str | None = None
    topics: list[str] = dataclasses.field(default_factory=list)
    questions: list[str] = dataclasses.field(default_factory=list)


# Every field of EventIn, none required (a default makes a field optional in the document, and
# the type stays the same: `null` is refused where EventIn refuses it), so PATCH cannot drift
# from POST.
EventPatchIn = dataclasses.make_dataclass(
    "EventPatchIn",
    [
        (name, hint, dataclasses.field(default=None))
        for name, hint in get_type_hints(EventIn).items()
    ],
)
EventPatchIn.__doc__ = (
    "Changes to an event: send only the fields to change; the others keep their value. "
    "Changing `timezone` alone keeps the wall-clock times. `status` may also be `cancelled` "
    "(everybody registered is told); `null` clears `capacity` and the registration window."
)


@dataclass
class EventCreatedOut:
    """The new event's id."""

    id: int


@dataclass
class RegistrationOut:
    """A seat (`confirmed`) or a place on the waitlist (`waitlisted`, with its position)."""

    status: RegistrationStatus
    position: int | None


@dataclass
class CancellationOut:
    """The registration is cancelled; `promoted` is the member moved up into the freed seat."""

    status: str
    promoted: int | None


# ---------------------------------------------------------------- needs


class NewNeedStatus(enum.StrEnum):
    """A need starts as a draft (only its organisation and IME see it) or open (published)."""

    DRAFT = "draft"
    OPEN = "open"


@dataclass
class NeedIn:
    """A new need. `sector`, `required_concepts` and `nice_concepts` are slugs or labels in
    Spanish or English; an unknown one answers 400 naming it. `modes` are the stable names of the
    ways of contributing (`remote_advice`, `mentoring`, `short_visit`, `teaching`, `investment`,
    `research`); `languages` are ISO 639-1 codes. Dates are `YYYY-MM-DD`. `state` is the code of
    the Mexican state concerned (`MX-SON`), or `null` for a national need."""

    title: str
    sector: str
    required_concepts: list[str]
    description: str = ""
    nice_concepts: list[str] = dataclasses.field(default_factory=list)
    languages: list[str] = dataclasses.field(default_factory=list)
    modes: list[str] = dataclasses.field(default_factory=list)
    effort_days: int | None = None
    starts_on: str | None = None
    ends_on: str | None = None
    state: str | None = None
    remote: bool = True
    status: NewNeedStatus = NewNeedStatus.DRAFT


@dataclass
class NeedCreatedOut:
    """The new need's id."""

    id: int


@dataclass
class LabelledOut:
    """A sector or an expertise concept: its stable slug and its label in the caller's language."""

    slug: str
    label: str


@dataclass
class NeedOrganisationOut:
    """The organisation that posted the need."""

    slug: str
    name: str


@dataclass
class NeedOut:
    """A development need. `state` is null for a national need; `close_reason` is present only
    for the posting organisation's users and IME."""

    id: int
    title: str
    description: str
    sector: LabelledOut
    required_concepts: list[LabelledOut]
    nice_concepts: list[LabelledOut]
    languages: list[str]
    modes: list[str]
    effort_days: int | None
    starts_on: str | None
    ends_on: str | None
    state: NamedCode | None
    remote: bool
    status: NeedStatus
    organisation: NeedOrganisationOut
    created_at: str
    close_reason: str | None = None


@dataclass
class FactorOut:
    """One named factor of a candidate's score: `contribution` is `weight` times `value` rounded to
    thousandths, and a candidate's contributions add up to its score."""

    name: str
    weight: float
    value: float
    contribution: float
    detail: str


@dataclass
class CandidateOut:
    """A member proposed for a need, with why. No contact details: those come only through a
    contact request the member accepted."""

    member_id: int
    full_name: str
    score: float
    at_capacity: bool
    factors: list[FactorOut]
    missing_concepts: list[str]


@dataclass
class CandidatesOut:
    """The best candidates first; `total` counts every candidate, not only those returned."""

    results: list[CandidateOut]
    total: int


@dataclass
class ContactRequestIn:
    """Ask a member whether they agree to be contacted about this need (10 to 2,000 characters)."""

    member_id: int
    message: str


@dataclass
class ContactCreatedOut:
    """The new contact request, waiting for the member's answer."""

    id: int
    status: ContactStatus


@dataclass
class ContactAnswerIn:
    """An optional reply to the organisation (at most 2,000 characters)."""

    reply: str = ""


@dataclass
class ContactDetailsOut:
    """How to reach the member: only for the organisation they accepted."""

    email: str
    phone: str | None = None


@dataclass
class ContactRequestOut:
    """A contact request. `contact` is present only when the member accepted and the caller is a
    user of the organisation that asked; each such read is written to the audit log, which the
    member can read."""

    id: int
    need_id: int
    need_title: str
    organisation: NeedOrganisationOut
    member_id: int
    member_full_name: str
    message: str
    status: ContactStatus
    reply: str
    created_at: str
    answered_at: str | None
    contact: ContactDetailsOut | None = None


@dataclass
class CountOut:
    """Members of one region or sector; "< 5" when fewer than five."""

    slug: str
    name: str
    members: int | str


@dataclass
class StatsOut:
    """Public aggregates, as on /about/stats. Counts of people below `suppressed_below` are given
    as the string "< 5" (small-cell suppression); chapters and countries are never suppressed."""

    chapters: int
    countries: int
    members: int | str
    events_held: int | str
    needs_completed: int | str
    members_by_region: list[CountOut]
    members_by_sector: list[CountOut]
    suppressed_below: int


@dataclass
class DashboardColumnOut:
    """A column of a dashboard table: `kind` is text, int, percent (a share from 0 to 1), days
    or heat (a count of the supply-vs-demand table)."""

    key: str
    label: str
    kind: str


@dataclass
class DashboardFigureOut:
    label: str
    value: str


@dataclass
class DashboardPanelOut:
    """One panel of IME's dashboard: the table the page draws as a chart, with the scope it was
    computed for. Each row maps column keys to values (null where there is nothing to divide)."""

    panel: str
    title: str
    period: str
    chapter: str | None
    columns: list[DashboardColumnOut]
    rows: list[dict]
    summary: list[DashboardFigureOut]
