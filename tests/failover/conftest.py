"""Fixtures for the failover tests: the shared emulator, and no cooling left between tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vertex_openai._failover import COOLING


@pytest.fixture(autouse=True)
def _no_cooling() -> Iterator[None]:
    # The registry is process-wide by design; each test starts from a process that has
    # seen no 429/503.
    COOLING.clear()
    yield
    COOLING.clear()
