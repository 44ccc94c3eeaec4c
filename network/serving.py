"""gunicorn's settings module: `gunicorn --config python:network.serving wsgi:app`.

Why: a freshly started worker answered its first search in 1 to 1.5 s on 100,000 members, because
everything a search needs is built on first use: the index's segment readers and their bitsets,
the directory's filters, the compiled templates. A worker restarted under load (a deploy, a crash,
`max_requests`) made someone wait for that. Here each worker builds them right after loading the
app and before it takes a request (`post_worker_init`), so the first visitor gets a warm worker.

Nothing here is needed for correctness: a warm-up that fails (an empty database, an index not
yet built) is logged and the worker starts anyway.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask_babel import force_locale

from network.members.directory import filter_choices, paginate_directory
from network.members.directory import warm as warm_directory
from network.members.queries import DirectoryFilters
from network.visibility import ANONYMOUS, Viewer
from search.queries import search

log = logging.getLogger(__name__)

# What visitors most often reach first, as the two viewers most of them are (the public and a
# signed-in member): every kind of search with its facets, and the directory in both orders.
WARM_WORDS = ("agua", "energía", "salud", "software")
WARM_VIEWERS = (ANONYMOUS, Viewer(is_signed_in=True))


def _templates(app: Flask) -> int:
    """Compile every page template (e-mails are compiled by the jobs that send them)."""
    names = app.jinja_env.list_templates(
        filter_func=lambda name: name.endswith(".html") and not name.startswith("emails/")
    )
    for name in names:
        app.jinja_env.get_template(name)
    return len(names)


def warm_up(app: Flask, tick: Callable[[], None] = lambda: None) -> str | None:
    """Build what the first requests would otherwise build; say what and how long, or None if
    it failed (logged: the worker then starts cold).

    `tick` is called between steps: gunicorn's worker heartbeat, so that a long warm-up on a busy
    machine is not taken for a hung worker and killed at `--timeout`."""
    start = time.perf_counter()
    try:
        templates = _templates(app)
        with app.test_request_context("/"):
            for viewer in WARM_VIEWERS:
                for word in WARM_WORDS:
                    for kind in ("members", "events", "chapters", "needs"):
                        tick()
                        search(word, viewer, kind=kind, with_facets=True)
                tick()
                warm_directory(viewer)
                paginate_directory(viewer, DirectoryFilters(), 1, 24)
            for language in app.config["LANGUAGES"]:
                with force_locale(language):
                    filter_choices(language)
    except Exception:  # the worker must start all the same: this only saves time
        log.exception("Warming the worker up failed; it starts cold")
        return None
    elapsed = (time.perf_counter() - start) * 1000
    return (
        f"Worker warmed up in {elapsed:.0f} ms ({templates} templates, searches, directory filters)"
    )


def post_worker_init(worker: Any) -> None:
    """gunicorn's hook, called in each worker after it loaded the app, before its first request."""
    done = warm_up(worker.wsgi, worker.notify)
    if done:
        worker.log.info(done)  # gunicorn's error log, where its own start-up lines go
    # What the warm-up built (index readers, caches, templates) lives as long as the worker: keep
    # it out of the cyclic collector's full scans, whose pauses otherwise land on requests.
    gc.collect()
    gc.freeze()
