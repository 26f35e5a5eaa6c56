"""LangChain: parallel calls sharing an id (Gemini 2.x) vs plain ChatOpenAI (issue 12 #1)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from lc_support import MakeModel

from vertex_openai.emulator import Emulator

PARIS_LONDON = "What is the weather in Paris and London? Use get_current_weather."
EXPECTED = [
    ("get_current_weather", {"location": "Paris"}),
    ("get_current_weather", {"location": "London"}),
]


@tool
def get_current_weather(location: str) -> str:
    """Current weather at a location."""
    return f"sunny in {location}"


def plain(emulator: Emulator, **kwargs: Any) -> ChatOpenAI:
    return ChatOpenAI(
        model="google/gemini-2.5-flash",
        base_url=emulator.base_url("us-central1"),
        api_key=emulator.issue_token(),  # type: ignore[arg-type]
        max_retries=0,
        **kwargs,
    )


def calls(message: AIMessage) -> list[tuple[str, dict[str, Any]]]:
    return [(tc["name"], tc["args"]) for tc in message.tool_calls]


def streamed(llm: Any) -> AIMessage:
    full = None
    for chunk in llm.stream(PARIS_LONDON):
        full = chunk if full is None else full + chunk
    assert full is not None
    return full


@pytest.mark.parametrize("wire", ["whole", "fragments", "no_index"])
def test_same_id_calls_stream_and_invoke(
    make_model: MakeModel, emulator: Emulator, wire: str
) -> None:
    extra: dict[str, Any] = {}
    if wire == "fragments":
        extra = {"extra_body": {"google": {"stream_function_call_arguments": True}}}
    if wire == "no_index":
        emulator.config.stream_tool_call_index = False
    ours = make_model(model="google/gemini-2.5-flash", **extra).bind_tools([get_current_weather])
    for message in (ours.invoke(PARIS_LONDON), streamed(ours)):
        assert calls(message) == EXPECTED
        ids = [tc["id"] for tc in message.tool_calls]
        assert all(ids)
        assert len(set(ids)) == 2
        assert not message.invalid_tool_calls
        # Building the results works (it raised with an id of None).
        results = [ToolMessage("ok", tool_call_id=tc["id"]) for tc in message.tool_calls]
        assert len(results) == 2
    # Plain ChatOpenAI parses the same wire correctly; ours is at least as right.
    plain_extra = {"extra_body": {"extra_body": extra["extra_body"]}} if extra else {}
    parent = plain(emulator, **plain_extra).bind_tools([get_current_weather])
    assert calls(parent.invoke(PARIS_LONDON)) == EXPECTED
    if wire == "whole":
        assert calls(streamed(parent)) == EXPECTED


def test_same_id_results_pair_with_calls_on_replay(
    make_model: MakeModel, emulator: Emulator
) -> None:
    llm = make_model(model="google/gemini-2.5-flash").bind_tools([get_current_weather])
    history: list[Any] = [HumanMessage(PARIS_LONDON)]
    ai = streamed(llm)
    history.append(ai)
    history += [get_current_weather.invoke(tc) for tc in ai.tool_calls]
    answer = llm.invoke(history)
    assert answer.content == (
        "Tool get_current_weather returned: sunny in Paris. "
        "Tool get_current_weather returned: sunny in London."
    )
    sent = emulator.requests[-1].json["messages"]
    assert [tc["id"] for tc in sent[1]["tool_calls"]] == ["get_current_weather"] * 2
    assert [m["tool_call_id"] for m in sent[2:]] == ["get_current_weather"] * 2
