"""Text folding shared by matching code: lower case, no accents, single spaces."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """ "Hidrología " -> "hidrologia": how people type when they search, on any keyboard.

    ñ folds to n here as in the search analyzer, so "pena" finds "Peña"; the decision is the
    search issue's to pin with a test.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.split())


def slugify(text: str) -> str:
    """ "Comisión Nacional del Agua" -> "comision-nacional-del-agua", for addresses."""
    return "-".join("".join(c if c.isalnum() else " " for c in fold(text)).split())
