"""Fixtures for the LangChain tests: a ChatVertexOpenAI factory pointed at the emulator."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

pytest.importorskip("langchain_openai")

from lc_support import MakeModel, emulator_params  # noqa: E402

from langchain_vertex_openai import ChatVertexOpenAI  # noqa: E402
from vertex_openai.emulator import Emulator  # noqa: E402


@pytest.fixture
def make_model(emulator: Emulator, sa_file: pathlib.Path) -> MakeModel:
    """Build a ChatVertexOpenAI for the emulator (keyword arguments override the defaults)."""

    def make(**overrides: Any) -> ChatVertexOpenAI:
        return ChatVertexOpenAI(**emulator_params(emulator, sa_file, **overrides))

    return make
