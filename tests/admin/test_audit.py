"""The audit log browser and its CSV export; every administrative action leaves an entry."""

from __future__ import annotations

import csv
import html
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from chapters.models import Chapter, Node
from network.audit import AuditEntry
from network.extensions import db
from tests.conftest import _saved, login


def _entry(app, actor, action: str, when: str, detail: str = "", subject_id: int = 1) -> None:
    _saved(
        app,
        AuditEntry(
            actor_id=actor.id if actor else None,
            action=action,
            subject_type="member",
            subject_id=subject_id,
            detail=detail,
            created_at=datetime.fromisoformat(when).replace(tzinfo=UTC),
        ),
    )


@pytest.fixture
def log(app, network):
    """Entries by two people on known days (the network's IME is Sofía Martínez)."""
    _entry(app, network.org_user, "contact.requested", "2026-03-01T09:00", "first", 11)
    _entry(app, network.org_user, "contact.viewed", "2026-03-02T23:59", "second", 12)
    _entry(app, network.ime, "organisation.verified", "2026-03-03T00:00", "third", 13)
    _entry(app, network.ime, "tag.mapped", "2026-03-05T12:00", "=cmd|' /C calc'!A0", 14)


def _details(response) -> list[str]:
    """The detail column of the listed entries, newest first."""
    body = response.get_data(as_text=True)
    table = body.split("<tbody>")[1].split("</tbody>")[0]
    return [
        html.unescape(row.split("<td>")[-1].split("</td>")[0]) for row in table.split("<tr>")[1:]
    ]


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def _actions(app) -> list[tuple[str, str, int, str]]:
    with app.app_context():
        return [
            (e.action, e.subject_type, e.subject_id, e.detail)
            for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_filters_by_actor_name_email_or_id(ime, network, log):
    assert _details(ime.get("/admin/audit?actor=ibáñez")) == ["second", "first"]
    assert _details(ime.get("/admin/audit?actor=Mariana@SECIHTI.gob.mx")) == ["second", "first"]
    assert _details(ime.get("/admin/audit?actor=secihti.gob")) == [], "addresses match whole"
    by_id = ime.get(f"/admin/audit?actor={network.ime.id}")
    assert _details(by_id) == ["=cmd|' /C calc'!A0", "third"]
    assert _details(ime.get("/admin/audit?actor=%25")) == [], "% is a character, not a wildcard"


def test_filters_by_inclusive_days_and_action(ime, log):
    assert _details(ime.get("/admin/audit?date_from=2026-03-02&date_to=2026-03-03")) == [
        "third",
        "second",
    ]
    assert _details(ime.get("/admin/audit?date_to=2026-03-02")) == ["second", "first"]
    assert _details(ime.get("/admin/audit?action=contact.")) == ["second", "first"]
    assert _details(ime.get("/admin/audit?action=contact.viewed&actor=mariana")) == ["second"]
    assert _details(ime.get("/admin/audit?subject_id=13")) == ["third"]


def test_bad_filters_are_explained_and_kept(ime, log):
    bad = ime.get("/admin/audit?date_from=2026-02-30&actor=mariana")
    page = bad.get_data(as_text=True)
    assert bad.status_code == 200
    assert "“2026-02-30” is not a date: use YYYY-MM-DD" in page
    assert 'value="2026-02-30"' in page and 'value="mariana"' in page, "nothing typed is lost"
    assert _details(bad) == []
    reversed_days = ime.get("/admin/audit?date_from=2026-03-05&date_to=2026-03-01")
    assert reversed_days.status_code == 200
    assert "The end date is before the start date" in reversed_days.get_data(as_text=True)
    not_a_number = ime.get("/admin/audit?subject_id=abc")
    assert "Enter a whole number." in not_a_number.get_data(as_text=True)
    assert ime.get(f"/admin/audit?actor={'9' * 30}").status_code == 200


def test_csv_has_the_filtered_rows_neutralised_and_is_audited(app, ime, admin, network, log):
    page = ime.get("/admin/audit?actor=sof%C3%ADa&date_from=2026-03-03").get_data(as_text=True)
    link = "/admin/audit.csv?actor=sof%C3%ADa&amp;date_from=2026-03-03"
    assert link in page, "the page links the CSV of what it shows"
    rows = _csv(ime.get(link.replace("&amp;", "&")))
    assert [r["detail"] for r in rows] == ["'=cmd|' /C calc'!A0", "third"]
    assert rows[1] == {
        "time_utc": "2026-03-03T00:00:00+00:00",
        "actor_name": "Sofía Martínez",
        "actor_id": str(network.ime.id),
        "action": "organisation.verified",
        "subject_type": "member",
        "subject_id": "13",
        "detail": "third",
    }
    exported = [a for a in _actions(app) if a[0] == "audit.exported"]
    assert exported == [("audit.exported", "audit_log", 0, "actor=sofía; date_from=2026-03-03")]
    everything = _csv(ime.get("/admin/audit.csv"))
    assert len(everything) == 6, "the four entries and both exports, this one included"
    assert everything[0]["action"] == "audit.exported" and everything[0]["detail"] == "no filter"


def test_csv_with_a_bad_filter_goes_back_to_the_page(app, ime, log):
    response = ime.get("/admin/audit.csv?date_to=tomorrow", follow_redirects=True)
    body = response.get_data(as_text=True)
    assert response.mimetype == "text/html" and "Correct the filters before exporting." in body
    assert "“tomorrow” is not a date" in body
    assert [a for a in _actions(app) if a[0] == "audit.exported"] == []


def test_every_administrative_action_is_audited(app, ime, admin, network, make_member):
    with app.app_context():
        region_id = db.session.get(Chapter, network.madrid.id).region_id
    region = {"slug": "africa", "name_es": "África", "name_en": "Africa", "position": "5"}
    assert ime.post("/admin/regions/new", data=region).status_code == 302
    assert (
        ime.post("/admin/regions/africa/edit", data={**region, "name_es": "Áfr."}).status_code
        == 302
    )
    chapter = {
        "slug": "lisboa",
        "name": "Lisboa",
        "region": str(region_id),
        "country": "PT",
        "city": "Lisboa",
        "timezone": "Europe/Lisbon",
        "is_active": "y",
    }
    assert ime.post("/admin/chapters/new", data=chapter).status_code == 302
    assert (
        ime.post("/admin/chapters/lisboa/edit", data={**chapter, "city": "Oporto"}).status_code
        == 302
    )
    ime.post("/admin/chapters/lisboa/coordinators", data={"email": "ana@ejemplo.mx"})
    ime.post(f"/admin/chapters/lisboa/coordinators/{network.member.id}/remove")
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
    ime.post("/admin/nodes/son/edit", data={"description_es": "Agua.", "description_en": "Water."})
    csv_file = "email,full_name,country\nitzel@ejemplo.mx,Itzel Ramírez,CA\n"
    imported = ime.post(
        "/admin/members/import",
        data={
            "file": (io.BytesIO(csv_file.encode()), "members.csv"),
            "dry_run": "",
        },
        content_type="multipart/form-data",
    )
    assert imported.status_code == 200
    make_member({"expertise": "x"})
    assert ime.get("/admin/members/export.csv").status_code == 200

    with app.app_context():
        lisboa_id = db.session.scalar(select(Chapter.id).where(Chapter.slug == "lisboa"))
        actors = set(db.session.scalars(select(AuditEntry.actor_id)))
    assert actors == {admin.id}
    ana = f"Ana López Núñez (#{network.member.id})"  # no e-mail address in the log
    entries = [(a, t, d) for a, t, _i, d in _actions(app)]
    assert entries[:2] == [
        ("region.created", "region", "africa"),
        ("region.updated", "region", "africa"),
    ]
    assert entries[2:] == [
        ("chapter.created", "chapter", "lisboa"),
        ("chapter.updated", "chapter", "lisboa: city"),
        ("coordinator.assigned", "chapter", ana),
        ("coordinator.removed", "chapter", ana),
        ("node.updated", "node", "son"),
        ("members.imported", "member_import", "1 rows: 1 created, 0 updated, 0 skipped"),
        ("members.exported", "member_export", "2 members"),
    ]
    assert {i for a, _t, i, _d in _actions(app) if a.startswith("chapter.")} == {lisboa_id}


def test_a_dry_run_import_writes_no_entry(app, ime):
    csv_file = "email,full_name\nitzel@ejemplo.mx,Itzel Ramírez\n"
    ime.post(
        "/admin/members/import",
        data={
            "file": (io.BytesIO(csv_file.encode()), "members.csv"),
            "dry_run": "y",
        },
        content_type="multipart/form-data",
    )
    assert _actions(app) == []


NEW_ROUTES = [
    ("GET", "/admin/concepts"),
    ("GET", "/admin/concepts/{concept}"),
    ("POST", "/admin/concepts/{concept}"),
    ("POST", "/admin/concepts/{concept}/merge"),
    ("GET", "/admin/audit"),
    ("GET", "/admin/audit.csv"),
]


@pytest.mark.parametrize(("method", "path"), NEW_ROUTES)
def test_only_ime_reaches_the_new_pages(app, network, vocabulary, method, path):
    url = path.format(concept=vocabulary["hydrology"])
    anonymous = app.test_client().open(url, method=method)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for user in (network.member, network.coordinator, network.org_user):
        assert login(app.test_client(), user).open(url, method=method).status_code == 403
    assert login(app.test_client(), network.ime).open(url, method=method).status_code in (200, 302)


def test_extreme_filter_values_are_answered_not_crashed(ime, log):
    for query in (
        "date_to=9999-12-31",
        "date_from=0001-01-01",
        "subject_id=%C2%B2",
        "actor=%C2%B2",
        "subject_id=99999999999999999999",
    ):
        assert ime.get(f"/admin/audit?{query}").status_code == 200, query
        assert ime.get(f"/admin/audit.csv?{query}").status_code in (200, 302), query
    assert "Enter a whole number." in ime.get("/admin/audit?subject_id=%C2%B2").text
