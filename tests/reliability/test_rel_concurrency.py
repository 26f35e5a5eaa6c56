"""Concurrency through both framework classes: 401 storms, event loops and thread pools."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any

import pytest
from rel_support import ANSWER, PROMPT, chat_requests, li_messages

from vertex_openai.emulator import Emulator

STORM = 100


async def _lc_once(model: Any, i: int) -> str:
    return (await model.ainvoke(f"{PROMPT} {i}")).text


async def _li_once(model: Any, i: int) -> str:
    return (await model.achat(li_messages(f"{PROMPT} {i}"))).message.content


def _answer(i: int) -> str:
    return f"{ANSWER} {i}"


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
def test_401_storm_costs_exactly_one_refresh(
    make_lc: Callable[..., Any], make_li: Callable[..., Any], emulator: Emulator, framework: str
) -> None:
    model = make_lc() if framework == "langchain" else make_li()
    once = _lc_once if framework == "langchain" else _li_once

    async def storm() -> list[Any]:
        assert await once(model, -1) == _answer(-1)  # warm: one token
        assert emulator.token_refresh_count == 1
        emulator.revoke_all_tokens()
        return await asyncio.wait_for(
            asyncio.gather(*(once(model, i) for i in range(STORM)), return_exceptions=True), 60
        )

    results = asyncio.run(storm())
    assert results == [_answer(i) for i in range(STORM)]
    assert emulator.token_refresh_count == 2  # the warm-up grant + exactly one refresh
    statuses = [r.status for r in chat_requests(emulator)[1:]]
    # Each request signed before the refresh got one 401 and one resend; how many were
    # signed only after it depends on the machine's speed, not on behaviour.
    assert statuses.count(200) == STORM
    assert 1 <= statuses.count(401) <= STORM
    assert len(statuses) == STORM + statuses.count(401)


def test_401_storm_threads_langchain(make_lc: Callable[..., Any], emulator: Emulator) -> None:
    model = make_lc()
    assert model.invoke(PROMPT).text == ANSWER
    emulator.revoke_all_tokens()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: model.invoke(f"{PROMPT} {i}").text, range(STORM)))
    assert results == [_answer(i) for i in range(STORM)]
    assert emulator.token_refresh_count == 2


def _shared_object_everywhere(
    model: Any, sync_once: Callable[[int], str], async_once: Callable[[Any, int], Any]
) -> None:
    # two different event loops, one after the other
    assert asyncio.run(async_once(model, 1)) == _answer(1)
    assert asyncio.run(async_once(model, 2)) == _answer(2)

    # a thread pool mixing plain calls and threads that each run their own event loop
    def job(i: int) -> str:
        if i % 2:
            return asyncio.run(async_once(model, i))
        return sync_once(i)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(job, range(3, 19)))
    assert results == [_answer(i) for i in range(3, 19)]
    # and the first kind of use still works afterwards
    assert asyncio.run(async_once(model, 99)) == _answer(99)
    assert sync_once(100) == _answer(100)


LOOP_BUG = (
    "the async openai client (and its httpx connection pool) is built once and reused by "
    "every event loop: after the first asyncio.run() closes its loop, the pooled keep-alive "
    "connection belongs to a dead loop and the next asyncio.run() fails with "
    "APIConnectionError('Connection error.') caused by RuntimeError('Event loop is closed')"
)


def test_two_event_loops_and_a_thread_pool_langchain(
    make_lc: Callable[..., Any], emulator: Emulator
) -> None:
    model = make_lc()
    _shared_object_everywhere(model, lambda i: model.invoke(f"{PROMPT} {i}").text, _lc_once)
    assert emulator.token_refresh_count == 1


def test_two_event_loops_and_a_thread_pool_llama_index(
    make_li: Callable[..., Any], emulator: Emulator
) -> None:
    model = make_li()
    _shared_object_everywhere(
        model, lambda i: model.chat(li_messages(f"{PROMPT} {i}")).message.content, _li_once
    )
    assert emulator.token_refresh_count == 1


async def _lc_stream_once(model: Any, i: int) -> str:
    text = ""
    async for chunk in model.astream(f"{PROMPT} {i}"):
        text += chunk.text
    return text


async def _li_stream_once(model: Any, i: int) -> str:
    last = None
    async for resp in await model.astream_chat(li_messages(f"{PROMPT} {i}")):
        last = resp
    assert last is not None
    return last.message.content


def test_two_event_loops_streaming(
    make_lc: Callable[..., Any], make_li: Callable[..., Any], emulator: Emulator
) -> None:
    pytest.importorskip("llama_index.core")
    lc, li = make_lc(), make_li()
    for i in range(3):
        assert asyncio.run(_lc_stream_once(lc, i)) == _answer(i)
        assert asyncio.run(_li_stream_once(li, i)) == _answer(i)
