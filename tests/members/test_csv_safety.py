"""Exports a spreadsheet opens: what members typed never runs as a formula, and the members
export still imports back exactly as it was."""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from chapters.models import Chapter
from network import audit
from network.auth.models import User
from network.csvsafe import FORMULA_STARTS
from network.dashboard import panels
from network.events.models import Event
from network.extensions import db
from network.members.models import Profile
from tests.conftest import login
from tests.events import conftest as event_fixtures
from tests.needs import conftest as needs_fixtures

# The needs and events fixtures, found by pytest among this module's names (see test_needs_search.py).
make_expert = needs_fixtures.make_expert
make_need = needs_fixtures.make_need
sonora = needs_fixtures.sonora
world = needs_fixtures.world
make_event = event_fixtures.make_event

HYPERLINK = '=HYPERLINK("https://malo.example/robar","Ver perfil")'
# Typed by the member with its quote: it must come back with it, not lose it to the import.
QUOTED = "'-) siempre sonriente"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _profile(email: str) -> Profile:
    return db.session.scalar(select(Profile).join(Profile.user).where(User.email == email))


def _formula_member(make_member) -> User:
    return make_member(
        {
            "headline": HYPERLINK,
            "phone": "+52 55 1234 5678",
            "phone_visibility": "ime",
            "email_visibility": "ime",
        },
        email="formula@ejemplo.mx",
        full_name="@Fer Fórmula",
    )


def test_members_export_neutralises_formulas(app, network, make_member):
    _formula_member(make_member)
    export = login(app.test_client(), network.ime).get("/admin/members/export.csv")
    text = export.get_data(as_text=True)
    [row] = [r for r in _rows(text) if r["email"] == "formula@ejemplo.mx"]
    assert row["headline"] == "'" + HYPERLINK
    assert row["full_name"] == "'@Fer Fórmula"
    assert row["phone"] == "'+52 55 1234 5678"
    assert "\n=" not in text and ",=" not in text and ',"=' not in text


def test_the_command_line_export_neutralises_formulas_too(app, runner, make_member, tmp_path):
    _formula_member(make_member)
    path = tmp_path / "members.csv"
    assert runner.invoke(args=["members", "export", str(path)]).exit_code == 0
    [row] = _rows(path.read_text(encoding="utf-8"))
    assert row["headline"] == "'" + HYPERLINK


def test_an_exported_file_imports_back_unchanged(app, network, make_member):
    _formula_member(make_member)
    make_member({"headline": QUOTED, "email_visibility": "ime"}, email="quote@ejemplo.mx")
    ime = login(app.test_client(), network.ime)
    export = ime.get("/admin/members/export.csv").get_data(as_text=True)
    page = ime.post(
        "/admin/members/import",
        data={"file": (io.BytesIO(export.encode("utf-8-sig")), "members.csv"), "dry_run": ""},
        content_type="multipart/form-data",
    )
    assert page.status_code == 200, page.get_data(as_text=True)[-3000:]
    with app.app_context():
        formula = _profile("formula@ejemplo.mx")
        assert formula.headline == HYPERLINK
        assert formula.user.full_name == "@Fer Fórmula"
        assert formula.phone == "+52 55 1234 5678"
        assert _profile("quote@ejemplo.mx").headline == QUOTED


def test_shortlist_csv_neutralises_formulas(app, world, make_expert):
    expert = make_expert(
        {
            "expertise": "hydrology",
            "headline": "-2+3 ingeniera",
            "headline_visibility": "organisations",
        },
        full_name="=cmd|'/C calc'!A0",
    )
    org = login(app.test_client(), world.org_user)
    org.post(f"/needs/{world.need_id}/shortlist", data={"member_id": expert.id})
    response = org.get(f"/needs/{world.need_id}/shortlist.csv")
    assert response.status_code == 200
    [row] = _rows(response.get_data(as_text=True))
    assert row["member_id"] == str(expert.id)
    assert row["full_name"] == "'=cmd|'/C calc'!A0"
    assert row["headline"] == "'-2+3 ingeniera"


# ---------------------------------------------------------------- every CSV the project writes

PAYLOAD = "=cmd|' /C calc'!A0"
EMPLOYER = "+SUM(1+1)*cmd|' /C calc'!A0"
ANSWER = "@SUM(1+1)*cmd|' /C calc'!A0"
# Answers are stored stripped: the tab goes, the formula stays.
TAB_ANSWER = "\t=1+1"
HEADLINE = "-2+3 ingeniera"
DETAIL = "-2+3+cmd|' /C calc'!A0"
SOURCES = [Path("network"), Path("chapters"), Path("search"), Path("wsgi.py")]
ROOT = Path(__file__).resolve().parents[2]


def _python_files() -> list[Path]:
    files: list[Path] = []
    for source in SOURCES:
        path = ROOT / source
        files.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return files


def _csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text.removeprefix("\ufeff"))) for cell in row]


@pytest.fixture
def formula_world(app, world, make_event, make_expert):
    """A member whose name, employer, headline and answers are formulas, found in every export:
    registered for an event, shortlisted for a need, in the audit log; a region named like one."""
    member = make_expert(
        {
            "headline": HEADLINE,
            "headline_visibility": "organisations",
            "employer": EMPLOYER,
            "position_visibility": "members",
            "email_visibility": "coordinators",
        },
        full_name=PAYLOAD,
        email="formula@ejemplo.mx",
    )
    event = make_event(questions=["¿Dieta?", "¿Alergias?"])
    with app.app_context():
        questions = {q.label: q.id for q in db.session.get(Event, event.id).questions}
    login(app.test_client(), member).post(
        f"/events/{event.id}/register",
        data={
            f"question-{questions['¿Dieta?']}": ANSWER,
            f"question-{questions['¿Alergias?']}": TAB_ANSWER,
        },
    )
    login(app.test_client(), world.org_user).post(
        f"/needs/{world.need_id}/shortlist", data={"member_id": member.id}
    )
    with app.app_context():
        audit.record(db.session.get(User, member.id), "test.formula", "user", member.id, DETAIL)
        region = db.session.get(Chapter, world.madrid.id).region
        region.name_es = region.name_en = PAYLOAD
        db.session.commit()
    return SimpleNamespace(**vars(world), event_id=event.id, formula_member=member)


# endpoint -> (who downloads it, its URLs, values that must be in it, neutralised)
DOWNLOADS: dict[str, tuple[str, list[str], list[str]]] = {
    "events.attendees_csv": (
        "coordinator",
        ["/events/{event_id}/attendees.csv"],
        [PAYLOAD, EMPLOYER, ANSWER, TAB_ANSWER.strip()],
    ),
    "needs.shortlist_csv": ("org_user", ["/needs/{need_id}/shortlist.csv"], [PAYLOAD, HEADLINE]),
    "admin.export_members": ("ime", ["/admin/members/export.csv"], [PAYLOAD, HEADLINE]),
    "admin.audit_csv": ("ime", ["/admin/audit.csv"], [PAYLOAD, DETAIL]),
    "dashboard.panel_csv": (
        "ime",
        [f"/dashboard/{slug}.csv?period=all" for slug in panels.PANELS],
        [PAYLOAD],
    ),
}


def test_every_csv_download_is_walked(app):
    """A new `.csv` route, or a module answering `text/csv`, must join the walk below."""
    assert {r.endpoint for r in app.url_map.iter_rules() if ".csv" in r.rule} == set(DOWNLOADS)
    writing = {
        str(path.relative_to(ROOT))
        for path in _python_files()
        if "text/csv" in path.read_text(encoding="utf-8")
    }
    assert writing == {
        "network/admin/views.py",
        "network/dashboard/views.py",
        "network/events/views.py",
        "network/needs/views.py",
    }


def test_no_csv_download_or_command_writes_a_formula(app, runner, formula_world, tmp_path):
    w = formula_world
    found: list[tuple[str, str, list[str]]] = []
    for endpoint, (account, urls, expected) in DOWNLOADS.items():
        client = login(app.test_client(), getattr(w, account))
        texts = []
        for url in urls:
            response = client.get(url.format(event_id=w.event_id, need_id=w.need_id))
            assert response.status_code == 200, url
            assert response.mimetype == "text/csv", url
            texts.append(response.get_data(as_text=True))
        found.append((endpoint, "\n".join(texts), expected))
    path = tmp_path / "members.csv"
    assert runner.invoke(args=["members", "export", str(path)]).exit_code == 0
    found.append(("flask members export", path.read_text(encoding="utf-8"), [PAYLOAD, HEADLINE]))
    for name, text, expected in found:
        cells = _csv_cells(text)
        formulas = [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
        assert formulas == [], f"{name} writes formulas: {formulas}"
        for value in expected:
            assert "'" + value in cells, f"{name} lost {value!r}"


def test_only_csvsafe_writes_csv():
    """csv.writer / csv.DictWriter anywhere but network/csvsafe.py would bypass the neutralising."""
    offenders = []
    for path in _python_files():
        if path == ROOT / "network" / "csvsafe.py":
            continue
        source = path.read_text(encoding="utf-8")
        if "csv" not in source:
            continue
        tree = ast.parse(source)
        for node in ast.walk(tree):
            direct = (
                isinstance(node, ast.Attribute)
                and node.attr in {"writer", "DictWriter"}
                and isinstance(node.value, ast.Name)
                and node.value.id == "csv"
            )
            imported = isinstance(node, ast.ImportFrom) and (
                node.module in {"csv", "_csv"}
                and any(a.name in {"writer", "DictWriter", "*"} for a in node.names)
            )
            if direct or imported:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "write CSV through network.csvsafe: " + ", ".join(offenders)
