"""One error handler for every `flask` command of the project: an expected failure is one line.

A file that cannot be read or written, a value a rule refuses, a database that cannot be opened
or has no tables yet: each prints `Error: <message>` on stderr and exits with status 1, as
click's own `ClickException` does, so cron mails one readable line instead of a traceback.
Click's usage errors (a missing argument, a bad option: status 2) are untouched, and anything
else is a bug, which keeps its traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from network.errors import ValidationError

_HANDLED = "__redglobal_cli_errors__"


def describe(error: BaseException) -> str | None:
    """The one line an expected error is shown as, or None when it is not one (a bug)."""
    if isinstance(error, ValidationError):
        message = str(error.message)
        return f"{error.field}: {message}" if error.field else message
    if isinstance(error, OSError):
        reason = error.strerror or str(error) or type(error).__name__
        return f"{error.filename}: {reason}" if error.filename else reason
    if isinstance(error, (OperationalError, ProgrammingError)):
        # The driver's own message, without SQLAlchemy's SQL echo and background link.
        lines = str(error.orig).strip().splitlines() or [type(error.orig).__name__]
        hint = ""
        if "no such table" in lines[0] or "does not exist" in lines[0]:
            hint = " (run `flask --app wsgi db upgrade` first)"
        return f"the database cannot be used: {lines[0]}{hint}"
    if isinstance(error, ValueError):
        return str(error) or type(error).__name__
    return None


def _handled(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except click.ClickException:
            raise
        except Exception as error:
            message = describe(error)
            if message is None:
                raise
            raise click.ClickException(message) from error

    setattr(run, _HANDLED, True)
    return run


def handle_errors(command: click.Command) -> None:
    """Give `command` and every command under it the handler (once: commands are module-level
    objects that every app built in the process shares)."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            handle_errors(sub)
    if command.callback is not None and not getattr(command.callback, _HANDLED, False):
        command.callback = _handled(command.callback)
