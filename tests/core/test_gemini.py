"""Gemini extras, settings validation and prepare_chat_request()."""

from __future__ import annotations

import copy
import enum
from typing import Any

import pydantic
import pytest

from vertex_openai._constants import DEFAULT_THOUGHT_TAG_MARKER, SIGNATURE_SENTINEL
from vertex_openai._errors import VertexConfigError
from vertex_openai._gemini import (
    GOOGLE_KEYS,
    HARM_CATEGORIES,
    HARM_THRESHOLDS,
    VertexRequestSettings,
    deep_merge,
    effective_thought_marker,
    normalize_reasoning_effort,
    normalize_safety_settings,
    normalize_thinking_config,
    prepare_chat_request,
)
from vertex_openai._models import model_info

FLASH = VertexRequestSettings(model="google/gemini-2.5-flash")
MSGS = [{"role": "user", "content": "hi"}]


def google_of(params: dict[str, Any]) -> dict[str, Any]:
    return params["extra_body"]["extra_body"]["google"]


def req(**kwargs: Any) -> dict[str, Any]:
    return {"model": "google/gemini-2.5-flash", "messages": MSGS, **kwargs}


# --------------------------------------------------------------------------- building blocks


def test_deep_merge() -> None:
    base = {"a": {"x": 1, "y": [1]}, "b": 1}
    over = {"a": {"y": [2], "z": 3}, "c": 4}
    frozen = copy.deepcopy(base)
    assert deep_merge(base, over) == {"a": {"x": 1, "y": [2], "z": 3}, "b": 1, "c": 4}
    assert base == frozen


def test_google_keys_table() -> None:
    assert {
        "safety_settings",
        "thinking_config",
        "thought_tag_marker",
        "cached_content",
        "stream_function_call_arguments",
        "media_resolution",
        "model_safety_settings",
    } <= GOOGLE_KEYS
    assert "tools" not in GOOGLE_KEYS


def test_safety_settings_forms() -> None:
    class Cat(enum.Enum):
        HATE = "HARM_CATEGORY_HATE_SPEECH"

    class Obj:
        category = "dangerous_content"
        threshold = "only_high"

    out = normalize_safety_settings(
        [
            {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"},
            {"category": Cat.HATE, "threshold": "off", "method": "severity"},
            Obj(),
        ]
    )
    assert out == [
        {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"},
        {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF", "method": "SEVERITY"},
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_ONLY_HIGH"},
    ]
    assert normalize_safety_settings(
        {"HARM_CATEGORY_SEXUALLY_EXPLICIT": "BLOCK_LOW_AND_ABOVE"}
    ) == [{"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "threshold": "BLOCK_LOW_AND_ABOVE"}]
    assert normalize_safety_settings(None) is None


@pytest.mark.parametrize(
    ("value", "listed"),
    [
        ([{"category": "HARM_CATEGORY_VIOLENCE", "threshold": "BLOCK_NONE"}], HARM_CATEGORIES),
        ([{"category": "HARM_CATEGORY_UNSPECIFIED", "threshold": "BLOCK_NONE"}], HARM_CATEGORIES),
        ({"HARM_CATEGORY_HARASSMENT": "BLOCK_SOME"}, HARM_THRESHOLDS),
    ],
)
def test_safety_settings_unknown_lists_allowed(value: Any, listed: tuple[str, ...]) -> None:
    with pytest.raises(VertexConfigError) as err:
        normalize_safety_settings(value)
    for allowed in listed:
        assert allowed in str(err.value)


@pytest.mark.parametrize(
    "value",
    [
        "BLOCK_NONE",
        3,
        [{"threshold": "OFF"}],
        [{"category": "HARM_CATEGORY_HARASSMENT"}],
        [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "OFF", "x": 1}],
    ],
)
def test_safety_settings_malformed(value: Any) -> None:
    with pytest.raises(VertexConfigError):
        normalize_safety_settings(value)


def test_thinking_config() -> None:
    assert normalize_thinking_config({"includeThoughts": True, "thinkingBudget": 1024}) == {
        "include_thoughts": True,
        "thinking_budget": 1024,
    }
    assert normalize_thinking_config({"thinking_level": "HIGH"}) == {"thinking_level": "high"}
    assert normalize_thinking_config({"thinking_budget": -1}) == {"thinking_budget": -1}
    assert normalize_thinking_config(None) is None


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ({"budget": 1}, "Unknown thinking_config key 'budget'"),
        ({"thinking_budget": -2}, "integer >= -1"),
        ({"thinking_budget": True}, "integer >= -1"),
        ({"thinking_budget": "10"}, "integer >= -1"),
        ({"include_thoughts": "yes"}, "True or False"),
        ({"thinking_level": "extreme"}, "minimal, low, medium, high"),
        ({"thinking_level": "low", "thinking_budget": 10}, "both"),
        ("high", "must be a dict"),
    ],
)
def test_thinking_config_errors(value: Any, needle: str) -> None:
    with pytest.raises(VertexConfigError, match=needle):
        normalize_thinking_config(value)


def test_reasoning_effort_values() -> None:
    assert normalize_reasoning_effort("HIGH") == "high"
    assert normalize_reasoning_effort("max") == "max"  # newer Vertex error texts list it
    with pytest.raises(VertexConfigError, match="none, minimal, low, medium, high, max"):
        normalize_reasoning_effort("maximum")


# --------------------------------------------------------------------------- settings


def test_settings_normalise() -> None:
    s = VertexRequestSettings(
        model="gemini-2.5-flash",
        safety_settings={"harassment": "none"},
        thinking_config={"includeThoughts": True},
        reasoning_effort=None,
    )
    assert s.model == "google/gemini-2.5-flash"
    assert s.safety_settings == [
        {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}
    ]
    assert s.thinking_config == {"include_thoughts": True}
    assert s.model_info.can_disable_thinking
    with pytest.raises(AttributeError):
        s.model = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        (
            {"safety_settings": [{"category": "HARM_CATEGORY_NOPE", "threshold": "OFF"}]},
            "HARM_CATEGORY_NOPE",
        ),
        (
            {"reasoning_effort": "low", "thinking_config": {"thinking_budget": 5}},
            "cannot be used together",
        ),
        (
            {"cached_content": "projects/p/locations/us-central1/cachedContents/1"},
            "context caching is not available on the global endpoint; "
            "use a region such as us-central1",
        ),
        (
            {"model": "google/gemini-2.5-pro", "reasoning_effort": "none"},
            "thinking_budget|thinking cannot",
        ),
        (
            {"model": "google/gemini-2.5-pro", "thinking_config": {"thinking_budget": 0}},
            "thinking_budget=0 is not possible",
        ),
        ({"model": "google/gemini-3-pro-preview", "reasoning_effort": "minimal"}, "accepts low"),
        ({"model": "google/gemini-2.5-flash", "reasoning_effort": "max"}, "not supported"),
        ({"reasoning_effort": "maximum"}, "none, minimal, low, medium, high, max"),
        ({"model": "llama-3-70b"}, "publisher"),
        ({"thought_tag_marker": "<x>"}, "thought_tag_marker"),
        ({"extra_google": {"thinking_config": {"bogus": 1}}}, "bogus"),
    ],
)
def test_settings_fail_at_construction(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(VertexConfigError, match=needle):
        VertexRequestSettings(**{"model": "google/gemini-2.5-flash", **kwargs})


def test_settings_valid_combinations() -> None:
    # Each is accepted (no VertexConfigError) and keeps what it was given.
    off = VertexRequestSettings(model="google/gemini-2.5-flash", reasoning_effort="none")
    assert (off.model, off.reasoning_effort) == ("google/gemini-2.5-flash", "none")
    cache = "projects/p/locations/us-central1/cachedContents/1"
    regional = VertexRequestSettings(
        model="google/gemini-2.5-flash", location="us-central1", cached_content=cache
    )
    assert regional.google_body() == {"cached_content": cache}
    # A self-deployed endpoint: no model needed, and any model id passes through as given.
    endpoint = VertexRequestSettings(model=None, endpoint_id="1234", reasoning_effort="none")
    assert endpoint.model is None
    assert endpoint.reasoning_effort == "none"
    assert VertexRequestSettings(model="whatever", endpoint_id="mg-endpoint-ab12").model == (
        "whatever"
    )


def test_settings_google_body() -> None:
    s = VertexRequestSettings(
        model="google/gemini-2.5-flash",
        thought_tag_marker="think",
        thinking_config={"include_thoughts": True},
        extra_google={
            "media_resolution": "MEDIA_RESOLUTION_LOW",
            "thinking_config": {"thinking_budget": 100},
        },
    )
    assert s.google_body() == {
        "media_resolution": "MEDIA_RESOLUTION_LOW",
        "thought_tag_marker": "think",
        "thinking_config": {"thinking_budget": 100, "include_thoughts": True},
    }


# --------------------------------------------------------------------------- prepare_chat_request


def test_no_extras_no_extra_body() -> None:
    out = prepare_chat_request(req(), FLASH)
    assert "extra_body" not in out
    assert out["model"] == "google/gemini-2.5-flash"


def test_input_not_mutated() -> None:
    params = req(
        safety_settings={"harassment": "off"},
        extra_body={"extra_body": {"google": {"thinking_config": {"include_thoughts": True}}}},
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "f",
                    "parameters": {"$schema": "x", "type": "object", "properties": {}},
                },
            }
        ],
    )
    frozen = copy.deepcopy(params)
    prepare_chat_request(params, FLASH)
    assert params == frozen


def test_stray_top_level_keys_are_moved() -> None:
    # LangChain model_kwargs / LlamaIndex additional_kwargs end up at the top level.
    out = prepare_chat_request(
        req(
            safety_settings=[{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "OFF"}],
            thought_tag_marker="think",
            cached_content=None,
        ),
        FLASH,
    )
    assert "safety_settings" not in out
    assert "thought_tag_marker" not in out
    assert google_of(out) == {
        "safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "OFF"}],
        "thought_tag_marker": "think",
    }


def test_all_wrappings_merge_with_precedence() -> None:
    settings = VertexRequestSettings(
        model="google/gemini-2.5-flash",
        thought_tag_marker="s",
        thinking_config={"include_thoughts": True, "thinking_budget": 1},
        extra_google={"media_resolution": "MEDIA_RESOLUTION_LOW"},
    )
    params = req(
        extra_body={
            "chat_template_kwargs": {"thinking": True},
            "google": {"thinking_config": {"thinking_budget": 2}, "thought_tag_marker": "single"},
            "extra_body": {"google": {"thinking_config": {"thinking_budget": 3}}, "other": 1},
        },
        google={"thought_tag_marker": "toplevel"},
        stream_function_call_arguments=True,
    )
    out = prepare_chat_request(params, settings)
    assert out["extra_body"]["chat_template_kwargs"] == {"thinking": True}
    assert out["extra_body"]["extra_body"]["other"] == 1
    assert "google" not in out["extra_body"]
    assert "google" not in out
    assert google_of(out) == {
        "media_resolution": "MEDIA_RESOLUTION_LOW",
        "thinking_config": {"include_thoughts": True, "thinking_budget": 3},
        "thought_tag_marker": "toplevel",
        "stream_function_call_arguments": True,
    }


def test_google_keys_directly_in_extra_body_are_moved() -> None:
    out = prepare_chat_request(
        req(
            extra_body={
                "thinking_config": {"thinking_budget": 0},
                "extra_body": {"cached_content": "c"},
            }
        ),
        VertexRequestSettings(model="google/gemini-2.5-flash", location="us-central1"),
    )
    assert google_of(out) == {"thinking_config": {"thinking_budget": 0}, "cached_content": "c"}
    assert set(out["extra_body"]) == {"extra_body"}


def test_invalid_values_in_params_rejected() -> None:
    with pytest.raises(VertexConfigError, match="HARM_CATEGORY_FOO"):
        prepare_chat_request(
            req(safety_settings=[{"category": "HARM_CATEGORY_FOO", "threshold": "OFF"}]), FLASH
        )
    with pytest.raises(VertexConfigError, match="extra_body must be a dict"):
        prepare_chat_request(req(extra_body="x"), FLASH)


def test_reasoning_dict_becomes_reasoning_effort() -> None:
    out = prepare_chat_request(req(reasoning={"effort": "low", "summary": "auto"}), FLASH)
    assert out["reasoning_effort"] == "low"
    assert "reasoning" not in out
    assert "extra_body" not in out


def test_reasoning_effort_with_thinking_config_in_params() -> None:
    with pytest.raises(VertexConfigError, match="cannot be used together"):
        prepare_chat_request(
            req(reasoning_effort="high", thinking_config={"thinking_budget": 10}), FLASH
        )


def test_call_level_knob_replaces_instance_knob() -> None:
    inst = VertexRequestSettings(
        model="google/gemini-2.5-flash", thinking_config={"thinking_budget": 10}
    )
    out = prepare_chat_request(req(reasoning_effort="high"), inst)
    assert out["reasoning_effort"] == "high"
    assert "extra_body" not in out
    inst2 = VertexRequestSettings(model="google/gemini-2.5-flash", reasoning_effort="low")
    out2 = prepare_chat_request(req(thinking_config={"thinking_budget": 5}), inst2)
    assert "reasoning_effort" not in out2
    assert google_of(out2) == {"thinking_config": {"thinking_budget": 5}}
    assert prepare_chat_request(req(), inst2)["reasoning_effort"] == "low"


def test_reasoning_effort_none_on_flash_disables_thinking() -> None:
    out = prepare_chat_request(req(reasoning_effort="none"), FLASH)
    assert "reasoning_effort" not in out
    assert google_of(out) == {"thinking_config": {"thinking_budget": 0}}


def test_reasoning_effort_none_where_impossible() -> None:
    with pytest.raises(VertexConfigError, match="reasoning_effort='none' is not possible"):
        prepare_chat_request(req(model="google/gemini-2.5-pro", reasoning_effort="none"), FLASH)


@pytest.mark.parametrize(
    "model",
    [
        "google/gemini-2.5-flash",
        "google/gemini-2.5-pro",
        "google/gemini-3-pro-preview",
        "google/gemini-3.1-pro-preview",
        "gemini-3.5-flash",
        "google/gemini-2.0-flash-001",
    ],
)
def test_thinking_off_one_rule_for_both_knobs(model: str) -> None:
    """reasoning_effort='none' and thinking_budget=0 agree on every model (issue 12 #8)."""

    def outcome(**kw: Any) -> Any:
        try:
            out = prepare_chat_request(req(model=model, **kw), FLASH)
        except VertexConfigError:
            return "error"
        google = out.get("extra_body", {}).get("extra_body", {}).get("google", {})
        return google.get("thinking_config", {}).get("thinking_budget")

    by_effort = outcome(reasoning_effort="none")
    by_budget = outcome(thinking_config={"thinking_budget": 0})
    assert by_effort == by_budget or (by_effort is None and by_budget == 0)
    info_off = model_info(model).can_disable_thinking
    assert (by_budget == "error") == (model_info(model).supports_thinking and not info_off)


@pytest.mark.parametrize(
    ("model", "effort", "ok"),
    [
        ("google/gemini-3-pro-preview", "minimal", False),
        ("google/gemini-3-flash-preview", "minimal", True),
        ("google/gemini-3.7-flash", "max", True),
        ("google/gemini-3.1-pro-preview", "max", False),
        ("google/gemini-2.5-flash", "minimal", True),
    ],
)
def test_reasoning_effort_follows_model_table(model: str, effort: str, ok: bool) -> None:
    level = {"thinking_config": {"thinking_level": effort}} if effort != "max" else None
    for kw in [{"reasoning_effort": effort}, level]:
        if kw is None or (model.startswith("google/gemini-2") and "thinking_config" in kw):
            continue
        if ok:
            prepare_chat_request(req(model=model, **kw), FLASH)
        else:
            with pytest.raises(VertexConfigError, match="not supported"):
                prepare_chat_request(req(model=model, **kw), FLASH)


def test_reasoning_effort_none_on_non_thinking_or_partner_models() -> None:
    assert "reasoning_effort" not in prepare_chat_request(
        req(model="google/gemini-2.0-flash-001", reasoning_effort="none"), FLASH
    )
    out = prepare_chat_request(req(model="openai/gpt-oss-20b-maas", reasoning_effort="none"), FLASH)
    assert out["reasoning_effort"] == "none"
    out = prepare_chat_request(
        req(model="openai/gpt-oss-20b-maas", reasoning_effort="medium"), FLASH
    )
    assert out["reasoning_effort"] == "medium"


def test_include_thoughts_sets_default_marker() -> None:
    out = prepare_chat_request(req(thinking_config={"include_thoughts": True}), FLASH)
    assert google_of(out)["thought_tag_marker"] == DEFAULT_THOUGHT_TAG_MARKER
    assert effective_thought_marker(out) == DEFAULT_THOUGHT_TAG_MARKER
    out = prepare_chat_request(
        req(thinking_config={"include_thoughts": True}, thought_tag_marker="think"), FLASH
    )
    assert google_of(out)["thought_tag_marker"] == "think"
    assert effective_thought_marker(prepare_chat_request(req(), FLASH)) is None


class Joke(pydantic.BaseModel):
    setup: str
    punchline: str


def test_pydantic_response_format_drops_thought_text() -> None:
    settings = VertexRequestSettings(
        model="google/gemini-2.5-flash",
        thinking_config={"include_thoughts": True},
        thought_tag_marker="think",
    )
    out = prepare_chat_request(req(response_format=Joke), settings)
    assert out["response_format"] is Joke
    assert google_of(out) == {"thinking_config": {"include_thoughts": False}}
    assert effective_thought_marker(out) is None


def test_dict_response_format_keeps_thoughts_and_is_sanitized() -> None:
    settings = VertexRequestSettings(
        model="google/gemini-2.5-flash", thinking_config={"include_thoughts": True}
    )
    schema = {
        "$schema": "x",
        "$defs": {"S": {"type": "string"}},
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/S"}},
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": True}}
    out = prepare_chat_request(req(response_format=fmt), settings)
    assert google_of(out)["thinking_config"] == {"include_thoughts": True}
    assert google_of(out)["thought_tag_marker"] == DEFAULT_THOUGHT_TAG_MARKER
    assert out["response_format"]["json_schema"]["schema"] == {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "additionalProperties": False,
    }
    assert out["response_format"]["json_schema"]["strict"] is True


def test_model_normalised_and_errors() -> None:
    assert (
        prepare_chat_request(req(model="gemini-3-flash-preview"), FLASH)["model"]
        == "google/gemini-3-flash-preview"
    )
    with pytest.raises(VertexConfigError, match="publisher"):
        prepare_chat_request(req(model="llama-3"), FLASH)
    out = prepare_chat_request({"messages": MSGS}, VertexRequestSettings(model="gemini-2.5-pro"))
    assert out["model"] == "google/gemini-2.5-pro"


def test_self_deployed_model_optional() -> None:
    s = VertexRequestSettings(
        endpoint_id="6714120476014149632", thinking_config={"include_thoughts": True}
    )
    out = prepare_chat_request({"messages": MSGS}, s)
    assert out["model"] == ""
    # thinking_config is Gemini-only: not sent to the container's model, with a warning
    # (issued once per process and model).
    from vertex_openai import _gemini

    _gemini._warned.clear()
    with pytest.warns(UserWarning, match="thinking_config is Gemini-only"):
        sent = prepare_chat_request({"model": "gemma-2-9b-it", "messages": MSGS}, s)
    assert sent["model"] == "gemma-2-9b-it"


def test_n_greater_than_one_on_gemini3() -> None:
    with pytest.raises(VertexConfigError, match="n=2"):
        prepare_chat_request(req(model="google/gemini-3-pro-preview", n=2), FLASH)
    assert prepare_chat_request(req(n=2), FLASH)["n"] == 2


def test_cached_content_on_global_in_params() -> None:
    params = req(
        extra_body={"extra_body": {"google": {"cached_content": "projects/p/cachedContents/1"}}}
    )
    with pytest.raises(VertexConfigError, match="use a region such as us-central1"):
        prepare_chat_request(params, FLASH)
    regional = VertexRequestSettings(model="google/gemini-2.5-flash", location="us-central1")
    assert google_of(prepare_chat_request(params, regional)) == {
        "cached_content": "projects/p/cachedContents/1"
    }


def test_tools_sanitized_and_google_search() -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "f",
                "strict": True,
                "parameters": {
                    "$schema": "x",
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"a": {"const": "x"}},
                },
            },
        },
        {"google_search": {}},
        {"type": "google_search"},
    ]
    out = prepare_chat_request(req(tools=tools, tool_choice="auto"), FLASH)
    assert out["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "f",
                # Kept: Vertex ignores it, the SDK's .parse() requires it (issue 12 item 2).
                "strict": True,
                "parameters": {
                    "type": "object",
                    "properties": {"a": {"enum": ["x"], "type": "string"}},
                },
            },
        }
    ]
    assert out["web_search_options"] == {}
    assert out["tool_choice"] == "auto"


def test_only_google_search_removes_tools() -> None:
    out = prepare_chat_request(req(tools=[{"google_search": {}}], tool_choice="auto"), FLASH)
    assert "tools" not in out
    assert "tool_choice" not in out
    assert out["web_search_options"] == {}
    out = prepare_chat_request(req(web_search_options={}), FLASH)
    assert out["web_search_options"] == {}


def test_recursive_tool_schema_rejected() -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "tree",
            "parameters": {
                "$defs": {
                    "Node": {
                        "type": "object",
                        "properties": {
                            "kids": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
                        },
                    }
                },
                "$ref": "#/$defs/Node",
            },
        },
    }
    with pytest.raises(VertexConfigError, match="Node"):
        prepare_chat_request(req(tools=[tool]), FLASH)


def test_messages_get_sentinel_on_gemini3() -> None:
    messages = [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "1", "content": "r"},
    ]
    out = prepare_chat_request(req(model="google/gemini-3-pro-preview", messages=messages), FLASH)
    assert (
        out["messages"][1]["tool_calls"][0]["extra_content"]["google"]["thought_signature"]
        == SIGNATURE_SENTINEL
    )
    assert out["messages"][2]["name"] == "f"


def test_errors_are_config_errors_naming_value() -> None:
    with pytest.raises(VertexConfigError) as err:
        prepare_chat_request(req(reasoning_effort="turbo"), FLASH)
    assert "turbo" in str(err.value)


def test_tool_without_parameters_type_gets_object() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {}}}
    out = prepare_chat_request(req(tools=[tool]), FLASH)
    assert out["tools"][0]["function"]["parameters"] == {"type": "object", "properties": {}}


def test_earlier_thoughts_replayed_tagged_when_the_request_has_a_marker() -> None:
    from vertex_openai._constants import THOUGHTS_WIRE_KEY
    from vertex_openai._gemini import VertexRequestSettings, prepare_chat_request

    history = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!", THOUGHTS_WIRE_KEY: "Greet back."},
        {"role": "user", "content": "Again"},
    ]
    settings = VertexRequestSettings(
        model="gemini-2.5-flash", thinking_config={"include_thoughts": True}
    )
    out = prepare_chat_request({"model": "gemini-2.5-flash", "messages": history}, settings)
    tagged = "<thought>Greet back.</thought>Hello!"
    assert out["messages"][1] == {"role": "assistant", "content": tagged}
    plain = prepare_chat_request({"model": "gemini-2.5-flash", "messages": history})
    assert plain["messages"][1] == {"role": "assistant", "content": "Hello!"}
    assert THOUGHTS_WIRE_KEY not in str(plain)
    assert THOUGHTS_WIRE_KEY not in str(out)


@pytest.mark.parametrize(
    "model", ["gemini-2.5-flash", "google/gemini-3-pro-preview", "meta/llama-3.3-70b-instruct-maas"]
)
def test_managed_model_on_a_self_deployed_endpoint_is_rejected(model: str) -> None:
    from vertex_openai._errors import VertexConfigError
    from vertex_openai._gemini import VertexRequestSettings

    with pytest.raises(VertexConfigError, match="Drop `endpoint_id`"):
        VertexRequestSettings(model=model, endpoint_id="1234567890")


@pytest.mark.parametrize(
    ("tool", "options"),
    [
        ({"google_search": {}}, {}),
        ({"googleSearch": {}}, {}),
        ({"type": "google_search"}, {}),
        ({"type": "web_search"}, {}),
        ({"web_search_options": {"search_context_size": "low"}}, {"search_context_size": "low"}),
        ({"type": "function", "function": {"name": "google_search"}}, None),
        ({"google_search": {}, "function": {"name": "f"}}, None),
        ({"type": "file_search"}, None),
        ("google_search", None),
    ],
)
def test_one_rule_for_search_tools(tool: Any, options: dict[str, Any] | None) -> None:
    # The LangChain class (bind_tools) and prepare_chat_request use this same rule.
    from vertex_openai._gemini import search_tool_options

    assert search_tool_options(tool) == options
    if options is not None:
        out = prepare_chat_request(req(tools=[tool]), FLASH)
        assert out["web_search_options"] == options
        assert "tools" not in out
