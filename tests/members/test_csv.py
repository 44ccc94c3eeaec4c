"""CSV import and export: exact row reports, nothing half-imported, idempotent by member
reference and e-mail, and an export goes round a spreadsheet and back."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from chapters.models import Node
from network.auth.models import User
from network.csvsafe import csv_text
from network.extensions import db
from network.members import csvio
from network.members.cli import IME_VIEWER
from network.members.models import Profile
from tests.conftest import _saved, link_in, login

HEADER = (
    "email,full_name,country,city,state_of_origin,timezone,headline,expertise,languages,"
    "modes,days_per_year,open_to_mentor,mentor_capacity,open_to_requests,phone,chapters,"
    "city_visibility"
)

GOOD = [
    "itzel@ejemplo.mx,Itzel Ramírez Peña,CA,Montréal,MX-SON,America/Toronto,Hidróloga,"
    "hydrology;Energía eólica;acuíferos kársticos,es:native;en:C1;fr:B2,remote_advice;mentoring,"
    "20,yes,2,true,+1 514 555 0101,madrid,private",
    'jose@ejemplo.mx,José Ángel Núñez,ES,Madrid,Sonora,,"Ingeniero, energía",solar energy,'
    "es:native,research,,no,,0,,,",
]
BAD = [
    "mal@ejemplo.mx,Mala Fila,ZZ,Lima,,,,,,,,,,,,,",  # unknown country
    "no-es-correo,Sin Correo,MX,,,,,,,,,,,,,,",  # bad e-mail
    "itzel@ejemplo.mx,Itzel Otra Vez,MX,,,,,,,,,,,,,,",  # duplicate of line 2
    "raro@ejemplo.mx,Nivel Raro,MX,,,,,,,,,,,,,,everyone",  # unknown tier
    "num@ejemplo.mx,Número Malo,MX,,,,,,,,mucho,,,,,,",  # bad number
]


def _file(*rows: str, bom: bool = True) -> str:
    return ("\ufeff" if bom else "") + "\n".join([HEADER, *rows]) + "\n"


def _write(tmp_path, text: str):
    path = tmp_path / "members.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def _setup(app, make_chapter, vocabulary):
    make_chapter()
    _saved(
        app,
        Node(
            code="MX-SON",
            inegi_code="26",
            name="Sonora",
            capital="Hermosillo",
            timezone="America/Hermosillo",
        ),
    )


def test_bad_rows_give_an_exact_report_and_nothing_is_imported(
    app, runner, tmp_path, make_chapter, vocabulary, outbox
):
    _setup(app, make_chapter, vocabulary)
    result = runner.invoke(args=["members", "import", str(_write(tmp_path, _file(*GOOD, *BAD)))])
    assert result.exit_code == 1
    report = [line for line in result.output.splitlines() if line.startswith("line ")]
    assert report == [
        "line 4, country: Unknown country code “ZZ”: use ISO codes such as MX, US, ES.",
        "line 5, email: Enter a valid e-mail address.",
        "line 6, email: duplicate of line 2",
        "line 7, city_visibility: Unknown visibility “everyone”: use public, members, "
        "organisations, coordinators, ime or private.",
        "line 8, days_per_year: Enter a whole number from 0 to 365.",
    ]
    assert "nothing imported" in result.output
    assert _count_users(app) == 0 and outbox() == []


def test_good_file_imports_with_accents_bom_and_invitations(
    app, runner, tmp_path, make_chapter, vocabulary, outbox
):
    _setup(app, make_chapter, vocabulary)
    path = _write(tmp_path, _file(*GOOD))
    dry = runner.invoke(args=["members", "import", str(path), "--dry-run"])
    assert dry.exit_code == 0 and "dry run, nothing written" in dry.output
    assert _count_users(app) == 0

    result = runner.invoke(args=["members", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 rows: 2 created, 0 updated, 0 skipped" in result.output
    with app.app_context():
        itzel = db.session.scalar(select(User).where(User.email == "itzel@ejemplo.mx"))
        profile = itzel.profile
        assert itzel.full_name == "Itzel Ramírez Peña"
        assert profile.country == "CA" and profile.city == "Montréal"
        assert profile.state_of_origin.code == "MX-SON"
        assert sorted(c.slug for c in profile.concepts) == ["hydrology", "wind-power"]
        assert [t.tag for t in profile.free_tags] == ["acuíferos kársticos"]
        assert [(x.code, x.level) for x in profile.languages] == [
            ("es", "native"),
            ("en", "C1"),
            ("fr", "B2"),
        ]
        assert profile.open_to_mentoring and profile.mentor_capacity == 2
        assert profile.city_visibility == "private"
        assert [m.chapter.slug for m in itzel.memberships] == ["madrid"]
        jose = db.session.scalar(select(User).where(User.email == "jose@ejemplo.mx"))
        assert jose.profile.state_of_origin.code == "MX-SON", "a state by its name"
        assert [c.slug for c in jose.profile.concepts] == ["solar-photovoltaics"] or [
            t.tag for t in jose.profile.free_tags
        ] == ["solar energy"]
        assert jose.profile.timezone == "Europe/Madrid"
    invitations = [m for m in outbox() if m.kind == "invitation"]
    assert sorted(m.recipient for m in invitations) == ["itzel@ejemplo.mx", "jose@ejemplo.mx"]

    again = runner.invoke(args=["members", "import", str(path)])
    assert "0 created, 2 updated" in again.output
    assert _count_users(app) == 2, "idempotent by e-mail"
    assert len([m for m in outbox() if m.kind == "invitation"]) == 2


def test_partial_import_keeps_the_good_rows(app, runner, tmp_path, make_chapter, vocabulary):
    _setup(app, make_chapter, vocabulary)
    path = _write(tmp_path, _file(GOOD[0], BAD[0], bom=False))
    result = runner.invoke(args=["members", "import", str(path), "--partial"])
    assert "line 3, country" in result.output
    assert "1 created, 0 updated, 1 skipped" in result.output
    assert _count_users(app) == 1


def test_missing_and_unknown_columns(app, runner, tmp_path):
    path = _write(tmp_path, "correo,full_name,color\nx@y.mx,X,azul\n")
    output = runner.invoke(args=["members", "import", str(path)]).output
    assert "line 1, email: missing column" in output
    assert "line 1, correo: unknown column" in output


def test_invited_member_sets_a_password_through_the_link(
    app, runner, tmp_path, make_chapter, vocabulary, outbox
):
    _setup(app, make_chapter, vocabulary)
    runner.invoke(args=["members", "import", str(_write(tmp_path, _file(GOOD[0])))])
    link = link_in(outbox()[-1].body)
    client = app.test_client()
    password = "mi nueva contraseña segura"
    assert (
        client.post(link, data={"password": password, "password_confirm": password}).status_code
        == 302
    )
    signed_in = client.post("/login", data={"email": "itzel@ejemplo.mx", "password": password})
    assert signed_in.status_code == 302


def test_admin_upload_and_export_round_trip(app, network, make_member, vocabulary, tmp_path):
    make_member(
        {
            "headline": "Hidróloga",
            "expertise": "hydrology",
            "phone": "+52 55 1234 5678",
            "email_visibility": "ime",
        },
        email="ana.export@ejemplo.mx",
        full_name="Ana Exportada",
    )
    make_member({"headline": "Privada"}, email="privada@ejemplo.mx", full_name="Bea Privada")
    ime = login(app.test_client(), network.ime)
    export = ime.get("/admin/members/export.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(export)))
    [ana] = [r for r in rows if r["email"] == "ana.export@ejemplo.mx"]
    assert ana["expertise"] == "hydrology" and ana["headline"] == "Hidróloga"
    assert ana["phone"] == "", "a private phone is not exported, even to IME"
    assert ana["phone_visibility"] == "private"
    [bea] = [r for r in rows if r["full_name"] == "Bea Privada"]
    assert bea["email"] == "" and "privada@ejemplo.mx" not in export, "a private address stays out"

    # Every row goes back, Bea's too: member_ref matches her without her address.
    assert bea["member_ref"] and bea["email"] == ""
    edited = export.replace("Hidróloga", "Hidróloga sénior")
    page = ime.post(
        "/admin/members/import",
        data={"file": (io.BytesIO(edited.encode("utf-8-sig")), "members.csv"), "dry_run": ""},
        content_type="multipart/form-data",
    )
    assert page.status_code == 200, page.get_data(as_text=True)[-3000:]
    with app.app_context():
        profile = db.session.scalar(
            select(Profile).join(Profile.user).where(User.email == "ana.export@ejemplo.mx")
        )
        assert profile.headline == "Hidróloga sénior"
        assert profile.phone == "+52 55 1234 5678", "blank cells leave hidden values alone"

    bad = ime.post(
        "/admin/members/import",
        data={"file": (io.BytesIO(b"email,full_name\nmal,\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    assert "<td>2</td><td><code>email</code></td>" in bad.get_data(as_text=True)


# ---------------------------------------------------------------- export -> spreadsheet -> import


def _two_private_members(make_member) -> tuple[User, User]:
    """Members with the default settings: address and phone "only me"."""
    ana = make_member(
        {"headline": "Hidróloga", "city": "Madrid", "phone": "+34 600 000 001"},
        email="ana.ida@ejemplo.mx",
        full_name="Ana Ida",
    )
    bea = make_member(
        {"headline": "Ingeniera", "city": "París", "phone": "+33 600 000 002"},
        email="bea.vuelta@ejemplo.mx",
        full_name="Bea Vuelta",
    )
    return ana, bea


def _edit(text: str, ref: int, **changes: str) -> str:
    """What a spreadsheet does: change cells of one member's row, keep the rest."""
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    for row in rows:
        if row["member_ref"] == str(ref):
            row.update(changes)
    return csv_text([list(rows[0]), *[list(row.values()) for row in rows]])


def _check_round_trip(app, ana: User, bea: User, export: str) -> None:
    rows = list(csv.DictReader(io.StringIO(export)))
    assert [r["member_ref"] for r in rows] == [str(ana.id), str(bea.id)]
    assert {r["email"] for r in rows} == {""}, "a hidden address stays out of the export"
    assert {r["phone"] for r in rows} == {""}
    assert "ana.ida@ejemplo.mx" not in export and "+34 600" not in export


def _check_updated(app, ana: User, bea: User) -> None:
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 2, "no new accounts"
        first, second = db.session.get(User, ana.id), db.session.get(User, bea.id)
        assert first.profile.headline == "Hidróloga sénior" and first.profile.city == "Sevilla"
        assert first.email == "ana.ida@ejemplo.mx", "a hidden address is left alone"
        assert first.profile.phone == "+34 600 000 001", "a hidden phone is left alone"
        assert first.profile.email_visibility == "private"
        assert second.profile.headline == "Ingeniera" and second.profile.city == "París"
        assert second.profile.phone == "+33 600 000 002"


def test_round_trip_through_the_service(app, make_member):
    ana, bea = _two_private_members(make_member)
    with app.app_context():
        export = csv_text(csvio.export_rows(IME_VIEWER))
    _check_round_trip(app, ana, bea, export)
    edited = _edit(export, ana.id, headline="Hidróloga sénior", city="Sevilla")
    with app.app_context():
        report = csvio.import_members(edited)
        assert [str(p) for p in report.problems] == []
        assert (report.rows, report.created, report.updated, report.skipped) == (2, 0, 2, 0)
        db.session.commit()
    _check_updated(app, ana, bea)


def test_round_trip_through_the_command_line(app, runner, make_member, tmp_path, outbox):
    ana, bea = _two_private_members(make_member)
    path = tmp_path / "members.csv"
    exported = runner.invoke(args=["members", "export", str(path)])
    assert exported.exit_code == 0 and "exported 2 members" in exported.output
    _check_round_trip(app, ana, bea, path.read_text(encoding="utf-8"))
    path.write_text(
        _edit(
            path.read_text(encoding="utf-8"), ana.id, headline="Hidróloga sénior", city="Sevilla"
        ),
        encoding="utf-8",
    )
    result = runner.invoke(args=["members", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 rows: 0 created, 2 updated, 0 skipped" in result.output
    _check_updated(app, ana, bea)
    assert outbox() == [], "nobody is invited again"


def test_a_row_with_an_unknown_member_ref_is_a_clear_error(
    app, runner, tmp_path, make_member, network
):
    ana, _bea = _two_private_members(make_member)
    path = _write(
        tmp_path,
        "member_ref,email,full_name,headline\n"
        "999999,,Nadie,Fantasma\n"
        f"{network.ime.id},,Sofía,Administradora\n"
        f"{ana.id},otra@ejemplo.mx,,Hidróloga sénior\n"
        f"{ana.id},,,Otra vez\n"
        "abc,,,Letras\n",
    )
    before = _count_users(app)
    result = runner.invoke(args=["members", "import", str(path)])
    assert result.exit_code == 1
    report = [line for line in result.output.splitlines() if line.startswith("line ")]
    unknown = "no member has the reference “{}”: copy member_ref from an export, or leave it "
    assert report == [
        "line 2, member_ref: " + unknown.format("999999") + "empty to add a new member",
        "line 3, member_ref: " + unknown.format(network.ime.id) + "empty to add a new member",
        f"line 4, email: this is not the address of member {ana.id}; an import never changes "
        "an address (leave the cell empty or as exported)",
        "line 5, member_ref: duplicate of line 4",
        "line 6, member_ref: " + unknown.format("abc") + "empty to add a new member",
    ]
    assert "nothing imported" in result.output
    with app.app_context():
        assert db.session.get(User, ana.id).profile.headline == "Hidróloga"
    assert _count_users(app) == before
