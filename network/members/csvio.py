"""CSV import and export of members for IME administrators.

The columns are stable (other tools write these files). Import is idempotent by e-mail, checks
every row before writing anything, and is all-or-nothing unless `partial` is asked for.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from chapters.models import Chapter, ChapterMembership, ChapterStatus, MembershipStatus
from network.auth.models import User
from network.auth.services import hash_password, normalise_email
from network.csvsafe import FORMULA_STARTS, csv_text, safe_cell
from network.db import db, utcnow
from network.errors import ValidationError
from network.members.queries import build_viewer, eager_profiles, listed_members, present_profile
from network.members.services import (
    apply_profile_data,
    clean_profile_data,
    invite_member,
    split_list,
)
from network.security import Role
from network.visibility import Tier, Viewer

COLUMNS = (
    "email",
    "full_name",
    "country",
    "city",
    "state_of_origin",
    "timezone",
    "headline",
    "bio",
    "expertise",
    "languages",
    "modes",
    "days_per_year",
    "open_to_mentor",
    "mentor_capacity",
    "open_to_requests",
    "phone",
    "chapters",
)

# Which profile field's visibility a `<column>_visibility` column sets.
COLUMN_FIELD = {
    "email": "email",
    "country": "country",
    "city": "city",
    "state_of_origin": "state_of_origin",
    "timezone": "timezone",
    "headline": "headline",
    "bio": "bio",
    "expertise": "expertise",
    "languages": "languages",
    "modes": "modes",
    "days_per_year": "days_per_year",
    "open_to_mentor": "mentoring",
    "mentor_capacity": "mentoring",
    "open_to_requests": "open_to_requests",
    "phone": "phone",
    "chapters": "chapters",
}
VISIBILITY_COLUMNS = tuple(f"{c}_visibility" for c in COLUMNS)
EXPORT_COLUMNS = COLUMNS + VISIBILITY_COLUMNS


# A cell the export quoted so that a spreadsheet shows it as text: one quote, then either a
# formula start or more quotes and then a formula start (see `_exported_cell`).
_QUOTED = re.compile("'+[" + re.escape("".join(FORMULA_STARTS)) + "]")


def _exported_cell(value: str) -> str:
    """`safe_cell`, made reversible: a value that already looks quoted ("'=1") gets one more
    quote too, so that the import, which takes one quote off such cells, gives it back as typed."""
    return "'" + value if _QUOTED.match(value) else safe_cell(value)


def _imported_cell(value: str) -> str:
    """The value as typed, from a cell the export neutralised (or a spreadsheet kept quoted)."""
    return value[1:] if _QUOTED.match(value) else value


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.message}"


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    applied: bool = False
    problems: list[Problem] = field(default_factory=list)


@dataclass
class _Row:
    line: int
    email: str
    clean: dict[str, Any]
    chapters: list[Chapter]


def _check_row(
    line: int,
    row: dict[str, str],
    seen: dict[str, int],
    chapters: dict[str, Chapter],
    problems: list[Problem],
) -> _Row | None:
    start = len(problems)

    def problem(column: str, message: Any) -> None:
        problems.append(Problem(line, column, str(message)))

    email = ""
    try:
        email = normalise_email(row.get("email") or "")
    except ValidationError as error:
        problem("email", error.message)
    if email and email in seen:
        problem("email", f"duplicate of line {seen[email]}")
    elif email:
        seen[email] = line
    if not (row.get("full_name") or "").strip():
        problem("full_name", "required")

    raw: dict[str, Any] = {}
    origin: dict[str, str] = {}  # clean key -> CSV column, to report in the file's words
    for column in COLUMNS:
        value = (row.get(column) or "").strip()
        # An empty cell leaves the stored value alone: an export with hidden fields blank can be
        # edited and imported back without erasing them.
        if value and column not in {"email", "chapters"}:
            raw[column] = value
            origin[column] = column
        tier = (row.get(f"{column}_visibility") or "").strip().lower()
        if not tier:
            continue
        if column == "full_name":
            if tier not in {"public", "members"}:
                problem("full_name_visibility", "the full name can only be public or members")
            else:
                raw["name_public"] = "yes" if tier == "public" else "no"
        elif column in COLUMN_FIELD:
            key = f"{COLUMN_FIELD[column]}_visibility"
            raw[key] = tier
            origin[key] = f"{column}_visibility"
    clean, errors = clean_profile_data(raw)
    for error in errors:
        problem(origin.get(error.field, error.field), error.message)
    wanted = []
    for slug in split_list(row.get("chapters")):
        chapter = chapters.get(slug.lower())
        if chapter is None:
            problem("chapters", f"unknown chapter {slug!r}")
        else:
            wanted.append(chapter)
    if len(problems) > start:
        return None
    return _Row(line, email, clean, wanted)


def import_members(text: str, *, dry_run: bool = False, partial: bool = False) -> ImportReport:
    """Check every row, then (unless dry-run, and only if all are good or `partial`) write them.

    New accounts are member accounts with an unusable password and an invitation e-mail.
    """
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in ("email", "full_name") if c not in header]
    unknown = [c for c in header if c not in EXPORT_COLUMNS]
    for column in missing:
        report.problems.append(Problem(1, column, "missing column"))
    for column in unknown:
        report.problems.append(Problem(1, column, "unknown column"))
    if missing:
        return report
    # Approved chapters only: a proposal waiting for IME cannot take members yet.
    chapters = {
        c.slug: c
        for c in db.session.scalars(select(Chapter).where(Chapter.status == ChapterStatus.APPROVED))
    }
    seen: dict[str, int] = {}
    good: list[_Row] = []
    line = 2
    for row in reader:
        report.rows += 1
        if None in row:
            report.problems.append(Problem(line, "*", "more values than columns"))
        else:
            row = {column: _imported_cell(value or "") for column, value in row.items()}
            checked = _check_row(line, row, seen, chapters, report.problems)
            if checked is not None:
                good.append(checked)
        line = reader.line_num + 1
    report.skipped = report.rows - len(good)
    if dry_run or (report.problems and not partial):
        return report
    for row in good:
        user = db.session.scalar(select(User).where(User.email == row.email))
        if user is None:
            user = User(
                email=row.email,
                full_name=row.clean.get("full_name", row.email),
                password_hash=hash_password(secrets.token_urlsafe(24)),
                role=Role.MEMBER,
                email_confirmed_at=utcnow(),
            )
            db.session.add(user)
            db.session.flush()
            invite_member(user)
            report.created += 1
        else:
            report.updated += 1
        apply_profile_data(user, row.clean)
        member_of = {m.chapter_id for m in user.memberships}
        for chapter in row.chapters:
            if chapter.id not in member_of:
                db.session.add(
                    ChapterMembership(
                        user=user,
                        chapter=chapter,
                        status=MembershipStatus.APPROVED,
                        decided_at=utcnow(),
                    )
                )
    db.session.flush()
    report.applied = True
    return report


def _cell(data: dict[str, Any], column: str) -> str:
    value = data.get(column)
    if column == "expertise":
        return "; ".join([c["slug"] for c in data.get("expertise", [])] + data.get("free_tags", []))
    if column == "languages":
        return "; ".join(
            f"{x['code']}:{x['level']}" if x["level"] else x["code"]
            for x in data.get("languages", [])
        )
    if column == "modes":
        return "; ".join(m["mode"] for m in data.get("modes", []))
    if column == "chapters":
        return "; ".join(c["slug"] for c in data.get("chapters", []))
    if column == "state_of_origin":
        return value["code"] if value else ""
    if column in {"open_to_mentor", "mentor_capacity"}:
        mentoring = data.get("mentoring")
        if mentoring is None:
            return ""
        return (
            ("yes" if mentoring["open"] else "no")
            if column == "open_to_mentor"
            else str(mentoring["capacity"])
        )
    if column == "open_to_requests":
        return "" if value is None else ("yes" if value else "no")
    return "" if value is None else str(value)


def export_rows(viewer: Viewer) -> Iterable[list[str]]:
    """The export as rows, header first. Only what this viewer may see is written.

    Cells are neutralised here rather than by each writer (the admin download, `flask members
    export`): members type these values, and IME opens the file in a spreadsheet, where a
    headline such as "=HYPERLINK(...)" would otherwise run as a formula."""
    yield list(EXPORT_COLUMNS)
    profiles = db.session.scalars(eager_profiles(listed_members().order_by(User.email)))
    for profile in profiles:
        data = present_profile(profile, viewer, "es")
        if data is None:
            continue
        cells = [_cell(data, column) for column in COLUMNS]
        tiers = profile.visibility
        visibility = []
        for column in COLUMNS:
            if column == "full_name":
                visibility.append(str(Tier.PUBLIC if profile.name_public else Tier.MEMBERS))
            else:
                visibility.append(tiers[COLUMN_FIELD[column]])
        yield [_exported_cell(cell) for cell in cells + visibility]


def export_csv(user: Any) -> str:
    return csv_text(export_rows(build_viewer(user)))
