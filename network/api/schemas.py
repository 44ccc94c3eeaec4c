"""Response shapes of the API. Views return these; the OpenAPI document is generated from them."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import get_type_hints

from network.api.openapi import constraints
from network.events.forms import EVENT_LANGUAGES
from network.events.models import (
    EventFormat,
    EventStatus,
    EventVisibility,
    RegistrationStatus,
)
from network.events.services import MAX_QUESTIONS
from network.members.models import Mode
from network.needs.forms import NEED_LANGUAGES
from network.needs.models import ContactStatus, NeedStatus
from network.needs.services import MAX_DESCRIPTION, MAX_MESSAGE
from network.visibility import PROFILE_FIELDS, Tier

# Request limits the document states; the API's checks answer 422 beyond them.
MAX_QUESTION_LENGTH = 200
MAX_EVENT_DESCRIPTION = 10_000
# Ids and counts are 32-bit: larger ones are nonsense, and SQLite overflows beyond 64 bits.
MAX_INT = 2**31 - 1
# A wall-clock time without an offset, as the event API takes it (the API also accepts a space
# for the `T` and refuses impossible dates such as 30 February).
LOCAL_TIME_PATTERN = (
    r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
)
COUNTRY_PATTERN = "^[A-Za-z]{2}$"


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
class _ProfileFields:
    # Every field may be left out (its default). `| None` where null is a value (it clears the
    # field), not where null is refused (the name; yes-or-no answers).
    full_name: str = dataclasses.field(  # type: ignore[assignment]
        default=None, metadata=constraints(minLength=2, maxLength=120)
    )
    headline: str | None = dataclasses.field(default=None, metadata=constraints(maxLength=160))
    bio: str | None = dataclasses.field(default=None, metadata=constraints(maxLength=5000))
    country: str | None = None
    city: str | None = dataclasses.field(default=None, metadata=constraints(maxLength=120))
    state_of_origin: str | None = None
    timezone: str | None = None
    languages: str | list[str] | None = None
    position: str | None = dataclasses.field(default=None, metadata=constraints(maxLength=160))
    employer: str | None = dataclasses.field(default=None, metadata=constraints(maxLength=160))
    expertise: str | list[str] | None = None
    modes: str | list[str] | None = None
    days_per_year: int | None = dataclasses.field(
        default=None, metadata=constraints(minimum=0, maximum=365)
    )
    open_to_mentor: bool = None  # type: ignore[assignment]
    mentor_capacity: int | None = dataclasses.field(
        default=None, metadata=constraints(minimum=0, maximum=50)
    )
    open_to_requests: bool = None  # type: ignore[assignment]
    phone: str | None = None
    website: str | None = None
    linkedin: str | None = None
    orcid: str | None = None
    name_public: bool = None  # type: ignore[assignment]


# The fields above plus `<field>_visibility` for each field with a visibility of its own.
ProfileUpdateIn = dataclasses.make_dataclass(
    "ProfileUpdateIn",
    [
        *(
            (f.name, get_type_hints(_ProfileFields)[f.name], f)
            for f in dataclasses.fields(_ProfileFields)
        ),
        *(
            (f"{name}_visibility", Tier | None, dataclasses.field(default=None))
            for name in PROFILE_FIELDS
        ),
    ],
)
ProfileUpdateIn.__doc__ = (
    "Fields to change on one's own profile (any subset). `languages`, `expertise` and `modes` "
    "may be JSON arrays or `;`-separated strings; `<field>_visibility` sets who sees a field."
)


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

    title: str = dataclasses.field(metadata=constraints(minLength=1, maxLength=200))
    starts_at: str = dataclasses.field(metadata=constraints(pattern=LOCAL_TIME_PATTERN))
    ends_at: str = dataclasses.field(metadata=constraints(pattern=LOCAL_TIME_PATTERN))
    timezone: str = dataclasses.field(metadata=constraints(minLength=1, maxLength=64))
    description: str = dataclasses.field(
        default="", metadata=constraints(maxLength=MAX_EVENT_DESCRIPTION)
    )
    chapters: list[str] = dataclasses.field(default_factory=list)
    format: EventFormat = EventFormat.IN_PERSON
    venue: str = dataclasses.field(default="", metadata=constraints(maxLength=200))
    address: str = dataclasses.field(default="", metadata=constraints(maxLength=300))
    city: str = dataclasses.field(default="", metadata=constraints(maxLength=120))
    country: str | None = dataclasses.field(
        default=None, metadata=constraints(pattern=COUNTRY_PATTERN)
    )
    language: str = dataclasses.field(
        default="es", metadata=constraints(enum=list(EVENT_LANGUAGES))
    )
    online_url: str = dataclasses.field(default="", metadata=constraints(maxLength=500))
    capacity: int | None = dataclasses.field(
        default=None, metadata=constraints(minimum=1, maximum=100_000)
    )
    visibility: EventVisibility = EventVisibility.PUBLIC
    status: EventStatus = EventStatus.DRAFT
    registration_opens_at: str | None = dataclasses.field(
        default=None, metadata=constraints(pattern=LOCAL_TIME_PATTERN)
    )
    registration_closes_at: str | None = dataclasses.field(
        default=None, metadata=constraints(pattern=LOCAL_TIME_PATTERN)
    )
    topics: list[str] = dataclasses.field(default_factory=list)
    questions: list[str] = dataclasses.field(
        default_factory=list,
        metadata=constraints(maxItems=MAX_QUESTIONS, items={"maxLength": MAX_QUESTION_LENGTH}),
    )


# Every field of EventIn, none required (a default makes a field optional in the document, and
# the type stays the same: `null` is refused where EventIn refuses it), so PATCH cannot drift
# from POST.
EventPatchIn = dataclasses.make_dataclass(
    "EventPatchIn",
    [
        (
            f.name,
            get_type_hints(EventIn)[f.name],
            dataclasses.field(default=None, metadata=f.metadata),
        )
        for f in dataclasses.fields(EventIn)
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

    title: str = dataclasses.field(metadata=constraints(minLength=5, maxLength=200))
    sector: str
    required_concepts: list[str] = dataclasses.field(metadata=constraints(minItems=1, maxItems=10))
    description: str = dataclasses.field(
        default="", metadata=constraints(maxLength=MAX_DESCRIPTION)
    )
    nice_concepts: list[str] = dataclasses.field(
        default_factory=list, metadata=constraints(maxItems=10)
    )
    languages: list[str] = dataclasses.field(
        default_factory=list, metadata=constraints(items={"enum": list(NEED_LANGUAGES)})
    )
    modes: list[str] = dataclasses.field(
        default_factory=list, metadata=constraints(items={"enum": [m.value for m in Mode]})
    )
    effort_days: int | None = dataclasses.field(
        default=None, metadata=constraints(minimum=1, maximum=365)
    )
    starts_on: str | None = dataclasses.field(default=None, metadata=constraints(format="date"))
    ends_on: str | None = dataclasses.field(default=None, metadata=constraints(format="date"))
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

    member_id: int = dataclasses.field(metadata=constraints(minimum=1, maximum=MAX_INT))
    message: str = dataclasses.field(metadata=constraints(minLength=10, maxLength=MAX_MESSAGE))


@dataclass
class ContactCreatedOut:
    """The new contact request, waiting for the member's answer."""

    id: int
    status: ContactStatus


@dataclass
class ContactAnswerIn:
    """An optional reply to the organisation (at most 2,000 characters)."""

    reply: str = dataclasses.field(default="", metadata=constraints(maxLength=MAX_MESSAGE))


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
