"""Model table and model-id normalisation."""

from __future__ import annotations

import pytest

from vertex_openai._errors import VertexConfigError
from vertex_openai._models import model_info, normalize_model_id, split_publisher


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gemini-2.5-flash", "google/gemini-2.5-flash"),
        ("google/gemini-2.5-flash", "google/gemini-2.5-flash"),
        ("publishers/google/models/gemini-2.5-pro", "google/gemini-2.5-pro"),
        (
            "projects/p/locations/global/publishers/google/models/gemini-3-pro-preview",
            "google/gemini-3-pro-preview",
        ),
        ("models/gemini-2.0-flash-001", "google/gemini-2.0-flash-001"),
        ("meta/llama-3.3-70b-instruct-maas", "meta/llama-3.3-70b-instruct-maas"),
        ("publishers/qwen/models/qwen3-coder-maas", "qwen/qwen3-coder-maas"),
        (" openai/gpt-oss-20b-maas ", "openai/gpt-oss-20b-maas"),
    ],
)
def test_normalize_openapi(model: str, expected: str) -> None:
    assert normalize_model_id(model, "openapi") == expected
    assert normalize_model_id(model, None) == expected


@pytest.mark.parametrize("model", ["llama-3.3-70b-instruct-maas", "gpt-4o", "claude-3"])
def test_bare_non_gemini_on_openapi_names_the_fix(model: str) -> None:
    with pytest.raises(VertexConfigError) as err:
        normalize_model_id(model, "openapi")
    assert model in str(err.value)
    assert "use 'publisher/model'" in str(err.value)
    assert "google/gemini-2.5-flash" in str(err.value)


@pytest.mark.parametrize("model", [None, "", "  "])
def test_empty_model_on_openapi(model: str | None) -> None:
    with pytest.raises(VertexConfigError, match="model is required"):
        normalize_model_id(model, "openapi")


@pytest.mark.parametrize("model", ["6714120476014149632", "mg-endpoint-1a2b-3c"])
def test_endpoint_id_given_as_model(model: str) -> None:
    with pytest.raises(VertexConfigError, match="endpoint_id="):
        normalize_model_id(model, "openapi")


@pytest.mark.parametrize("endpoint", ["6714120476014149632", "mg-endpoint-0f3c"])
@pytest.mark.parametrize("model", [None, "", "gemma-2-9b-it", "google/gemma-2-9b-it", "irrelevant"])
def test_self_deployed_passes_through(endpoint: str, model: str | None) -> None:
    assert normalize_model_id(model, endpoint) == model


def test_split_publisher() -> None:
    assert split_publisher("gemini-3-flash") == ("google", "gemini-3-flash")
    assert split_publisher("foo") == (None, "foo")


def test_gemini_25_flash() -> None:
    info = model_info("google/gemini-2.5-flash")
    assert info.is_gemini
    assert not info.is_gemini3
    assert info.context_window == 1_048_576
    assert info.max_output_tokens == 65_536
    assert info.can_disable_thinking
    assert info.supports_thinking
    assert not info.enforces_signatures
    assert info.supports_multiple_candidates
    assert info.supports_function_calling
    assert info.publisher == "google"


@pytest.mark.parametrize(
    "model", ["gemini-2.5-flash-lite", "google/gemini-2.5-flash-lite-preview-06-17"]
)
def test_flash_lite_can_disable(model: str) -> None:
    assert model_info(model).can_disable_thinking


def test_gemini_25_pro_cannot_disable_thinking() -> None:
    info = model_info("google/gemini-2.5-pro")
    assert info.supports_thinking
    assert not info.can_disable_thinking
    assert info.context_window == 1_048_576


@pytest.mark.parametrize(
    "model",
    [
        "google/gemini-3-pro-preview",
        "gemini-3-flash-preview",
        "google/gemini-3.1-pro-preview",
        "google/gemini-3.5-flash",
        "google/gemini-3.1-flash-lite",
    ],
)
def test_gemini3(model: str) -> None:
    info = model_info(model)
    assert info.is_gemini3
    assert info.enforces_signatures
    # thinking_budget 0 is accepted on Vertex's OpenAI endpoint (3.1 Pro, 3.5 Flash [OBS]).
    assert info.can_disable_thinking
    assert not info.supports_multiple_candidates
    assert info.context_window == 1_048_576
    assert info.max_output_tokens == 65_536


def test_gemini3_image_does_not_enforce_signatures() -> None:
    info = model_info("google/gemini-3-pro-image-preview")
    assert info.is_gemini3
    assert not info.enforces_signatures
    assert not info.supports_function_calling


def test_old_gemini() -> None:
    info = model_info("google/gemini-2.0-flash-001")
    assert info.is_gemini
    assert not info.supports_thinking
    assert not info.can_disable_thinking
    assert info.max_output_tokens == 8_192


def test_unknown_defaults() -> None:
    for model in ("acme/some-model", None, "", "my-finetune"):
        info = model_info(model)
        assert not info.is_gemini
        assert info.context_window == 131_072
        assert info.supports_function_calling
        assert info.supports_multiple_candidates


def test_partner_table() -> None:
    info = model_info("meta/llama-3.3-70b-instruct-maas")
    assert info.publisher == "meta"
    assert info.context_window == 131_072
    assert model_info("openai/gpt-oss-120b-maas").max_output_tokens == 32_768


def test_frozen() -> None:
    info = model_info("google/gemini-2.5-flash")
    with pytest.raises(AttributeError):
        info.context_window = 1  # type: ignore[misc]
