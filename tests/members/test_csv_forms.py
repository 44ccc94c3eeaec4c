"""What a CSV import accepts as people really write it: a state as CDMX, CMX, 09 or without
accents, and files separated by semicolons (Excel in Spanish), with lists inside cells."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from chapters.services import load_structure
from network.auth.models import User
from network.extensions import db
from network.members import csvio
from network.members.states import state_forms, state_key
from tests.conftest import login

NODES = json.loads(
    (Path(__file__).resolve().parents[2] / "chapters" / "data" / "nodes.json").read_text("utf-8")
)


def _load_states(app) -> None:
    with app.app_context():
        load_structure(with_chapters=False)
        db.session.commit()


@pytest.fixture
def states(app):
    _load_states(app)


def _import(app, text: str) -> csvio.ImportReport:
    with app.app_context():
        report = csvio.import_members(text)
        db.session.commit()
        return report


def _state_of(app, email: str) -> str | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        node = user.profile.state_of_origin
        return node.code if node else None


FORMS = [
    ("CDMX", "MX-CMX"),
    ("cdmx", "MX-CMX"),
    ("CMX", "MX-CMX"),
    ("MX-CMX", "MX-CMX"),
    ("mx-cmx", "MX-CMX"),
    ("Ciudad de México", "MX-CMX"),
    ("CIUDAD DE MEXICO", "MX-CMX"),
    ("D.F.", "MX-CMX"),
    ("09", "MX-CMX"),
    ("9", "MX-CMX"),
    ("JAL", "MX-JAL"),
    ("Jal.", "MX-JAL"),
    ("MX-JAL", "MX-JAL"),
    ("14", "MX-JAL"),
    ("Nuevo Leon", "MX-NLE"),
    ("N.L.", "MX-NLE"),
    ("NLE", "MX-NLE"),
    ("Q. Roo", "MX-ROO"),
    ("Edomex", "MX-MEX"),
    ("Estado de Mexico", "MX-MEX"),
    ("Michoacán de Ocampo", "MX-MIC"),
    ("yucatan", "MX-YUC"),
    ("SLP", "MX-SLP"),
]
REFUSED = ["Atlantis", "México", "MX-XXX", "33", "C D M X X"]


def test_a_state_of_origin_in_any_common_form(app, states):
    rows = [f"p{i}@ejemplo.mx,Persona {i},{typed}" for i, (typed, _code) in enumerate(FORMS)]
    report = _import(app, "\n".join(["email,full_name,state_of_origin", *rows]) + "\n")
    assert [str(p) for p in report.problems] == []
    found = [_state_of(app, f"p{i}@ejemplo.mx") for i in range(len(FORMS))]
    assert list(zip([t for t, _c in FORMS], found, strict=True)) == FORMS


def test_a_refused_state_says_which_forms_are_accepted(app, states):
    rows = [f"p{i}@ejemplo.mx,Persona {i},{typed}" for i, typed in enumerate(REFUSED)]
    report = _import(app, "\n".join(["email,full_name,state_of_origin", *rows]) + "\n")
    assert [str(p) for p in report.problems] == [
        f"line {line}, state_of_origin: Unknown Mexican state “{typed}”: use a Mexican state's "
        "name or code, e.g. Jalisco, JAL or MX-JAL."
        for line, typed in enumerate(REFUSED, start=2)
    ]


def test_no_form_names_two_states():
    forms = [state_forms(n["code"], n["inegi"], n["name"]) for n in NODES]
    assert len(NODES) == 32
    for i, mine in enumerate(forms):
        for j, theirs in enumerate(forms):
            assert i == j or not mine & theirs, (NODES[i]["code"], NODES[j]["code"])
    assert state_key("México") not in set().union(*forms), "the country, as often as the state"


def test_a_semicolon_separated_file_with_lists_inside_cells(app, make_chapter, vocabulary):
    make_chapter()  # its region first: the structure then leaves it alone
    _load_states(app)
    text = (
        "\ufeffemail;full_name;city;state_of_origin;headline;expertise;languages;modes;chapters\n"
        "itzel@ejemplo.mx;Itzel Ramírez;Montréal;CDMX;Hidróloga, investigadora;"
        "hydrology, acuíferos kársticos;es:native|en:C1;remote_advice, mentoring;madrid\n"
        'jose@ejemplo.mx;José Núñez;Madrid;Jal.;Ingeniero;"solar energy; hydrology";'
        '"es:native; fr:B2";research;\n'
    )
    report = _import(app, text)
    assert [str(p) for p in report.problems] == []
    assert (report.created, report.updated) == (2, 0)
    with app.app_context():
        itzel = db.session.scalar(select(User).where(User.email == "itzel@ejemplo.mx"))
        profile = itzel.profile
        assert profile.city == "Montréal" and profile.state_of_origin.code == "MX-CMX"
        assert profile.headline == "Hidróloga, investigadora", "a comma in plain text stays"
        assert [c.slug for c in profile.concepts] == ["hydrology"]
        assert [t.tag for t in profile.free_tags] == ["acuíferos kársticos"]
        assert [(x.code, x.level) for x in profile.languages] == [("es", "native"), ("en", "C1")]
        assert sorted(m.mode for m in profile.modes) == ["mentoring", "remote_advice"]
        assert [m.chapter.slug for m in itzel.memberships] == ["madrid"]
        jose = db.session.scalar(select(User).where(User.email == "jose@ejemplo.mx"))
        assert [x.code for x in jose.profile.languages] == ["es", "fr"], "quoted ';' lists too"
        assert "hydrology" in [c.slug for c in jose.profile.concepts]
        assert jose.profile.state_of_origin.code == "MX-JAL"


def test_a_header_that_misses_columns_names_what_it_found(app, runner, tmp_path):
    path = tmp_path / "members.csv"
    path.write_text("correo|nombre\nana@ejemplo.mx|Ana\n", encoding="utf-8")
    result = runner.invoke(args=["members", "import", str(path)])
    assert result.exit_code == 1
    assert "line 1, email: missing column: a row needs an email or a member_ref column" in (
        result.output
    )
    assert (
        "line 1, *: columns found, read as separated by commas: “correo|nombre”. The first "
        "line must name the columns as the export does (member_ref, email, full_name, ...), "
        "separated by commas or by semicolons." in result.output
    )
    assert "Traceback" not in result.output


def test_the_admin_page_explains_a_bad_header_in_spanish(app, network):
    page = login(app.test_client(), network.ime).post(
        "/admin/members/import",
        data={"file": (io.BytesIO(b"correo;nombre\n"), "miembros.csv")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    body = page.get_data(as_text=True)
    assert "falta una columna: las filas necesitan una columna email o member_ref" in body
    assert "leídas como separadas por puntos y coma: “correo”, “nombre”" in body
