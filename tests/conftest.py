"""Shared pytest configuration: markers, and the Hypothesis profiles (see support.examples)."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# Each property sets its own count through support.examples(); the profiles give the rest: no
# deadline (a loaded machine is not a failure). "fast" (the README's test command, and CI) draws
# the same examples every run on every machine, so the command passes or fails the same way for
# everyone; "fuzz" (CI's fuzz step) draws the same examples every run too, ten times as many, and
# prints how to reproduce what it finds. Random long runs are scripts/fuzz_long.py's.
settings.register_profile("fast", parent=settings(), deadline=None, derandomize=True, database=None)
settings.register_profile("fuzz", deadline=None, derandomize=True, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: builds a wheel or a venv, or runs many subprocesses (runs in CI too)"
    )
    config.addinivalue_line(
        "markers",
        "property: a Hypothesis property (found by itself, or marked where the property is"
        " built inside the test); .ci/run's fuzz step runs these under HYPOTHESIS_PROFILE=fuzz",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.property)
