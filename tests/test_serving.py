"""gunicorn's hook warms each worker before its first request: the first visitor does not pay for
building the directory's lists and the search caches, and a failed warm-up never stops a worker."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from network import serving
from tests.conftest import login


def test_after_the_warm_up_the_first_directory_page_builds_nothing(
    app, network, make_member, count_queries, monkeypatch
):
    for name in ("Ana", "Beto"):
        make_member({"country": "US"}, full_name=f"{name} Prueba")
    cold = login(app.test_client(), network.member)
    with count_queries() as first:
        cold.get("/members")
    with count_queries() as second:
        cold.get("/members")
    assert second.count < first.count  # the lists were built by the first request

    app.extensions.pop("generation_caches")  # as a new worker: nothing built yet
    worker = SimpleNamespace(wsgi=app, notified=0, lines=[])
    worker.notify = lambda: setattr(worker, "notified", worker.notified + 1)
    worker.log = SimpleNamespace(info=worker.lines.append)
    frozen = []  # gc.freeze() would keep this whole test process out of collection
    monkeypatch.setattr(serving.gc, "freeze", lambda: frozen.append(True))
    serving.post_worker_init(worker)
    assert frozen  # what the warm-up built is kept out of the collector's full scans
    assert worker.lines and worker.lines[0].startswith("Worker warmed up in")
    assert worker.notified > 1  # the heartbeat kept going during the warm-up
    warm = login(app.test_client(), network.member)
    with count_queries() as after_warm_up:
        page = warm.get("/members").get_data(as_text=True)
    assert after_warm_up.count == second.count
    assert "Ana Prueba" in page


def test_a_failed_warm_up_is_logged_and_the_worker_starts(app, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("index missing")

    monkeypatch.setattr(serving, "search", broken)
    # Alembic's env.py (migrations run in-process by earlier tests) calls logging's fileConfig,
    # which disables loggers that already exist; a gunicorn worker never runs it.
    monkeypatch.setattr(serving.log, "disabled", False)
    with caplog.at_level(logging.ERROR, logger="network.serving"):
        assert serving.warm_up(app) is None
    assert "starts cold" in caplog.text
