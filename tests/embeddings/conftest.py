"""Fixtures for the embedding tests: the shared emulator with fresh embedding routes."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from vertex_openai import VertexConnection
from vertex_openai._embeddings import VertexEmbeddingClient
from vertex_openai.emulator import Emulator


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    """The module's emulator with default embedding limits and zeroed counters."""
    emulator.embeddings.reset()
    return emulator


@pytest.fixture
def connection(emu: Emulator, sa_file: pathlib.Path) -> VertexConnection:
    return VertexConnection(
        project=emu.project, location="us-central1", api_endpoint=emu.url, credentials=str(sa_file)
    )


@pytest.fixture
def make_client(connection: VertexConnection) -> Callable[..., VertexEmbeddingClient]:
    def make(model: str = "text-embedding-005", **kwargs: Any) -> VertexEmbeddingClient:
        kwargs.setdefault("max_retries", 0)
        return VertexEmbeddingClient(connection, model, **kwargs)

    return make
