"""The emulator's embedding routes over raw HTTP: shapes, limits and error forms."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from vertex_openai.emulator import Emulator


def _predict(
    emu: Emulator,
    body: Any,
    model: str = "text-embedding-005",
    location: str = "us-central1",
    project: str | None = None,
) -> httpx.Response:
    url = (
        f"{emu.url}/v1/projects/{project or emu.project}/locations/{location}"
        f"/publishers/google/models/{model}:predict"
    )
    return httpx.post(url, json=body, headers={"Authorization": f"Bearer {emu.issue_token()}"})


def _openapi(emu: Emulator, body: Any, location: str = "us-central1") -> httpx.Response:
    url = f"{emu.base_url(location=location)}/embeddings"
    return httpx.post(url, json=body, headers={"Authorization": f"Bearer {emu.issue_token()}"})


def test_predict_shape(emu: Emulator) -> None:
    resp = _predict(
        emu,
        {"instances": [{"content": "Hello, world!"}], "parameters": {"outputDimensionality": 8}},
    )
    assert resp.status_code == 200
    pred = resp.json()["predictions"][0]["embeddings"]
    assert pred["statistics"] == {"token_count": 4, "truncated": False}
    assert len(pred["values"]) == 8
    assert resp.json()["metadata"]["billableCharacterCount"] == len("Hello, world!")


@pytest.mark.parametrize(
    ("model", "body", "status", "text"),
    [
        (
            "gemini-embedding-001",
            {"instances": [{"content": "a"}, {"content": "b"}]},
            400,
            "batchSize must be 1 but the entered value was 2",
        ),
        ("text-embedding-005", {"instances": [{"content": "a"}] * 251}, 400, "too many instances"),
        (
            "text-embedding-005",
            {"instances": [{"content": "a"}], "parameters": {"outputDimensionality": 769}},
            400,
            "outputDimensionality must be between 1 and 768",
        ),
        (
            "text-embedding-005",
            {"instances": [{"content": "a", "title": "T"}]},
            400,
            "title is only valid",
        ),
        (
            "text-embedding-005",
            {"instances": [{"content": "a", "task_type": "QUERY"}]},
            400,
            "Invalid task type",
        ),
        (
            "text-embedding-005",
            {"instances": [{"content": "w " * 2049}], "parameters": {"autoTruncate": False}},
            400,
            "supports up to 2048",
        ),
        (
            "text-embedding-005",
            {"instances": [{"content": "w " * 1500}] * 14},
            400,
            "supports up to 20000",
        ),
        ("text-embedding-999", {"instances": [{"content": "a"}]}, 404, "Publisher Model"),
    ],
)
def test_predict_errors_are_plain_objects(
    emu: Emulator, model: str, body: Any, status: int, text: str
) -> None:
    resp = _predict(emu, body, model=model)
    assert resp.status_code == status
    error = resp.json()["error"]  # a plain object, not a one-element list
    assert text in error["message"]
    assert error["code"] == status


def test_predict_truncates_by_default(emu: Emulator) -> None:
    resp = _predict(emu, {"instances": [{"content": "w " * 3000}]})
    stats = resp.json()["predictions"][0]["embeddings"]["statistics"]
    assert stats == {"token_count": 2048, "truncated": True}


def test_predict_checks_auth_and_project(emu: Emulator) -> None:
    url = (
        f"{emu.url}/v1/projects/{emu.project}/locations/us-central1/publishers/google/"
        "models/text-embedding-005:predict"
    )
    assert httpx.post(url, json={"instances": [{"content": "a"}]}).status_code == 401
    assert _predict(emu, {"instances": [{"content": "a"}]}, project="other").status_code == 403
    key = httpx.post(f"{url}?key={emu.api_key}", json={"instances": [{"content": "a"}]})
    assert key.status_code == 200


def test_openapi_shape_and_base64(emu: Emulator) -> None:
    body = {"model": "intfloat/multilingual-e5-small-maas", "input": ["hola", "mundo"]}
    resp = _openapi(emu, body)
    data = resp.json()
    assert [d["index"] for d in data["data"]] == [0, 1]
    assert len(data["data"][0]["embedding"]) == 384
    assert data["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    b64 = _openapi(emu, {**body, "encoding_format": "base64"}).json()
    assert isinstance(b64["data"][0]["embedding"], str)


@pytest.mark.parametrize(
    ("body", "location", "status", "text"),
    [
        ({"model": "text-embedding-005", "input": ["a"]}, "us-central1", 404, "Publisher Model"),
        (
            {"model": "intfloat/multilingual-e5-small-maas", "input": ["a"]},
            "global",
            404,
            "Publisher Model",
        ),
        (
            {"model": "intfloat/multilingual-e5-small-maas", "input": ["a"], "dimensions": 128},
            "us-central1",
            400,
            "384",
        ),
        (
            {"model": "intfloat/multilingual-e5-small-maas", "input": [1, 2]},
            "us-central1",
            400,
            "`input`",
        ),
    ],
)
def test_openapi_errors_are_list_wrapped(
    emu: Emulator, body: Any, location: str, status: int, text: str
) -> None:
    resp = _openapi(emu, body, location=location)
    assert resp.status_code == status
    (item,) = resp.json()
    assert text in item["error"]["message"]
