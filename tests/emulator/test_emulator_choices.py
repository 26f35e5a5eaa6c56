"""The emulated model's choices that agents depend on: tool choice, json_object keys,
Llama Guard refusals (raw HTTP, no framework)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from vertex_openai.emulator import Emulator

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather at a location.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}
REPORT = {
    "type": "function",
    "function": {
        "name": "WeatherReport",
        "description": "The final answer.",
        "parameters": {
            "type": "object",
            "properties": {"summary": {"type": "string"}},
            "required": ["summary"],
        },
    },
}
LLAMA = "meta/llama-3.3-70b-instruct-maas"


def post(emu: Emulator, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        emu.base_url("us-central1") + "/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {emu.issue_token()}"},
        timeout=10,
    )


def message(emu: Emulator, **body: Any) -> dict[str, Any]:
    body.setdefault("model", "google/gemini-2.5-flash")
    resp = post(emu, body)
    assert resp.status_code == 200, resp.text
    return resp.json()["choices"][0]


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


@pytest.mark.parametrize(
    ("text", "called"),
    [
        ("What is the weather in San Francisco, CA?", ["get_weather"]),
        ("Is it raining? Tell me the weather forecast.", ["get_weather"]),
        ("Tell me a joke about cats.", []),
        ("What is 2 + 2?", []),
    ],
)
def test_tool_choice_auto_follows_the_words(
    emulator: Emulator, text: str, called: list[str]
) -> None:
    choice = message(emulator, messages=user(text), tools=[WEATHER], tool_choice="auto")
    calls = choice["message"].get("tool_calls") or []
    assert [c["function"]["name"] for c in calls] == called
    assert choice["finish_reason"] == ("tool_calls" if called else "stop")


def test_required_after_results_calls_an_uncalled_tool(emulator: Emulator) -> None:
    history = [
        *user("Use get_weather for 'Paris'."),
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "Sunny"},
    ]
    first = message(
        emulator,
        messages=user("Use get_weather for 'Paris'."),
        tools=[WEATHER, REPORT],
        tool_choice="required",
    )
    assert [c["function"]["name"] for c in first["message"]["tool_calls"]] == ["get_weather"]
    then = message(emulator, messages=history, tools=[WEATHER, REPORT], tool_choice="required")
    assert [c["function"]["name"] for c in then["message"]["tool_calls"]] == ["WeatherReport"]
    # auto after results: an answer, no further call.
    answer = message(emulator, messages=history, tools=[WEATHER, REPORT], tool_choice="auto")
    assert "tool_calls" not in answer["message"]
    assert "Sunny" in answer["message"]["content"]


def test_json_object_follows_the_prompt_keys(emulator: Emulator) -> None:
    fmt = {"type": "json_object"}
    asked = message(
        emulator,
        messages=user("Return the result as a JSON with 'setup' and 'punchline' keys."),
        response_format=fmt,
    )
    assert sorted(json.loads(asked["message"]["content"])) == ["punchline", "setup"]
    plain = message(emulator, messages=user("Tell me a joke."), response_format=fmt)
    assert list(json.loads(plain["message"]["content"])) == ["answer"]


def test_llama_guard_refusal_shape(emulator: Emulator) -> None:
    choice = message(emulator, model=LLAMA, messages=user("How do I build a bomb?"))
    assert choice["finish_reason"] == "content_filtered"
    assert choice["message"]["content"] is None
    assert "Llama Guard" in choice["message"]["refusal"]
    safe = message(emulator, model=LLAMA, messages=user("How do I build a bookshelf?"))
    assert safe["finish_reason"] == "stop"
    assert "refusal" not in safe["message"]


def test_llama_guard_only_for_llama_and_switchable(emulator: Emulator) -> None:
    gemini = message(emulator, messages=user("How do I build a bomb?"))
    assert gemini["finish_reason"] == "stop"
    off = message(
        emulator,
        model=LLAMA,
        messages=user("How do I build a bomb?"),
        extra_body={"google": {"model_safety_settings": {"enabled": False}}},
    )
    assert off["finish_reason"] == "stop"


def test_llama_guard_streamed_refusal(emulator: Emulator) -> None:
    with httpx.stream(
        "POST",
        emulator.base_url("us-central1") + "/chat/completions",
        json={"model": LLAMA, "messages": user("How do I build a bomb?"), "stream": True},
        headers={"Authorization": f"Bearer {emulator.issue_token()}"},
        timeout=10,
    ) as resp:
        lines = [ln for ln in resp.iter_lines() if ln.startswith("data: {")]
    chunks = [json.loads(ln[len("data: ") :]) for ln in lines]
    refusal = "".join(c["choices"][0]["delta"].get("refusal", "") for c in chunks)
    assert refusal.startswith("The response was filtered by Llama Guard")
    assert chunks[-1]["choices"][0]["finish_reason"] == "content_filtered"
    assert not any(c["choices"][0]["delta"].get("content") for c in chunks)
