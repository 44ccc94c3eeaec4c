"""Exports a spreadsheet opens: what members typed never runs as a formula, and the members
export still imports back exactly as it was."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from network.auth.models import User
from network.extensions import db
from network.members.models import Profile
from tests.conftest import login
from tests.needs import conftest as needs_fixtures

# The needs fixtures, found by pytest among this module's names (see test_needs_search.py).
make_expert = needs_fixtures.make_expert
make_need = needs_fixtures.make_need
sonora = needs_fixtures.sonora
world = needs_fixtures.world

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
    # Rows of members who keep their address private cannot be matched on import.
    kept = "\n".join(line for line in export.splitlines() if not line.startswith(",")) + "\n"
    page = ime.post(
        "/admin/members/import",
        data={"file": (io.BytesIO(kept.encode("utf-8-sig")), "members.csv"), "dry_run": ""},
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
