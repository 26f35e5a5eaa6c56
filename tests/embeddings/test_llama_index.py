"""VertexOpenAIEmbedding: a VectorStoreIndex swapped from OpenAIEmbedding by class name."""

from __future__ import annotations

import asyncio
import math
import pathlib
import pickle

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core import Document, VectorStoreIndex  # noqa: E402
from llama_index.core.base.embeddings.base import BaseEmbedding  # noqa: E402
from llama_index.llms.openai_like import OpenAILike  # noqa: E402

from llama_index_vertex_openai import ChatVertexOpenAI, VertexOpenAIEmbedding  # noqa: E402
from vertex_openai.emulator import Emulator  # noqa: E402

DOCS = [
    "The global endpoint uses the host aiplatform.googleapis.com without a region prefix.",
    "Express mode sends the API key as a key query parameter instead of a bearer token.",
    "Gemini 3 tool loops must replay every thought signature they received.",
]
QUESTION = "Which host does the global endpoint use?"


def _query_app(embed_model: BaseEmbedding, llm: object) -> tuple[str, str]:
    """A LlamaIndex RAG app, unchanged between providers."""
    index = VectorStoreIndex.from_documents(
        [Document(text=d) for d in DOCS], embed_model=embed_model
    )
    response = index.as_query_engine(llm=llm, similarity_top_k=1).query(QUESTION)
    return str(response), response.source_nodes[0].node.get_content()


def test_query_engine_swapped_from_openai_by_class_names(
    emu: Emulator, sa_file: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llama_index.embeddings.openai import OpenAIEmbedding

    token = emu.issue_token()
    base = emu.base_url(location="us-central1")
    answer, source = _query_app(
        OpenAIEmbedding(
            model_name="intfloat/multilingual-e5-small-maas", api_base=base, api_key=token
        ),
        OpenAILike(
            model="google/gemini-2.5-flash", api_base=base, api_key=token, is_chat_model=True
        ),
    )
    assert source == DOCS[0]
    assert answer
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(sa_file))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", emu.project)
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "us-central1")
    monkeypatch.setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM", emu.url)
    emu.reset()
    answer, source = _query_app(
        VertexOpenAIEmbedding(model="text-embedding-005"),
        ChatVertexOpenAI(model="google/gemini-2.5-flash"),
    )
    assert source == DOCS[0]
    assert answer
    chat = [r for r in emu.requests if r.path.endswith("/chat/completions")][-1]
    assert DOCS[0] in str(chat.json["messages"])


def _make(emu: Emulator, sa_file: pathlib.Path, **kwargs: object) -> VertexOpenAIEmbedding:
    kwargs.setdefault("model", "text-embedding-005")
    kwargs.setdefault("credentials", str(sa_file))
    return VertexOpenAIEmbedding(project=emu.project, api_endpoint=emu.url, max_retries=0, **kwargs)


def test_embed_batch_size_is_the_per_request_size(emu: Emulator, sa_file: pathlib.Path) -> None:
    emb = _make(emu, sa_file)
    assert emb.embed_batch_size == 250
    assert _make(emu, sa_file, model="gemini-embedding-001").embed_batch_size == 1
    emb.embed_batch_size = 40
    vectors = emb.get_text_embedding_batch([f"text {i}" for i in range(100)])
    assert len(vectors) == 100
    assert sorted(emu.embeddings.request_sizes) == [20, 40, 40]


def test_a_framework_batch_larger_than_the_model_limit_runs_concurrently(
    emu: Emulator, sa_file: pathlib.Path
) -> None:
    emu.embeddings.config.delay = 0.05
    emb = _make(
        emu,
        sa_file,
        model="gemini-embedding-001",
        embed_batch_size=24,
        max_concurrency=4,
        dimensions=64,
    )
    vectors = asyncio.run(emb.aget_text_embedding_batch([f"t{i}" for i in range(24)]))
    assert len(vectors) == 24
    assert all(len(v) == 64 for v in vectors)
    assert emu.embeddings.request_sizes == [1] * 24
    assert 2 <= emu.embeddings.max_in_flight <= 4


def test_query_and_text_task_types_and_unit_vectors(emu: Emulator, sa_file: pathlib.Path) -> None:
    emb = _make(emu, sa_file, dimensions=100)
    q = emb.get_query_embedding("q")
    t = asyncio.run(emb.aget_text_embedding("t"))
    assert math.hypot(*q) == pytest.approx(1.0)
    assert math.hypot(*t) == pytest.approx(1.0)
    tasks = [r.json["instances"][0]["task_type"] for r in emu.requests]
    assert tasks == ["RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT"]


def test_namespace_import_and_secrets(emu: Emulator, sa_file: pathlib.Path) -> None:
    from llama_index.embeddings.vertex_openai import VertexOpenAIEmbedding as Namespaced

    assert Namespaced is VertexOpenAIEmbedding
    info = emu.service_account_info()
    emb = _make(emu, sa_file, credentials=info)
    assert info["private_key"] not in repr(emb)
    assert info["private_key"] not in emb.to_json()
    assert "credentials" not in emb.to_dict()
    restored = pickle.loads(pickle.dumps(emb))
    assert restored.credentials is None
    express = VertexOpenAIEmbedding(
        model="text-embedding-005", project=emu.project, api_endpoint=emu.url, api_key=emu.api_key
    )
    assert emu.api_key not in repr(express)
    assert emu.api_key not in express.to_json()
    assert len(express.get_query_embedding("x")) == 768
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(express)


def test_to_dict_round_trip(emu: Emulator, sa_file: pathlib.Path) -> None:
    emb = _make(emu, sa_file, dimensions=32, task_type="SEMANTIC_SIMILARITY")
    again = VertexOpenAIEmbedding.from_dict(emb.to_dict(), credentials=str(sa_file))
    assert again.model_name == "text-embedding-005"
    assert again.output_dimensionality == 32
    assert len(again.get_text_embedding("x")) == 32
    assert emu.requests[-1].json["instances"][0]["task_type"] == "SEMANTIC_SIMILARITY"


def test_aget_text_embedding_batch_bounds_requests_in_flight(
    emu: Emulator, sa_file: pathlib.Path
) -> None:
    # LlamaIndex gathers every batch of aget_text_embedding_batch at once; the embedder's
    # max_concurrency must hold across those calls (one gate per event loop).
    emu.embeddings.config.delay = 0.05
    emb = _make(emu, sa_file, embed_batch_size=2, max_concurrency=3)
    texts = [f"text {i}" for i in range(40)]

    async def run() -> list[list[float]]:
        return await emb.aget_text_embedding_batch(texts)

    vectors = asyncio.run(run())
    assert len(vectors) == len(texts)
    assert 2 <= emu.embeddings.max_in_flight <= 3
    emu.embeddings.reset()
    emu.embeddings.config.delay = 0.05
    assert len(asyncio.run(run())) == len(texts)  # a new loop gets its own gate
    assert 2 <= emu.embeddings.max_in_flight <= 3
