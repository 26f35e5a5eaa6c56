"""The core embedding client against the emulator: inputs, vectors, routes, auth, secrets."""

from __future__ import annotations

import asyncio
import math
import pathlib
from collections.abc import Callable

import openai
import pytest

from vertex_openai import VertexConfigError, VertexConnection
from vertex_openai._embeddings import (
    VertexEmbeddingClient,
    embedding_location,
    embedding_model_spec,
)
from vertex_openai.emulator import Emulator

MakeClient = Callable[..., VertexEmbeddingClient]


@pytest.mark.parametrize(
    ("kwargs", "call", "match"),
    [
        ({}, {"task_type": "retrieval_query"}, "Did you mean 'RETRIEVAL_QUERY'"),
        ({}, {"task_type": "SEMANTIC_SIMILARITY", "title": "T"}, "only valid with"),
        ({"output_dimensionality": 1024}, {}, "larger than text-embedding-005's 768"),
        ({"output_dimensionality": 0}, {}, "positive integer"),
        ({"batch_size": 0}, {}, "batch_size must be a positive integer"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(
    emu: Emulator, make_client: MakeClient, kwargs: dict, call: dict, match: str
) -> None:
    with pytest.raises(VertexConfigError, match=match):
        make_client(**kwargs).embed(["a text"], **call)
    assert emu.requests == []


def test_a_string_instead_of_a_list_is_refused(emu: Emulator, make_client: MakeClient) -> None:
    with pytest.raises(VertexConfigError, match="list of texts"):
        make_client().embed("one text")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("model", "match"),
    [
        ("", "model is empty"),
        ("gemini-2.5-flash", "not an embedding model"),
        ("gemini-embedding-2-preview", "embedContent"),
        ("multimodalembedding@001", "this client embeds text"),
    ],
)
def test_models_this_client_cannot_call(model: str, match: str) -> None:
    with pytest.raises(VertexConfigError, match=match):
        embedding_model_spec(model)


def test_model_ids_are_normalized() -> None:
    assert embedding_model_spec("google/text-embedding-005").model == "text-embedding-005"
    spec = embedding_model_spec("multilingual-e5-small-maas")
    assert (spec.model, spec.route, spec.dimensions) == (
        "intfloat/multilingual-e5-small-maas",
        "openapi",
        384,
    )


def test_default_location_is_us_central1_and_env_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    assert embedding_location(None) == "us-central1"
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "europe-west4")
    assert embedding_location(None) == "europe-west4"
    assert embedding_location("asia-northeast1") == "asia-northeast1"


@pytest.mark.parametrize("model", ["gemini-embedding-001", "text-embedding-005"])
def test_truncated_vectors_come_back_unit_normalized(
    emu: Emulator, make_client: MakeClient, model: str
) -> None:
    raw = make_client(model, output_dimensionality=256, normalize=False).embed(["alpha beta"])
    assert len(raw.vectors[0]) == 256
    assert math.hypot(*raw.vectors[0]) < 0.99  # Vertex does not re-normalize truncated vectors
    unit = make_client(model, output_dimensionality=256).embed(["alpha beta"])
    assert math.hypot(*unit.vectors[0]) == pytest.approx(1.0, abs=1e-9)
    sent = [r.json for r in emu.requests if r.path.endswith(":predict")]
    assert sent[-1]["parameters"] == {"autoTruncate": True, "outputDimensionality": 256}


def test_the_wire_request(emu: Emulator, make_client: MakeClient) -> None:
    make_client().embed(["a", "b"], task_type="RETRIEVAL_DOCUMENT", title=["A", "B"])
    (rec,) = emu.requests
    assert rec.path == (
        f"/v1/projects/{emu.project}/locations/us-central1/publishers/google/models/"
        "text-embedding-005:predict"
    )
    assert rec.json == {
        "instances": [
            {"content": "a", "task_type": "RETRIEVAL_DOCUMENT", "title": "A"},
            {"content": "b", "task_type": "RETRIEVAL_DOCUMENT", "title": "B"},
        ],
        "parameters": {"autoTruncate": True},
    }
    assert rec.auth_kind == "bearer"
    assert "openai-organization" not in rec.headers


def test_retrieval_finds_the_document_sharing_the_question_words(make_client: MakeClient) -> None:
    docs = [
        "The global endpoint uses the host aiplatform.googleapis.com.",
        "Regional endpoints are prefixed with the region name.",
        "Thought signatures must be replayed in Gemini 3 tool loops.",
    ]
    client = make_client("gemini-embedding-001", output_dimensionality=768)
    vectors = client.embed(docs, task_type="RETRIEVAL_DOCUMENT").vectors
    query = client.embed(
        ["Which host does the global endpoint use?"], task_type="RETRIEVAL_QUERY"
    ).vectors[0]
    scores = [sum(a * b for a, b in zip(query, v, strict=True)) for v in vectors]
    assert scores.index(max(scores)) == 0


def test_partner_model_uses_the_openai_compatible_route(
    emu: Emulator, make_client: MakeClient
) -> None:
    result = make_client("intfloat/multilingual-e5-small-maas").embed(["hola", "mundo"] * 50)
    assert [len(v) for v in result.vectors] == [384] * 100
    paths = {r.path for r in emu.requests}
    base = f"/v1/projects/{emu.project}/locations/us-central1"
    assert paths == {f"{base}/endpoints/openapi/embeddings"}
    body = emu.requests[0].json
    assert body["model"] == "intfloat/multilingual-e5-small-maas"
    assert body["encoding_format"] == "float"
    assert result.token_count == 100


def test_partner_model_refuses_dimensions() -> None:
    conn = VertexConnection(project="p", location="us-central1")
    with pytest.raises(VertexConfigError, match="384-dimensional vectors only"):
        VertexEmbeddingClient(
            conn, "intfloat/multilingual-e5-small-maas", output_dimensionality=128
        )


def test_unknown_model_is_a_readable_404(emu: Emulator, make_client: MakeClient) -> None:
    with pytest.raises(openai.NotFoundError, match="Vertex AI returned 404 NOT_FOUND"):
        make_client("text-embedding-999").embed(["x"])


def test_revoked_token_is_refreshed_and_resent(emu: Emulator, make_client: MakeClient) -> None:
    client = make_client()
    client.embed(["first"])
    emu.revoke_all_tokens()
    assert len(client.embed(["second"]).vectors) == 1
    assert [r.status for r in emu.requests] == [200, 401, 200]
    assert asyncio.run(client.aembed(["third"])).vectors


def test_express_key_goes_in_the_query_and_nowhere_else(
    emu: Emulator, make_client: MakeClient
) -> None:
    conn = VertexConnection(
        project=emu.project, location="us-central1", api_endpoint=emu.url, api_key=emu.api_key
    )
    client = VertexEmbeddingClient(conn, "text-embedding-005", max_retries=0)
    assert len(client.embed(["x"]).vectors) == 1
    assert emu.requests[-1].auth_kind == "api_key"
    assert emu.api_key not in repr(client)
    with pytest.raises(openai.NotFoundError) as info:
        VertexEmbeddingClient(conn, "text-embedding-999", max_retries=0).embed(["x"])
    assert emu.api_key not in str(info.value)
    assert emu.api_key not in str(info.value.request.url)


def test_project_from_the_credentials_is_filled_in(emu: Emulator, sa_file: pathlib.Path) -> None:
    conn = VertexConnection(location="us-central1", api_endpoint=emu.url, credentials=str(sa_file))
    assert len(VertexEmbeddingClient(conn, max_retries=0).embed(["x"]).vectors) == 1
    assert f"/projects/{emu.project}/" in emu.requests[-1].path


def test_empty_list_sends_nothing(emu: Emulator, make_client: MakeClient) -> None:
    assert make_client().embed([]).vectors == []
    assert emu.requests == []


@pytest.mark.parametrize("fast", [True, False], ids=["orjson", "stdlib json"])
def test_answers_read_the_same_with_or_without_orjson(
    emu: Emulator, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    from vertex_openai import _embeddings
    from vertex_openai.emulator._embeddings import embed_text

    if fast:
        pytest.importorskip("orjson")
        assert _embeddings._fast_loads() is not None
    else:
        monkeypatch.setattr(_embeddings, "_fast_loads", lambda: None)
    texts = ["alpha beta", "gamma", "delta epsilon zeta"]
    got = make_client(normalize=False).embed(texts).vectors
    assert got == [embed_text(t, 768) for t in texts]  # the emulator's vectors, bit for bit
