"""A web worker killed inside the RSVP transaction, for tests/test_failures.py.

Usage: rsvp_killed_worker.py DATABASE_URL EVENT_ID SESSION_USER_ID ANSWERS_JSON

It posts the member's RSVP through the test client; once the registration and its answers are
written (flushed, not committed), it SIGKILLs itself, as the OOM killer or a hard restart would.
It prints what it wrote first, so the test knows it died at that point and not earlier.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from sqlalchemy import func, select

from network import create_app
from network.config import TestConfig
from network.events import services
from network.events.models import Event, Registration, RegistrationAnswer
from network.extensions import db

database_url, event_id, session_user_id, answers_json = sys.argv[1:5]


class WorkerConfig(TestConfig):
    SQLALCHEMY_DATABASE_URI = database_url
    SEARCH_BACKEND = "whoosh"


app = create_app(WorkerConfig)
store_answers = services._store_answers


def store_answers_then_die(registration: Registration, event: Event, answers: dict) -> None:
    store_answers(registration, event, answers)
    db.session.flush()
    registrations = db.session.scalar(
        select(func.count(Registration.id))
        .where(Registration.event_id == event.id)
        .where(Registration.user_id == registration.user_id)
    )
    written = db.session.scalar(
        select(func.count(RegistrationAnswer.id)).where(
            RegistrationAnswer.registration_id == registration.id
        )
    )
    print(f"written: {registrations} registration, {written} answers", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


services._store_answers = store_answers_then_die
client = app.test_client()
with client.session_transaction() as session:
    session["_user_id"] = session_user_id
    session["_fresh"] = True
response = client.post(f"/events/{event_id}/register", data=json.loads(answers_json))
print(f"survived the RSVP: {response.status_code}", flush=True)
sys.exit(3)
