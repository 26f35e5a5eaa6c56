"""Vertex as it is today (issue 21), through the LlamaIndex class over real HTTP."""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import Callable
from typing import Any

import openai
import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.tools import FunctionTool

from vertex_openai._errors import VertexConfigError
from vertex_openai.emulator import Emulator


def _counts(emulator: Emulator) -> list[Any]:
    return [r for r in emulator.requests if r.path.endswith(":countTokens")]


@pytest.fixture
def offline_tiktoken(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def test_count_tokens_with_vertex(
    make_llm: Callable[..., Any], emulator: Emulator, offline_tiktoken: None
) -> None:
    llm = make_llm()
    msgs = [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="hi")]

    def weather(city: str) -> str:
        """Weather for a city."""
        return city

    count = llm.count_tokens(msgs)
    with_tool = llm.count_tokens(msgs, tools=[FunctionTool.from_defaults(weather)])
    assert 0 < count < with_tool
    requests = _counts(emulator)
    assert len(requests) == 2
    assert requests[0].json["systemInstruction"]["parts"][0]["text"] == "Be brief."
    assert asyncio.run(llm.acount_tokens(msgs)) == count
    partner = make_llm("meta/llama-3.3-70b-instruct-maas")
    assert partner.count_tokens(msgs) > 0
    assert len(_counts(emulator)) == 3


@pytest.mark.parametrize(
    "model",
    [
        "google/gemini-3-pro-preview",
        "google/gemini-3-flash-preview",
        "google/gemini-3.1-pro-preview",
        "google/gemini-3.5-flash-lite",
        "google/gemini-3.6-flash",
        "google/gemini-3.7-flash",
    ],
)
def test_context_window_for_gemini_3(make_llm: Callable[..., Any], model: str) -> None:
    assert make_llm(model, location="global").metadata.context_window == 1_048_576


def test_context_overflow_is_catchable(make_llm: Callable[..., Any], emulator: Emulator) -> None:
    from vertex_openai import VertexContextOverflowError

    emulator.config.context_windows = {"google/gemini-2.5-flash": 20}
    llm = make_llm()
    long = [ChatMessage(role="user", content="lorem ipsum " * 50)]
    with pytest.raises(VertexContextOverflowError, match="exceeds the maximum number"):
        llm.chat(long)
    with pytest.raises(openai.BadRequestError):
        list(llm.stream_chat(long))
    with pytest.raises(VertexContextOverflowError):
        asyncio.run(llm.achat(long))


def test_unknown_keyword_warned(make_llm: Callable[..., Any]) -> None:
    with pytest.warns(UserWarning, match="'thinkng_config' \\(did you mean 'thinking_config'"):
        make_llm(thinkng_config={"include_thoughts": True})


def test_thinking_keywords_and_priority_header(
    make_llm: Callable[..., Any], emulator: Emulator, bodies: Callable[[], list[Any]]
) -> None:
    llm = make_llm(
        include_thoughts=True,
        thinking_budget=256,
        location="global",
        shared_request_type="priority",
    )
    llm.chat([ChatMessage(role="user", content="hi")])
    assert bodies()[-1]["extra_body"]["google"]["thinking_config"] == {
        "include_thoughts": True,
        "thinking_budget": 256,
    }
    last = [r for r in emulator.requests if r.path.endswith("/chat/completions")][-1]
    assert last.headers["x-vertex-ai-llm-shared-request-type"] == "priority"
    with pytest.raises(VertexConfigError, match="global endpoint only"):
        make_llm(shared_request_type="priority")


def test_model_turn_last_refused(
    make_llm: Callable[..., Any], bodies: Callable[[], list[Any]]
) -> None:
    llm = make_llm("google/gemini-3.6-flash", location="global")
    prefill = [ChatMessage(role="user", content="hi"), ChatMessage(role="assistant", content="A")]
    with pytest.raises(VertexConfigError, match="model turn"):
        llm.chat(prefill)
    assert bodies() == []
