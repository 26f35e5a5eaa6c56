"""Issue 22, embeddings held to the chat path's standard (both frameworks, both routes).

A local server answers the embedding requests with what Vertex never sends (malformed
200 bodies) or slowly (to interrupt a multi-batch call); everything else is the real
openai SDK, LangChain and LlamaIndex code over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from fault_servers import LocalServer, json_body

from vertex_openai import VertexConfigError
from vertex_openai._embeddings import embedding_model_spec

pytest.importorskip("langchain_openai")

KEY = "AQ.express-key-for-tests"
JSON = {"content-type": "application/json"}
DIMS = 768  # text-embedding-005

PREDICT_SHAPES: dict[str, Any] = {
    "predictions: [1]": {"predictions": [1]},
    "missing embeddings": {"predictions": [{}]},
    "embeddings: null": {"predictions": [{"embeddings": None}]},
    "values: null": {"predictions": [{"embeddings": {"values": None}}]},
    "values: []": {"predictions": [{"embeddings": {"values": []}}]},
    "values of strings": {"predictions": [{"embeddings": {"values": ["0.1"] * DIMS}}]},
    "predictions: null": {"predictions": None},
    "no predictions": {},
    "a JSON list": [],
    "too few predictions": {"predictions": []},
    "wrong size": {"predictions": [{"embeddings": {"values": [0.5] * 3}}]},
}

OPENAPI_SHAPES: dict[str, Any] = {
    "data: null": {"data": None},
    "data: [1]": {"data": [1]},
    "embedding: null": {"data": [{"embedding": None, "index": 0}]},
    "index out of range": {"data": [{"embedding": [0.5] * 384, "index": 7}]},
    "no data": {"object": "list"},
}


@pytest.fixture
def bad_server(request: pytest.FixtureRequest) -> Iterator[LocalServer]:
    payload = request.param

    def handle(req: Any) -> tuple[int, dict[str, str], Any]:
        if isinstance(payload, str):
            return 200, {"content-type": "text/html"}, payload
        return 200, JSON, json_body(payload)

    with LocalServer(handle) as server:
        yield server


def lc_embedder(url: str, model: str = "text-embedding-005", **kw: Any) -> Any:
    from langchain_vertex_openai import VertexOpenAIEmbeddings

    return VertexOpenAIEmbeddings(
        model=model,
        project="p",
        location="us-central1",
        api_endpoint=url,
        api_key=KEY,
        max_retries=0,
        **kw,
    )


def li_embedder(url: str, model: str = "text-embedding-005", **kw: Any) -> Any:
    from llama_index_vertex_openai import VertexOpenAIEmbedding

    return VertexOpenAIEmbedding(
        model=model,
        project="p",
        location="us-central1",
        api_endpoint=url,
        api_key=KEY,
        max_retries=0,
        **kw,
    )


def _embed(framework: str, url: str, model: str, mode: str) -> Any:
    if framework == "langchain":
        emb = lc_embedder(url, model)
        if mode == "sync":
            return emb.embed_documents(["a"])
        return asyncio.run(emb.aembed_documents(["a"]))
    emb = li_embedder(url, model)
    if mode == "sync":
        return emb.get_text_embedding_batch(["a"])
    return asyncio.run(emb.aget_text_embedding_batch(["a"]))


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    "bad_server",
    list(PREDICT_SHAPES.values()) + ["<html>login</html>"],
    ids=[*PREDICT_SHAPES, "html"],
    indirect=True,
)
def test_malformed_predict_200_is_a_validation_error(
    bad_server: LocalServer, framework: str, mode: str
) -> None:
    with pytest.raises(openai.APIResponseValidationError) as info:
        _embed(framework, bad_server.url, "text-embedding-005", mode)
    text = str(info.value)
    assert "text-embedding-005" in text
    assert any(w in text for w in ("predictions", "embeddings", "values", "html", "JSON")), text
    assert len(bad_server.requests) == 1  # not retried, and nothing returned


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
@pytest.mark.parametrize(
    "bad_server",
    [
        {"predictions": [{"embeddings": {"values": [float("nan")] * DIMS}}]},
        {"predictions": [{"embeddings": {"values": [0.5] * (DIMS - 1) + [float("-inf")]}}]},
    ],
    ids=["NaN", "-Infinity"],
    indirect=True,
)
@pytest.mark.parametrize("normalize", [True, False])
def test_non_finite_values_are_named_as_such(
    bad_server: LocalServer, framework: str, normalize: bool
) -> None:
    # Python's json writes NaN / -Infinity literals, which orjson (when installed) refuses:
    # the body is still read, and judged for what it holds, not called "not JSON". The
    # check runs whether or not the vectors are normalized (two code paths).
    make = lc_embedder if framework == "langchain" else li_embedder
    emb = make(bad_server.url, normalize=normalize)
    embed = emb.embed_documents if framework == "langchain" else emb.get_text_embedding_batch
    with pytest.raises(
        openai.APIResponseValidationError, match=r"non-finite value in predictions\[0\]"
    ):
        embed(["a"])


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    "bad_server", list(OPENAPI_SHAPES.values()), ids=list(OPENAPI_SHAPES), indirect=True
)
def test_malformed_openapi_200_is_a_validation_error(
    bad_server: LocalServer, framework: str, mode: str
) -> None:
    with pytest.raises(openai.APIResponseValidationError) as info:
        _embed(framework, bad_server.url, "intfloat/multilingual-e5-small-maas", mode)
    assert "data" in str(info.value)


@pytest.mark.parametrize(
    "model",
    [
        "text-embedding-005?alt=x",
        "text-embedding-005#frag",
        "a/b/c",
        "text-embedding-005\r\nX: y",
        "../../other/models/x",
        "te\x00xt",
        "publishers/google/models/x?y",
        "text embedding",
    ],
)
def test_model_id_is_validated_before_it_reaches_the_predict_url(model: str) -> None:
    with pytest.raises(VertexConfigError, match="Malformed embedding model id"):
        embedding_model_spec(model)
    server = LocalServer(lambda req: (500, JSON, b"{}"))
    with server:
        for make in (lc_embedder, li_embedder):
            # pydantic wraps it for LangChain: both are ValueErrors naming the fix
            with pytest.raises(ValueError, match="Malformed embedding model id"):
                make(server.url, model)
    assert server.requests == []


class SoftTimeLimitExceeded(Exception):  # noqa: N818 (Celery's name)
    """What Celery raises from its SIGUSR1 handler at a task's soft time limit."""


def _slow_predict(delay: float) -> tuple[LocalServer, list[float]]:
    sent: list[float] = []

    def handle(req: Any) -> tuple[int, dict[str, str], Any]:
        sent.append(time.monotonic())
        time.sleep(delay)
        return 200, JSON, json_body({"predictions": [{"embeddings": {"values": [0.5] * DIMS}}]})

    return LocalServer(handle), sent


def _interrupted(call: Any, after: float) -> tuple[float, type[BaseException] | None]:
    def handler(signum: int, frame: Any) -> None:
        raise SoftTimeLimitExceeded("soft time limit")

    old = signal.signal(signal.SIGALRM, handler)
    start = time.monotonic()
    raised: type[BaseException] | None = None
    try:
        signal.setitimer(signal.ITIMER_REAL, after)
        try:
            call()
        except Exception as exc:
            # Raised in a socket read of the calling thread, the SDK wraps it in an
            # APIConnectionError (the parent does the same); the cause is kept.
            cause: BaseException | None = exc
            while cause is not None and not isinstance(cause, SoftTimeLimitExceeded):
                cause = cause.__cause__ or cause.__context__
            raised = type(cause) if cause is not None else type(exc)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return time.monotonic() - start, raised


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signals are delivered to the main thread",
)
@pytest.mark.parametrize("framework", ["langchain", "llama_index", "parent"])
def test_signal_during_multi_batch_embed_cancels_the_queued_batches(framework: str) -> None:
    # 40 one-text batches, 4 at a time, 1 s each: 10 s if nothing stops it. A signal
    # handler raises at 0.5 s (Ctrl-C and Celery's soft time limit work this way).
    delay, batches, concurrency = 1.0, 40, 4
    server, sent = _slow_predict(delay)
    texts = [f"text {i}" for i in range(batches)]
    with server:
        if framework == "langchain":
            emb = lc_embedder(server.url, batch_size=1, max_concurrency=concurrency)
            call = lambda: emb.embed_documents(texts)  # noqa: E731
        elif framework == "llama_index":
            emb = li_embedder(server.url, embed_batch_size=1, max_concurrency=concurrency)
            call = lambda: emb.get_text_embedding_batch(texts)  # noqa: E731
        else:
            from langchain_openai import OpenAIEmbeddings

            # The parent, sending one batch at a time over the same server.
            parent = OpenAIEmbeddings(
                model="text-embedding-005",
                base_url=server.url,
                api_key="k",
                chunk_size=1,
                max_retries=0,
                check_embedding_ctx_length=False,
            )
            call = lambda: parent.embed_documents(texts)  # noqa: E731
        elapsed, raised = _interrupted(call, 0.5)
        at_return = len(sent)
        time.sleep(delay * 1.5)  # let the requests in flight finish
        total = len(sent)
    assert raised is SoftTimeLimitExceeded
    # Returned without waiting for the queue (10 s); in-flight requests are not waited for.
    assert elapsed < delay * batches / concurrency / 2, elapsed
    # Nothing queued was sent after the interruption: at most the batches in flight at
    # 0.5 s, plus one per worker that was between batches at that instant.
    assert total <= 2 * concurrency, (at_return, total)
