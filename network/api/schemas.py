"""Response shapes of the API. Views return these; the OpenAPI document is generated from them."""

from __future__ import annotations

from dataclasses import dataclass


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
class SearchHitOut:
    kind: str
    id: int
    title: str
    url: str
    score: float
    why: list[WhyOut]
    fields: MemberOut | None = None


@dataclass
class SearchOut:
    """Search results with facet counts; only what the caller may see is searched or counted."""

    total: int
    page: int
    results: list[SearchHitOut]
    facets: dict | None = None
    corrected: str | None = None
