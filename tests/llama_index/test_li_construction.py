"""Construction, defaults, metadata, endpoint resolution and secret hygiene."""

from __future__ import annotations

import json
import pickle

import pytest

pytestmark = pytest.mark.llama_index
pytest.importorskip("llama_index.core")

from llama_index.core.llms.function_calling import FunctionCallingLLM  # noqa: E402
from llama_index.llms.openai_like import OpenAILike  # noqa: E402

from llama_index_vertex_openai import ChatVertexOpenAI, VertexOpenAI  # noqa: E402
from vertex_openai import VertexConfigError  # noqa: E402

API_KEY = "AIzaSy-express-key-0123456789"


def test_class_hierarchy_and_alias() -> None:
    assert issubclass(ChatVertexOpenAI, OpenAILike)
    assert issubclass(ChatVertexOpenAI, FunctionCallingLLM)
    assert VertexOpenAI is ChatVertexOpenAI
    assert ChatVertexOpenAI.class_name() == "ChatVertexOpenAI"


@pytest.mark.parametrize(
    ("model", "context", "output", "fc"),
    [
        ("google/gemini-2.5-flash", 1_048_576, 65_536, True),
        ("google/gemini-3-pro-preview", 1_048_576, 65_536, True),
        ("gemini-2.5-pro", 1_048_576, 65_536, True),
        ("google/gemini-3-pro-image-preview", 65_536, 32_768, False),
        ("meta/llama-3.3-70b-instruct-maas", 131_072, 8_192, True),
    ],
)
def test_defaults_from_model_table(model: str, context: int, output: int, fc: bool) -> None:
    llm = ChatVertexOpenAI(model=model, project="p")
    meta = llm.metadata
    assert meta.is_chat_model is True
    assert meta.is_function_calling_model is fc
    assert meta.context_window == context
    assert meta.num_output == output
    assert meta.model_name == model


def test_defaults_are_overridable() -> None:
    llm = ChatVertexOpenAI(
        model="google/gemini-2.5-flash",
        project="p",
        context_window=32_000,
        max_tokens=1_000,
        is_function_calling_model=False,
    )
    meta = llm.metadata
    assert (meta.context_window, meta.num_output, meta.is_function_calling_model) == (
        32_000,
        1_000,
        False,
    )


def test_base_url_from_project_and_location() -> None:
    llm = ChatVertexOpenAI(model="google/gemini-2.5-flash", project="proj", location="europe-west4")
    assert llm.api_base == (
        "https://europe-west4-aiplatform.googleapis.com/v1/projects/proj/locations/"
        "europe-west4/endpoints/openapi"
    )
    glob = ChatVertexOpenAI(model="google/gemini-2.5-flash", project="proj")
    assert glob.api_base.startswith("https://aiplatform.googleapis.com/v1/projects/proj/")


def test_env_project_and_location(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-proj")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "us-east5")
    llm = ChatVertexOpenAI(model="google/gemini-2.5-flash")
    assert "/projects/env-proj/locations/us-east5/" in llm.api_base


def test_api_base_alias_and_base_url() -> None:
    url = "https://proxy.example.com/v1/projects/p/locations/global/endpoints/openapi"
    assert ChatVertexOpenAI(model="google/gemini-2.5-flash", api_base=url).api_base == url
    assert ChatVertexOpenAI(model="google/gemini-2.5-flash", base_url=url).api_base == url


def test_self_deployed_and_dedicated_endpoint() -> None:
    llm = ChatVertexOpenAI(
        model="",
        project="p",
        location="us-central1",
        endpoint_id="1234567890",
        dedicated_endpoint_dns="1234567890.us-central1-123.prediction.vertexai.goog",
        api_version="v1beta1",
    )
    assert llm.api_base == (
        "https://1234567890.us-central1-123.prediction.vertexai.goog/v1beta1/projects/p/"
        "locations/us-central1/endpoints/1234567890"
    )


def test_openai_env_is_never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-secret")
    monkeypatch.setenv("OPENAI_API_BASE", "https://api.openai.com/v1")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-01-01")
    llm = ChatVertexOpenAI(model="google/gemini-2.5-flash", project="p")
    assert "sk-openai-secret" not in llm.to_json()
    assert "openai.com" not in llm.api_base
    assert llm.api_version == "v1"
    kwargs = llm._get_credential_kwargs()
    assert kwargs["api_key"] != "sk-openai-secret"
    assert "aiplatform.googleapis.com" in kwargs["base_url"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"safety_settings": [{"category": "NOPE", "threshold": "BLOCK_NONE"}]}, "safety"),
        ({"thinking_config": {"budget": 3}}, "thinking_config"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"reasoning_effort": "low", "thinking_config": {"thinking_budget": 10}}, "thinking"),
        ({"cached_content": "projects/p/locations/global/cachedContents/1"}, "global"),
        ({"thought_tag_marker": "<bad>"}, "thought_tag_marker"),
        ({"api_version": "v2"}, "api_version"),
    ],
)
def test_bad_settings_fail_at_construction(kwargs: dict, fragment: str) -> None:
    with pytest.raises(VertexConfigError, match=fragment):
        ChatVertexOpenAI(model="google/gemini-2.5-flash", project="p", location="global", **kwargs)


def test_model_without_publisher_is_rejected() -> None:
    with pytest.raises(VertexConfigError, match="publisher"):
        ChatVertexOpenAI(model="llama-3.3-70b", project="p")


def test_construction_does_no_io(emulator, sa_file) -> None:  # type: ignore[no-untyped-def]
    ChatVertexOpenAI(
        model="google/gemini-2.5-flash",
        project=emulator.project,
        api_endpoint=emulator.url,
        credentials=str(sa_file),
    )
    assert emulator.requests == []
    assert sum(emulator.token_grants.values()) == 0


def _dumps(llm: ChatVertexOpenAI) -> list[str]:
    return [repr(llm), str(llm), llm.to_json(), json.dumps(llm.to_dict()), str(pickle.dumps(llm))]


def test_express_key_never_serialized() -> None:
    llm = ChatVertexOpenAI(model="google/gemini-2.5-flash", project="p", api_key=API_KEY)
    for text in _dumps(llm):
        assert API_KEY not in text
    assert "api_key" in llm.describe_credentials().lower() or "key" in llm.describe_credentials()


def test_credentials_objects_never_serialized(emulator, sa_file) -> None:  # type: ignore[no-untyped-def]
    info = emulator.service_account_info()
    private_key = info["private_key"]
    llm = ChatVertexOpenAI(model="google/gemini-2.5-flash", project="p", credentials=info)
    for text in _dumps(llm):
        assert private_key not in text
        assert "BEGIN PRIVATE KEY" not in text
    assert "credentials" not in llm.to_dict()


def test_to_dict_round_trip_keeps_endpoint(emulator, sa_file) -> None:  # type: ignore[no-untyped-def]
    llm = ChatVertexOpenAI(
        model="google/gemini-2.5-flash",
        project=emulator.project,
        location="us-central1",
        api_endpoint=emulator.url,
        credentials=str(sa_file),
        safety_settings={"HARASSMENT": "BLOCK_NONE"},
    )
    again = ChatVertexOpenAI.from_dict(llm.to_dict())
    assert again.api_base == llm.api_base
    assert again.metadata == llm.metadata
    assert again.api_endpoint == emulator.url


def test_pickle_round_trip_works(make_llm) -> None:  # type: ignore[no-untyped-def]
    llm = make_llm()
    again = pickle.loads(pickle.dumps(llm))
    assert again.api_base == llm.api_base
    assert again.credentials == llm.credentials  # a path is kept; objects are dropped
    assert again.complete("Say hi").text


def test_unpickled_express_model_asks_for_the_key_again() -> None:
    llm = ChatVertexOpenAI(model="google/gemini-2.5-flash", project="p", api_key=API_KEY)
    again = pickle.loads(pickle.dumps(llm))
    with pytest.raises(VertexConfigError, match="api_key"):
        again._get_credential_kwargs()


def test_self_deployed_endpoint_sends_no_gemini_default(make_llm, bodies) -> None:
    from llama_index.core.llms import ChatMessage

    from llama_index_vertex_openai import ChatVertexOpenAI
    from vertex_openai import VertexConfigError

    llm = make_llm(model=None, endpoint_id="1234567890")
    assert llm.chat([ChatMessage(role="user", content="Hi")]).message.content
    assert bodies()[-1]["model"] == ""
    with pytest.raises(VertexConfigError, match="Drop `endpoint_id`"):
        ChatVertexOpenAI(model="gemini-2.5-flash", project="p", endpoint_id="1234567890")


def test_extra_body_argument_is_sent_as_newer_openai_like_does(make_llm, bodies) -> None:
    # OpenAILike's own test: extra_body= lands in additional_kwargs, merged with one there.
    llm = make_llm(
        additional_kwargs={"extra_body": {"google": {"cached_content": None}}},
        extra_body={
            "google": {
                "safety_settings": [
                    {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_ONLY_HIGH"}
                ]
            }
        },
    )
    assert "safety_settings" in llm.additional_kwargs["extra_body"]["google"]
    llm.complete("Hi")
    google = bodies()[0]["extra_body"]["google"]
    assert google["safety_settings"] == [
        {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_ONLY_HIGH"}
    ]


def test_pickle_after_calls_and_call_again(make_llm) -> None:  # type: ignore[no-untyped-def]
    llm = make_llm()
    assert llm.complete("Say hi").text  # the shaped clients exist now
    again = pickle.loads(pickle.dumps(llm))
    assert again.complete("Say hi").text
    assert "".join(r.delta or "" for r in again.stream_complete("Say hi"))
