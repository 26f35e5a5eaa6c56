"""Fixtures for the reliability tests: both framework classes pointed at the emulator."""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("langchain_openai")

from rel_support import lc_model, li_model  # noqa: E402

from vertex_openai.emulator import Emulator  # noqa: E402


@pytest.fixture
def make_lc(emulator: Emulator, sa_file: pathlib.Path) -> Callable[..., Any]:
    return lambda **kw: lc_model(emulator, sa_file, **kw)


@pytest.fixture
def make_li(emulator: Emulator, sa_file: pathlib.Path) -> Callable[..., Any]:
    return lambda **kw: li_model(emulator, sa_file, **kw)


@pytest.fixture
def second_emulator(tmp_path: pathlib.Path) -> Iterator[tuple[Emulator, pathlib.Path]]:
    """Tenant B: its own emulator (own token server, own keys)."""
    emu = Emulator()
    emu.start()
    try:
        yield emu, emu.write_service_account_file(tmp_path / "sa-b.json")
    finally:
        emu.stop()
