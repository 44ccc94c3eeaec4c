"""The ways people write a Mexican state in a spreadsheet, and the one key they all fold to.

A state of origin arrives from CSV files made by hand or by other offices: "Ciudad de México",
"ciudad de mexico", "CDMX", "CMX", "MX-CMX", "09" or "D.F." all mean the same state. Accepted:
the ISO 3166-2:MX code with or without "MX-", the INEGI two-digit code (with or without its
leading zero, which spreadsheets drop), the INEGI abbreviation (with or without its dots), the
name with or without accents, and a few long-standing forms (official long names, "D.F.",
"Edomex"). A bare "México" is refused: it is the country as often as the State of Mexico.
"""

from __future__ import annotations

import re

from network.text import fold

# INEGI's abbreviations (Catálogo Único de Claves de Áreas Geoestadísticas) and other forms in
# common use, by ISO code. Names and codes come from the nodes themselves.
OTHER_FORMS: dict[str, tuple[str, ...]] = {
    "MX-AGU": ("Ags.",),
    "MX-BCN": ("B.C.",),
    "MX-BCS": ("B.C.S.",),
    "MX-CAM": ("Camp.",),
    "MX-COA": ("Coah.", "Coahuila de Zaragoza"),
    "MX-COL": ("Col.",),
    "MX-CHP": ("Chis.",),
    "MX-CHH": ("Chih.",),
    "MX-CMX": ("CDMX", "D.F.", "Distrito Federal"),
    "MX-DUR": ("Dgo.",),
    "MX-GUA": ("Gto.",),
    "MX-GRO": ("Gro.",),
    "MX-HID": ("Hgo.",),
    "MX-JAL": ("Jal.",),
    "MX-MEX": ("Méx.", "Edomex", "Edo. Méx.", "Estado de México"),
    "MX-MIC": ("Mich.", "Michoacán de Ocampo"),
    "MX-MOR": ("Mor.",),
    "MX-NAY": ("Nay.",),
    "MX-NLE": ("N.L.",),
    "MX-OAX": ("Oax.",),
    "MX-PUE": ("Pue.",),
    "MX-QUE": ("Qro.", "Querétaro de Arteaga"),
    "MX-ROO": ("Q. Roo", "Q.R."),
    "MX-SLP": ("S.L.P.",),
    "MX-SIN": ("Sin.",),
    "MX-SON": ("Son.",),
    "MX-TAB": ("Tab.",),
    "MX-TAM": ("Tamps.",),
    "MX-TLA": ("Tlax.",),
    "MX-VER": ("Ver.", "Veracruz de Ignacio de la Llave"),
    "MX-YUC": ("Yuc.",),
    "MX-ZAC": ("Zac.",),
}

_IGNORED = re.compile(r"[\s.\-_]+")


def state_key(text: str) -> str:
    """One key for all spellings of a form: case, accents, dots, spaces and hyphens dropped,
    and a number as two digits ("9" and "09" are INEGI's 09)."""
    key = _IGNORED.sub("", fold(text))
    return f"{int(key):02d}" if key.isdigit() else key


def state_forms(code: str, inegi_code: str, name: str) -> set[str]:
    """Every key that names this state (see `state_key`)."""
    short = code.split("-", 1)[-1]
    forms = {code, short, inegi_code, name, *OTHER_FORMS.get(code, ())}
    return {state_key(form) for form in forms if form}
