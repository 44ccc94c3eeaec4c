"""The fuzz tests' hypothesis settings stay theirs: collecting this folder must not change how
the other modules' property tests run (their example count, randomness, example database)."""

from __future__ import annotations

from hypothesis import settings

from tests.fuzz.conftest import FUZZ_SETTINGS


def test_collecting_the_fuzz_tests_leaves_the_default_settings_alone():
    # This module is collected with tests/fuzz/conftest.py imported; a profile loaded there
    # would be the default now. Hypothesis' own default and its CI profile both run 100
    # examples; the fuzz settings run 10.
    assert FUZZ_SETTINGS.max_examples == 10
    assert settings.default.max_examples == 100
    assert settings.default.max_examples != FUZZ_SETTINGS.max_examples
