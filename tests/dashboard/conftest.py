"""The dashboard counts events and needs too: borrow their fixtures."""

from tests.events.conftest import make_event  # noqa: F401
from tests.needs.conftest import make_expert, make_need, sonora  # noqa: F401
