"""Batching against the emulator: real limits, order, bounded concurrency, retries, errors."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import replace

import openai
import pytest

from vertex_openai._embeddings import VertexEmbeddingClient, VertexEmbeddingInputError
from vertex_openai.emulator import Emulator
from vertex_openai.emulator._embeddings import count_tokens, embed_text

MakeClient = Callable[..., VertexEmbeddingClient]
TEXTS = [f"document number {i} about topic{i % 7} and item{i}" for i in range(1000)]


def _expected(text: str, dims: int = 768) -> list[float]:
    vec = embed_text(text, dims)
    norm = math.hypot(*vec)
    return [v / norm for v in vec]


def _assert_in_order(vectors: list[list[float]], texts: list[str]) -> None:
    assert len(vectors) == len(texts)
    for vec, text in zip(vectors, texts, strict=True):
        assert vec == pytest.approx(_expected(text), abs=1e-6), text


def _predict_requests(emu: Emulator) -> list[object]:
    return [r for r in emu.requests if r.path.endswith(":predict")]


@pytest.mark.slow  # load: 1,000 texts through the emulator, twice
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_1000_texts_in_order_in_ceil_requests_at_most_k_in_flight(
    emu: Emulator, make_client: MakeClient, mode: str
) -> None:
    n, k = 40, 3
    model = emu.embeddings.config.predict_models["text-embedding-005"]
    emu.embeddings.config.predict_models["text-embedding-005"] = replace(model, max_instances=n)
    emu.embeddings.config.delay = 0.05
    client = make_client(batch_size=n, max_concurrency=k)
    if mode == "sync":
        result = client.embed(TEXTS)
    else:
        result = asyncio.run(client.aembed(TEXTS))
    _assert_in_order(result.vectors, TEXTS)
    assert len(emu.embeddings.request_sizes) == math.ceil(1000 / n) == result.requests
    assert sorted(emu.embeddings.request_sizes) == sorted([n] * 25)
    assert 2 <= emu.embeddings.max_in_flight <= k
    sent = [inst["content"] for r in _predict_requests(emu) for inst in r.json["instances"]]
    assert sorted(sent) == sorted(TEXTS)


def test_default_batch_is_the_models_limit(emu: Emulator, make_client: MakeClient) -> None:
    result = make_client().embed(TEXTS[:600])
    assert sorted(emu.embeddings.request_sizes) == [100, 250, 250]
    _assert_in_order(result.vectors, TEXTS[:600])


def test_gemini_embedding_001_sends_one_text_per_request(
    emu: Emulator, make_client: MakeClient
) -> None:
    texts = TEXTS[:12]
    result = make_client("gemini-embedding-001", batch_size=50).embed(texts)
    assert emu.embeddings.request_sizes == [1] * 12
    assert [len(v) for v in result.vectors] == [3072] * 12
    for vec, text in zip(result.vectors, texts, strict=True):
        assert vec == pytest.approx(_expected(text, 3072), abs=1e-6)


def test_too_many_instances_is_what_vertex_answers_and_the_client_never_sends_it(
    emu: Emulator, make_client: MakeClient, connection: object
) -> None:
    """The emulator refuses 2 instances for gemini-embedding-001 with the captured text."""
    client = make_client("gemini-embedding-001")
    raw = client.sync_client
    with pytest.raises(openai.BadRequestError, match="batchSize must be 1 but the entered value"):
        raw.post(
            client.url(), body={"instances": [{"content": "a"}, {"content": "b"}]}, cast_to=object
        )
    # A model whose limit we do not know learns it from that answer and re-splits.
    unknown = make_client("gemini-embedding-009")
    emu.embeddings.config.predict_models["gemini-embedding-009"] = (
        emu.embeddings.config.predict_models["gemini-embedding-001"]
    )
    unknown.batch_size = 5  # as if the table said 5
    result = unknown.embed(TEXTS[:5])
    assert len(result.vectors) == 5
    assert emu.embeddings.request_sizes == [1] * 5


def test_request_token_limit_is_respected(emu: Emulator, make_client: MakeClient) -> None:
    long = [" ".join(f"w{i}x{j}" for j in range(1500)) for i in range(40)]  # 1500 tokens each
    result = make_client().embed(long)
    assert len(result.vectors) == 40
    assert all(r.status == 200 for r in _predict_requests(emu))
    for r in _predict_requests(emu):
        assert sum(count_tokens(i["content"]) for i in r.json["instances"]) <= 20_000
    assert result.token_count == 40 * 1500


def test_request_over_the_token_limit_is_split_when_the_estimate_was_low(
    emu: Emulator, make_client: MakeClient
) -> None:
    emu.embeddings.config.max_request_tokens = 300
    result = make_client().embed([" ".join(["a"] * 100)] * 10)  # 1000 tokens in one request
    assert len(result.vectors) == 10
    assert sum(emu.embeddings.request_sizes) == 10
    assert [r.status for r in _predict_requests(emu)][0] == 400


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_429_burst_is_retried_by_the_sdk_once_per_attempt(
    emu: Emulator, make_client: MakeClient, mode: str
) -> None:
    emu.inject_fault("429", count=2)
    client = make_client(max_retries=3, batch_size=50)
    texts = TEXTS[:100]
    result = client.embed(texts) if mode == "sync" else asyncio.run(client.aembed(texts))
    _assert_in_order(result.vectors, texts)
    statuses = [r.status for r in _predict_requests(emu)]
    assert statuses.count(429) == 2
    assert statuses.count(200) == 2
    assert len(statuses) == 4  # no retry loop of ours on top of the SDK's


def test_503_is_retried_and_an_exhausted_429_is_readable(
    emu: Emulator, make_client: MakeClient
) -> None:
    emu.inject_fault("503", count=1)
    assert len(make_client(max_retries=2).embed(["x"]).vectors) == 1
    emu.inject_fault("429", count=5)
    with pytest.raises(openai.RateLimitError) as info:
        make_client(max_retries=1).embed(["x"])
    assert "Vertex AI returned 429 RESOURCE_EXHAUSTED" in str(info.value)
    assert "Hint:" in str(info.value)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_too_long_text_without_truncation_names_it(
    emu: Emulator, make_client: MakeClient, mode: str
) -> None:
    texts = TEXTS[:30]
    texts[17] = "word " * 3000
    client = make_client(auto_truncate=False, batch_size=10, max_concurrency=1)

    def call() -> object:
        return client.embed(texts) if mode == "sync" else asyncio.run(client.aembed(texts))

    with pytest.raises(VertexEmbeddingInputError) as info:
        call()
    err = info.value
    assert err.index == 17
    assert "Text 17 (of 30)" in str(err)
    assert "auto_truncate" in str(err)
    assert isinstance(err, openai.BadRequestError)
    # What was computed before the failure is kept, in place.
    for vec, text in zip(err.partial[:10], texts[:10], strict=True):
        assert vec == pytest.approx(_expected(text), abs=1e-6)
    assert err.partial[17] is None
    # Nothing after the failing batch was sent.
    sent = {i["content"] for r in _predict_requests(emu) for i in r.json["instances"]}
    assert not sent & set(texts[20:])


def test_too_long_text_with_truncation_is_reported(emu: Emulator, make_client: MakeClient) -> None:
    result = make_client().embed(["short", "word " * 3000])
    assert result.truncated == [1]
    assert result.token_count == 1 + 2048


def test_one_client_serves_concurrent_calls_each_in_its_own_order(
    emu: Emulator, make_client: MakeClient
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client = make_client(batch_size=7, max_concurrency=3)
    groups = [TEXTS[i * 30 : (i + 1) * 30] for i in range(8)]

    async def many() -> list[list[list[float]]]:
        results = await asyncio.gather(*(client.aembed(g) for g in groups[:4]))
        return [r.vectors for r in results]

    for vectors, texts in zip(asyncio.run(many()), groups[:4], strict=True):
        _assert_in_order(vectors, texts)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda g: client.embed(g).vectors, groups[4:]))
    for vectors, texts in zip(results, groups[4:], strict=True):
        _assert_in_order(vectors, texts)


def test_tokens_refresh_before_expiry_between_calls(emu: Emulator, make_client: MakeClient) -> None:
    import time

    emu.config.token_lifetime = 2.0
    client = make_client()
    client.embed(["before"])
    grants = emu.token_refresh_count
    time.sleep(1.2)  # past the refresh point (half of a 2 s lifetime)
    client.embed(["after"])
    assert emu.token_refresh_count > grants
    assert all(r.status == 200 for r in emu.requests)
