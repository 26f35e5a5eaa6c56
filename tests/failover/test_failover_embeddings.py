"""Failover for embeddings (issue 23): both classes, both routes (:predict and openapi)."""

from __future__ import annotations

import asyncio
import pathlib
from typing import Any

import openai
import pytest

pytest.importorskip("langchain_openai")
pytest.importorskip("llama_index.core")

from langchain_vertex_openai import VertexOpenAIEmbeddings  # noqa: E402
from llama_index_vertex_openai import VertexOpenAIEmbedding  # noqa: E402
from vertex_openai.emulator import Emulator  # noqa: E402

E5 = "intfloat/multilingual-e5-small-maas"  # openapi route; served in us-central1, europe-west4


def _params(emu: Emulator, sa_file: pathlib.Path, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": "text-embedding-005",
        "project": emu.project,
        "location": "us-central1",
        "api_endpoint": emu.url,
        "credentials": str(sa_file),
        "max_retries": 0,
        "fallback_locations": ["europe-west4"],
    }
    params.update(overrides)
    return params


def locations(emu: Emulator) -> list[tuple[str, int | None]]:
    return [
        (r.path.split("/locations/")[1].split("/")[0], r.status)
        for r in emu.requests
        if "/locations/" in r.path
    ]


@pytest.mark.parametrize("model", ["text-embedding-005", E5], ids=["predict", "openapi"])
def test_langchain_embeddings_fail_over(
    emulator: Emulator, sa_file: pathlib.Path, model: str
) -> None:
    emulator.config.update({"location_behaviour": {"us-central1": "quota"}})
    emb = VertexOpenAIEmbeddings(**_params(emulator, sa_file, model=model))
    vectors = emb.embed_documents(["alpha", "beta"])
    assert len(vectors) == 2
    assert all(vectors)
    assert locations(emulator) == [("us-central1", 429), ("europe-west4", 200)]
    first, second = emulator.requests
    assert first.json == second.json
    assert first.token_id == second.token_id


@pytest.mark.parametrize("model", ["text-embedding-005", E5], ids=["predict", "openapi"])
def test_langchain_embeddings_async_fail_over(
    emulator: Emulator, sa_file: pathlib.Path, model: str
) -> None:
    emulator.config.update({"location_behaviour": {"us-central1": "unavailable"}})
    emb = VertexOpenAIEmbeddings(**_params(emulator, sa_file, model=model))
    vector = asyncio.run(emb.aembed_query("gamma"))
    assert vector
    assert locations(emulator) == [("us-central1", 503), ("europe-west4", 200)]


@pytest.mark.parametrize("model", ["text-embedding-005", E5], ids=["predict", "openapi"])
def test_llama_index_embeddings_fail_over(
    emulator: Emulator, sa_file: pathlib.Path, model: str
) -> None:
    emulator.config.update({"location_behaviour": {"us-central1": "quota"}})
    emb = VertexOpenAIEmbedding(**_params(emulator, sa_file, model=model))
    assert emb.get_text_embedding("delta")
    assert locations(emulator) == [("us-central1", 429), ("europe-west4", 200)]
    emulator.reset()
    # The primary cools now: the async call goes straight to the fallback.
    assert asyncio.run(emb.aget_text_embedding("epsilon"))
    assert locations(emulator) == [("europe-west4", 200)]


def test_embeddings_without_fallback_stay_in_region(
    emulator: Emulator, sa_file: pathlib.Path
) -> None:
    emulator.config.update({"location_behaviour": {"us-central1": "quota"}})
    emb = VertexOpenAIEmbeddings(**_params(emulator, sa_file, fallback_locations=None))
    with pytest.raises(openai.RateLimitError):
        emb.embed_query("zeta")
    assert locations(emulator) == [("us-central1", 429)]
