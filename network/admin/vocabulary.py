"""IME merges and renames concepts of the expertise vocabulary (issue 8)."""

from __future__ import annotations

from network.admin import bp  # noqa: F401
