"""The declarative base, shared column types and the time helper every model uses."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Enum, MetaData, event, extract
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Timezone-aware now; used as a callable default so nothing is computed at import time."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes in UTC and always returns them aware.

    SQLite keeps no time zone, so without this a value read back would be naive and compare
    wrongly against utcnow().
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def str_enum(enum_class: type[enum.Enum], length: int = 24, name: str | None = None) -> Enum:
    """A portable enum column: stored as its values in a VARCHAR, checked, no native PG type.

    `name` names the CHECK constraint; give one when a table has several columns of one enum,
    since PostgreSQL wants constraint names unique per table."""
    return Enum(
        enum_class,
        name=name or enum_class.__name__.lower(),
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
        create_constraint=True,
    )


# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    # One registry carries both settings; SQLAlchemy 2.1 refuses them as separate attributes.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


db = SQLAlchemy(model_class=Base)


def month_key(year: Any, month: Any) -> str:
    """ "2026-03" from the (year, month) that `year_month` groups by (PostgreSQL gives Decimals)."""
    return f"{int(year):04d}-{int(month):02d}"


def year_month(column: Any) -> tuple[Any, Any]:
    """Year and month expressions of a timestamp, to count per calendar month (UTC) with the
    same SQL on SQLite and PostgreSQL."""
    return extract("year", column), extract("month", column)


def listen_to_session(*listeners: tuple[str, Any]) -> None:
    """Attach (event name, function) pairs to `db.session`, each once: the scoped session is
    process-wide while apps come and go (tests, several apps), so a second app adds nothing."""
    for name, listener in listeners:
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)
