"""Behaviour of ChatVertexOpenAI over real HTTP against the local Vertex emulator."""

from __future__ import annotations

import base64
import json
import pathlib
import pickle
import warnings
from typing import Any

import openai
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, dumps
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.outputs import ChatResult
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from lc_support import PARENT_STREAM_WARNING, MakeModel, emulator_params
from pydantic import BaseModel, ValidationError

from langchain_vertex_openai import ChatVertexOpenAI
from vertex_openai._constants import SIGNATURE_SENTINEL, SIGNATURES_KEY
from vertex_openai.emulator import Emulator

THINK = {"thinking_config": {"include_thoughts": True}}


def _google(emu: Emulator) -> dict[str, Any]:
    return emu.requests[-1].json["extra_body"]["google"]


def _collect(chunks: Any) -> AIMessageChunk:
    full = None
    for chunk in chunks:
        full = chunk if full is None else full + chunk
    assert isinstance(full, AIMessageChunk)
    return full


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny in {city}"


@tool
def get_time(city: str) -> str:
    """Get the local time in a city."""
    return f"Noon in {city}"


class Joke(BaseModel):
    setup: str
    punchline: str


class TokenRecorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


# ---------------------------------------------------------------- construction


def test_is_a_chat_openai_and_no_io_at_construction(emulator: Emulator) -> None:
    llm = ChatVertexOpenAI(model="google/gemini-2.5-flash", project="p", location="us-central1")
    assert isinstance(llm, ChatOpenAI)
    assert str(llm.root_client.base_url).startswith(
        "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/"
    )
    assert llm._llm_type == "vertex-openai-chat"
    assert llm.stream_usage is True
    assert emulator.requests == []


def test_env_vars_and_openai_env_never_used(
    monkeypatch: pytest.MonkeyPatch, make_model: MakeModel, emulator: Emulator
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-never-leave")
    monkeypatch.setenv("OPENAI_API_BASE", "https://api.openai.example")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-leak")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", emulator.project)
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "europe-west4")
    llm = make_model(project=None, location=None)
    assert (llm.project, llm.location) == (emulator.project, "europe-west4")
    llm.invoke("hi")
    req = emulator.requests[-1]
    assert "/locations/europe-west4/" in req.path
    assert req.auth_kind == "bearer"
    assert "openai-organization" not in req.headers
    assert "sk-should-never-leave" not in json.dumps(req.headers)


def test_responses_api_is_refused() -> None:
    with pytest.raises(ValidationError, match="Chat Completions"):
        ChatVertexOpenAI(project="p", use_responses_api=True)
    with pytest.raises(ValidationError, match="responses/v1"):
        ChatVertexOpenAI(project="p", output_version="responses/v1")


def test_reasoning_dict_becomes_reasoning_effort(make_model: MakeModel, emulator: Emulator) -> None:
    llm = make_model(reasoning={"effort": "low"})
    llm.invoke("hi")
    req = emulator.requests[-1]
    assert req.path.endswith("/chat/completions")
    assert req.json["reasoning_effort"] == "low"
    assert "reasoning" not in req.json


def test_reasoning_effort_none(make_model: MakeModel, emulator: Emulator) -> None:
    make_model(reasoning_effort="none").invoke("hi")
    assert _google(emulator)["thinking_config"]["thinking_budget"] == 0
    assert "reasoning_effort" not in emulator.requests[-1].json
    with pytest.raises(ValidationError, match="cannot be\\s+turned off"):
        make_model(model="google/gemini-2.5-pro", reasoning_effort="none")


def test_invalid_safety_setting_is_clear() -> None:
    with pytest.raises(ValidationError, match="HARM_CATEGORY"):
        ChatVertexOpenAI(project="p", safety_settings=[{"category": "NOPE", "threshold": "OFF"}])


def test_ls_params_and_identifying_params() -> None:
    llm = ChatVertexOpenAI(
        project="p", safety_settings=[{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "OFF"}]
    )
    ls = llm._get_ls_params()
    assert ls["ls_provider"] == "google_vertexai"
    assert ls["ls_model_name"] == "google/gemini-2.5-flash"
    other = ChatVertexOpenAI(project="p")
    assert "google" in llm._identifying_params
    assert llm._get_llm_string() != other._get_llm_string()


# ---------------------------------------------------------------- secrets


def test_secrets_never_leak(make_model: MakeModel, emulator: Emulator) -> None:
    info = emulator.authorized_user_info()  # a dict holding a refresh token and secret
    llm = make_model(credentials=info)
    assert llm.invoke("hi").text
    assert llm._connection is not None
    assert llm._connection.token_provider is not None
    token = llm._connection.token_provider.token()  # the live access token
    express = make_model(credentials=None, api_key=emulator.api_key)
    assert express.invoke("hi").text
    assert emulator.requests[-1].auth_kind == "api_key"
    cases = (
        (llm, [token, info["refresh_token"], info["client_secret"]]),
        (express, [emulator.api_key]),
    )
    for model, secrets in cases:
        texts = [
            repr(model),
            str(model),
            json.dumps(model.model_dump(), default=str),
            dumps(model),
            json.dumps(dumpd(model), default=str),
            json.dumps(model._get_ls_params(), default=str),
            json.dumps(model._identifying_params, default=str),
            model.describe_credentials(),
        ]
        for text in texts:
            for secret in secrets:
                assert secret not in text
    blob = pickle.dumps(llm)
    for secret in (token, info["refresh_token"], info["client_secret"]):
        assert secret.encode() not in blob
    with pytest.raises(TypeError, match="express-mode"):
        pickle.dumps(express)


def test_pickle_round_trip_with_credentials_file(make_model: MakeModel, emulator: Emulator) -> None:
    llm = make_model(temperature=0.5)
    llm.invoke("warm up the token cache")
    clone = pickle.loads(pickle.dumps(llm))
    assert clone.temperature == 0.5
    assert clone.invoke("hi again").text
    assert emulator.requests[-1].auth_kind == "bearer"


# ---------------------------------------------------------------- Gemini extras


def test_extras_deep_merge_instance_below_call(make_model: MakeModel, emulator: Emulator) -> None:
    llm = make_model(
        safety_settings=[{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        thinking_config={"thinking_budget": 512},
        extra_body={"extra_body": {"google": {"media_resolution": "MEDIA_RESOLUTION_LOW"}}},
    )
    llm.invoke("hi")
    google = _google(emulator)
    assert google["thinking_config"] == {"thinking_budget": 512}
    assert google["media_resolution"] == "MEDIA_RESOLUTION_LOW"
    llm.invoke(
        "hi",
        extra_body={"extra_body": {"google": {"thinking_config": {"include_thoughts": True}}}},
    )
    google = _google(emulator)
    assert google["thinking_config"] == {"thinking_budget": 512, "include_thoughts": True}
    assert google["media_resolution"] == "MEDIA_RESOLUTION_LOW"  # instance extra_body kept
    assert google["thought_tag_marker"] == "thought"  # set automatically
    assert google["safety_settings"][0]["threshold"] == "BLOCK_NONE"
    # per-call Google keys as plain kwargs
    llm.invoke(
        "hi",
        cached_content=None,
        safety_settings=[{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
    )
    assert _google(emulator)["safety_settings"][0]["threshold"] == "BLOCK_ONLY_HIGH"
    assert "safety_settings" not in emulator.requests[-1].json


def test_model_kwargs_land_in_extra_body_google(make_model: MakeModel, emulator: Emulator) -> None:
    # The documented way for existing apps: silent (issue 12 item 11), warnings are errors.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        llm = make_model(
            model_kwargs={
                "safety_settings": [
                    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "OFF"}
                ],
                "thought_tag_marker": "think",
                "thinking_config": {"include_thoughts": True},
                "cached_content": "projects/p/locations/us-central1/cachedContents/1",
                "media_resolution": "MEDIA_RESOLUTION_LOW",
            }
        )
        llm.invoke("hi")
    body = emulator.requests[-1].json
    for key in ("safety_settings", "thought_tag_marker", "thinking_config", "cached_content"):
        assert key not in body
    google = body["extra_body"]["google"]
    assert google["safety_settings"] == [
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "OFF"}
    ]
    assert google["thought_tag_marker"] == "think"
    assert google["thinking_config"] == {"include_thoughts": True}
    assert google["cached_content"] == "projects/p/locations/us-central1/cachedContents/1"
    assert google["media_resolution"] == "MEDIA_RESOLUTION_LOW"


def test_model_kwargs_extra_given_twice_raises(make_model: MakeModel) -> None:
    with pytest.raises(ValueError, match="safety_settings was given both"):
        make_model(
            safety_settings=[{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}],
            model_kwargs={"safety_settings": []},
        )


# ---------------------------------------------------------------- thoughts


@pytest.mark.parametrize("marker", [None, "think"])
def test_thoughts_split_in_invoke(
    make_model: MakeModel, emulator: Emulator, marker: str | None
) -> None:
    llm = make_model(**THINK, thought_tag_marker=marker)
    msg = llm.invoke("Why is the sky blue?")
    assert _google(emulator)["thought_tag_marker"] == (marker or "thought")
    assert msg.text.startswith("Emulated answer")
    assert "<" not in msg.text
    thoughts = msg.additional_kwargs["reasoning_content"]
    assert "Understanding the request" in thoughts
    blocks = msg.content_blocks
    assert [b["type"] for b in blocks] == ["reasoning", "text"]
    assert blocks[0]["reasoning"] == thoughts


def test_earlier_thoughts_replayed_in_the_documented_tagged_form(
    make_model: MakeModel, emulator: Emulator
) -> None:
    llm = make_model(**THINK)
    first = llm.invoke("Why is the sky blue?")
    thoughts = first.additional_kwargs["reasoning_content"]
    llm.invoke([("user", "Why is the sky blue?"), first, ("user", "And at sunset?")])
    replayed = emulator.requests[-1].json["messages"][1]
    assert replayed["role"] == "assistant"
    assert replayed["content"] == f"<thought>{thoughts}</thought>{first.text}"
    # Without a marker on the request the thoughts would read as answer text: dropped.
    make_model().invoke([("user", "Hi"), first, ("user", "Again")])
    assert emulator.requests[-1].json["messages"][1]["content"] == first.text


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_thoughts_split_in_stream(make_model: MakeModel, emulator: Emulator, seed: int) -> None:
    emulator.config.seed = seed
    emulator.config.chunk_size_max = 3  # tags split across chunks
    llm = make_model(**THINK)
    recorder = TokenRecorder()
    full = _collect(llm.stream("Why is the sky blue?", config={"callbacks": [recorder]}))
    expected = llm.invoke("Why is the sky blue?")
    assert full.text == expected.text
    assert (
        full.additional_kwargs["reasoning_content"]
        == expected.additional_kwargs["reasoning_content"]
    )
    assert "".join(recorder.tokens) == expected.text  # callbacks see the cleaned text
    assert not any("<thought" in t or "thought>" in t for t in recorder.tokens)
    assert [b["type"] for b in full.content_blocks] == ["reasoning", "text"]


async def test_thoughts_split_in_astream_v1(make_model: MakeModel) -> None:
    llm = make_model(**THINK, output_version="v1")
    full = None
    async for chunk in llm.astream("Why is the sky blue?"):
        full = chunk if full is None else full + chunk
    assert isinstance(full, AIMessageChunk)
    types = [b["type"] for b in full.content_blocks]
    assert types == ["reasoning", "text"]
    assert full.text.startswith("Emulated answer")


def test_thought_flag_without_tags(make_model: MakeModel, emulator: Emulator) -> None:
    emulator.config.thought_extra_content = True
    msg = make_model(**THINK).invoke("hello")
    assert msg.text.startswith("Emulated answer")
    assert msg.additional_kwargs["reasoning_content"]


# ---------------------------------------------------------------- usage


def test_usage_metadata_invoke_and_stream(make_model: MakeModel) -> None:
    llm = make_model(reasoning_effort="low")
    for msg in (llm.invoke("Explain tides."), _collect(llm.stream("Explain tides."))):
        usage = msg.usage_metadata
        assert usage is not None
        reasoning = usage["output_token_details"]["reasoning"]
        assert reasoning > 0
        assert usage["output_tokens"] > reasoning  # output includes reasoning
        assert usage["input_tokens"] + usage["output_tokens"] == usage["total_tokens"]
        assert usage["input_token_details"]["cache_read"] == 0
        assert msg.response_metadata["model_provider"] == "google_vertex_openai"
        assert msg.response_metadata["model_name"] == "google/gemini-2.5-flash"


def test_usage_cache_read_from_a_vertex_response() -> None:
    llm = ChatVertexOpenAI(project="p")
    response = {
        "id": "x",
        "model": "google/gemini-2.5-flash",
        "object": "chat.completion",
        "created": 0,
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 10,
            "total_tokens": 140,
            "completion_tokens_details": {"reasoning_tokens": 30},
            "prompt_tokens_details": {"cached_tokens": 80},
        },
    }
    result: ChatResult = llm._create_chat_result(response)
    usage = result.generations[0].message.usage_metadata  # type: ignore[attr-defined]
    assert usage == {
        "input_tokens": 100,
        "output_tokens": 40,
        "total_tokens": 140,
        "input_token_details": {"cache_read": 80},
        "output_token_details": {"reasoning": 30},
    }


# ---------------------------------------------------------------- tools


def test_streaming_parallel_tool_calls_with_index_quirk(
    make_model: MakeModel, emulator: Emulator
) -> None:
    emulator.config.stream_tool_index_quirk = True
    emulator.config.chunk_size_max = 4
    llm = make_model(model_kwargs={"stream_function_call_arguments": True}).bind_tools(
        [get_weather, get_time]
    )
    prompt = "Use get_weather and get_time for 'Paris'"
    full = _collect(llm.stream(prompt))
    assert _google(emulator)["stream_function_call_arguments"] is True
    assert [(tc["name"], tc["args"]) for tc in full.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"city": "Paris"}),
    ]
    assert len({tc["id"] for tc in full.tool_calls}) == 2
    assert not full.invalid_tool_calls


def test_tool_call_after_thoughts_in_v1_stream(make_model: MakeModel) -> None:
    llm = make_model(**THINK, output_version="v1").bind_tools([get_weather])
    full = _collect(llm.stream("Call get_weather for 'Oslo'"))
    types = [b["type"] for b in full.content_blocks]
    assert "reasoning" in types
    assert types.count("tool_call") == 1
    assert full.tool_calls[0]["args"] == {"city": "Oslo"}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("none", "none"),
        ("auto", "auto"),
        ("required", "required"),
        ("any", "required"),
        ("get_time", {"type": "function", "function": {"name": "get_time"}}),
    ],
)
def test_bind_tools_tool_choice(
    make_model: MakeModel, emulator: Emulator, choice: str, expected: Any
) -> None:
    llm = make_model().bind_tools([get_weather, get_time], tool_choice=choice)
    msg = llm.invoke("Hello 'Rome'")
    assert emulator.requests[-1].json["tool_choice"] == expected
    if choice == "none":
        assert not msg.tool_calls
    elif choice == "get_time":
        assert [tc["name"] for tc in msg.tool_calls] == ["get_time"]
    elif choice in ("required", "any"):
        assert msg.tool_calls


def test_tool_choice_validated(make_model: MakeModel, emulator: Emulator) -> None:
    llm = make_model().bind(
        tools=[
            get_weather.tool_call_schema
            and {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                },
            }
        ],
        tool_choice="validated",
    )
    msg = llm.invoke("weather for 'Lima'")
    assert emulator.requests[-1].json["tool_choice"] == "validated"
    assert msg.tool_calls[0]["args"] == {"city": "Lima"}


@pytest.mark.parametrize("search_tool", [{"google_search": {}}, {"type": "google_search"}])
def test_google_search_grounding(
    make_model: MakeModel, emulator: Emulator, search_tool: dict[str, Any]
) -> None:
    msg = make_model().bind_tools([search_tool]).invoke("latest news")
    req = emulator.requests[-1]
    assert req.path.endswith("/chat/completions")
    assert req.json["web_search_options"] == {}
    assert "tools" not in req.json
    assert "According to Google Search" in msg.text
    make_model().invoke("latest news", web_search_options={})
    assert emulator.requests[-1].json["web_search_options"] == {}
    both = make_model().bind_tools([get_weather, search_tool], tool_choice="auto")
    both.invoke("Use get_weather for 'Rome'")
    req = emulator.requests[-1].json
    assert req["web_search_options"] == {}
    assert [t["function"]["name"] for t in req["tools"]] == ["get_weather"]


def test_tool_schema_sanitized(make_model: MakeModel, emulator: Emulator) -> None:
    emulator.config.strict_tool_schema = True

    class Address(BaseModel):
        city: str

    class Ship(BaseModel):
        """Ship a parcel."""

        to: Address
        weight: float

    msg = make_model().bind_tools([Ship], tool_choice="required").invoke("Ship 2 kg to 'Oslo'")
    assert msg.tool_calls[0]["name"] == "Ship"
    params = emulator.requests[-1].json["tools"][0]["function"]["parameters"]
    assert "$defs" not in json.dumps(params)


def test_recursive_schema_is_a_clear_error(make_model: MakeModel, emulator: Emulator) -> None:
    # LangChain's own converter cuts recursion in pydantic models; a raw JSON schema
    # tool keeps the cycle, which Gemini cannot take.
    node = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
        },
        "$defs": {"Node": {"$ref": "#"}},
    }
    tool_dict = {
        "type": "function",
        "function": {"name": "tree", "description": "A tree.", "parameters": node},
    }
    with pytest.raises(ValueError, match="(?i)recursive"):
        make_model().bind_tools([tool_dict]).invoke("build a tree")
    assert emulator.requests == []


# ---------------------------------------------------------------- structured output


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
@pytest.mark.parametrize("thinking", [False, True])
def test_structured_output(make_model: MakeModel, method: str, thinking: bool) -> None:
    llm = make_model(**(THINK if thinking else {}))
    schema: Any = (
        Joke
        if method != "json_mode"
        else {
            "title": "Answer",
            "type": "object",
            "properties": {"answer": {"type": "string"}},
        }
    )
    structured = llm.with_structured_output(schema, method=method)  # type: ignore[arg-type]
    result = structured.invoke("Tell me a joke about cats. Respond in JSON.")
    if method == "json_schema":
        # langchain-openai's own warning: plain ChatOpenAI prints it too (lc_support).
        with pytest.warns(UserWarning, match=PARENT_STREAM_WARNING):
            streamed = list(structured.stream("Tell me a joke about cats. Respond in JSON."))
    else:
        streamed = list(structured.stream("Tell me a joke about cats. Respond in JSON."))
    if method == "json_mode":
        assert set(result) == {"answer"}
        assert streamed[-1] == result
    else:
        assert isinstance(result, Joke)
        assert isinstance(streamed[-1], Joke)


def test_structured_output_include_raw_with_thoughts(make_model: MakeModel) -> None:
    llm = make_model(**THINK).with_structured_output(
        Joke, method="function_calling", include_raw=True
    )
    out = llm.invoke("Tell me a joke")
    assert isinstance(out["parsed"], Joke)
    # The thoughts come back on the raw message, apart from the structured answer.
    thoughts = out["raw"].additional_kwargs["reasoning_content"]
    assert isinstance(thoughts, str)
    assert thoughts.strip()
    assert thoughts not in out["parsed"].model_dump_json()
    assert [call["name"] for call in out["raw"].tool_calls] == ["Joke"]


# ---------------------------------------------------------------- multimodal

_PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a2d2a7a40000000049454e44ae426082"
    )
).decode()
_WAV = base64.b64encode(b"RIFF$\x00\x00\x00WAVEfmt " + b"\x00" * 28).decode()
_PDF = base64.b64encode(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF").decode()


def test_multimodal_blocks(make_model: MakeModel, emulator: Emulator) -> None:
    message = HumanMessage(
        content_blocks=[
            {"type": "text", "text": "Describe these."},
            {"type": "image", "base64": _PNG, "mime_type": "image/png"},
            {"type": "image", "url": "gs://bucket/cat.jpg", "mime_type": "image/jpeg"},
            {"type": "audio", "base64": _WAV, "mime_type": "audio/wav"},
            {"type": "file", "base64": _PDF, "mime_type": "application/pdf", "filename": "doc.pdf"},
        ]
    )
    msg = make_model().invoke([message])
    parts = emulator.requests[-1].json["messages"][0]["content"]
    kinds = [p["type"] for p in parts]
    assert kinds == ["text", "image_url", "image_url", "input_audio", "image_url"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert parts[2]["image_url"]["url"] == "gs://bucket/cat.jpg"
    assert parts[3]["input_audio"]["format"] == "audio/wav"
    assert parts[4]["image_url"]["url"].startswith("data:application/pdf;base64,")
    assert "Received parts" in msg.text


def test_inline_pdf_without_a_filename_is_sent_without_a_warning(
    make_model: MakeModel, emulator: Emulator
) -> None:
    # langchain-openai would warn "OpenAI may require a filename" (and invent one); Vertex
    # takes the document as an image_url data: URI, which has no filename. The filter
    # setting (warnings are errors) fails this test on any warning.
    model = make_model()
    blocks: list[Any] = [
        {"type": "file", "base64": _PDF, "mime_type": "application/pdf"},
        {"type": "file", "source_type": "base64", "data": _PDF, "mime_type": "application/pdf"},
        # The Chat Completions form, with its filename: the same wire part.
        {
            "type": "file",
            "file": {"filename": "a.pdf", "file_data": f"data:application/pdf;base64,{_PDF}"},
        },
    ]
    sent = []
    for block in blocks:
        model.invoke([HumanMessage(content=[{"type": "text", "text": "Summarize."}, block])])
        sent.append(emulator.requests[-1].json["messages"][0]["content"][1])
    expected = {"type": "image_url", "image_url": {"url": f"data:application/pdf;base64,{_PDF}"}}
    assert sent == [expected] * 3


def test_file_audio_and_video_by_gcs_uri(make_model: MakeModel, emulator: Emulator) -> None:
    message = HumanMessage(
        content_blocks=[
            {"type": "text", "text": "Summarize."},
            {"type": "file", "url": "gs://bucket/report.pdf", "mime_type": "application/pdf"},
            {"type": "audio", "url": "gs://bucket/talk.mp3", "mime_type": "audio/mpeg"},
            {"type": "video", "url": "gs://bucket/clip.mp4", "mime_type": "video/mp4"},
        ]
    )
    assert make_model().invoke([message]).text
    parts = emulator.requests[-1].json["messages"][0]["content"]
    # A URI in image_url would default to image/*: non-images keep their MIME type.
    assert parts[1] == {
        "type": "input_audio",
        "input_audio": {"data": "gs://bucket/report.pdf", "format": "application/pdf"},
    }
    assert parts[2] == {
        "type": "input_audio",
        "input_audio": {"data": "gs://bucket/talk.mp3", "format": "audio/mpeg"},
    }
    assert parts[3] == {
        "type": "input_audio",
        "input_audio": {"data": "gs://bucket/clip.mp4", "format": "video/mp4"},
    }


def test_safety_settings_mapping_form(make_model: MakeModel, emulator: Emulator) -> None:
    make_model(safety_settings={"dangerous_content": "block_only_high"}).invoke("Hi")
    assert emulator.requests[-1].json["extra_body"]["google"]["safety_settings"] == [
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_ONLY_HIGH"}
    ]


def test_image_returned_in_audio_becomes_image_block() -> None:
    llm = ChatVertexOpenAI(project="p")
    response = {
        "id": "x",
        "model": "google/gemini-3-pro-image-preview",
        "object": "chat.completion",
        "created": 0,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": "Here it is.",
                    "audio": {
                        "id": "a",
                        "data": _PNG,
                        "expires_at": 0,
                        "transcript": "",
                        "extra_content": {"google": {"mime_type": "image/png"}},
                    },
                },
            }
        ],
    }
    msg = llm._create_chat_result(response).generations[0].message
    blocks = msg.content_blocks
    assert [b["type"] for b in blocks] == ["text", "image"]
    assert blocks[1]["base64"] == _PNG  # type: ignore[typeddict-item]


# ---------------------------------------------------------------- signatures (manual loop)


def test_signatures_kept_and_sent_back(make_model: MakeModel, emulator: Emulator) -> None:
    llm = make_model(model="google/gemini-3-pro-preview", location="global")
    bound = llm.bind_tools([get_weather, get_time])
    question = HumanMessage("Use get_weather and get_time for 'Paris'")
    for stream in (False, True):
        ai = _collect(bound.stream([question])) if stream else bound.invoke([question])
        sigs = ai.additional_kwargs[SIGNATURES_KEY]
        assert list(sigs) == [ai.tool_calls[0]["id"]]  # first call only, not concatenated
        assert isinstance(next(iter(sigs.values())), str)
        history = [question, ai] + [
            ToolMessage(f"result {i}", tool_call_id=tc["id"]) for i, tc in enumerate(ai.tool_calls)
        ]
        final = bound.invoke(history)
        assert final.text.startswith("Tool get_weather returned")
        sent = emulator.requests[-1].json["messages"][1]["tool_calls"][0]
        assert sent["extra_content"]["google"]["thought_signature"] == next(iter(sigs.values()))


def test_hand_built_history_gets_sentinel(make_model: MakeModel, emulator: Emulator) -> None:
    llm = make_model(model="google/gemini-3-pro-preview", location="global")
    history = [
        HumanMessage("weather in 'Paris'?"),
        AIMessage(
            "", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}]
        ),
        ToolMessage("sunny", tool_call_id="call_1"),
    ]
    msg = llm.bind_tools([get_weather]).invoke(history)
    assert msg.text
    sent = emulator.requests[-1].json["messages"][1]["tool_calls"][0]
    assert sent["extra_content"]["google"]["thought_signature"] == SIGNATURE_SENTINEL


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("fault", "exc_type", "words"),
    [
        ("rate_limit", openai.RateLimitError, "429"),
        ("permission_denied", openai.PermissionDeniedError, "PERMISSION_DENIED"),
        ("internal", openai.InternalServerError, "500"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
async def test_readable_errors(
    make_model: MakeModel, emulator: Emulator, fault: str, exc_type: type, words: str, stream: bool
) -> None:
    llm = make_model()
    emulator.inject_fault(fault, count=2)
    call = (lambda: list(llm.stream("hi"))) if stream else (lambda: llm.invoke("hi"))
    with pytest.raises(exc_type) as info:
        call()
    text = str(info.value)
    assert "Vertex AI returned" in text
    assert words in text
    emulator.inject_fault(fault, count=2)

    async def acall() -> Any:
        if stream:
            return [chunk async for chunk in llm.astream("hi")]
        return await llm.ainvoke("hi")

    with pytest.raises(exc_type, match="Vertex AI returned"):
        await acall()


def test_missing_project_in_wrong_project_is_readable(make_model: MakeModel) -> None:
    llm = make_model(project="someone-elses-project")
    with pytest.raises(openai.PermissionDeniedError, match="Vertex AI returned 403"):
        llm.invoke("hi")


def test_wrong_model_region_error_readable(make_model: MakeModel) -> None:
    with pytest.raises(openai.APIStatusError, match="Vertex AI returned"):
        make_model(model="google/gemini-9-ultra").invoke("hi")


def test_self_deployed_endpoint_sends_no_gemini_default(
    emulator: Emulator, sa_file: pathlib.Path
) -> None:
    from langchain_vertex_openai import ChatVertexOpenAI

    params = emulator_params(emulator, sa_file, endpoint_id="1234567890")
    params.pop("model")
    llm = ChatVertexOpenAI(**params)
    assert llm.invoke("Hi").text
    assert emulator.requests[-1].json["model"] == ""
    with pytest.raises(ValueError, match="Drop `endpoint_id`"):
        ChatVertexOpenAI(model="gemini-2.5-flash", project="p", endpoint_id="1234567890")
