"""The emulator's chat endpoint, driven by the raw openai SDK over real HTTP."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pydantic
import pytest

from vertex_openai.emulator import Emulator

SIG_MISSING = (
    "Unable to submit request because function call `get_weather` in the 2. content block is "
    "missing a `thought_signature`. Learn more: "
    "https://docs.cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures"
)
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {
            "type": "object",
            "properties": {"tz": {"type": "string"}},
            "required": ["tz"],
        },
    },
}


def client(emu: Emulator, endpoint: str = "openapi", version: str = "v1", **kw) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=emu.base_url(endpoint=endpoint, version=version),
        api_key=emu.issue_token(),
        max_retries=0,
        **kw,
    )


def raw_post(
    emu: Emulator, body: dict, *, endpoint: str = "openapi", headers=None, host: str | None = None
) -> httpx.Response:
    h = {"Authorization": f"Bearer {emu.issue_token()}", **(headers or {})}
    if host:
        h["Host"] = host
    return httpx.post(
        emu.base_url(endpoint=endpoint) + "/chat/completions", json=body, headers=h, timeout=10
    )


USER = [{"role": "user", "content": "Say hello"}]


# -- wire shape -----------------------------------------------------------------------------
def test_official_sample_style_non_streaming(emulator: Emulator) -> None:
    c = client(emulator)
    resp = c.chat.completions.create(
        model="google/gemini-2.5-flash",
        messages=USER,
        extra_body={"extra_body": {"google": {"thinking_config": {"thinking_budget": 50}}}},
    )
    assert not resp.id.startswith("chatcmpl")
    assert resp.system_fingerprint == ""
    assert resp.model == "google/gemini-2.5-flash"
    assert resp.choices[0].logprobs is None
    assert resp.choices[0].message.content
    u = resp.usage
    assert u.completion_tokens_details.reasoning_tokens == 50
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens + 50
    assert u.model_extra["extra_properties"] == {"google": {"traffic_type": "ON_DEMAND"}}
    rec = emulator.requests[-1]
    assert rec.auth_kind == "bearer"
    assert rec.token_id.startswith("tok-")
    assert "ya29" not in json.dumps(rec.headers)
    assert 3500 < rec.token_remaining_s <= 3600
    assert rec.status == 200


def test_raw_body_sorted_keys_and_headers(emulator: Emulator) -> None:
    r = raw_post(
        emulator,
        {
            "model": "google/gemini-2.0-flash-001",
            "messages": USER,
            "stream_options": {"include_usage": True},
            "unknown_param": 1,
        },
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=UTF-8"
    body = r.json()
    assert list(body) == sorted(body)
    assert "completion_tokens_details" not in body["usage"]
    assert "x-request-id" not in r.headers


def test_v1beta1_and_key_query_and_role_aliases(emulator: Emulator) -> None:
    c = openai.OpenAI(
        base_url=emulator.base_url(version="v1beta1"),
        api_key="unused",
        default_query={"key": emulator.api_key},
        max_retries=0,
    )
    resp = c.chat.completions.create(
        model="google/gemini-2.5-flash",
        messages=[
            {"role": "system", "content": "be nice"},
            {"role": "user", "content": "hi", "name": "alice"},
            {"role": "user", "content": "again"},
            {"role": "model", "content": "hello"},
            {"role": "user", "content": "bye"},
        ],
    )
    assert resp.choices[0].message.content
    rec = emulator.requests[-1]
    assert rec.auth_kind == "api_key"
    assert rec.query["key"] == "<redacted>"
    assert rec.token_remaining_s is None
    bad = httpx.post(
        emulator.base_url() + "/chat/completions?key=nope",
        json={"model": "google/gemini-2.5-flash", "messages": USER},
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["message"].startswith("API key not valid")


def test_streaming_shape(emulator: Emulator) -> None:
    c = client(emulator)
    chunks = list(
        c.chat.completions.create(
            model="google/gemini-2.5-flash",
            messages=USER,
            stream=True,
        )
    )
    assert len(chunks) > 2
    for ch in chunks:
        assert ch.choices[0].delta.role == "assistant"
        assert ch.system_fingerprint == ""
        assert ch.id == chunks[0].id
    assert all(ch.usage is None for ch in chunks[:-1])
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.usage.completion_tokens_details.reasoning_tokens > 0
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks)
    assert text.startswith("Emulated answer")


def test_stream_raw_sse_and_determinism(emulator: Emulator) -> None:
    body = {
        "model": "google/gemini-2.5-flash",
        "messages": USER,
        "stream": True,
        "extra_body": {
            "google": {"thinking_config": {"include_thoughts": True}, "thought_tag_marker": "think"}
        },
    }
    r1, r2 = raw_post(emulator, body), raw_post(emulator, body)
    assert r1.headers["content-type"].startswith("text/event-stream")
    lines = [ln for ln in r1.text.split("\n\n") if ln]
    assert lines[-1] == "data: [DONE]"
    data1 = [json.loads(ln[6:])["choices"][0]["delta"]["content"] for ln in lines[:-1]]
    lines2 = [ln for ln in r2.text.split("\n\n") if ln]
    data2 = [json.loads(ln[6:])["choices"][0]["delta"]["content"] for ln in lines2[:-1]]
    assert data1 == data2  # same seed, same request -> same chunking
    full = "".join(data1)
    assert full.startswith("<think>")
    assert "</think>Emulated answer" in full
    # tags are split across chunks somewhere
    assert "<think>" not in data1
    assert not any(d.endswith("</think>") for d in data1)
    emulator.config.seed = 7
    data3 = [
        json.loads(ln[6:])["choices"][0]["delta"]["content"]
        for ln in raw_post(emulator, body).text.split("\n\n")
        if ln and "[DONE]" not in ln
    ]
    assert data3 != data1
    assert "".join(data3) == full


def test_thoughts_untagged_and_extra_content_flag(emulator: Emulator) -> None:
    c = client(emulator)
    extra = {"extra_body": {"google": {"thinking_config": {"include_thoughts": True}}}}
    resp = c.chat.completions.create(model="google/gemini-2.5-pro", messages=USER, extra_body=extra)
    content = resp.choices[0].message.content
    assert content.startswith("**Understanding the request**")
    assert "<" not in content.split("\n")[0]
    emulator.config.thought_extra_content = True
    chunks = list(
        c.chat.completions.create(
            model="google/gemini-2.5-pro", messages=USER, extra_body=extra, stream=True
        )
    )
    flagged = [
        ch
        for ch in chunks
        if (ch.choices[0].delta.model_extra.get("extra_content") or {})
        .get("google", {})
        .get("thought")
    ]
    assert flagged
    assert not any("Emulated" in (ch.choices[0].delta.content or "") for ch in flagged)


def test_top_level_google_key(emulator: Emulator) -> None:
    c = client(emulator)
    resp = c.chat.completions.create(
        model="google/gemini-2.5-flash",
        messages=USER,
        extra_body={"google": {"thinking_config": {"thinking_budget": 0}}},
    )
    assert resp.usage.completion_tokens_details is None
    resp = c.chat.completions.create(
        model="google/gemini-2.5-flash", messages=USER, reasoning_effort="low"
    )
    assert 0 < resp.usage.completion_tokens_details.reasoning_tokens <= 1024


# -- tools ----------------------------------------------------------------------------------------
def test_tool_call_from_message_literals(emulator: Emulator) -> None:
    c = client(emulator)
    resp = c.chat.completions.create(
        model="google/gemini-2.5-flash",
        messages=[
            {"role": "user", "content": "Use get_weather for 'Zürich' over 3 days in celsius"}
        ],
        tools=[WEATHER_TOOL],
    )
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.id == "get_weather"  # Gemini 2.x: the function name (Google's sample)
    assert json.loads(call.function.arguments) == {"city": "Zürich", "days": 3, "unit": "celsius"}
    assert call.model_extra.get("extra_content") is None  # Gemini 2.5: no signatures


def test_tool_choice_required_and_forced_and_none(emulator: Emulator) -> None:
    c = client(emulator)
    msgs = [{"role": "user", "content": "hello there"}]
    r = c.chat.completions.create(
        model="google/gemini-2.5-flash",
        messages=msgs,
        tools=[WEATHER_TOOL, TIME_TOOL],
        tool_choice="required",
    )
    assert r.choices[0].message.tool_calls[0].function.name == "get_weather"
    r = c.chat.completions.create(
        model="google/gemini-2.5-flash",
        messages=msgs,
        tools=[WEATHER_TOOL, TIME_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    assert r.choices[0].message.tool_calls[0].function.name == "get_time"
    r = c.chat.completions.create(
        model="google/gemini-2.5-flash", messages=msgs, tools=[WEATHER_TOOL], tool_choice="none"
    )
    assert r.choices[0].message.tool_calls is None


def _gemini3_tool_turn(c: openai.OpenAI) -> tuple[list, object]:
    msgs = [{"role": "user", "content": 'get_weather and get_time for "Paris" and "CET"'}]
    resp = c.chat.completions.create(
        model="google/gemini-3-pro-preview", messages=msgs, tools=[WEATHER_TOOL, TIME_TOOL]
    )
    return msgs, resp.choices[0].message


def test_gemini3_signatures_round_trip(emulator: Emulator) -> None:
    c = client(emulator)
    msgs, message = _gemini3_tool_turn(c)
    calls = message.tool_calls
    assert len(calls) == 2
    assert calls[0].model_extra["extra_content"]["google"]["thought_signature"]
    assert "extra_content" not in (calls[1].model_extra or {})
    history = [*msgs, message] + [
        {"role": "tool", "tool_call_id": tc.id, "content": '{"ok": 21}'} for tc in calls
    ]
    resp = c.chat.completions.create(
        model="google/gemini-3-pro-preview", messages=history, tools=[WEATHER_TOOL, TIME_TOOL]
    )
    answer = resp.choices[0].message
    assert "Tool get_weather returned" in answer.content
    assert answer.model_extra["extra_content"]["google"]["thought_signature"]


def test_gemini3_missing_forged_sentinel(emulator: Emulator) -> None:
    c = client(emulator)
    msgs, message = _gemini3_tool_turn(c)
    plain = message.model_dump(exclude_none=True)
    for tc in plain["tool_calls"]:
        tc.pop("extra_content", None)
    tools = [
        {"role": "tool", "tool_call_id": tc["id"], "content": "1"} for tc in plain["tool_calls"]
    ]
    with pytest.raises(openai.BadRequestError) as info:
        c.chat.completions.create(
            model="google/gemini-3-pro-preview", messages=[*msgs, plain, *tools]
        )
    assert info.value.body == [
        {"error": {"code": 400, "message": SIG_MISSING, "status": "INVALID_ARGUMENT"}}
    ]
    # Gemini 2.5 never enforces; Gemini 3 Pro Image is exempt
    for model in ("google/gemini-2.5-flash", "google/gemini-3-pro-image-preview"):
        c.chat.completions.create(model=model, messages=[*msgs, plain, *tools])
    plain["tool_calls"][0]["extra_content"] = {"google": {"thought_signature": "Zm9yZ2Vk"}}
    with pytest.raises(openai.BadRequestError) as forged:
        c.chat.completions.create(
            model="google/gemini-3-pro-preview", messages=[*msgs, plain, *tools]
        )
    # (openai 3.x leaves the body out of the message: check the body itself)
    assert "Corrupted thought signature." in str(forged.value.body)
    plain["tool_calls"][0]["extra_content"] = {
        "google": {"thought_signature": "skip_thought_signature_validator"}
    }
    c.chat.completions.create(model="google/gemini-3-pro-preview", messages=[*msgs, plain, *tools])
    # an older turn without signatures is not checked
    later = [
        *msgs,
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "x",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "x", "content": "1"},
        {"role": "user", "content": "thanks"},
    ]
    c.chat.completions.create(model="google/gemini-3-pro-preview", messages=later)


def test_stream_tool_calls_whole_and_fragmented(emulator: Emulator) -> None:
    body = {
        "model": "google/gemini-3.1-pro-preview",
        "stream": True,
        "messages": [{"role": "user", "content": "get_weather and get_time for 'Boston'"}],
        "tools": [WEATHER_TOOL, TIME_TOOL],
    }
    r = raw_post(emulator, body)
    deltas = [json.loads(ln[6:]) for ln in r.text.split("\n\n") if ln and "[DONE]" not in ln]
    calls = deltas[-1]["choices"][0]["delta"]["tool_calls"]
    assert [c["index"] for c in calls] == [0, 1]
    assert json.loads(calls[0]["function"]["arguments"])["city"] == "Boston"
    assert deltas[-1]["choices"][0]["finish_reason"] == "tool_calls"

    body["extra_body"] = {"google": {"stream_function_call_arguments": True}}
    r = raw_post(emulator, body)
    deltas = [json.loads(ln[6:]) for ln in r.text.split("\n\n") if ln and "[DONE]" not in ln]
    frags = [d["choices"][0]["delta"]["tool_calls"][0] for d in deltas]
    ids = list(dict.fromkeys(f["id"] for f in frags))
    assert len(ids) == 2
    first_a = frags[0]
    assert first_a["function"]["arguments"] == ""
    assert first_a["extra_content"]["google"]["thought_signature"]
    assert first_a["index"] == 1  # the documented quirk
    assert {f["index"] for f in frags[1:] if f["id"] == ids[0]} == {0}
    assert all(f["function"]["name"] for f in frags)
    args_a = "".join(f["function"]["arguments"] for f in frags if f["id"] == ids[0])
    assert json.loads(args_a)["city"] == "Boston"
    emulator.config.stream_tool_index_quirk = False
    r = raw_post(emulator, body)
    frags = [
        json.loads(ln[6:])["choices"][0]["delta"]["tool_calls"][0]
        for ln in r.text.split("\n\n")
        if ln and "[DONE]" not in ln
    ]
    assert {f["index"] for f in frags if f["id"] == frags[0]["id"]} == {0}


# -- structured output, search, multimodal ---------------------------------------------------------
class Address(pydantic.BaseModel):
    street: str
    zip_code: int


class Person(pydantic.BaseModel):
    name: str
    age: int
    home: Address
    tags: list[str]


def test_response_format_json_schema_with_defs(emulator: Emulator) -> None:
    c = client(emulator)
    resp = c.chat.completions.parse(
        model="google/gemini-2.5-flash",
        messages=[{"role": "user", "content": "Invent a person"}],
        response_format=Person,
    )
    person = resp.choices[0].message.parsed
    assert isinstance(person, Person)
    resp = c.chat.completions.create(
        model="google/gemini-2.5-flash", messages=USER, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(resp.choices[0].message.content), dict)


def test_web_search_and_multimodal(emulator: Emulator) -> None:
    c = client(emulator)
    resp = c.chat.completions.create(
        model="google/gemini-2.5-flash", messages=USER, web_search_options={}
    )
    assert "According to Google Search" in resp.choices[0].message.content
    parts = [
        {"type": "text", "text": "describe"},
        {"type": "image_url", "image_url": "gs://cloud-samples-data/generative-ai/image/a.jpg"},
        {"type": "image_url", "image_url": {"url": "data:application/pdf;base64,JVBERi0x"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/v.mp4"}},
        {"type": "input_audio", "input_audio": {"format": "audio/mp3", "data": "gs://b/a.mp3"}},
    ]
    resp = c.chat.completions.create(
        model="google/gemini-2.5-flash", messages=[{"role": "user", "content": parts}]
    )
    text = resp.choices[0].message.content
    assert "image (image/jpeg)" in text
    assert "pdf (application/pdf)" in text
    assert "audio (audio/mp3)" in text


# -- validation errors ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "status", "message"),
    [
        (
            {"reasoning_effort": "none", "model": "google/gemini-3-flash-preview"},
            400,
            "Expected 'reasoning_effort' to be one of: 'high','low','medium','minimal'",
        ),
        (
            {
                "reasoning_effort": "low",
                "extra_body": {"google": {"thinking_config": {"thinking_budget": 5}}},
            },
            400,
            "Only one of `reasoning_effort`",
        ),
        (
            {"google": {"safety_settings": [{"category": "HARM_X", "threshold": "OFF"}]}},
            400,
            "Invalid value at 'safety_settings[0].category'",
        ),
        (
            {
                "google": {
                    "safety_settings": [
                        {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "NOPE"}
                    ]
                }
            },
            400,
            "Invalid value at 'safety_settings[0].threshold'",
        ),
        (
            {"extra_body": {"google": {"cached_content": "projects/p/cachedContents/1"}}},
            400,
            "Cached content is not supported in the global location",
        ),
        (
            {"n": 2, "model": "google/gemini-3-pro-preview"},
            400,
            "Multiple candidates is not enabled",
        ),
        (
            {"model": "google/gemini-9"},
            404,
            "Publisher Model `projects/123456789012/locations/global/publishers/google/models/"
            "gemini-9` was not found or your project does not have access to it.",
        ),
        (
            {
                "tools": [
                    {
                        "type": "function",
                        "function": {"name": "f", "parameters": {"type": "string"}},
                    }
                ]
            },
            400,
            "Unable to submit request because `f` functionDeclaration parameters schema should "
            "be of type OBJECT.",
        ),
    ],
)
def test_validation_errors_list_wrapped(emulator: Emulator, extra, status, message) -> None:
    body = {"model": "google/gemini-2.5-flash", "messages": USER, **extra}
    r = raw_post(emulator, body)
    assert r.status_code == status
    data = r.json()
    assert isinstance(data, list)
    assert len(data) == 1
    assert data[0]["error"]["code"] == status
    assert message in data[0]["error"]["message"]


def test_strict_tool_schema(emulator: Emulator) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "f",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "additionalProperties": False,
            },
        },
    }
    body = {"model": "google/gemini-2.5-flash", "messages": USER, "tools": [tool]}
    assert raw_post(emulator, body).status_code == 200
    emulator.config.strict_tool_schema = True
    r = raw_post(emulator, body)
    assert r.status_code == 400
    assert r.json()[0]["error"]["message"] == (
        'Invalid JSON payload received. Unknown name "additionalProperties" at '
        "'tools[0].function_declarations[0].parameters': Cannot find field."
    )


def test_n_choices_and_stop_and_max_tokens(emulator: Emulator) -> None:
    c = client(emulator)
    r = c.chat.completions.create(model="google/gemini-2.5-flash", messages=USER, n=2)
    assert [ch.index for ch in r.choices] == [0, 1]
    r = c.chat.completions.create(model="google/gemini-2.0-flash-001", messages=USER, max_tokens=3)
    assert r.choices[0].finish_reason == "length"
    r = c.chat.completions.create(
        model="google/gemini-2.0-flash-001", messages=USER, stop=["answer"]
    )
    assert "answer" not in r.choices[0].message.content


# -- routing ---------------------------------------------------------------------------------
def test_unknown_path_html_404(emulator: Emulator) -> None:
    c = openai.OpenAI(base_url=emulator.base_url(), api_key=emulator.issue_token(), max_retries=0)
    with pytest.raises(openai.NotFoundError) as info:
        c.models.list()
    # (the body is the HTML page; openai 2.x also puts it in the message, 3.x does not)
    assert "Error 404 (Not Found)!!1" in str(info.value.body)


def test_self_deployed_and_dedicated(emulator: Emulator) -> None:
    c = client(emulator, endpoint="1234567890")
    r = c.chat.completions.create(model="", messages=USER)
    assert r.model == "google/gemma-3-12b-it"
    mg = "mg-endpoint-4f8c2a7e-1b3d-4e5f-9a6b-7c8d9e0f1a2b"
    r = client(emulator, endpoint=mg).chat.completions.create(model="x", messages=USER)
    assert r.model == "meta/llama-3.3-70b"
    # dedicated endpoint on the shared host
    with pytest.raises(openai.BadRequestError) as info:
        client(emulator, endpoint="9876543210").chat.completions.create(model="", messages=USER)
    assert info.value.body == {
        "code": 400,
        "status": "FAILED_PRECONDITION",
        "message": "This endpoint is a dedicated endpoint via CloudESF and cannot be accessed "
        "through the Vertex AI API. Please access the endpoint using its dedicated dns name "
        f"'localhost:{emulator.port}'",
    }
    dedicated = openai.OpenAI(
        base_url=f"http://localhost:{emulator.port}/v1beta1/projects/{emulator.project}"
        "/locations/us-central1/endpoints/9876543210",
        api_key=emulator.issue_token(),
        max_retries=0,
    )
    assert dedicated.chat.completions.create(model="", messages=USER).choices
    res = httpx.get(
        emulator.base_url(endpoint="9876543210"),
        headers={"Authorization": f"Bearer {emulator.issue_token()}"},
    ).json()
    assert res["dedicatedEndpointDns"] == f"localhost:{emulator.port}"


# -- faults ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "exc", "status_name"),
    [
        ("429", openai.RateLimitError, "RESOURCE_EXHAUSTED"),
        ("500", openai.InternalServerError, "INTERNAL"),
        ("503", openai.InternalServerError, "UNAVAILABLE"),
    ],
)
def test_error_faults(emulator: Emulator, kind, exc, status_name) -> None:
    emulator.inject_fault(kind, count=2)
    c = client(emulator)
    for _ in range(2):
        with pytest.raises(exc) as info:
            c.chat.completions.create(model="google/gemini-2.5-flash", messages=USER)
        assert info.value.body[0]["error"]["status"] == status_name
    assert c.chat.completions.create(model="google/gemini-2.5-flash", messages=USER)


def test_header_fault_and_revoke(emulator: Emulator) -> None:
    c = client(emulator)
    with pytest.raises(openai.RateLimitError):
        c.chat.completions.create(
            model="google/gemini-2.5-flash",
            messages=USER,
            extra_headers={"x-emulator-fault": "429"},
        )
    emulator.inject_fault("revoke")
    with pytest.raises(openai.AuthenticationError) as info:
        c.chat.completions.create(model="google/gemini-2.5-flash", messages=USER)
    assert info.value.body["status"] == "UNAUTHENTICATED"


# openai 2.x lets mid-stream transport errors through raw (httpx); 3.x wraps them.
MID_STREAM_ERRORS = (httpx.RemoteProtocolError, openai.APIConnectionError)
MID_STREAM_TIMEOUTS = (httpx.ReadTimeout, openai.APITimeoutError)


def test_drop_truncate_malformed(emulator: Emulator) -> None:
    c = client(emulator)
    emulator.inject_fault("drop")
    # mid-stream errors surface from httpx while iterating (the SDK does not wrap them)
    with pytest.raises(MID_STREAM_ERRORS):
        list(c.chat.completions.create(model="google/gemini-2.5-flash", messages=USER, stream=True))
    emulator.inject_fault("drop")
    with pytest.raises(openai.APIConnectionError):
        c.chat.completions.create(model="google/gemini-2.5-flash", messages=USER)
    emulator.inject_fault("truncate", after_chunks=2)
    chunks = list(
        c.chat.completions.create(model="google/gemini-2.5-flash", messages=USER, stream=True)
    )
    assert len(chunks) == 2
    assert chunks[-1].choices[0].finish_reason is None
    emulator.inject_fault("malformed_json")
    with pytest.raises((json.JSONDecodeError, openai.APIResponseValidationError)):
        c.chat.completions.create(model="google/gemini-2.5-flash", messages=USER)


def test_stall_exceeds_client_timeout_and_stop_is_fast() -> None:
    with Emulator() as emu:
        emu.config.stall_seconds = 30
        emu.inject_fault("stall")
        c = client(emu, timeout=0.5)
        t0 = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            c.chat.completions.create(model="google/gemini-2.5-flash", messages=USER)
        assert time.monotonic() - t0 < 3
        emu.inject_fault("stall", after_chunks=1)
        with pytest.raises(MID_STREAM_TIMEOUTS):
            list(
                c.chat.completions.create(
                    model="google/gemini-2.5-flash", messages=USER, stream=True
                )
            )
        t0 = time.monotonic()
    assert time.monotonic() - t0 < 3
