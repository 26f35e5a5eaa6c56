"""Emulator shapes that depend on who serves the model (issue 12), over real HTTP."""

from __future__ import annotations

import json
import re

import httpx
import openai
import pytest

from vertex_openai.emulator import Emulator

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}
PARIS_LONDON = [
    {"role": "user", "content": "What is the weather in Paris and London? Use get_current_weather."}
]


def client(emu: Emulator, endpoint: str = "openapi") -> openai.OpenAI:
    return openai.OpenAI(
        base_url=emu.base_url(endpoint=endpoint), api_key=emu.issue_token(), max_retries=0
    )


def sse(emu: Emulator, body: dict) -> list[dict]:
    r = httpx.post(
        emu.base_url() + "/chat/completions",
        json={**body, "stream": True},
        headers={"Authorization": f"Bearer {emu.issue_token()}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]


def test_gemini2_parallel_same_function_calls_share_the_name_id(emulator: Emulator) -> None:
    resp = client(emulator).chat.completions.create(
        model="google/gemini-2.5-flash", messages=PARIS_LONDON, tools=[WEATHER]
    )
    calls = resp.choices[0].message.tool_calls
    assert [c.id for c in calls] == ["get_current_weather"] * 2
    assert [json.loads(c.function.arguments) for c in calls] == [
        {"location": "Paris"},
        {"location": "London"},
    ]
    chunks = sse(
        emulator, {"model": "google/gemini-2.5-flash", "messages": PARIS_LONDON, "tools": [WEATHER]}
    )
    streamed = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert [tc["id"] for tc in streamed] == ["get_current_weather"] * 2
    assert [tc["index"] for tc in streamed] == [0, 1]


def test_gemini3_parallel_calls_signature_on_first_only(emulator: Emulator) -> None:
    resp = client(emulator).chat.completions.create(
        model="google/gemini-3-pro-preview", messages=PARIS_LONDON, tools=[WEATHER]
    )
    calls = resp.choices[0].message.tool_calls
    assert len(calls) == 2
    assert all(c.id.startswith("function-call-") for c in calls)
    assert len({c.id for c in calls}) == 2
    assert calls[0].model_extra["extra_content"]["google"]["thought_signature"]
    assert "extra_content" not in (calls[1].model_extra or {})


def test_tool_calls_without_index_switch(emulator: Emulator) -> None:
    emulator.config.stream_tool_call_index = False
    chunks = sse(
        emulator, {"model": "google/gemini-2.5-flash", "messages": PARIS_LONDON, "tools": [WEATHER]}
    )
    streamed = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert len(streamed) == 2
    assert all("index" not in tc for tc in streamed)


def test_partner_model_shape(emulator: Emulator) -> None:
    c = client(emulator)
    resp = c.chat.completions.create(
        model="meta/llama-3.3-70b-instruct-maas", messages=[{"role": "user", "content": "hi"}]
    )
    message = resp.choices[0].message
    assert message.tool_calls is None
    assert "tool_calls" in message.model_fields_set  # sent as null
    assert "extra_properties" not in (resp.usage.model_extra or {})
    resp = c.chat.completions.create(
        model="meta/llama-3.3-70b-instruct-maas", messages=PARIS_LONDON, tools=[WEATHER]
    )
    ids = [tc.id for tc in resp.choices[0].message.tool_calls]
    uuid_like = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    assert all(uuid_like.match(i) for i in ids)


def test_self_deployed_vllm_shape(emulator: Emulator) -> None:
    resp = client(emulator, endpoint="1234567890").chat.completions.create(
        model="", messages=[{"role": "user", "content": "hi"}]
    )
    assert resp.id.startswith("chatcmpl-")
    assert resp.choices[0].model_extra["stop_reason"] is None
    assert resp.choices[0].message.tool_calls == []
    assert "extra_properties" not in (resp.usage.model_extra or {})


def test_n_candidates_are_distinct(emulator: Emulator) -> None:
    resp = client(emulator).chat.completions.create(
        model="google/gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}], n=3
    )
    texts = [c.message.content for c in resp.choices]
    assert len(set(texts)) == 3
    assert [c.index for c in resp.choices] == [0, 1, 2]


def test_only_vertex_signature_bypass_is_accepted(emulator: Emulator) -> None:
    c = client(emulator)
    first = (
        c.chat.completions.create(
            model="google/gemini-3-pro-preview", messages=PARIS_LONDON, tools=[WEATHER]
        )
        .choices[0]
        .message
    )
    call = first.tool_calls[0]

    def history(sig: str) -> list[dict]:
        return [
            *PARIS_LONDON,
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {
                            "name": call.function.name,
                            "arguments": call.function.arguments,
                        },
                        "extra_content": {"google": {"thought_signature": sig}},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ]

    ok = c.chat.completions.create(
        model="google/gemini-3-pro-preview",
        tools=[WEATHER],
        messages=history("skip_thought_signature_validator"),
    )
    assert ok.choices[0].finish_reason == "stop"
    with pytest.raises(openai.BadRequestError) as forged:
        c.chat.completions.create(
            model="google/gemini-3-pro-preview",
            tools=[WEATHER],
            messages=history("context_engineering_is_the_way_to_go"),
        )
    # The body, not the message: openai 3.x leaves the body out of status-error messages.
    assert "Corrupted thought signature" in str(forged.value.body)


@pytest.mark.parametrize(
    ("model", "body", "message"),
    [
        ("google/gemini-3-pro-preview", {"reasoning_effort": "minimal"}, "THINKING_LEVEL_MINIMAL"),
        (
            "google/gemini-3-pro-preview",
            {"extra_body": {"google": {"thinking_config": {"thinking_level": "minimal"}}}},
            "THINKING_LEVEL_MINIMAL",
        ),
        (
            "google/gemini-2.5-pro",
            {"extra_body": {"google": {"thinking_config": {"thinking_budget": 0}}}},
            "only works in thinking mode",
        ),
        (
            "google/gemini-3-pro-preview",
            {"reasoning_effort": "none"},
            "Expected 'reasoning_effort'",
        ),
    ],
)
def test_thinking_values_follow_the_model(
    emulator: Emulator, model: str, body: dict, message: str
) -> None:
    r = httpx.post(
        emulator.base_url() + "/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hi"}], **body},
        headers={"Authorization": f"Bearer {emulator.issue_token()}"},
        timeout=10,
    )
    assert r.status_code == 400
    assert message in r.text


def test_thinking_budget_zero_accepted_on_gemini3(emulator: Emulator) -> None:
    resp = client(emulator).chat.completions.create(
        model="google/gemini-3-pro-preview",
        messages=[{"role": "user", "content": "hi"}],
        extra_body={"extra_body": {"google": {"thinking_config": {"thinking_budget": 0}}}},
    )
    assert resp.usage.completion_tokens_details is None  # no reasoning tokens


def test_react_text_mode(emulator: Emulator) -> None:
    system = (
        "## Tools\n> Tool Name: get_weather\nTool Description: Weather in a city\n"
        'Tool Args: {"properties": {"city": {"type": "string"}}, "required": ["city"], '
        '"type": "object"}\n\nThought: ...\nAction: ...\nAction Input: ...'
    )
    c = client(emulator)
    msgs = [
        {"role": "system", "content": system},
        {"role": "user", "content": "Use get_weather for 'Paris'."},
    ]
    step = c.chat.completions.create(model="google/gemini-2.5-flash", messages=msgs)
    text = step.choices[0].message.content
    assert 'Action: get_weather\nAction Input: {"city": "Paris"}' in text
    msgs += [
        {"role": "assistant", "content": text},
        {"role": "user", "content": "Observation: sunny"},
    ]
    final = c.chat.completions.create(model="google/gemini-2.5-flash", messages=msgs)
    assert final.choices[0].message.content.endswith("Answer: Tool get_weather returned: sunny.")
