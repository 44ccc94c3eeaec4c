"""Panels of IME's dashboard."""

from __future__ import annotations

from marshmallow import fields

from network.api.schemas.fields import Query, QueryString, Response
from network.dashboard import panels


class PanelArgs(Query):
    """The scope of a panel."""

    period = QueryString(
        choices=panels.PERIODS, metadata={"description": "3m, 12m (default), 24m or all."}
    )
    chapter = QueryString(
        metadata={
            "description": "A chapter's slug: IME may ask for any; a coordinator's token gets "
            "their own chapter (the first by name if not given)."
        }
    )
    by = QueryString(
        choices=("sector", "concept"),
        metadata={"description": "For the gap panel: sector (default) or concept."},
    )


class DashboardColumnOut(Response):
    """A column of a dashboard table: `kind` is text, int, percent (a share from 0 to 1), days
    or heat (a count of the supply-vs-demand table)."""

    key = fields.String(required=True)
    label = fields.String(required=True)
    kind = fields.String(required=True)


class DashboardFigureOut(Response):
    label = fields.String(required=True)
    value = fields.String(required=True)


class DashboardPanelOut(Response):
    """One panel of IME's dashboard: the table the page draws as a chart, with the scope it was
    computed for. Each row maps column keys to values (null where there is nothing to divide)."""

    panel = fields.String(required=True)
    title = fields.String(required=True)
    period = fields.String(required=True)
    chapter = fields.String(required=True, allow_none=True)
    columns = fields.List(fields.Nested(DashboardColumnOut), required=True)
    rows = fields.List(fields.Dict(), required=True)
    summary = fields.List(fields.Nested(DashboardFigureOut), required=True)
