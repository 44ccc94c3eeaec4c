"""IME approves proposed chapters, deactivates chapters and marks CCIME representatives (issue 8)."""

from __future__ import annotations

from network.admin import bp  # noqa: F401
