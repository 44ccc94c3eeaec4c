"""CSV cells that a spreadsheet will not run as formulas (CSV or "formula" injection).

Anything a member or an organisation typed may end up in an export an administrator opens in
Excel or LibreOffice, where a cell starting with `=`, `+`, `-` or `@` is evaluated. OWASP's advice
is followed: such a cell gets a leading single quote, which spreadsheets show as text. Tab and
carriage return are included because some spreadsheets strip them before evaluating.

This module is the only place that writes CSV (a test checks that no other module calls
`csv.writer` or `csv.DictWriter`): every download and every command's file comes from
`csv_lines`, `csv_text` or `write_csv`, so no export can forget the neutralising.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """One value as text a spreadsheet shows as typed; None is an empty cell."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_row(values: Iterable[Any]) -> list[str]:
    return [safe_cell(value) for value in values]


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Neutralised CSV, one line at a time, for a streamed response: an export of many rows
    never has to sit in memory as one string."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(safe_row(row))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """Neutralised CSV as one string, for a download small enough to build in memory."""
    return "".join(csv_lines(rows))


def write_csv(handle: TextIO, rows: Iterable[Iterable[Any]]) -> int:
    """Neutralised CSV into an open text file (opened with newline=""); returns the rows written."""
    count = 0
    for line in csv_lines(rows):
        handle.write(line)
        count += 1
    return count
