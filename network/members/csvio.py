"""CSV import and export of members for IME administrators.

The columns are stable (other tools write these files). The export's first column, `member_ref`,
is the member's public id (the number in their profile's address): it reveals nothing a profile
link does not, and it lets an export go round a spreadsheet and back even when members keep their
e-mail address to themselves. Import matches a row on `member_ref`, else on the e-mail address,
checks every row before writing anything, and is all-or-nothing unless `partial` is asked for.
Files separated by commas or by semicolons (what Excel writes in Spanish) are both read.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from chapters.models import Chapter, ChapterMembership, ChapterStatus, MembershipStatus
from network.auth.models import User
from network.auth.services import hash_password, normalise_email
from network.csvsafe import FORMULA_STARTS, csv_text, safe_cell
from network.db import db, utcnow
from network.errors import ValidationError
from network.members.profile_input import UNSET, ProfileInput, parse_profile, split_list
from network.members.queries import build_viewer, eager_profiles, listed_members, present_profile
from network.members.services import invite_member, update_profile
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
REFERENCE = "member_ref"
EXPORT_COLUMNS = (REFERENCE, *COLUMNS, *VISIBILITY_COLUMNS)
# Columns holding lists, separated by ";" in a comma-separated file. In a semicolon-separated one
# a hand-typed list cannot use ";" without quotes, so "," and "|" separate items there too.
LIST_COLUMNS = ("expertise", "languages", "modes", "chapters")
DELIMITERS = (",", ";", "\t")


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
    user: User | None  # None: a new member, invited by e-mail
    email: str
    data: ProfileInput
    chapters: list[Chapter]


def _delimiter(text: str) -> str:
    """The separator of the header line: the one of `DELIMITERS` it holds most of."""
    header = text.split("\n", 1)[0]
    return max(DELIMITERS, key=header.count) if any(d in header for d in DELIMITERS) else ","


def _member(row: dict[str, str], problem: Callable[[str, Any], None]) -> tuple[User | None, str]:
    """Who the row is about: (an existing member or None, the row's e-mail address or "")."""
    ref = (row.get(REFERENCE) or "").strip()
    raw_email = (row.get("email") or "").strip()
    email = ""
    if raw_email:
        try:
            email = normalise_email(raw_email)
        except ValidationError as error:
            problem("email", error.message)
    if ref:
        user = (
            db.session.get(User, int(ref))
            if ref.isascii() and ref.isdigit() and len(ref) <= 12
            else None
        )
        if user is None or user.role != Role.MEMBER:
            problem(
                REFERENCE,
                _(
                    "no member has the reference “%(ref)s”: copy member_ref from an export, "
                    "or leave it empty to add a new member",
                    ref=ref,
                ),
            )
            return None, email
        if email and email != user.email:
            problem(
                "email",
                _(
                    "this is not the address of member %(ref)s; an import never changes an "
                    "address (leave the cell empty or as exported)",
                    ref=ref,
                ),
            )
        return user, email
    if not raw_email:
        problem(
            "email",
            _("required: a new member needs an e-mail address, an existing one its member_ref"),
        )
    user = db.session.scalar(select(User).where(User.email == email)) if email else None
    return user, email


def _check_row(
    line: int,
    row: dict[str, str],
    seen: dict[Any, int],
    chapters: dict[str, Chapter],
    problems: list[Problem],
) -> _Row | None:
    start = len(problems)

    def problem(column: str, message: Any) -> None:
        problems.append(Problem(line, column, str(message)))

    user, email = _member(row, problem)
    who = ("member", user.id) if user is not None else ("email", email)
    if (user is not None or email) and who in seen:
        problem(
            REFERENCE if row.get(REFERENCE) else "email",
            _("duplicate of line %(line)d", line=seen[who]),
        )
    elif user is not None or email:
        seen[who] = line
    if user is None and not row.get(REFERENCE) and not (row.get("full_name") or "").strip():
        problem("full_name", _("required for a new member"))

    raw: dict[str, Any] = {}
    origin: dict[str, str] = {}  # submitted key -> CSV column, to report in the file's words
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
                problem("full_name_visibility", _("the full name can only be public or members"))
            else:
                raw["name_public"] = "yes" if tier == "public" else "no"
        elif column in COLUMN_FIELD:
            key = f"{COLUMN_FIELD[column]}_visibility"
            raw[key] = tier
            origin[key] = f"{column}_visibility"
    try:
        data = parse_profile(raw)
    except ValidationError as error:
        data = ProfileInput()  # never written: the row is reported, not imported
        for key, message in error.problems:
            problem(origin.get(str(key), str(key)), message)
    wanted = []
    for slug in split_list(row.get("chapters")):
        chapter = chapters.get(slug.lower())
        if chapter is None:
            problem("chapters", _("unknown chapter “%(slug)s”", slug=slug))
        else:
            wanted.append(chapter)
    if len(problems) > start:
        return None
    return _Row(line, user, email, data, wanted)


def _check_header(header: list[str], delimiter: str, problems: list[Problem]) -> bool:
    """Report missing and unknown columns; False when no row can be read."""
    for column in header:
        if column not in EXPORT_COLUMNS:
            problems.append(Problem(1, column, _("unknown column")))
    if REFERENCE in header or "email" in header:
        return True
    problems.append(
        Problem(1, "email", _("missing column: a row needs an email or a member_ref column"))
    )
    found = ", ".join(f"“{c}”" for c in header if c) or "—"
    named = {",": _("commas"), ";": _("semicolons"), "\t": _("tabs")}[delimiter]
    problems.append(
        Problem(
            1,
            "*",
            _(
                "columns found, read as separated by %(separator)s: %(found)s. The first line "
                "must name the columns as the export does (member_ref, email, full_name, ...), "
                "separated by commas or by semicolons.",
                separator=named,
                found=found,
            ),
        )
    )
    return False


def import_members(text: str, *, dry_run: bool = False, partial: bool = False) -> ImportReport:
    """Check every row, then (unless dry-run, and only if all are good or `partial`) write them.

    A row with a `member_ref` updates that member; one without, the member with its e-mail
    address, or a new member account with an unusable password and an invitation e-mail.
    """
    report = ImportReport()
    text = text.removeprefix("\ufeff")
    delimiter = _delimiter(text)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    if not _check_header(header, delimiter, report.problems):
        return report
    # Approved chapters only: a proposal waiting for IME cannot take members yet.
    chapters = {
        c.slug: c
        for c in db.session.scalars(select(Chapter).where(Chapter.status == ChapterStatus.APPROVED))
    }
    seen: dict[Any, int] = {}
    good: list[_Row] = []
    line = 2
    for row in reader:
        report.rows += 1
        if None in row:
            report.problems.append(Problem(line, "*", _("more values than columns")))
        else:
            row = {column: _imported_cell(value or "") for column, value in row.items()}
            if delimiter != ",":
                for column in LIST_COLUMNS:
                    if row.get(column):
                        row[column] = re.sub(r"[,|]", ";", row[column])
            checked = _check_row(line, row, seen, chapters, report.problems)
            if checked is not None:
                good.append(checked)
        line = reader.line_num + 1
    report.skipped = report.rows - len(good)
    if dry_run or (report.problems and not partial):
        return report
    for row in good:
        user = row.user
        if user is None:
            user = User(
                email=row.email,
                full_name=row.email if row.data.full_name is UNSET else row.data.full_name,
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
        update_profile(user, row.data)
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
        cells = [str(profile.user_id)] + [_cell(data, column) for column in COLUMNS]
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
