"""Core rules for Vertex as it is today (issue 21): no I/O here, the HTTP side is in
tests/langchain/test_lc_vertex_today.py, tests/llama_index/test_li_vertex_today.py and
tests/emulator/test_emulator_today.py."""

from __future__ import annotations

import warnings

import pytest

from vertex_openai._endpoint import check_known_location
from vertex_openai._errors import describe_vertex_error, is_context_overflow
from vertex_openai._gemini import prepare_chat_request
from vertex_openai._messages import (
    parse_message,
    prepare_wire_messages,
    remember_signature_origins,
    with_unique_tool_call_ids,
)
from vertex_openai._models import model_info


def _call(sig_ns: str, sig: str) -> dict:
    return {
        "id": "c1",
        "type": "function",
        "function": {"name": "f", "arguments": "{}"},
        "extra_content": {sig_ns: {"thought_signature": sig}},
    }


def test_signature_under_vertex_is_read_and_written_under_google() -> None:
    message = {"role": "assistant", "content": None, "tool_calls": [_call("vertex", "c2lnLXY=")]}
    assert parse_message(message, None).tool_call_signatures == {"c1": "c2lnLXY="}
    history = [
        {"role": "user", "content": "q"},
        message,
        {"role": "tool", "tool_call_id": "c1", "content": "r"},
    ]
    wire = prepare_wire_messages(history, model_info("google/gemini-3-flash-preview"))
    extra = wire[1]["tool_calls"][0]["extra_content"]
    assert extra == {"google": {"thought_signature": "c2lnLXY="}}


def test_signature_replayed_to_another_model_becomes_the_bypass() -> None:
    response = {
        "model": "google/gemini-3-flash-preview",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [_call("google", "b3JpZ2lu")],
                },
            }
        ],
    }
    with_unique_tool_call_ids(response)
    history = [{"role": "user", "content": "q"}, response["choices"][0]["message"]]
    same = prepare_wire_messages(history, model_info("google/gemini-3-flash-preview"))
    other = prepare_wire_messages(history, model_info("google/gemini-3.1-pro-preview"))
    assert same[1]["tool_calls"][0]["extra_content"]["google"]["thought_signature"] == "b3JpZ2lu"
    assert other[1]["tool_calls"][0]["extra_content"]["google"]["thought_signature"] == (
        "skip_thought_signature_validator"
    )


def test_unknown_origin_is_left_alone() -> None:
    remember_signature_origins(["c2Vlbg=="], None)  # no model: nothing recorded
    history = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "tool_calls": [_call("google", "c2Vlbg==")]},
    ]
    wire = prepare_wire_messages(history, model_info("google/gemini-3.1-pro-preview"))
    assert wire[1]["tool_calls"][0]["extra_content"]["google"]["thought_signature"] == "c2Vlbg=="


def test_location_typo_warns_with_suggestion() -> None:
    with pytest.warns(UserWarning, match="Did you mean 'europe-west4'"):
        check_known_location("europe-wets4")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_known_location("us") is None


def test_new_error_texts_have_hints() -> None:
    overflow = (
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
    )
    assert is_context_overflow(overflow)
    assert "context window" in describe_vertex_error(400, {"error": {"message": overflow}})
    invalid = "Unable to submit request because Thought signature is not valid."
    assert "different model" in describe_vertex_error(400, {"error": {"message": invalid}})
    turn = "Requests ending with a model turn are not supported."
    assert "prefilled" in describe_vertex_error(400, {"error": {"message": turn}})


@pytest.mark.parametrize(
    ("model", "new_rules"),
    [
        ("google/gemini-3.6-flash", True),
        ("google/gemini-3.5-flash-lite", True),
        ("google/gemini-3.8-flash", True),
        ("google/gemini-4-pro", True),
        ("google/gemini-3.5-flash", False),
        ("google/gemini-3.1-pro-preview", False),
        ("google/gemini-2.5-flash-lite", False),
    ],
)
def test_rules_by_version_pattern(model: str, new_rules: bool) -> None:
    info = model_info(model)
    assert info.fixed_sampling is new_rules
    assert info.refuses_model_turn_last is new_rules


def test_reasoning_effort_table() -> None:
    assert model_info("google/gemini-3-pro-preview").reasoning_efforts == ("low", "high")
    assert "medium" in model_info("google/gemini-3.1-pro-preview").reasoning_efforts
    assert "max" in model_info("google/gemini-3.7-flash").reasoning_efforts
    with pytest.raises(ValueError, match="accepts low, high"):
        prepare_chat_request(
            {
                "model": "google/gemini-3-pro-preview",
                "reasoning_effort": "medium",
                "messages": [{"role": "user", "content": "hi"}],
            }
        )


@pytest.mark.parametrize("location", ["us", "eu"])
def test_count_tokens_and_embeddings_use_the_multi_region_host(location: str) -> None:
    from vertex_openai._clients import VertexConnection
    from vertex_openai._embeddings import VertexEmbeddingClient
    from vertex_openai._endpoint import VertexEndpoint
    from vertex_openai._token_count import count_tokens_url

    endpoint = VertexEndpoint.resolve(project="p", location=location, environ={})
    assert count_tokens_url(endpoint, "google/gemini-2.5-flash") == (
        f"https://aiplatform.{location}.rep.googleapis.com/v1/projects/p/locations/{location}"
        "/publishers/google/models/gemini-2.5-flash:countTokens"
    )
    connection = VertexConnection(project="p", location=location, credentials=None)
    embeddings = VertexEmbeddingClient(connection, "text-embedding-005")
    assert embeddings.url().startswith(f"https://aiplatform.{location}.rep.googleapis.com/")


def test_priority_paygo_is_global_only_also_with_failover() -> None:
    from vertex_openai._gemini import VertexRequestSettings

    assert VertexRequestSettings(location="global", shared_request_type="priority")
    with pytest.raises(ValueError, match="global endpoint only"):
        VertexRequestSettings(
            location="global", shared_request_type="priority", fallback_locations=("us-east1",)
        )
