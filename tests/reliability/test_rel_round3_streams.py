"""Issue 22: malformed stream chunks from a 200 stream (both frameworks, sync and async).

A local server streams what Vertex never sends; chunks without `choices` (an SSE
keep-alive such as `event: ping` arrives as one) are skipped as the parent LangChain class
skips them; anything else malformed is the SDK's `APIResponseValidationError`, never a
raw `TypeError` / `AttributeError` from inside the frameworks.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest
from fault_servers import LocalServer

pytest.importorskip("langchain_openai")
pytest.importorskip("llama_index.core")

GOOD = {
    "id": "x",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "google/gemini-2.5-flash",
    "choices": [
        {"index": 0, "delta": {"role": "assistant", "content": "hi"}, "finish_reason": None}
    ],
}
END = {
    **GOOD,
    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}

SKIPPED: dict[str, list[Any]] = {
    "choices: null": [GOOD, {**GOOD, "choices": None}, END],
    "event: ping": [GOOD, "event: ping\ndata: {}\n\n", END],
    "no choices key": [GOOD, {"id": "x", "object": "chat.completion.chunk"}, END],
}
REFUSED: dict[str, tuple[list[Any], str]] = {
    "choices: [1]": ([GOOD, {**GOOD, "choices": [1]}, END], "choices[0]"),
    "choices: 'x'": ([GOOD, {**GOOD, "choices": "x"}, END], "`choices` of type str"),
    "string usage count": (
        [
            GOOD,
            {**END, "usage": {"prompt_tokens": "many", "completion_tokens": 1, "total_tokens": 2}},
        ],
        "usage.prompt_tokens",
    ),
}


def _sse(items: list[Any]) -> bytes:
    out = "".join(i if isinstance(i, str) else f"data: {json.dumps(i)}\n\n" for i in items)
    return (out + "data: [DONE]\n\n").encode()


def _stream(framework: str, url: str, mode: str) -> str:
    kw: dict[str, Any] = dict(
        model="gemini-2.5-flash",
        project="p",
        location="us-central1",
        api_endpoint=url,
        api_key="AQ.x",
        max_retries=0,
    )
    if framework == "langchain":
        from langchain_vertex_openai import ChatVertexOpenAI

        lc = ChatVertexOpenAI(**kw)
        if mode == "sync":
            return "".join(c.text for c in lc.stream("hi"))

        async def alc() -> str:
            return "".join([c.text async for c in lc.astream("hi")])

        return asyncio.run(alc())
    from llama_index.core.llms import ChatMessage

    from llama_index_vertex_openai import ChatVertexOpenAI as LIChat

    li = LIChat(**kw)
    msgs = [ChatMessage(role="user", content="hi")]
    if mode == "sync":
        return "".join(c.delta or "" for c in li.stream_chat(msgs))

    async def ali() -> str:
        return "".join([c.delta or "" async for c in await li.astream_chat(msgs)])

    return asyncio.run(ali())


def _server(items: list[Any]) -> LocalServer:
    return LocalServer(lambda req: (200, {"content-type": "text/event-stream"}, _sse(items)))


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("case", list(SKIPPED))
def test_chunks_without_choices_are_skipped(framework: str, mode: str, case: str) -> None:
    with _server(SKIPPED[case]) as server:
        assert _stream(framework, server.url, mode) == "hi"


PARENT_DUMP_WARNING = "Pydantic serializer warnings"
"""langchain-openai's `_stream` calls `model_dump()` on each SDK chunk before any hook of
ours sees it: a malformed chunk makes pydantic warn there, for plain ChatOpenAI too."""


def _dumps(caught: Any) -> list[str]:
    return [str(w.message) for w in caught if PARENT_DUMP_WARNING in str(w.message)]


def _plain_stream(url: str, mode: str) -> None:
    """Plain ChatOpenAI over the same stream; only its warnings matter (it may also fail)."""
    from langchain_openai import ChatOpenAI

    plain = ChatOpenAI(model="gemini-2.5-flash", base_url=url, api_key="static", max_retries=0)

    async def run() -> None:
        async for _ in plain.astream("hi"):
            pass

    try:
        if mode == "sync":
            list(plain.stream("hi"))
        else:
            asyncio.run(run())
    except Exception:  # what the parent then raises (if anything) is not compared
        pass


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("case", list(REFUSED))
def test_malformed_chunks_are_a_validation_error(framework: str, mode: str, case: str) -> None:
    items, words = REFUSED[case]
    if framework == "langchain":
        # The parent's warning comes first (see PARENT_DUMP_WARNING), then our error; plain
        # ChatOpenAI prints the same warning for the same stream (whatever it then does).
        with (
            _server(items) as server,
            pytest.warns(UserWarning, match=PARENT_DUMP_WARNING) as plain,
        ):
            _plain_stream(server.url, mode)
        with (
            _server(items) as server,
            pytest.warns(UserWarning, match=PARENT_DUMP_WARNING) as ours,
            pytest.raises(openai.APIResponseValidationError) as info,
        ):
            _stream(framework, server.url, mode)
        assert _dumps(ours) == _dumps(plain)
    else:
        with _server(items) as server, pytest.raises(openai.APIResponseValidationError) as info:
            _stream(framework, server.url, mode)
    assert words in str(info.value)
    assert len(server.requests) == 1
