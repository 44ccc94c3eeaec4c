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
