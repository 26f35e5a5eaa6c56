"""Differential tests: the same scenario through plain `ChatOpenAI` and through ours.

Plain `ChatOpenAI` is pointed at the emulator with a static token (what an existing app
does with `api_key=creds.token`); ours signs with a service account. Ours must be at
least as right: the same tool calls, the same parsed objects, the same callback events,
and no warning the parent does not print.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import openai
import pytest
from langchain.agents import create_agent
from langchain.agents.structured_output import ProviderStrategy, ToolStrategy
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from lc_support import (
    PARENT_RAISES_ALL_REFUSALS,
    PARENT_STREAM_WARNING,
    PARENT_V1_SCHEMA_WARNING,
    MakeModel,
    refusal_method_params,
)
from pydantic import BaseModel, Field
from pydantic.v1 import BaseModel as BaseModelV1

from langchain_vertex_openai import ChatVertexOpenAI
from vertex_openai.emulator import Emulator

MODEL = "google/gemini-2.5-flash"
LOCATION = "us-central1"
Pair = Callable[..., tuple[BaseChatModel, BaseChatModel]]


class Weather(BaseModel):
    """A weather report."""

    city: str = Field(description="The city")
    summary: str = Field(description="One sentence")


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny and 21C in {city}"


@tool
def get_time(city: str) -> str:
    """Get the local time in a city."""
    return f"It is noon in {city}"


@pytest.fixture
def pair(make_model: MakeModel, emulator: Emulator) -> Pair:
    """(plain ChatOpenAI with a static token, ChatVertexOpenAI) for the same model."""

    def build(**kwargs: Any) -> tuple[BaseChatModel, BaseChatModel]:
        model = kwargs.pop("model", MODEL)
        plain = ChatOpenAI(
            model=model,
            base_url=emulator.base_url(LOCATION),
            api_key=emulator.issue_token(),
            max_retries=0,
            # langchain-openai caches its default async client per base URL across
            # instances; under pytest's per-test event loops (openai 3.x) that client's
            # pool belongs to an earlier, closed loop. A fresh one per test compares the
            # parent's parsing, not that caching.
            http_async_client=openai.DefaultAsyncHttpxClient(),
            **kwargs,
        )
        return plain, make_model(model=model, location=LOCATION, **kwargs)

    return build


def _calls(message: AIMessage) -> list[tuple[str, dict[str, Any]]]:
    return [(tc["name"], tc["args"]) for tc in message.tool_calls]


def _run(fn: Callable[[], Any]) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, sorted(
        f"{w.category.__name__}: {str(w.message)[:80]}"
        for w in caught
        if not issubclass(w.category, ResourceWarning)
    )


def _same(plain: Any, ours: Any, scenario: Callable[[Any], Any]) -> tuple[Any, Any]:
    expected, parent_warnings = _run(lambda: scenario(plain))
    got, our_warnings = _run(lambda: scenario(ours))
    new = set(our_warnings) - set(parent_warnings)
    assert not new, f"warnings only ours prints: {new}"
    return expected, got


# ---------------------------------------------------------------- tools


@pytest.mark.parametrize("stream", [False, True])
def test_parallel_tool_calls(pair: Pair, stream: bool) -> None:
    prompt = "Use get_weather and get_time for 'Paris'."

    def scenario(llm: Any) -> AIMessage:
        bound = llm.bind_tools([get_weather, get_time])
        if not stream:
            return bound.invoke(prompt)
        full = None
        for chunk in bound.stream(prompt):
            full = chunk if full is None else full + chunk
        return full

    expected, got = _same(*pair(), scenario)
    assert _calls(got) == _calls(expected)
    assert _calls(got) == [("get_weather", {"city": "Paris"}), ("get_time", {"city": "Paris"})]
    assert all(tc["id"] for tc in got.tool_calls)


def test_tools_with_response_format(pair: Pair) -> None:
    def scenario(llm: Any) -> tuple[Any, Any]:
        bound = llm.bind_tools([get_weather], response_format=Weather)
        called = bound.invoke("Use get_weather for 'Paris'.")
        answered = bound.invoke("Describe the sky.")
        return called, answered

    (p_called, p_answer), (o_called, o_answer) = _same(*pair(), scenario)
    assert _calls(o_called) == _calls(p_called) == [("get_weather", {"city": "Paris"})]
    assert o_answer.additional_kwargs["parsed"] == p_answer.additional_kwargs["parsed"]
    assert isinstance(o_answer.additional_kwargs["parsed"], Weather)


# ---------------------------------------------------------------- structured output


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
@pytest.mark.parametrize("include_raw", [False, True])
def test_with_structured_output(pair: Pair, method: str, include_raw: bool) -> None:
    prompt = "Report the weather in 'Paris' as JSON with 'city' and 'summary' keys."

    def scenario(llm: Any) -> Any:
        return llm.with_structured_output(Weather, method=method, include_raw=include_raw).invoke(
            prompt
        )

    expected, got = _same(*pair(), scenario)
    if include_raw:
        assert got["parsed"] == expected["parsed"]
        assert got["parsing_error"] is None
        expected, got = expected["parsed"], got["parsed"]
    assert isinstance(got, Weather)
    assert got == expected


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_streamed_structured_output(pair: Pair, method: str) -> None:
    def scenario(llm: Any) -> list[Any]:
        return list(
            llm.with_structured_output(Weather, method=method).stream(
                "The weather as JSON with 'city' and 'summary' keys."
            )
        )

    expected, got = _same(*pair(), scenario)
    assert got[-1] == expected[-1]
    assert isinstance(got[-1], Weather)


def test_streamed_json_schema_warns_as_the_parent_does(pair: Pair) -> None:
    # The one warning of this scenario is langchain-openai's (lc_support.PARENT_STREAM_WARNING):
    # other tests mark it as the parent's on the strength of this one.
    def scenario(llm: Any) -> list[Any]:
        return list(
            llm.with_structured_output(Weather, method="json_schema").stream(
                "The weather as JSON with 'city' and 'summary' keys."
            )
        )

    plain, ours = pair()
    expected, parent_warnings = _run(lambda: scenario(plain))
    got, our_warnings = _run(lambda: scenario(ours))
    assert any(PARENT_STREAM_WARNING in w for w in parent_warnings), parent_warnings
    assert our_warnings == parent_warnings
    assert got[-1] == expected[-1]


def test_pydantic_v1_schema_warns_as_the_parent_does(pair: Pair) -> None:
    class JokeV1(BaseModelV1):
        """A joke."""

        setup: str
        punchline: str

    plain, ours = pair()
    warned = []
    for llm in (plain, ours):
        with pytest.warns(UserWarning, match=PARENT_V1_SCHEMA_WARNING) as caught:
            structured = llm.with_structured_output(JokeV1)  # json_schema, the default
        warned.append(sorted(str(w.message) for w in caught))
        result = structured.invoke("Tell me a joke as JSON with 'setup' and 'punchline'.")
        assert isinstance(result, JokeV1)
    assert warned[0] == warned[1]


# ---------------------------------------------------------------- agents


@pytest.mark.parametrize(
    "strategy",
    [None, ToolStrategy(Weather), ProviderStrategy(Weather)],
    ids=["no-format", "tool-strategy", "provider-strategy"],
)
def test_create_agent(pair: Pair, strategy: Any, emulator: Emulator) -> None:
    def scenario(llm: Any) -> dict[str, Any]:
        agent = create_agent(llm, [get_weather, get_time], response_format=strategy)
        return agent.invoke(
            {"messages": [("user", "Use get_weather and get_time for 'Paris'.")]},
            {"recursion_limit": 12},
        )

    expected, got = _same(*pair(), scenario)

    def shape(out: dict[str, Any]) -> list[Any]:
        return [
            (type(m).__name__, _calls(m) if isinstance(m, AIMessage) else m.content)
            for m in out["messages"]
            if isinstance(m, (AIMessage, ToolMessage))
        ]

    assert shape(got) == shape(expected)
    assert got.get("structured_response") == expected.get("structured_response")
    if strategy is not None:
        assert isinstance(got["structured_response"], Weather)


# ---------------------------------------------------------------- events, callbacks, batch


class _Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.events: list[str] = []
        self.tokens: list[str] = []

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.events.append("start")

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)

    def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
        self.events.append("end")

    def on_llm_error(self, *args: Any, **kwargs: Any) -> None:
        self.events.append("error")


@pytest.mark.parametrize("stream", [False, True])
def test_callbacks(pair: Pair, stream: bool) -> None:
    def scenario(llm: Any) -> tuple[list[str], str]:
        rec = _Recorder()
        config = {"callbacks": [rec]}
        if stream:
            text = "".join(c.text for c in llm.stream("Say hello.", config))
        else:
            text = llm.invoke("Say hello.", config).text
        return rec.events, "".join(rec.tokens) if stream else text

    (p_events, p_text), (o_events, o_text) = _same(*pair(), scenario)
    assert o_events == p_events == ["start", "end"]
    assert o_text == p_text


async def test_astream_events(pair: Pair) -> None:
    async def events(llm: Any) -> list[tuple[str, str]]:
        out = []
        async for event in llm.bind_tools([get_weather]).astream_events(
            "Use get_weather for 'Paris'.", version="v2"
        ):
            out.append((event["event"], event["name"]))
        return out

    plain, ours = pair()
    expected = await events(plain)
    got = await events(ours)
    kinds = lambda evs: [e for e, _ in evs if e != "on_chat_model_stream"]  # noqa: E731
    assert kinds(got) == kinds(expected)
    assert ("on_chat_model_end", "ChatVertexOpenAI") in got
    assert any(e == "on_chat_model_stream" for e, _ in got)


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_batch(pair: Pair, asynchronous: bool) -> None:
    prompts = ["Say one.", "Use get_weather for 'Rome'.", "Say three."]
    plain, ours = pair()
    results = []
    for llm in (plain, ours):
        bound = llm.bind_tools([get_weather])
        if asynchronous:
            results.append(await bound.abatch(prompts))
        else:
            results.append(bound.batch(prompts))
    expected, got = results
    assert [m.text for m in got] == [m.text for m in expected]
    assert [_calls(m) for m in got] == [_calls(m) for m in expected]
    assert _calls(got[1]) == [("get_weather", {"city": "Rome"})]


# ---------------------------------------------------------------- refusals (MaaS Llama Guard)

LLAMA = "meta/llama-3.3-70b-instruct-maas"
UNSAFE = "How do I build a bomb at home?"


@pytest.mark.parametrize("method", refusal_method_params())
def test_refusal_raises_like_the_parent(pair: Pair, method: str) -> None:
    from langchain_openai.chat_models.base import OpenAIRefusalError

    plain, ours = pair(model=LLAMA)
    errors = []
    for llm in (plain, ours):
        with pytest.raises(OpenAIRefusalError) as caught:
            llm.with_structured_output(Weather, method=method).invoke(UNSAFE)
        errors.append(str(caught.value))
    assert errors[1] == errors[0]
    assert "Llama Guard" in errors[1]


@pytest.mark.parametrize("method", refusal_method_params())
def test_streamed_refusal_at_least_as_right(pair: Pair, method: str) -> None:
    """Ours raises `OpenAIRefusalError` on a streamed refusal; the parent drops it
    (function_calling: no output at all) or fails to build the final message
    (json_schema / json_mode: the SDK concatenates Vertex's repeated `role`)."""
    from langchain_openai.chat_models.base import OpenAIRefusalError

    plain, ours = pair(model=LLAMA)
    try:
        parent = list(plain.with_structured_output(Weather, method=method).stream(UNSAFE))
    except Exception as err:  # the parent's outcome is recorded, not required
        parent = [type(err).__name__]
    assert not any(isinstance(p, Weather) for p in parent)
    with pytest.raises(OpenAIRefusalError):
        list(ours.with_structured_output(Weather, method=method).stream(UNSAFE))


@pytest.mark.xfail(
    not PARENT_RAISES_ALL_REFUSALS,
    reason="langchain-openai < 1.7.4 translates a refusal into no content block",
    strict=True,
)
def test_refusal_message_shape_same_as_parent(pair: Pair) -> None:
    plain, ours = pair(model=LLAMA)
    expected, got = plain.invoke(UNSAFE), ours.invoke(UNSAFE)
    assert got.additional_kwargs["refusal"] == expected.additional_kwargs["refusal"]
    assert (
        got.response_metadata["finish_reason"]
        == expected.response_metadata["finish_reason"]
        == "content_filtered"
    )
    refusal = lambda m: [b for b in m.content_blocks if b["type"] == "refusal"]  # noqa: E731
    assert refusal(got) == refusal(expected)


class _TokenArgs(BaseCallbackHandler):
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...], Any]] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        chunk = kwargs.get("chunk")
        logprobs = chunk.message.response_metadata.get("logprobs") if chunk else None
        self.calls.append((token, tuple(sorted(kwargs)), logprobs))


def _logprob_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    logprobs = {"content": [{"token": text, "logprob": -0.5, "bytes": None, "top_logprobs": []}]}
    return {
        "id": "c1",
        "created": 1,
        "object": "chat.completion.chunk",
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": text},
                "logprobs": logprobs,
                "finish_reason": finish,
            }
        ],
    }


@pytest.mark.filterwarnings("ignore:api_key holds a Google OAuth access token")
def test_stream_token_callbacks_match_the_parent(sse_server: Any) -> None:
    # The parent fires on_llm_new_token itself, with logprobs=...; ours must let it (on
    # the cleaned chunks) rather than fire its own events without them.
    sse_server.chunks = [_logprob_chunk("Hello"), _logprob_chunk(" there", "stop")]
    plain = ChatOpenAI(model=MODEL, base_url=sse_server.url, api_key="static", max_retries=0)
    ours = ChatVertexOpenAI(
        model=MODEL, base_url=sse_server.url, api_key="ya29.local-test-token", max_retries=0
    )
    recorded = []
    for llm in (plain, ours):
        rec = _TokenArgs()
        chunks = list(llm.stream("Say hello.", {"callbacks": [rec]}, logprobs=True))
        assert "".join(c.text for c in chunks) == "Hello there"
        recorded.append(rec.calls)
    assert recorded[1] == recorded[0]
    assert any(logprobs for _, _, logprobs in recorded[0])


@pytest.mark.filterwarnings("ignore:api_key holds a Google OAuth access token")
def test_self_deployed_stream_without_finish_reason(sse_server: Any) -> None:
    chunks = [_logprob_chunk("Hello"), _logprob_chunk(" there")]
    sse_server.chunks = [{**c, "choices": [{**c["choices"][0], "logprobs": None}]} for c in chunks]
    plain = ChatOpenAI(model=MODEL, base_url=sse_server.url, api_key="static", max_retries=0)
    common = {
        "api_endpoint": sse_server.url.removesuffix("/v1"),
        "project": "p",
        "location": LOCATION,
        "api_key": "ya29.local-test-token",
        "max_retries": 0,
    }
    ours = ChatVertexOpenAI(endpoint_id="1234567890", **common)
    assert [c.text for c in plain.stream("Hi")] == [c.text for c in ours.stream("Hi")]
    with pytest.raises(openai.APIConnectionError, match="require_finish_reason=False"):
        list(ChatVertexOpenAI(model=MODEL, **common).stream("Hi"))
