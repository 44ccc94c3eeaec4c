"""IME's dashboard: every figure equals a count made independently here (from what each test
created), the period and chapter scopes hold, hidden fields stay out of every count, each panel
has its chart, table and CSV, and a coordinator sees only their chapter."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from network.auth.models import User
from network.auth.services import suspend_account
from network.dashboard.panels import PANELS, Scope
from network.db import utcnow
from network.events.models import Event, Registration, RegistrationStatus
from network.extensions import db
from network.members.models import Profile, Sector
from network.needs.models import ContactRequest, ContactStatus, Need, NeedStatus, Outcome
from tests.conftest import bearer, login
from tests.dashboard.conftest import _join

ALL = {"period": "all"}


def _age(app, users, *, joined_days_ago: int | None = None, confirmed_days_ago: int | None = None):
    """Move accounts back in time, as if they had joined or confirmed long ago."""
    with app.app_context():
        ids = [u.id for u in users]
        if joined_days_ago is not None:
            db.session.execute(
                update(User)
                .where(User.id.in_(ids))
                .values(created_at=utcnow() - timedelta(days=joined_days_ago))
            )
        if confirmed_days_ago is not None:
            db.session.execute(
                update(Profile)
                .where(Profile.user_id.in_(ids))
                .values(confirmed_at=utcnow() - timedelta(days=confirmed_days_ago))
            )
        db.session.commit()


def _in_english(app, user) -> None:
    """Pages follow the account's language; these tests read the English labels."""
    with app.app_context():
        db.session.execute(update(User).where(User.id == user.id).values(preferred_language="en"))
        db.session.commit()
    user.preferred_language = "en"


def _panel(client, headers, slug: str, **args) -> dict:
    response = client.get(f"/api/v1/dashboard/{slug}", query_string=args, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _column(body: dict, label_key: str, value_key: str) -> dict:
    return {row[label_key]: row[value_key] for row in body["rows"]}


def test_member_panels_equal_independent_counts(app, client, network, members):
    headers = bearer(app, network.ime)
    # The coordinators and the member account of `network` have no profile: not counted.
    by_country = _column(_panel(client, headers, "members-by-country", **ALL), "code", "members")
    assert by_country == {"ES": 4, "FR": 2, "": 1}  # the hidden country counts as not shown

    by_sector = _column(_panel(client, headers, "members-by-sector", **ALL), "sector", "members")
    assert by_sector["Water"] == 5 and by_sector["Energy"] == 1  # the secret expertise is out

    top = _panel(client, headers, "top-concepts", **ALL)["rows"]
    assert [(r["concept"], r["members"]) for r in top] == [
        ("Hydrology", 4),
        ("Water treatment", 2),
        ("Wind power", 1),
    ]

    openness = _column(_panel(client, headers, "openness", **ALL), "what", "members")
    assert openness == {"Open to mentoring": 1, "Open to organisations' requests": 4}
    shares = _column(_panel(client, headers, "openness", **ALL), "what", "share")
    assert shares["Open to organisations' requests"] == pytest.approx(4 / 7)

    regions = _column(_panel(client, headers, "members-by-region", **ALL), "region", "members")
    # Madrid and Paris are both in Europe: 7 members and the 2 coordinators (no profile needed
    # to belong to a chapter).
    assert sum(regions.values()) == 9


def test_period_keeps_members_who_joined_in_it_and_growth_counts_per_month(
    app, client, network, members
):
    headers = bearer(app, network.ime)
    _age(app, members.spain, joined_days_ago=500, confirmed_days_ago=500)
    last_year = _column(
        _panel(client, headers, "members-by-country", period="12m"), "code", "members"
    )
    assert last_year == {"ES": 1, "FR": 2, "": 1}
    growth = _panel(client, headers, "growth", period="24m")
    assert len(growth["rows"]) in (24, 25)  # every month of the period, empty ones as zero
    month = (utcnow() - timedelta(days=500)).strftime("%Y-%m")
    row = next(r for r in growth["rows"] if r["month"] == month)
    assert row == {"month": month, "new_members": 3, "confirmed": 3}
    this_month = growth["rows"][-1]
    assert this_month["month"] == utcnow().strftime("%Y-%m")
    assert this_month["new_members"] == 4 and this_month["confirmed"] == 4


def test_freshness_is_the_share_confirmed_within_twelve_months_per_chapter(
    app, client, network, members
):
    _age(app, [*members.spain[:2], members.mentor], confirmed_days_ago=400)
    rows = _panel(client, bearer(app, network.ime), "freshness", **ALL)["rows"]
    by_chapter = {r["chapter"]: (r["members"], r["confirmed"], r["share"]) for r in rows}
    assert by_chapter["Madrid"] == (5, 2, pytest.approx(0.4))
    assert by_chapter["París"] == (2, 2, pytest.approx(1.0))
    assert rows[0]["chapter"] == "Madrid"  # the stalest first


def test_chapter_activity_counts_registrations_attendance_and_promotions(
    app, client, network, make_event, make_user
):
    past = make_event(title="Agua pasada")
    future = make_event(title="Agua futura")
    paris = make_event(title="Energía", hosts=[network.paris], author=network.other_coordinator)
    people = [make_user() for _ in range(5)]
    with app.app_context():
        for event in (past, paris):
            db.session.execute(
                update(Event)
                .where(Event.id == event.id)
                .values(
                    starts_at=utcnow() - timedelta(days=20),
                    ends_at=utcnow() - timedelta(days=20, hours=-2),
                )
            )
        for index, person in enumerate(people):
            db.session.add(
                Registration(
                    event_id=past.id,
                    user_id=person.id,
                    status=RegistrationStatus.CANCELLED
                    if index == 4
                    else RegistrationStatus.CONFIRMED,
                    attended_at=utcnow() if index < 2 else None,
                    promoted_at=utcnow() if index == 3 else None,
                )
            )
            db.session.add(
                Registration(
                    event_id=future.id, user_id=person.id, status=RegistrationStatus.CONFIRMED
                )
            )
        db.session.commit()
    headers = bearer(app, network.ime)
    rows = {r["chapter"]: r for r in _panel(client, headers, "chapter-activity", **ALL)["rows"]}
    # The future event has not happened yet; the cancelled seat is not a registration.
    assert rows["Madrid"] == {
        "chapter": "Madrid",
        "events": 1,
        "registrations": 4,
        "attended": 2,
        "attendance": 0.5,
        "promotions": 1,
    }
    assert rows["París"]["events"] == 1 and rows["París"]["attendance"] is None
    months = _panel(client, headers, "events-per-month", period="3m")["rows"]
    assert sum(r["events"] for r in months) == 2


@pytest.fixture
def needs(app, network, sonora, make_need, members) -> SimpleNamespace:
    """Water needs: an open one (accepted after 4 days by one expert, declined by another), a
    completed one with outcomes, a draft; and an energy need in progress nobody was asked for."""
    open_id = make_need(network.org_user)
    done_id = make_need(network.org_user, title="Planta potabilizadora", node=None)
    draft_id = make_need(network.org_user, status=NeedStatus.DRAFT, title="Borrador")
    energy_id = make_need(network.org_user, title="Parque eólico", required=["wind-power"], nice=[])
    with app.app_context():
        energy = db.session.scalar(select(Sector).where(Sector.slug == "energy"))
        opened = utcnow() - timedelta(days=10)
        db.session.execute(
            update(Need)
            .where(Need.id == energy_id)
            .values(sector_id=energy.id, status=NeedStatus.IN_PROGRESS)
        )
        db.session.execute(
            update(Need).where(Need.id.in_([open_id, done_id])).values(opened_at=opened)
        )
        db.session.execute(
            update(Need)
            .where(Need.id == done_id)
            .values(status=NeedStatus.COMPLETED, finished_at=utcnow())
        )
        expert, other, third = members.spain
        db.session.add_all(
            [
                ContactRequest(
                    need_id=open_id,
                    organisation_id=network.organisation.id,
                    member_id=expert.id,
                    message="¿Nos ayudas?",
                    status=ContactStatus.ACCEPTED,
                    answered_at=opened + timedelta(days=4),
                ),
                ContactRequest(
                    need_id=open_id,
                    organisation_id=network.organisation.id,
                    member_id=other.id,
                    message="¿Nos ayudas?",
                    status=ContactStatus.DECLINED,
                    answered_at=opened + timedelta(days=1),
                ),
                ContactRequest(
                    need_id=done_id,
                    organisation_id=network.organisation.id,
                    member_id=third.id,
                    message="¿Nos ayudas?",
                    status=ContactStatus.WITHDRAWN,
                    answered_at=opened + timedelta(days=8),
                ),
                ContactRequest(
                    need_id=done_id,
                    organisation_id=network.organisation.id,
                    member_id=members.france.id,
                    message="?",
                    status=ContactStatus.PENDING,
                ),
                Outcome(
                    need_id=done_id, member_id=third.id, days=12, achieved="Diseño de la planta"
                ),
                Outcome(need_id=done_id, member_id=expert.id, days=3, achieved="Revisión"),
            ]
        )
        db.session.commit()
    return SimpleNamespace(open_id=open_id, done_id=done_id, draft_id=draft_id, energy_id=energy_id)


def test_needs_panels_equal_independent_counts(app, client, network, needs):
    headers = bearer(app, network.ime)
    status = _column(_panel(client, headers, "needs-by-status", **ALL), "status", "needs")
    assert status == {"Draft": 1, "Open": 1, "In progress": 1, "Completed": 1, "Closed": 0}
    sector = _column(_panel(client, headers, "needs-by-sector", **ALL), "sector", "needs")
    assert sector["Water"] == 2 and sector["Energy"] == 1  # the draft was never posted
    state = _column(_panel(client, headers, "needs-by-state", **ALL), "state", "needs")
    assert state == {"Sonora": 2, "National": 1}

    contacts = _panel(client, headers, "contact-requests", **ALL)
    assert _column(contacts, "outcome", "requests") == {
        "Accepted": 2,
        "Declined": 1,
        "Lapsed unanswered": 0,
        "Waiting for an answer": 1,
    }
    summary = {s["label"]: s["value"] for s in contacts["summary"]}
    assert summary["Requests sent"] == "4"
    assert summary["Acceptance rate"] == "66.7 %"  # 2 accepted of 3 settled
    # Open need: first accepted after 4 days; completed need: after 8 (withdrawn later).
    assert summary["Median days from posting to the first accepted contact"] == "6.0"

    outcomes = _panel(client, headers, "outcomes", **ALL)
    assert _column(outcomes, "sector", "days") == {"Water": 15}
    summary = {s["label"]: s["value"] for s in outcomes["summary"]}
    assert summary == {
        "Needs completed": "1",
        "Days contributed": "15",
        "Experts who contributed": "2",
    }


def test_gap_table_sets_experts_by_country_against_needs(app, client, network, needs):
    headers = bearer(app, network.ime)
    body = _panel(client, headers, "gap", **ALL)
    keys = [c["key"] for c in body["columns"]]
    assert "country_ES" in keys and "country_FR" not in keys  # no available expert in France
    rows = {r["row"]: r for r in body["rows"]}
    # Water: 4 experts open to requests (the mentor is not); one hides their country. Of the
    # two water needs only the open one counts: the completed one is no longer to be covered.
    assert rows["Water"]["needs"] == 1 and rows["Water"]["experts"] == 4
    assert rows["Water"]["country_ES"] == 3 and rows["Water"]["elsewhere"] == 1
    # Energy: a need and no available expert (the French members are not open to requests).
    assert rows["Energy"] == {**rows["Energy"], "needs": 1, "experts": 0, "per_need": 0}
    assert body["rows"][0]["row"] == "Energy"  # the uncovered need first

    concepts = {r["row"]: r for r in _panel(client, headers, "gap", by="concept", **ALL)["rows"]}
    assert concepts["Hydrology"]["needs"] == 1 and concepts["Hydrology"]["experts"] == 4
    assert concepts["Water treatment"]["experts"] == 1
    assert concepts["Wind power"]["experts"] == 0

    _in_english(app, network.ime)
    login(client, network.ime)
    page = client.get("/dashboard", query_string=ALL).get_data(as_text=True)
    table = page.split('data-testid="table-gap"')[1].split("</table>")[0]
    assert "not covered" in table.split("Energy")[1].split("</tr>")[0]
    assert 'class="text-end heat-4">3<' in table


def test_page_draws_each_panel_with_chart_table_and_csv(app, client, network, needs):
    _in_english(app, network.ime)
    login(client, network.ime)
    page = client.get("/dashboard", query_string=ALL).get_data(as_text=True)
    for slug in PANELS:
        section = page.split(f'data-testid="panel-{slug}"')[1]
        assert f'data-testid="table-{slug}"' in section.split("</section>")[0]
        assert f"/dashboard/{slug}.csv?period=all" in section.split("</section>")[0]
        if slug == "chapter-activity":  # no event in this test: said, not drawn
            assert "Nothing to count in this period." in section.split("</section>")[0]
            assert "<svg" not in section.split("</section>")[0]
        elif slug != "gap":
            assert '<svg class="chart" role="img"' in section.split("</figure>")[0]
    assert "https://" not in page.split("<main")[1].split("</main>")[0].replace(
        "https://meet.example.org", ""
    )  # nothing fetched from elsewhere

    response = client.get("/dashboard/needs-by-sector.csv", query_string=ALL)
    assert response.mimetype == "text/csv"
    assert "needs-by-sector-all.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["Sector", "Needs"]
    assert dict(rows[1:])["Water"] == "2"
    assert client.get("/dashboard/nope.csv").status_code == 404


def test_csv_cells_cannot_run_as_formulas(app, client, network, make_chapter, members):
    evil = make_chapter(
        slug="evil",
        name='=HYPERLINK("http://x")',
        country="DE",
        city="Berlín",
        timezone="Europe/Berlin",
    )
    _join(app, members.france, evil)
    login(client, network.ime)
    text = client.get("/dashboard/freshness.csv", query_string=ALL).get_data(as_text=True)
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text


def test_coordinator_sees_only_their_chapter(app, client, network, members, needs):
    headers = bearer(app, network.coordinator)
    body = _panel(client, headers, "members-by-country", **ALL)
    assert body["chapter"] == "madrid"
    assert _column(body, "code", "members") == {"ES": 4, "": 1}
    # Asking for another chapter gives their own, not Paris.
    body = _panel(client, headers, "members-by-country", chapter="paris", **ALL)
    assert body["chapter"] == "madrid" and "FR" not in _column(body, "code", "members")
    status = _column(_panel(client, headers, "needs-by-status", **ALL), "status", "needs")
    assert "Draft" not in status and "Closed" not in status  # only what is published
    # The experts show their openness to organisations only, not to coordinators: the
    # coordinator's figures do not reveal it, while IME's do.
    openness = _column(_panel(client, headers, "openness", **ALL), "what", "members")
    assert openness["Open to organisations' requests"] == 0
    gap = {r["row"]: r for r in _panel(client, headers, "gap", **ALL)["rows"]}
    assert gap["Water"]["experts"] == 0
    contacts = _panel(client, headers, "contact-requests", **ALL)
    assert {s["label"]: s["value"] for s in contacts["summary"]}["Requests sent"] == "3"

    login(client, network.coordinator)
    page = client.get("/dashboard", query_string=ALL).get_data(as_text=True)
    assert "Madrid" in page and 'name="chapter"' not in page  # one chapter: nothing to choose
    assert (
        client.get("/dashboard/members-by-country.csv?chapter=paris&period=all")
        .get_data(as_text=True)
        .count("FR")
        == 0
    )

    # IME may narrow the whole network to one chapter.
    ime = bearer(app, network.ime)
    paris = _column(
        _panel(client, ime, "members-by-country", chapter="paris", **ALL), "code", "members"
    )
    assert paris == {"FR": 2}


@pytest.mark.parametrize("who", ["member", "org_user"])
def test_others_have_no_dashboard(app, client, network, who):
    user = getattr(network, who)
    headers = bearer(app, user)
    assert client.get("/api/v1/dashboard/growth", headers=headers).status_code == 403
    login(client, user)
    assert client.get("/dashboard").status_code == 403
    assert client.get("/dashboard/growth.csv").status_code == 403


def test_api_refuses_without_token_and_names_unknown_panels(app, client, network):
    assert client.get("/api/v1/dashboard/growth").status_code == 401
    response = client.get("/api/v1/dashboard/nope", headers=bearer(app, network.ime))
    assert response.status_code == 404 and "members-by-region" in response.get_data(as_text=True)
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/dashboard/{slug}" in spec["paths"]


def test_bad_scope_values_fall_back_to_defaults(app, client, network):
    login(client, network.ime)
    response = client.get("/dashboard?period=forever&chapter=%00&by=<script>")
    assert response.status_code == 200
    assert 'value="12m" selected' in response.get_data(as_text=True)


def test_suspended_members_leave_every_count(app, client, network, members):
    with app.test_request_context():
        suspend_account(
            db.session.get(User, network.ime.id), db.session.get(User, members.france.id), "Spam"
        )
        db.session.commit()
    by_country = _column(
        _panel(client, bearer(app, network.ime), "members-by-country", **ALL), "code", "members"
    )
    assert by_country == {"ES": 4, "FR": 1, "": 1}


def test_periods_are_whole_calendar_months(app):
    scope = Scope(period="12m", now=datetime(2026, 11, 23, 22, 0, tzinfo=UTC))
    assert scope.since == datetime(2025, 12, 1, tzinfo=UTC)
    assert scope.months(set())[0] == "2025-12" and len(scope.months(set())) == 12
    assert Scope(period="3m", now=datetime(2026, 2, 5, tzinfo=UTC)).since == datetime(
        2025, 12, 1, tzinfo=UTC
    )
