"""Faults through both framework classes: retries, broken streams, stalls, token outages.

Every case runs against the emulator over real HTTP; each one is bounded by a small
client timeout and asserts that (a) an exception of the right class is raised within
that timeout, (b) no partial message is handed back as if complete, and (c) the next
request on the same model object works.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import pathlib
import time
from collections.abc import Callable
from typing import Any

import openai
import pytest
from rel_support import (
    ANSWER,
    PROMPT,
    chat_requests,
    lc_astream_text,
    lc_model,
    lc_stream_text,
    li_astream_text,
    li_messages,
    li_model,
    li_stream_text,
)

from vertex_openai import VertexAuthError
from vertex_openai.emulator import Emulator

FRAMEWORKS = ["langchain", "llama_index"]
MODES = ["invoke", "ainvoke", "stream", "astream"]
TIMEOUT = 0.5
STALL = 2.0


async def acall(model: Any, framework: str, mode: str) -> tuple[str, Any]:
    """One request through `model` in the running event loop; returns (text, finish_reason)."""
    if framework == "langchain":
        if mode == "ainvoke":
            msg = await model.ainvoke(PROMPT)
            return msg.text, msg.response_metadata.get("finish_reason")
        return await lc_astream_text(model)
    if mode == "ainvoke":
        resp = await model.achat(li_messages())
        return resp.message.content, resp.raw.choices[0].finish_reason
    return await li_astream_text(model)


def call(model: Any, framework: str, mode: str) -> tuple[str, Any]:
    """One request through `model`; returns (text, finish_reason)."""
    if mode.startswith("a"):
        return asyncio.run(acall(model, framework, mode))
    if framework == "langchain":
        if mode == "invoke":
            msg = model.invoke(PROMPT)
            return msg.text, msg.response_metadata.get("finish_reason")
        return lc_stream_text(model)
    if mode == "invoke":
        resp = model.chat(li_messages())
        return resp.message.content, resp.raw.choices[0].finish_reason
    return li_stream_text(model)


def call_twice(
    model: Any, framework: str, mode: str, expected: tuple[type[BaseException], ...]
) -> tuple[Any, BaseException | None, float, tuple[str, Any]]:
    """A call that may fail, then a second call on the same object (same event loop)."""

    async def both() -> tuple[Any, BaseException | None, float, tuple[str, Any]]:
        started = time.monotonic()
        first: Any = None
        error: BaseException | None = None
        try:
            first = await acall(model, framework, mode)
        except expected as err:
            error = err
        elapsed = time.monotonic() - started
        return first, error, elapsed, await acall(model, framework, mode)

    if mode.startswith("a"):
        return asyncio.run(both())
    started = time.monotonic()
    first: Any = None
    error: BaseException | None = None
    try:
        first = call(model, framework, mode)
    except expected as err:
        error = err
    elapsed = time.monotonic() - started
    return first, error, elapsed, call(model, framework, mode)


@pytest.fixture
def make(make_lc: Callable[..., Any], make_li: Callable[..., Any]) -> Callable[..., Any]:
    def build(framework: str, **kw: Any) -> Any:
        return make_lc(**kw) if framework == "langchain" else make_li(**kw)

    return build


# --------------------------------------------------------------------------- retries

RETRYABLE = {
    "rate_limit": (openai.RateLimitError, 429, ("Resource exhausted", "quota", "global")),
    "unavailable": (openai.InternalServerError, 503, ("unavailable", "retry", "region")),
}


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("kind", sorted(RETRYABLE))
def test_burst_is_retried_up_to_max_retries(
    make: Callable[..., Any], emulator: Emulator, framework: str, kind: str
) -> None:
    model = make(framework, max_retries=2, timeout=10)
    emulator.inject_fault(kind, 2)
    text, finish = call(model, framework, "invoke")
    assert text == ANSWER
    assert finish == "stop"
    statuses = [r.status for r in chat_requests(emulator)]
    assert statuses == [RETRYABLE[kind][1]] * 2 + [200]


@pytest.mark.parametrize("mode", ["invoke", "astream"])
@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("kind", sorted(RETRYABLE))
def test_burst_beyond_max_retries_gives_a_readable_error(
    make: Callable[..., Any], emulator: Emulator, framework: str, kind: str, mode: str
) -> None:
    exc_type, status, words = RETRYABLE[kind]
    model = make(framework, max_retries=1, timeout=10)
    emulator.inject_fault(kind, 2)
    result, error, _, after = call_twice(model, framework, mode, (exc_type,))
    assert result is None
    assert isinstance(error, exc_type)
    message = str(error)
    assert f"Vertex AI returned {status}" in message
    for word in words:
        assert word.lower() in message.lower(), message
    # one try + max_retries retries, no more; then the object works once Vertex recovers
    assert [r.status for r in chat_requests(emulator)] == [status] * 2 + [200]
    assert after[0] == ANSWER


# --------------------------------------------------------------------------- broken responses

# Always the openai classes: code that catches openai.APIError must see every failure.
CONNECTION_ERRORS = (openai.APIConnectionError,)
TIMEOUT_ERRORS = (openai.APITimeoutError,)
DECODE_ERRORS = (openai.APIError,)

FAULTS: list[Any] = []
for _fw in FRAMEWORKS:
    for _mode in MODES:
        streaming = "stream" in _mode
        FAULTS.append(
            pytest.param(_fw, _mode, "drop", {}, CONNECTION_ERRORS, id=f"{_fw}-{_mode}-drop")
        )
        FAULTS.append(
            pytest.param(
                _fw, _mode, "truncate", {}, CONNECTION_ERRORS, id=f"{_fw}-{_mode}-truncate"
            )
        )
        FAULTS.append(
            pytest.param(
                _fw, _mode, "malformed_json", {}, DECODE_ERRORS, id=f"{_fw}-{_mode}-malformed_json"
            )
        )
        FAULTS.append(
            pytest.param(
                _fw,
                _mode,
                "stall",
                {"seconds": STALL, "after_chunks": 2} if streaming else {"seconds": STALL},
                TIMEOUT_ERRORS,
                id=f"{_fw}-{_mode}-stall",
            )
        )


@pytest.mark.parametrize(("framework", "mode", "kind", "params", "expected"), FAULTS)
def test_broken_response_raises_promptly_and_the_object_recovers(
    make: Callable[..., Any],
    emulator: Emulator,
    framework: str,
    mode: str,
    kind: str,
    params: dict[str, Any],
    expected: tuple[type[BaseException], ...],
) -> None:
    model = make(framework, max_retries=0, timeout=TIMEOUT)
    emulator.inject_fault(kind, 1, **params)
    result, error, elapsed, after = call_twice(model, framework, mode, expected)
    assert result is None, f"{kind}: a broken response was returned as complete: {result!r}"
    assert error is not None
    assert elapsed < TIMEOUT + 1.5, f"{kind} took {elapsed:.1f}s (timeout {TIMEOUT}s)"
    assert [r.fault for r in chat_requests(emulator)] == [kind, None]
    # the same object works for the next request
    assert after == (ANSWER, "stop")


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize(
    ("kind", "params", "mode"),
    [
        ("drop", {}, "stream"),
        ("malformed_json", {}, "stream"),
        ("malformed_json", {}, "invoke"),
    ],
)
def test_stream_failures_are_openai_errors(
    make: Callable[..., Any],
    emulator: Emulator,
    framework: str,
    kind: str,
    params: dict[str, Any],
    mode: str,
) -> None:
    model = make(framework, max_retries=0, timeout=TIMEOUT)
    emulator.inject_fault(kind, 1, **params)
    with pytest.raises(openai.APIError):
        call(model, framework, mode)


# --------------------------------------------------------------------------- token endpoint outage


def _outage_attempts(emu: Emulator, planted: int) -> int:
    return planted - int(emu.stats()["token_outage_remaining"])


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_token_endpoint_outage(
    make: Callable[..., Any], emulator: Emulator, sa_file: pathlib.Path, framework: str
) -> None:
    model = make(framework, timeout=5)
    planted = 1000
    emulator.inject_fault("token_outage", planted)

    # one request: a clear error naming the credentials, a bounded number of token calls
    with pytest.raises(VertexAuthError) as info:
        call(model, framework, "invoke")
    message = str(info.value)
    assert str(sa_file) in message
    assert "token" in message.lower()
    single = _outage_attempts(emulator, planted)
    assert 1 <= single <= 5, single
    print(f"token outage: {single} token request(s) for one call")
    if framework == "llama_index":  # the storm is the shared TokenProvider's; once is enough
        emulator.reset()
        assert call(model, framework, "invoke")[0] == ANSWER
        return

    # sixteen concurrent requests during the outage: no refresh storm
    def one(_: int) -> BaseException | None:
        try:
            call(model, framework, "invoke")
        except BaseException as err:
            return err
        return None

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        errors = list(pool.map(one, range(16)))
    assert all(isinstance(e, VertexAuthError) for e in errors), errors
    storm = _outage_attempts(emulator, planted) - single
    assert storm <= 2 * single, f"{storm} token requests for 16 concurrent calls"
    print(f"token outage: {storm} token request(s) for 16 concurrent calls")
    assert chat_requests(emulator) == []  # nothing was sent without a token

    # the token endpoint comes back: the same object recovers
    emulator.reset()
    assert call(model, framework, "invoke")[0] == ANSWER
    assert emulator.token_refresh_count == 1


# -- issue 13 item 9: a 200 that is not a chat completion is the SDK's invalid-response error


_NOT_COMPLETIONS = {
    "html": ("text/html; charset=utf-8", b"<html><title>Proxy login</title><body>Sign in"),
    "no_choices": ("application/json", b'{"foo": 1}'),
    "null_choices": ("application/json", b'{"id": "x", "choices": null}'),
}


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
@pytest.mark.parametrize("kind", sorted(_NOT_COMPLETIONS))
@pytest.mark.parametrize("call", ["invoke", "ainvoke", "stream"])
def test_200_that_is_not_a_completion_is_an_api_error(
    emulator: Emulator, sa_file: pathlib.Path, framework: str, kind: str, call: str
) -> None:
    from fault_servers import LocalServer

    content_type, body = _NOT_COMPLETIONS[kind]
    with LocalServer(lambda req: (200, {"content-type": content_type}, body)) as portal:
        make = lc_model if framework == "langchain" else li_model
        model = make(emulator, sa_file, api_endpoint=portal.url, max_retries=2)
        calls: dict[tuple[str, str], Callable[[], Any]] = {
            ("langchain", "invoke"): lambda: model.invoke(PROMPT),
            ("langchain", "ainvoke"): lambda: asyncio.run(model.ainvoke(PROMPT)),
            ("llama_index", "invoke"): lambda: model.chat(li_messages()),
            ("llama_index", "ainvoke"): lambda: asyncio.run(model.achat(li_messages())),
            ("langchain", "stream"): lambda: list(model.stream(PROMPT)),
            ("llama_index", "stream"): lambda: list(model.stream_chat(li_messages())),
        }
        with pytest.raises(openai.APIResponseValidationError) as info:
            calls[framework, call]()
        assert len(portal.requests) == 1  # an invalid answer is not retried
    text = str(info.value)
    assert "answered 200" in text
    assert body.decode()[:20] in text  # the first bytes, to recognise who answered
