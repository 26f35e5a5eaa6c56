"""Short-lived tokens (2 s) through both framework classes: expiry in the middle of a stream."""

from __future__ import annotations

import asyncio
import json
import pathlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fault_servers import LocalServer, forwarder
from rel_support import (
    ANSWER,
    PROMPT,
    chat_requests,
    lc_model,
    lc_stream_text,
    li_astream_text,
    li_model,
)

from vertex_openai.emulator import Emulator, EmulatorConfig

LIFETIME = 2.0
STALL = LIFETIME + 0.5  # the pause in the middle of the stream outlives the token


@pytest.fixture(scope="module")
def short_lived() -> Iterator[Emulator]:
    emu = Emulator(EmulatorConfig(token_lifetime=LIFETIME, chunk_size_max=4))
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def emu(short_lived: Emulator, tmp_path: pathlib.Path) -> Emulator:
    short_lived.reset()
    short_lived.restore_config()
    return short_lived


STREAMERS: dict[str, tuple[Callable[..., Any], Callable[[Any], Any]]] = {
    # sync for one class, async for the other: both paths of VertexAuth are exercised
    "langchain-stream": (lc_model, lc_stream_text),
    "llama_index-astream": (li_model, lambda m: asyncio.run(li_astream_text(m))),
}


@pytest.mark.parametrize("case", sorted(STREAMERS))
def test_token_expiring_mid_stream(emu: Emulator, tmp_path: pathlib.Path, case: str) -> None:
    build, stream = STREAMERS[case]
    model = build(emu, emu.write_service_account_file(tmp_path / "sa.json"), timeout=10)
    # many small chunks with a pause after the second one that outlives the token
    emu.inject_fault("stall", 1, seconds=STALL, after_chunks=2)
    text, finish = stream(model)
    assert (text, finish) == (ANSWER, "stop")
    first = chat_requests(emu)[0]
    assert first.status == 200
    assert first.token_remaining_s is not None
    assert 0 < first.token_remaining_s <= LIFETIME
    assert first.token_remaining_s < STALL  # so the token did expire during the stream

    # the next request carries a fresh token, without a 401 round trip
    text, finish = stream(model)
    assert (text, finish) == (ANSWER, "stop")
    second = chat_requests(emu)[1]
    assert second.status == 200
    assert second.token_id != first.token_id
    assert second.token_remaining_s is not None
    assert second.token_remaining_s > 0
    assert [r.status for r in chat_requests(emu)] == [200, 200]
    assert emu.token_refresh_count == 2


# -- issue 13 item 8: a resend that is itself held in flight past its token's life -----


@pytest.fixture(scope="module")
def one_second_tokens() -> Iterator[Emulator]:
    emu = Emulator(EmulatorConfig(token_lifetime=1.0))
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_resend_held_in_flight_again_gets_a_second_round(
    one_second_tokens: Emulator, tmp_path: pathlib.Path, mode: str
) -> None:
    emu = one_second_tokens
    emu.reset()
    sa = emu.write_service_account_file(tmp_path / "sa.json")
    # The first attempt and the first resend each wait 1.5 s in a forwarder, longer than
    # a whole 1 s token life: both arrive expired. The second resend must carry a token
    # issued after the first resend was sent, and succeeds.
    with forwarder(emu.url, delay_first=[1.5, 1.5]) as fwd:
        model = lc_model(emu, sa, api_endpoint=fwd.url, timeout=30)
        if mode == "sync":
            text = model.invoke(PROMPT).text
        else:
            text = asyncio.run(model.ainvoke(PROMPT)).text
    assert text == ANSWER
    requests = chat_requests(emu)
    assert [r.status for r in requests] == [401, 401, 200]
    assert len({r.token_id for r in requests}) == 3  # a new token for every resend
    assert emu.token_grants["jwt-bearer"] == 3


@pytest.fixture(scope="module")
def just_over_threshold_tokens() -> Iterator[Emulator]:
    from google.auth import _helpers

    # google-auth holds such a token valid for 2 s only (it turns stale 3m45s before expiry)
    life = _helpers.REFRESH_THRESHOLD.total_seconds() + 2.0
    emu = Emulator(EmulatorConfig(token_lifetime=life))
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


def test_token_not_trusted_past_google_auths_stale_point(
    just_over_threshold_tokens: Emulator, tmp_path: pathlib.Path
) -> None:
    emu = just_over_threshold_tokens
    emu.reset()
    model = lc_model(emu, emu.write_service_account_file(tmp_path / "sa.json"))
    assert model.invoke(PROMPT).text == ANSWER
    time.sleep(2.5)  # past the point where google-auth's `valid` is False
    assert model.invoke(PROMPT).text == ANSWER
    first, second = chat_requests(emu)
    assert first.token_id != second.token_id
    assert emu.token_grants["jwt-bearer"] == 2


@pytest.fixture
def slow_token_emu(tmp_path: pathlib.Path) -> Iterator[tuple[Emulator, pathlib.Path, list[float]]]:
    """4 s tokens from a token endpoint that answers 2.5 s after minting (a loaded machine's
    queue): 1.5 s of real life are left when google-auth parses the answer, which it dates
    as 4 s from then."""
    emu = Emulator(EmulatorConfig(token_lifetime=4.0))
    emu.start()
    answered: list[float] = []
    info = emu.service_account_info()
    real_token_uri = info["token_uri"]

    def slow(req: Any) -> tuple[int, dict[str, str], bytes]:
        minted = httpx.post(
            real_token_uri, content=req.body, headers={"content-type": req.headers["content-type"]}
        )
        time.sleep(2.5)
        answered.append(time.time())
        return minted.status_code, {"content-type": "application/json"}, minted.content

    try:
        with LocalServer(slow) as server:
            info["token_uri"] = f"{server.url}/token"
            sa = tmp_path / "sa-slow-token.json"
            sa.write_text(json.dumps(info))
            yield emu, sa, answered
    finally:
        emu.stop()


def _accepted(emu: Emulator, token: str) -> int:
    url = f"{emu.base_url(location='us-central1')}/chat/completions"
    body = {"model": "google/gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(url, json=body, headers={"authorization": f"Bearer {token}"}).status_code


def test_no_caller_signs_with_a_token_whose_life_went_in_the_token_queue(
    slow_token_emu: tuple[Emulator, pathlib.Path, list[float]],
) -> None:
    # Issue 22 (soak: 401s after both resend rounds, LlamaIndex async mostly). google-auth
    # dates a token's expiry from when it parsed the answer (utcnow() + expires_in), so a
    # token request that queued 2.5 s made a 4 s token look valid 2.5 s longer than it
    # is. While one caller refreshed, the others kept signing with the old token until
    # half-way to that imagined expiry: after it had really expired (a 401 on the first
    # send; on a resend, a token that died in flight).
    import threading

    from vertex_openai._credentials import CredentialsSource
    from vertex_openai._tokens import TokenProvider

    emu, sa, answered = slow_token_emu
    provider = TokenProvider(CredentialsSource(str(sa)), refresh_timeout=20)
    first = provider.token()
    # Vertex refuses `first` from about 1.5 s after its answer (4 s - 2.5 s of queue).
    time.sleep(max(0.0, answered[0] + 1.7 - time.time()))
    refresher = threading.Thread(target=provider.token)  # the refresh: 2.5 s
    refresher.start()
    deadline = time.time() + 5
    while provider._lock.acquire(blocking=False):  # wait until it holds the lock
        provider._lock.release()
        assert time.time() < deadline
        time.sleep(0.005)
    token = provider.token()  # another caller meanwhile
    refresher.join()
    assert token != first, "signed with a token Vertex already refuses"
    assert _accepted(emu, token) == 200
