"""The few events one domain announces and others react to.

Why signals: when an account is suspended, contact requests lapse, mentoring ends and the search
index drops the person. If the suspending service called each of those domains, it would have to
know them all, and every new reaction would edit it. Instead the domain that acts sends one of
these signals (inside the same transaction, before the view commits), and each domain that cares
connects a receiver in its own package. Receivers may flush, never commit, like any service.

blinker is what Flask's own signals use (a Flask dependency already). A receiver is connected
once, at import of its module, which the app factory imports (network/__init__.py); a weak
reference would let a module-level function go, so receivers are plain module functions.

Each signal's sender and keyword arguments are part of its contract, stated below.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: An IME administrator suspended an account. Sender: the suspended `User`; `admin`: who did it.
account_suspended = _signals.signal("account-suspended")

#: A member is deleting their account; sent before the rows go, so receivers can settle what
#: depends on them (seats to the waitlists, mentors' places freed). Sender: the `User`.
member_deleted = _signals.signal("member-deleted")

#: A concept is being merged into another; sent before the merged concept's row is deleted, so
#: receivers move their references (events' topics, needs' concepts) to the survivor.
#: Sender: the `Concept` merged away; `target`: the surviving `Concept`; `admin`: who did it.
concept_merged = _signals.signal("concept-merged")

#: A concept's labels or synonyms changed. Sender: the `Concept`; `admin`: who did it.
concept_renamed = _signals.signal("concept-renamed")

#: A need stopped taking contact requests (completed, cancelled or expired). Sender: the `Need`.
need_closed = _signals.signal("need-closed")

#: The search index was written (documents added, changed or deleted, or rebuilt), after the
#: commit. Sender: the index backend; `keys`: the document keys written (empty for a rebuild).
index_written = _signals.signal("index-written")
