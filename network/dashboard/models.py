"""The stored panels of IME's whole-network dashboard (see network/dashboard/figures.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from network.db import db


class StoredPanel(db.Model):
    """One panel as computed when `started_at` began, for one period, language and set of tiers
    (the key); or, under the reserved key `figures.WITHDRAWN`, when a count last lost someone."""

    __tablename__ = "dashboard_figures"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime]
    # The page generation (network.pagecache) read before the figures were: while it has not
    # changed, nothing they count has either.
    generation: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
