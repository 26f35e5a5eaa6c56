"""A model object per request, shared token sources and pools, and the connection layer.

Over real HTTP to the emulator (and a counting TCP relay in front of it); the openai SDK,
httpx and google-auth are not patched.
"""

from __future__ import annotations

import asyncio
import gc
import pathlib
import pickle
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fault_servers import token_server
from rel_support import ANSWER, PROMPT, chat_requests, lc_model, li_messages, li_model

from vertex_openai import VertexAuthError
from vertex_openai.emulator import Emulator
from vertex_openai.emulator._state import token_id_of

# openai takes httpx2 clients from 2.54 on; older releases (our floor, 2.45) refuse them
# themselves, as they do for the parent classes.
_OPENAI_TAKES_HTTPX2 = pytest.mark.skipif(
    tuple(int(p) for p in __import__("openai").__version__.split(".")[:2]) < (2, 54),
    reason="openai < 2.54 accepts only httpx clients (the parents too)",
)


FRAMEWORKS = ["langchain", "llama_index"]


class CountingRelay:
    """A TCP relay to `target` that counts the connections clients open through it."""

    def __init__(self, target: str) -> None:
        url = httpx.URL(target)
        self._target = (url.host, url.port)
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.accepted = 0
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            upstream = socket.create_connection(self._target)
            self._sockets += [conn, upstream]
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            sock.close()


@pytest.fixture
def relay(emulator: Emulator) -> Iterator[CountingRelay]:
    r = CountingRelay(emulator.url)
    try:
        yield r
    finally:
        r.close()


def _model(framework: str, emu: Emulator, sa: pathlib.Path | None, **kw: Any) -> Any:
    return (lc_model if framework == "langchain" else li_model)(emu, sa, **kw)


def _ask(framework: str, model: Any) -> str:
    if framework == "langchain":
        return str(model.invoke(PROMPT).text)
    return str(model.chat(li_messages()).message.content)


async def _aask(framework: str, model: Any) -> str:
    if framework == "langchain":
        return str((await model.ainvoke(PROMPT)).text)
    return str((await model.achat(li_messages())).message.content)


# -- issue 20, part 1: one token per credential, tenants apart ---------------------------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_per_request_models_one_grant_per_credential_each_signed_by_its_own(
    emulator: Emulator,
    sa_file: pathlib.Path,
    second_emulator: tuple[Emulator, pathlib.Path],
    framework: str,
) -> None:
    emu_b, sa_b = second_emulator
    for _ in range(5):
        # A new model object per request, alternating between two tenants' credentials.
        assert _ask(framework, _model(framework, emulator, sa_file)) == ANSWER
        assert _ask(framework, _model(framework, emu_b, sa_b)) == ANSWER
    assert emulator.token_refresh_count == 1
    assert emu_b.token_refresh_count == 1
    for emu in (emulator, emu_b):
        sent = chat_requests(emu)
        assert len(sent) == 5
        # Each emulator knows only its own tokens: a request signed with the other
        # tenant's token would have been refused (401), not answered.
        assert {r.status for r in sent} == {200}
        assert {r.auth_kind for r in sent} == {"bearer"}
        assert len({r.token_id for r in sent}) == 1


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_per_request_async_models_share_one_token(
    emulator: Emulator, sa_file: pathlib.Path, framework: str
) -> None:
    async def main() -> list[str]:
        return [await _aask(framework, _model(framework, emulator, sa_file)) for _ in range(5)]

    assert asyncio.run(main()) == [ANSWER] * 5
    assert asyncio.run(main()) == [ANSWER] * 5  # a second event loop: same token
    assert emulator.token_refresh_count == 1


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_per_request_models_reuse_pooled_connections(
    emulator: Emulator, sa_file: pathlib.Path, relay: CountingRelay, framework: str
) -> None:
    for _ in range(8):
        model = _model(framework, emulator, sa_file, api_endpoint=relay.url)
        assert _ask(framework, model) == ANSWER
        del model
    # One pool for every model with the same connection options (the parent: one cached
    # default client); before, every model opened its own connection.
    assert relay.accepted <= 2, relay.accepted


def test_copies_and_pickles_share_the_token_source(
    emulator: Emulator, sa_file: pathlib.Path
) -> None:
    model = lc_model(emulator, sa_file)
    assert model.invoke(PROMPT).text == ANSWER
    copied = model.model_copy(update={"temperature": 0.5})
    copied._build_clients()  # as the parent's copy paths rebuild clients
    assert copied.invoke(PROMPT).text == ANSWER
    assert pickle.loads(pickle.dumps(model)).invoke(PROMPT).text == ANSWER
    configurable = model.configurable_fields()
    assert configurable.with_config(configurable={}).invoke(PROMPT).text == ANSWER
    assert emulator.token_refresh_count == 1


def test_different_scopes_of_quota_projects_do_not_share(
    emulator: Emulator, sa_file: pathlib.Path
) -> None:
    _ask("langchain", lc_model(emulator, sa_file))
    _ask("langchain", lc_model(emulator, sa_file, quota_project="billing-project"))
    assert emulator.token_refresh_count == 2
    sent = chat_requests(emulator)
    assert "x-goog-user-project" not in sent[0].headers
    assert sent[1].headers["x-goog-user-project"] == "billing-project"


def test_a_rewritten_key_file_is_a_new_credential(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    path = emulator.write_service_account_file(tmp_path / "rotating.json")
    _ask("langchain", lc_model(emulator, path))
    time.sleep(0.01)
    path.write_text(path.read_text() + "\n")  # a new key at the same path
    _ask("langchain", lc_model(emulator, path))
    assert emulator.token_refresh_count == 2


# -- issue 20, part 2: concurrent first use, per-call copies ------------------------------------


def test_concurrent_first_use_from_threads_leaks_no_socket(
    emulator: Emulator, sa_file: pathlib.Path
) -> None:
    holder = [lc_model(emulator, sa_file)]
    barrier = threading.Barrier(8)
    answers: list[str] = []

    def run() -> None:
        barrier.wait()
        answers.append(holder[0].invoke(PROMPT).text)

    gc.collect()  # earlier tests' garbage is not this test's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        threads = [threading.Thread(target=run) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        holder.clear()
        gc.collect()
    assert answers == [ANSWER] * 8
    port = f", {httpx.URL(emulator.url).port})"
    leaks = [
        str(w.message)
        for w in caught
        if issubclass(w.category, ResourceWarning) and port in str(w.message)
    ]
    assert leaks == []


def test_embed_documents_with_chunk_size_reuses_connections(
    emulator: Emulator, sa_file: pathlib.Path, relay: CountingRelay
) -> None:
    from langchain_vertex_openai import VertexOpenAIEmbeddings

    emb = VertexOpenAIEmbeddings(
        model="text-embedding-005",
        project=emulator.project,
        api_endpoint=relay.url,
        credentials=str(sa_file),
        max_retries=0,
        max_concurrency=1,
    )
    gc.collect()  # earlier tests' garbage is not this test's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(10):
            vectors = emb.embed_documents(["a", "b", "c"], chunk_size=3)
            assert len(vectors) == 3
        gc.collect()
    assert relay.accepted <= 2, relay.accepted
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


# -- issue 20, part 2: httpx2 clients, callable api_key -----------------------------------------


@_OPENAI_TAKES_HTTPX2
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_an_httpx2_client_is_accepted_and_sends(
    emulator: Emulator, sa_file: pathlib.Path, framework: str
) -> None:
    httpx2 = pytest.importorskip("httpx2")
    seen: list[str] = []
    sync = httpx2.Client(event_hooks={"request": [lambda r: seen.append(r.url.path)]})
    async_ = httpx2.AsyncClient()
    async_name = "http_async_client" if framework == "langchain" else "async_http_client"
    names = ("http_client", async_name)
    model = _model(framework, emulator, sa_file, **dict(zip(names, (sync, async_), strict=True)))
    assert _ask(framework, model) == ANSWER
    assert asyncio.run(_aask(framework, model)) == ANSWER
    assert len(seen) == 1
    assert seen[0].endswith("/chat/completions")
    assert {r.auth_kind for r in chat_requests(emulator)} == {"bearer"}
    sync.close()


@_OPENAI_TAKES_HTTPX2
def test_an_httpx2_client_is_accepted_by_the_embeddings(
    emulator: Emulator, sa_file: pathlib.Path
) -> None:
    httpx2 = pytest.importorskip("httpx2")
    from langchain_vertex_openai import VertexOpenAIEmbeddings

    seen: list[str] = []
    emb = VertexOpenAIEmbeddings(
        model="text-embedding-005",
        project=emulator.project,
        api_endpoint=emulator.url,
        credentials=str(sa_file),
        max_retries=0,
        http_client=httpx2.Client(event_hooks={"request": [lambda r: seen.append(r.url.path)]}),
        http_async_client=httpx2.AsyncClient(),
    )
    assert len(emb.embed_query("hello")) == 768
    assert len(asyncio.run(emb.aembed_query("hello"))) == 768
    assert len(seen) == 1
    assert seen[0].endswith(":predict")


def _callable_models(emulator: Emulator, key: Any) -> dict[str, Any]:
    from langchain_vertex_openai import ChatVertexOpenAI, VertexOpenAIEmbeddings
    from llama_index_vertex_openai import ChatVertexOpenAI as LiChat
    from llama_index_vertex_openai import VertexOpenAIEmbedding

    where = {"project": emulator.project, "api_endpoint": emulator.url, "max_retries": 0}
    return {
        "lc_chat": ChatVertexOpenAI(
            model="gemini-2.5-flash", location="us-central1", api_key=key, **where
        ),
        "li_chat": LiChat(model="gemini-2.5-flash", location="us-central1", api_key=key, **where),
        "lc_emb": VertexOpenAIEmbeddings(model="text-embedding-005", api_key=key, **where),
        "li_emb": VertexOpenAIEmbedding(model="text-embedding-005", api_key=key, **where),
    }


def _use(name: str, model: Any) -> Any:
    if name == "lc_chat":
        return model.invoke(PROMPT).text
    if name == "li_chat":
        return model.chat(li_messages()).message.content
    if name == "lc_emb":
        return len(model.embed_query("hello"))
    return len(model.get_query_embedding("hello"))


async def _ause(name: str, model: Any) -> Any:
    if name == "lc_chat":
        return (await model.ainvoke(PROMPT)).text
    if name == "li_chat":
        return (await model.achat(li_messages())).message.content
    if name == "lc_emb":
        return len(await model.aembed_query("hello"))
    return len(await model.aget_query_embedding("hello"))


@pytest.mark.parametrize("name", ["lc_chat", "li_chat", "lc_emb", "li_emb"])
def test_callable_api_key_is_called_per_request_and_sent_as_bearer(
    emulator: Emulator, name: str
) -> None:
    tokens = [emulator.issue_token() for _ in range(3)]
    calls: list[int] = []

    def key() -> str:
        calls.append(1)
        return tokens[len(calls) - 1]

    async def akey() -> str:
        return key()

    model = _callable_models(emulator, key)[name]
    expected = ANSWER if name.endswith("chat") else 768
    assert _use(name, model) == expected
    assert asyncio.run(_ause(name, model)) == expected
    amodel = _callable_models(emulator, akey)[name]
    assert asyncio.run(_ause(name, amodel)) == expected
    sent = [r for r in emulator.requests if r.status is not None and r.auth_kind]
    assert [r.token_id for r in sent] == [token_id_of(t) for t in tokens]
    assert {r.auth_kind for r in sent} == {"bearer"}
    assert emulator.token_refresh_count == 0
    assert tokens[0] not in repr(model)


def test_async_callable_api_key_in_a_sync_call_says_what_to_do(emulator: Emulator) -> None:
    async def akey() -> str:
        return emulator.issue_token()

    model = _callable_models(emulator, akey)["lc_emb"]
    with pytest.raises(Exception, match="async callable"):
        model.embed_query("hello")


# -- issue 22: the embedding classes' timeout bounds the refresh; ya29 keys ----------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_embedding_timeout_bounds_the_token_refresh(
    emulator: Emulator, tmp_path: pathlib.Path, framework: str
) -> None:
    import json

    with token_server("stall", seconds=60) as server:
        info = emulator.service_account_info()
        info["token_uri"] = f"{server.url}/token"
        sa = tmp_path / "sa-stalled.json"
        sa.write_text(json.dumps(info))
        where = {
            "project": emulator.project,
            "api_endpoint": emulator.url,
            "max_retries": 0,
            "credentials": str(sa),
            "timeout": 2,
        }
        if framework == "langchain":
            from langchain_vertex_openai import VertexOpenAIEmbeddings

            emb: Any = VertexOpenAIEmbeddings(model="text-embedding-005", **where)
            call = lambda: emb.embed_query("hello")  # noqa: E731
        else:
            from llama_index_vertex_openai import VertexOpenAIEmbedding

            emb = VertexOpenAIEmbedding(model="text-embedding-005", **where)
            call = lambda: emb.get_query_embedding("hello")  # noqa: E731
        started = time.monotonic()
        with pytest.raises(VertexAuthError) as info_:
            call()
        elapsed = time.monotonic() - started
    assert "Timed out after 2 s" in str(info_.value)
    assert elapsed < 25, elapsed  # far below the 30 s default budget it used to take


@pytest.mark.parametrize("name", ["lc_emb", "li_emb"])
def test_an_oauth_token_as_embedding_api_key_is_sent_as_bearer(
    emulator: Emulator, name: str
) -> None:
    token = emulator.issue_token()
    with pytest.warns(UserWarning, match="OAuth access token"):
        model = _callable_models(emulator, token)[name]
    assert _use(name, model) == 768
    sent = [r for r in emulator.requests if r.auth_kind]
    assert [(r.auth_kind, r.token_id, r.status) for r in sent] == [
        ("bearer", token_id_of(token), 200)
    ]
    assert "key" not in sent[0].query
    assert token not in repr(model)
