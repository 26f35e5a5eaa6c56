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


def _langchain_openai_version() -> tuple[int, ...]:
    from importlib.metadata import version

    return tuple(int(p) for p in version("langchain-openai").split(".")[:3] if p.isdigit())


PARENT_RAISES_ALL_REFUSALS = _langchain_openai_version() >= (1, 7, 4)
"""langchain-openai 1.7.4 raises `OpenAIRefusalError` for every structured-output method
and translates a refusal into a content block; earlier releases do so only for
`json_schema`, and our class follows the parent's own check (it does not re-implement it)."""


def refusal_method_params() -> list[Any]:
    """`method` values for refusal tests; non-json_schema ones need the newer parent."""
    import pytest

    older_parent = pytest.mark.xfail(
        not PARENT_RAISES_ALL_REFUSALS,
        reason="langchain-openai < 1.7.4 raises OpenAIRefusalError only for json_schema",
        strict=True,
    )
    return [
        "json_schema",
        pytest.param("function_calling", marks=older_parent),
        pytest.param("json_mode", marks=older_parent),
    ]


PARENT_STREAM_WARNING = "Pydantic serializer warnings"
"""Streaming `json_schema` structured output: langchain-openai's `_stream` calls
`model_dump()` on the openai SDK's parsed stream events (`ContentDoneEvent`, whose `parsed`
is typed None but holds the model), and pydantic warns. Plain `ChatOpenAI` prints the same
(test_lc_differential.py::test_streamed_json_schema_warns_as_the_parent_does)."""

PARENT_V1_SCHEMA_WARNING = "Received a Pydantic BaseModel V1 schema"
"""langchain-openai's own notice that `json_schema` cannot take a pydantic v1 model and
`function_calling` is used instead (test_lc_differential.py checks ChatOpenAI prints it)."""
