"""Factories for the compared clients, all pointed at one local server origin."""

from __future__ import annotations

import os
from typing import Any

from _common import LOCATION, MODEL, PROJECT, STATIC_KEY, static_credentials

# No tracing or telemetry in a benchmark.
for _var in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING"):
    os.environ.pop(_var, None)


def lc_vertex(origin: str, credentials: Any = None, **kwargs: Any) -> Any:
    """``langchain_vertex_openai.ChatVertexOpenAI`` against a Vertex-style path."""
    from langchain_vertex_openai import ChatVertexOpenAI

    return ChatVertexOpenAI(
        model=MODEL,
        project=kwargs.pop("project", PROJECT),
        location=LOCATION,
        api_endpoint=origin,
        credentials=credentials if credentials is not None else static_credentials(),
        max_retries=0,
        **kwargs,
    )


def lc_openai(
    origin: str, api_key: str = STATIC_KEY, base_url: str | None = None, **kwargs: Any
) -> Any:
    """Plain ``langchain_openai.ChatOpenAI`` with a static key."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=MODEL,
        base_url=base_url or f"{origin}/v1",
        api_key=api_key,
        max_retries=0,
        **kwargs,
    )


def raw_sdk(origin: str, is_async: bool = False) -> Any:
    """The raw openai SDK client (``chat.completions``)."""
    import openai

    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    return cls(base_url=f"{origin}/v1", api_key=STATIC_KEY, max_retries=0).chat.completions


def li_vertex(origin: str, credentials: Any = None, **kwargs: Any) -> Any:
    """``llama_index_vertex_openai.ChatVertexOpenAI``."""
    from llama_index_vertex_openai import ChatVertexOpenAI

    return ChatVertexOpenAI(
        model=MODEL,
        project=PROJECT,
        location=LOCATION,
        api_endpoint=origin,
        credentials=credentials if credentials is not None else static_credentials(),
        max_retries=0,
        **kwargs,
    )


def li_openai_like(origin: str, **kwargs: Any) -> Any:
    """Plain ``llama_index.llms.openai_like.OpenAILike`` with a static key."""
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(
        model=MODEL,
        api_base=f"{origin}/v1",
        api_key=STATIC_KEY,
        is_chat_model=True,
        context_window=1_048_576,
        max_retries=0,
        **kwargs,
    )


def lc_messages() -> list[Any]:
    return [("human", "hi")]


def li_messages() -> list[Any]:
    from llama_index.core.llms import ChatMessage

    return [ChatMessage(role="user", content="hi")]


def raw_messages() -> list[dict[str, str]]:
    return [{"role": "user", "content": "hi"}]
