"""Helpers shared by the LangChain tests (imported as a top-level module by pytest)."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

from langchain_vertex_openai import ChatVertexOpenAI
from vertex_openai.emulator import Emulator

MakeModel = Callable[..., ChatVertexOpenAI]


def emulator_params(emu: Emulator, sa_file: pathlib.Path, **overrides: Any) -> dict[str, Any]:
    """Constructor arguments that point a model at the emulator with a service account."""
    params: dict[str, Any] = {
        "model": "gemini-2.5-flash",
        "project": emu.project,
        "location": "us-central1",
        "api_endpoint": emu.url,
        "credentials": str(sa_file),
        "max_retries": 0,
    }
    params.update(overrides)
    return params
