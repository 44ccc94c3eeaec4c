"""IME's whole-network panels, kept in the database between views and shown with their time.

Why: at 100,000 members each member panel reads every profile, and the whole page took about
1.2 s. IME's figures for the whole network are the same for every IME account (they hold every
tier but "only me" for every member, and an IME account is not a member, so neither its own
profile nor its chapters change a count), so one computation can serve every IME view.

A stored panel is served:

- **exactly**, while nothing has been written since it was computed: the page generation it read
  before its queries (network.pagecache, increased by every transaction that changes what a page
  shows, and by search index writes) is still the current one;
- **or, once data has changed**, while it is younger than `DASHBOARD_FIGURES_MAX_AGE` seconds
  (600 unless configured; 0 means exact only) and nothing that could take someone out of a count
  for privacy's sake has happened since: a visibility setting changed, an account was suspended,
  re-roled, unconfirmed or deleted, and whatever an IME administrator changes (they expect to
  see what they have just done). Such a change writes the `WITHDRAWN` marker inside its own
  transaction (the session hooks below), and every panel computed before it, or up to `GRACE`
  after it (a computation under way while that transaction committed), is computed again.

Otherwise the panel is computed again and stored. The page says when its figures were computed.
Coordinators' dashboards and IME's view of one chapter depend on who is looking and are small,
so they are always computed live. Stored panels are written on a connection of their own (a
view that only reads commits nothing), and a failed write costs only the next view a computation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, g, has_request_context
from sqlalchemy import Connection, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from network.auth.models import User
from network.dashboard.models import StoredPanel
from network.db import db, listen_to_session, utcnow
from network.members.models import Profile
from network.pagecache import IGNORED_COLUMNS, IGNORED_TABLES, read_generation
from network.security import is_ime_admin
from network.visibility import PROFILE_FIELDS

log = logging.getLogger(__name__)

WITHDRAWN = "withdrawn"  # the reserved key: when a count last lost someone
GRACE = timedelta(seconds=10)
DEFAULT_MAX_AGE = 600  # seconds

# What decides whether a member is counted at all, or a field of theirs: changing one of these
# may take someone out of a figure, which no stored panel may then show any longer.
_PRIVACY_COLUMNS = {
    "profiles": frozenset(f"{name}_visibility" for name in PROFILE_FIELDS),
    "users": frozenset({"role", "email_confirmed_at", "suspended_at"}),
}
_WITHDRAW = "dashboard_withdraw"
_CREATED = "dashboard_created"  # (table, id) of members' rows inserted in this transaction


@dataclass(frozen=True)
class Stored:
    """The stored panels asked for, with what decides whether each may still be served."""

    panels: dict[str, StoredPanel]
    generation: int | None  # the current page generation, read before any figure
    withdrawn_at: datetime | None

    def usable(self, key: str, now: datetime) -> StoredPanel | None:
        """The stored panel under `key`, if it may be served (see the module's docstring)."""
        panel = self.panels.get(key)
        if panel is None:
            return None
        if panel.generation is not None and panel.generation == self.generation:
            return panel
        if self.withdrawn_at is not None and panel.started_at <= self.withdrawn_at + GRACE:
            return None
        max_age = timedelta(
            seconds=current_app.config.get("DASHBOARD_FIGURES_MAX_AGE", DEFAULT_MAX_AGE)
        )
        return panel if now - panel.started_at < max_age else None


def load(keys: Iterable[str]) -> Stored:
    """The stored panels under `keys` and the withdrawal marker, in one query; the generation
    first, so that figures computed after this call are never newer than it says."""
    generation = read_generation()
    rows = {
        row.key: row
        for row in db.session.scalars(
            select(StoredPanel).where(StoredPanel.key.in_([*keys, WITHDRAWN]))
        )
    }
    marker = rows.pop(WITHDRAWN, None)
    return Stored(rows, generation, marker.started_at if marker else None)


def _upsert(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or replace rows by key (two workers may compute the same panel at once)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    for row in rows:
        statement = dialect.insert(StoredPanel.__table__).values(**row)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["key"],
                set_={name: statement.excluded[name] for name in row if name != "key"},
            )
        )


def store(rows: list[dict[str, Any]]) -> None:
    """Keep computed panels ({key, started_at, generation, payload}) for the next views."""
    if not rows:
        return
    try:
        with db.engine.begin() as connection:
            _upsert(connection, rows)
    except SQLAlchemyError:
        log.exception("Could not store the dashboard's figures; the next view computes them")


# ---------------------------------------------------------------- withdrawal


def _counted(obj: Any) -> bool:
    return isinstance(obj, (User, Profile))


def _withdraws(obj: Any, created: set[tuple[str, int]]) -> bool:
    """Does this change of a stored row take someone out of a count (or a field out of one)?
    A row made in this same transaction was in no kept figure."""
    if (obj.__tablename__, obj.id) in created:
        return False
    changed = {attr.key for attr in inspect(obj).attrs if attr.history.has_changes()}
    return bool(changed & _PRIVACY_COLUMNS[obj.__tablename__])


def _by_ime() -> bool:
    """Is an IME administrator making this change? They expect the dashboard to show what they
    have just done (a tag mapped to a concept, an organisation verified), so their changes
    withdraw kept panels too. Only an account already loaded for this request is looked at: a
    flush must not load one."""
    if not has_request_context():
        return False
    return is_ime_admin(g.get("_login_user") or g.get("api_user"))


def _shown_anywhere(obj: Any, *, dirty: bool) -> bool:
    """Does this write change anything a page shows (the page cache's ignore lists)?"""
    tables = {table.name for table in inspect(obj).mapper.tables}
    if tables <= IGNORED_TABLES:
        return False
    if not dirty:
        return True
    ignored = frozenset().union(*(IGNORED_COLUMNS.get(name, ()) for name in tables))
    return any(
        attr.history.has_changes() and attr.key not in ignored for attr in inspect(obj).attrs
    )


def _after_flush(session: Session, flush_context: Any) -> None:
    created = session.info.setdefault(_CREATED, set())
    created.update((obj.__tablename__, obj.id) for obj in session.new if _counted(obj))
    if session.info.get(_WITHDRAW):
        return
    if (
        any(_counted(obj) for obj in session.deleted)
        or any(_withdraws(obj, created) for obj in session.dirty if _counted(obj))
        or (
            _by_ime()
            and any(
                _shown_anywhere(obj, dirty=dirty)
                for objs, dirty in (
                    (session.new, False),
                    (session.deleted, False),
                    (session.dirty, True),
                )
                for obj in objs
            )
        )
    ):
        session.info[_WITHDRAW] = True


def _set_columns(statement: Any) -> set[str] | None:
    """The columns a bulk UPDATE sets, or None when they are not known from the statement
    (values given per row at execution): then assume the worst."""
    values = getattr(statement, "_values", None)
    if not values:
        return None
    return {getattr(column, "key", str(column)) for column in values}


def _on_execute(state: ORMExecuteState) -> None:
    """Bulk statements (`session.execute(update(Profile)...)`) bypass the flush."""
    if state.is_select or state.session.info.get(_WITHDRAW):
        return
    name = getattr(getattr(state.statement, "table", None), "name", None)
    writes = state.is_insert or state.is_update or state.is_delete
    if writes and name not in IGNORED_TABLES and _by_ime():
        state.session.info[_WITHDRAW] = True
        return
    if name not in _PRIVACY_COLUMNS:
        return
    if state.is_delete:
        state.session.info[_WITHDRAW] = True
    elif state.is_update:
        columns = _set_columns(state.statement)
        if columns is None or columns & _PRIVACY_COLUMNS[name]:
            state.session.info[_WITHDRAW] = True


def _before_commit(session: Session) -> None:
    """Write the marker in the transaction that made the change, so both commit together."""
    session.flush()
    session.info.pop(_CREATED, None)
    if session.info.pop(_WITHDRAW, False):
        marker = {"key": WITHDRAWN, "started_at": utcnow(), "generation": None, "payload": {}}
        _upsert(session.connection(), [marker])


def _after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_WITHDRAW, None)
        session.info.pop(_CREATED, None)


def register_withdrawal_hooks() -> None:
    """Every writer marks stored panels withdrawn when it changes who or what they count."""
    listen_to_session(
        ("after_flush", _after_flush),
        ("do_orm_execute", _on_execute),
        ("before_commit", _before_commit),
        ("after_soft_rollback", _after_rollback),
    )
