"""An IME administrator for the administration pages' tests."""

from __future__ import annotations

import pytest

from network.auth.models import User
from network.security import Role
from tests.conftest import login
from tests.needs.conftest import make_expert, make_need, sonora, world  # noqa: F401


@pytest.fixture
def admin(network, make_user) -> User:
    """An IME administrator reading in English (the messages tested are English msgids)."""
    return make_user(
        full_name="Iris Admin", email="iris@ime.gob.mx", role=Role.IME, preferred_language="en"
    )


@pytest.fixture
def ime(app, admin):
    """A client signed in as that administrator."""
    return login(app.test_client(), admin)
