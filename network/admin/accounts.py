"""IME suspends and reinstates accounts (issue 8)."""

from __future__ import annotations

from network.admin import bp  # noqa: F401
