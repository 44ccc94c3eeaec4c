"""The network's public aggregates."""

from __future__ import annotations

from marshmallow import fields

from network.api.schemas.fields import Count, Response


class CountOut(Response):
    """Members of one region or sector; "< 5" when fewer than five."""

    slug = fields.String(required=True)
    name = fields.String(required=True)
    members = Count(required=True)


class StatsOut(Response):
    """Public aggregates, as on /about/stats. Counts of people below `suppressed_below` are given
    as the string "< 5" (small-cell suppression); chapters and countries are never suppressed."""

    chapters = fields.Integer(required=True)
    countries = fields.Integer(required=True)
    members = Count(required=True)
    events_held = Count(required=True)
    needs_completed = Count(required=True)
    members_by_region = fields.List(fields.Nested(CountOut), required=True)
    members_by_sector = fields.List(fields.Nested(CountOut), required=True)
    suppressed_below = fields.Integer(required=True)
