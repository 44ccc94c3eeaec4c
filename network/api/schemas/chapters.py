"""Chapters of the network."""

from __future__ import annotations

from marshmallow import fields

from network.api.schemas.fields import Response


class ChapterOut(Response):
    """A chapter of the network."""

    slug = fields.String(required=True)
    name = fields.String(required=True)
    country = fields.String(required=True)
    city = fields.String(required=True)
    region = fields.String(required=True)
    timezone = fields.String(required=True)
    member_count = fields.Integer(required=True)
