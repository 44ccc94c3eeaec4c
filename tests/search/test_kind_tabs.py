"""The search page's kind tabs count what each kind's own search finds, for every viewer.

The Whoosh backend counts the tabs from cached bitsets instead of running each kind's query: the
counts must stay the totals a click on the tab then shows (upcoming events only, members-only
events for members only, open needs, chapters), whoever looks.
"""

from __future__ import annotations

from datetime import timedelta

from network.auth.models import User
from network.events.models import Event, EventVisibility
from network.extensions import db
from network.members.queries import build_viewer
from network.visibility import ANONYMOUS
from search.queries import kind_counts, search
from tests.conftest import login
from tests.events.conftest import make_event  # noqa: F401 (a fixture)


def _counts_and_totals(app, text: str, user) -> tuple[dict[str, int], dict[str, int]]:
    with app.test_request_context():
        viewer = build_viewer(db.session.get(User, user.id)) if user else ANONYMOUS
        counts = kind_counts(text, viewer)
        totals = {kind: search(text, viewer, kind=kind).total for kind in counts}
    return counts, totals


def test_tabs_count_what_each_kind_shows(app, network, make_event):  # noqa: F811
    make_event(title="Agua y ciudades")
    make_event(title="Cena del agua", visibility=EventVisibility.MEMBERS)
    past = make_event(title="Agua pasada")
    with app.test_request_context():
        row = db.session.get(Event, past.id)
        row.starts_at -= timedelta(days=40)
        row.ends_at -= timedelta(days=40)
        db.session.commit()
    for user in (None, network.member, network.org_user, network.ime):
        for text in ("agua", "agu*", "cena", "madrid"):
            counts, totals = _counts_and_totals(app, text, user)
            assert counts == totals, (text, user)
    anonymous, _ = _counts_and_totals(app, "agua", None)
    member, _ = _counts_and_totals(app, "agua", network.member)
    # The past event never counts; the members-only one only for a member.
    assert (anonymous["events"], member["events"]) == (1, 2)


def test_the_page_tabs_show_the_counts(app, client, network, make_event):  # noqa: F811
    make_event(title="Cena del agua", visibility=EventVisibility.MEMBERS)
    anonymous = client.get("/search?q=cena").get_data(as_text=True)
    assert 'data-kind="events">Eventos <span class="badge text-bg-secondary">0<' in anonymous
    member = login(client, network.member).get("/search?q=cena").get_data(as_text=True)
    assert 'data-kind="events">Eventos <span class="badge text-bg-secondary">1<' in member
