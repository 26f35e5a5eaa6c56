"""Fixtures for the LlamaIndex class: a factory pointing ChatVertexOpenAI at the emulator."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from vertex_openai.emulator import Emulator


@pytest.fixture
def make_llm(emulator: Emulator, sa_file: pathlib.Path) -> Callable[..., Any]:
    """Build a `ChatVertexOpenAI` on the emulator (real google-auth refresh against it)."""
    from llama_index_vertex_openai import ChatVertexOpenAI

    def make(model: str = "google/gemini-2.5-flash", **kwargs: Any) -> ChatVertexOpenAI:
        kwargs.setdefault("project", emulator.project)
        kwargs.setdefault("location", "us-central1")
        kwargs.setdefault("api_endpoint", emulator.url)
        if "api_key" not in kwargs:
            kwargs.setdefault("credentials", str(sa_file))
        kwargs.setdefault("max_retries", 0)
        return ChatVertexOpenAI(model=model, **kwargs)

    return make


@pytest.fixture
def bodies(emulator: Emulator) -> Callable[[], list[Any]]:
    """JSON bodies of the chat-completions requests the emulator received so far."""

    def get() -> list[Any]:
        return [r.json for r in emulator.requests if r.path.endswith("/chat/completions")]

    return get
