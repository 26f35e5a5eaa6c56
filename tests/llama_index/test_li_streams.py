"""Streams the emulator does not make, served by a local SSE server: ours against OpenAILike.

* A gateway in front of Gemini whose chunks carry no `id` / `created` (Google's Gemini API
  compat layer answered without a top-level id for a time:
  https://github.com/softwaremill/sttp-ai/issues/338).
* A self-deployed server (vLLM and the like) that ends a stream with `[DONE]` and no
  `finish_reason`.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from llama_index.core.llms import ChatMessage
from llama_index.llms.openai_like import OpenAILike

from llama_index_vertex_openai import ChatVertexOpenAI

pytestmark = pytest.mark.filterwarnings("ignore:api_key holds a Google OAuth access token")

TOKEN = "ya29.local-test-token"


def chunk(delta: dict[str, Any], finish: str | None = None, **top: Any) -> dict[str, Any]:
    return {
        "object": "chat.completion.chunk",
        "model": "gemini-2.5-flash",
        "choices": [{"index": 0, "delta": {"role": "assistant", **delta}, "finish_reason": finish}],
        **top,
    }


TOOL_STREAM = [
    chunk({"content": "Let me check. "}),
    chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})},
                },
                {
                    "index": 1,
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": json.dumps({"city": "Rome"})},
                },
            ]
        },
        "tool_calls",
    ),
]


def parent(url: str) -> OpenAILike:
    return OpenAILike(
        model="gemini-2.5-flash",
        api_base=url,
        api_key="static",
        is_chat_model=True,
        is_function_calling_model=True,
        max_retries=0,
    )


async def collect(llm: Any, text: str, async_: bool) -> list[Any]:
    messages = [ChatMessage(role="user", content=text)]
    if async_:
        return [r async for r in await llm.astream_chat(messages)]
    return list(llm.stream_chat(messages))


def calls_of(llm: Any, responses: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    last = responses[-1]
    return [
        (c.tool_name, c.tool_kwargs)
        for c in llm.get_tool_calls_from_response(last, error_on_no_tool_call=False)
    ]


@pytest.mark.parametrize("async_", [False, True])
async def test_chunks_without_id_or_created(sse_server: Any, async_: bool) -> None:
    sse_server.chunks = TOOL_STREAM
    ours = ChatVertexOpenAI(
        model="gemini-2.5-flash", base_url=sse_server.url, api_key=TOKEN, max_retries=0
    )
    results = []
    for llm in (parent(sse_server.url), ours):
        responses = await collect(llm, "Weather in Paris and Rome?", async_)
        results.append((responses[-1].message.content, calls_of(llm, responses)))
    (parent_text, parent_calls), (text, calls) = results
    assert text == parent_text
    # The parent reads only delta.tool_calls[0]; ours keeps both parallel calls.
    assert parent_calls == [("get_weather", {"city": "Paris"})]
    assert calls == [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})]


NO_FINISH = [
    chunk({"content": "Hello"}, id="c1", created=1),
    chunk({"content": " there"}, id="c1", created=1),
]


@pytest.mark.parametrize("async_", [False, True])
async def test_self_deployed_stream_without_finish_reason(sse_server: Any, async_: bool) -> None:
    sse_server.chunks = NO_FINISH
    origin = sse_server.url.removesuffix("/v1")
    ours = ChatVertexOpenAI(
        api_endpoint=origin,
        project="p",
        location="us-central1",
        endpoint_id="1234567890",
        api_key=TOKEN,
        max_retries=0,
    )
    texts = []
    for llm in (parent(sse_server.url), ours):
        texts.append((await collect(llm, "Hi", async_))[-1].message.content)
    assert texts == ["Hello there", "Hello there"]


def test_google_managed_stream_without_finish_reason_still_raises(sse_server: Any) -> None:
    sse_server.chunks = NO_FINISH
    origin = sse_server.url.removesuffix("/v1")
    common = {
        "api_endpoint": origin,
        "project": "p",
        "location": "us-central1",
        "api_key": TOKEN,
        "max_retries": 0,
    }
    with pytest.raises(openai.APIConnectionError, match="require_finish_reason=False"):
        list(
            ChatVertexOpenAI(model="gemini-2.5-flash", **common).stream_chat(
                [ChatMessage(role="user", content="Hi")]
            )
        )
    llm = ChatVertexOpenAI(model="gemini-2.5-flash", require_finish_reason=False, **common)
    responses = list(llm.stream_chat([ChatMessage(role="user", content="Hi")]))
    assert responses[-1].message.content == "Hello there"
