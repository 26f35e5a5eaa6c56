"""The HTTP clients both classes build: a user's own client, event loops, proxies, sockets.

Over real HTTP to the emulator and small local servers (fault_servers.py); the openai SDK
and httpx are not patched.
"""

from __future__ import annotations

import asyncio
import gc
import os
import pathlib
import socket
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fault_servers import LocalServer, http_proxy
from rel_support import ANSWER, PROMPT, chat_requests, lc_model, li_messages, li_model, sdk_http

from vertex_openai.emulator import Emulator, EmulatorProcess

FRAMEWORKS = ["langchain", "llama_index"]


def _model(framework: str, emu: Emulator, sa: pathlib.Path | None, **kw: Any) -> Any:
    return (lc_model if framework == "langchain" else li_model)(emu, sa, **kw)


def _ask(framework: str, model: Any, text: str = PROMPT) -> str:
    if framework == "langchain":
        return str(model.invoke(text).text)
    return str(model.chat(li_messages(text)).message.content)


async def _aask(framework: str, model: Any, text: str = PROMPT) -> str:
    if framework == "langchain":
        return str((await model.ainvoke(text)).text)
    return str((await model.achat(li_messages(text))).message.content)


def _client_kwargs(framework: str, sync: Any = None, async_: Any = None) -> dict[str, Any]:
    if framework == "langchain":
        return {"http_client": sync, "http_async_client": async_}
    return {"http_client": sync, "async_http_client": async_}


# -- item 1: a shared user client is never mutated; credentials never cross tenants -----


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_shared_http_client_signs_per_model(
    emulator: Emulator,
    sa_file: pathlib.Path,
    second_emulator: tuple[Emulator, pathlib.Path],
    framework: str,
) -> None:
    emu_b, sa_b = second_emulator
    seen: list[str] = []
    http = sdk_http()
    shared = http.Client(event_hooks={"request": [lambda r: seen.append(str(r.url.host))]})
    shared_async = http.AsyncClient()
    kwargs = _client_kwargs(framework, shared, shared_async)
    model_a = _model(framework, emulator, sa_file, **kwargs)
    model_b = _model(framework, emu_b, sa_b, **kwargs)  # built last: it used to sign all

    other = LocalServer(lambda req: (200, {"content-type": "text/plain"}, b"ok"))
    with other:
        assert _ask(framework, model_a) == ANSWER
        assert _ask(framework, model_b) == ANSWER

        async def both() -> list[str]:  # one loop: the user's own pool belongs to it
            answers = [await _aask(framework, model_a), await _aask(framework, model_b)]
            # the app's unrelated traffic through its client carries no Google credential
            answers.append((await shared_async.get(f"{other.url}/unrelated-async")).text)
            await shared_async.aclose()
            return answers

        assert asyncio.run(both()) == [ANSWER, ANSWER, "ok"]
        assert shared.get(f"{other.url}/unrelated").text == "ok"
        assert len(other.requests) == 2
        assert all("authorization" not in r.headers for r in other.requests)
        assert all("x-goog-api-key" not in r.headers for r in other.requests)

    for emu in (emulator, emu_b):
        statuses = [r.status for r in chat_requests(emu)]
        assert statuses == [200, 200]  # each tenant's token reached only its endpoint
        assert emu.token_grants["jwt-bearer"] == 1
    assert shared.auth is None
    assert shared_async.auth is None
    assert len(seen) == 3  # the user's own event hooks ran (2 chat calls + its own GET)
    shared.close()


def test_user_client_settings_apply(emulator: Emulator, sa_file: pathlib.Path) -> None:
    # Its default headers reach Vertex (as the openai SDK would send them) and closing
    # the model's clients leaves the user's client usable.
    shared = sdk_http().Client(headers={"x-app-tag": "billing-42"})
    model = lc_model(emulator, sa_file, http_client=shared)
    assert model.invoke(PROMPT).text == ANSWER
    assert chat_requests(emulator)[0].headers.get("x-app-tag") == "billing-42"
    model.root_client.close()
    assert not shared.is_closed


def test_openai_proxy_with_http_client_raises_the_parents_error(sa_file: pathlib.Path) -> None:
    from langchain_vertex_openai import ChatVertexOpenAI

    with pytest.raises(ValueError, match="Cannot specify 'openai_proxy'"):
        ChatVertexOpenAI(
            project="p",
            credentials=str(sa_file),
            openai_proxy="http://127.0.0.1:9",
            http_client=sdk_http().Client(),
        )


# -- item 2: asyncio.run() cycles leak neither sockets nor memory -----------------------


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.fixture(scope="module")
def process_emulator() -> Iterator[EmulatorProcess]:
    # In its own process: the fds and memory measured are the client's alone.
    with EmulatorProcess() as emu:
        yield emu


@pytest.mark.slow  # a soak: hundreds of asyncio.run cycles
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self")
@pytest.mark.parametrize(("framework", "cycles"), [("langchain", 500), ("llama_index", 200)])
def test_asyncio_run_cycles_keep_fds_and_memory_flat(
    process_emulator: EmulatorProcess, framework: str, cycles: int
) -> None:
    emu = process_emulator
    model = _model(framework, emu, emu.credentials_path)  # type: ignore[arg-type]
    for _ in range(20):  # warm-up: imports, the token, caches
        assert asyncio.run(_aask(framework, model)) == ANSWER
    gc.collect()
    fds_before, rss_before = _fds(), _rss_mb()
    for _ in range(cycles):
        assert asyncio.run(_aask(framework, model)) == ANSWER
    gc.collect()
    fds_after, rss_after = _fds(), _rss_mb()
    print(
        f"\n{framework}: {cycles} x asyncio.run: fds {fds_before} -> {fds_after}, "
        f"RSS {rss_before:.0f} -> {rss_after:.0f} MB"
    )
    # One pooled connection per loop used to stay open with its loop (+1 fd, ~0.8 MB
    # per cycle). Bounded: a few fds of slack, far less than one per cycle.
    assert fds_after <= fds_before + 3
    assert rss_after - rss_before < 0.1 * cycles


# -- item 3: proxy environment variables, sync and async, as the openai SDK does ------


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    with http_proxy() as server:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        yield server


def _proxied_chat(server: LocalServer) -> list[Any]:
    return [r for r in server.requests if r.path.endswith("/chat/completions")]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_proxy_environment_is_honoured_sync_and_async(
    emulator: Emulator,
    sa_file: pathlib.Path,
    proxy: LocalServer,
    monkeypatch: pytest.MonkeyPatch,
    framework: str,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    model = _model(framework, emulator, sa_file)
    assert _ask(framework, model) == ANSWER
    assert asyncio.run(_aask(framework, model)) == ANSWER
    assert len(_proxied_chat(proxy)) == 2  # both went through the proxy
    assert all(r.path.startswith(emulator.url) for r in _proxied_chat(proxy))
    assert len(chat_requests(emulator)) == 2


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_no_proxy_is_honoured(
    emulator: Emulator,
    sa_file: pathlib.Path,
    proxy: LocalServer,
    monkeypatch: pytest.MonkeyPatch,
    framework: str,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    model = _model(framework, emulator, sa_file)
    assert _ask(framework, model) == ANSWER
    assert asyncio.run(_aask(framework, model)) == ANSWER
    assert _proxied_chat(proxy) == []
    assert len(chat_requests(emulator)) == 2


def test_explicit_openai_proxy_wins_over_the_environment(
    emulator: Emulator, sa_file: pathlib.Path, proxy: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_proxy() as env_proxy:
        # The environment's proxy still carries the token refresh (as google-auth's own
        # transport would); the chat requests take the explicit one.
        monkeypatch.setenv("HTTP_PROXY", env_proxy.url)
        model = lc_model(emulator, sa_file, openai_proxy=proxy.url)
        assert model.invoke(PROMPT).text == ANSWER
        assert asyncio.run(model.ainvoke(PROMPT)).text == ANSWER
    assert len(_proxied_chat(proxy)) == 2
    assert _proxied_chat(env_proxy) == []


# -- issue 12 item 10: the parent's socket options ------------------------------------

_TCP_USER_TIMEOUT = 18  # Linux UAPI value (socket.TCP_USER_TIMEOUT is 3.12+)


def _sync_socket(model: Any) -> socket.socket:
    raw = model.root_client.chat.completions.with_raw_response.create(
        model="google/gemini-2.5-flash", messages=[{"role": "user", "content": PROMPT}]
    )
    sock = raw.http_response.extensions["network_stream"].get_extra_info("socket")
    assert sock is not None
    return sock


async def _async_socket(model: Any) -> tuple[int, int]:
    raw = await model.root_async_client.chat.completions.with_raw_response.create(
        model="google/gemini-2.5-flash", messages=[{"role": "user", "content": PROMPT}]
    )
    sock = raw.http_response.extensions["network_stream"].get_extra_info("socket")
    return (
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
        sock.getsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT),
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux socket options")
def test_default_socket_options_match_the_parent(emulator: Emulator, sa_file: pathlib.Path) -> None:
    from langchain_openai import ChatOpenAI

    ours = lc_model(emulator, sa_file)
    parent = ChatOpenAI(
        model="google/gemini-2.5-flash",
        base_url=str(ours.root_client.base_url),
        api_key=httpx.post(f"{emulator.url}/_emulator/token", json={}).json()["access_token"],
    )
    for model in (parent, ours):
        sock = _sync_socket(model)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT) == 120_000
        assert asyncio.run(_async_socket(model)) == (1, 120_000)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux socket options")
def test_http_socket_options_are_honoured(emulator: Emulator, sa_file: pathlib.Path) -> None:
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1), (socket.IPPROTO_TCP, 4, 33)]
    model = lc_model(emulator, sa_file, http_socket_options=options)
    sock = _sync_socket(model)
    assert sock.getsockopt(socket.IPPROTO_TCP, 4) == 33  # TCP_KEEPIDLE
    assert sock.getsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT) == 0  # not the default
    off = lc_model(emulator, sa_file, http_socket_options=())
    assert _sync_socket(off).getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
