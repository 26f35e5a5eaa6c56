"""Helpers shared by the reliability tests (imported as a top-level module by pytest)."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from vertex_openai.emulator import Emulator

PROMPT = "hello there"
ANSWER = "Emulated answer from google/gemini-2.5-flash: hello there"


def lc_model(emu: Emulator, sa_file: pathlib.Path | str | None, **overrides: Any) -> Any:
    """A LangChain ChatVertexOpenAI for `emu` (service-account file unless overridden)."""
    from langchain_vertex_openai import ChatVertexOpenAI

    params: dict[str, Any] = {
        "model": "gemini-2.5-flash",
        "project": emu.project,
        "location": "us-central1",
        "api_endpoint": emu.url,
        "max_retries": 0,
        "timeout": 30,
    }
    if sa_file is not None:
        params["credentials"] = str(sa_file)
    params.update(overrides)
    return ChatVertexOpenAI(**params)


def li_model(emu: Emulator, sa_file: pathlib.Path | str | None, **overrides: Any) -> Any:
    """A LlamaIndex ChatVertexOpenAI for `emu` (service-account file unless overridden)."""
    pytest.importorskip("llama_index.core")
    from llama_index_vertex_openai import ChatVertexOpenAI

    params: dict[str, Any] = {
        "model": "gemini-2.5-flash",
        "project": emu.project,
        "location": "us-central1",
        "api_endpoint": emu.url,
        "max_retries": 0,
        "timeout": 30,
    }
    if sa_file is not None:
        params["credentials"] = str(sa_file)
    params.update(overrides)
    return ChatVertexOpenAI(**params)


def li_messages(text: str = PROMPT) -> list[Any]:
    from llama_index.core.llms import ChatMessage

    return [ChatMessage(role="user", content=text)]


def lc_stream_text(model: Any, text: str = PROMPT) -> tuple[str, Any]:
    """Stream with LangChain; returns (text, finish_reason)."""
    acc = None
    for chunk in model.stream(text):
        acc = chunk if acc is None else acc + chunk
    assert acc is not None
    return acc.text, acc.response_metadata.get("finish_reason")


async def lc_astream_text(model: Any, text: str = PROMPT) -> tuple[str, Any]:
    acc = None
    async for chunk in model.astream(text):
        acc = chunk if acc is None else acc + chunk
    assert acc is not None
    return acc.text, acc.response_metadata.get("finish_reason")


def _li_finish(resp: Any) -> Any:
    raw = resp.raw
    choices = getattr(raw, "choices", None) or []
    for choice in choices:
        if getattr(choice, "finish_reason", None):
            return choice.finish_reason
    return None


def li_stream_text(model: Any, text: str = PROMPT) -> tuple[str, Any]:
    """Stream with LlamaIndex; returns (text, finish_reason seen in any chunk)."""
    last, finish = None, None
    for resp in model.stream_chat(li_messages(text)):
        last = resp
        finish = _li_finish(resp) or finish
    assert last is not None
    return last.message.content or "", finish


async def li_astream_text(model: Any, text: str = PROMPT) -> tuple[str, Any]:
    last, finish = None, None
    async for resp in await model.astream_chat(li_messages(text)):
        last = resp
        finish = _li_finish(resp) or finish
    assert last is not None
    return last.message.content or "", finish


def chat_requests(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if r.path.endswith("/chat/completions")]


def sdk_http() -> Any:
    """The HTTP library of the installed openai SDK (httpx for 2.x, httpx2 for 3.x): a
    user's own ``http_client`` must be one of its clients."""
    import openai

    from vertex_openai._clients import _http_module

    return _http_module(openai.DefaultHttpxClient)
