"""Message parsing, stream accumulation, signatures, multimodal parts, usage."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vertex_openai._constants import SIGNATURE_SENTINEL
from vertex_openai._errors import VertexConfigError
from vertex_openai._messages import (
    StreamAccumulator,
    attach_signatures,
    normalize_usage,
    original_tool_call_id,
    parse_message,
    prepare_wire_messages,
)
from vertex_openai._models import model_info

GEMINI3 = model_info("google/gemini-3-pro-preview")
GEMINI25 = model_info("google/gemini-2.5-flash")


def sig_of(obj: dict[str, Any]) -> str | None:
    return ((obj.get("extra_content") or {}).get("google") or {}).get("thought_signature")


# --------------------------------------------------------------------------- parse_message


def test_parse_tool_calls_with_signature_on_first() -> None:
    # https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/examples, https://cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures
    # (the Gemini API thought-signatures page's sample)
    message = {
        "role": "assistant",
        "tool_calls": [
            {
                "extra_content": {"google": {"thought_signature": "SigA"}},
                "function": {"arguments": '{"location":"Paris"}', "name": "get_temp"},
                "id": "function-call-1",
                "type": "function",
            },
            {
                "function": {"arguments": '{"location":"London"}', "name": "get_temp"},
                "id": "function-call-2",
                "type": "function",
            },
        ],
    }
    parsed = parse_message(message, None)
    assert parsed.tool_call_signatures == {"function-call-1": "SigA"}
    assert [tc["id"] for tc in parsed.tool_calls] == ["function-call-1", "function-call-2"]
    assert all("extra_content" not in tc for tc in parsed.tool_calls)
    assert parsed.content == ""
    assert parsed.thoughts == ""


def test_parse_tagged_thoughts_and_message_signature() -> None:
    message = {
        "role": "assistant",
        "content": "<think>plan</think>Answer",
        "extra_content": {"google": {"thought_signature": "M1"}},
    }
    parsed = parse_message(message, "think")
    assert (parsed.thoughts, parsed.content, parsed.message_signature) == ("plan", "Answer", "M1")


def test_parse_gapi_flagged_message_with_tags() -> None:
    message = {
        "content": "<thought>hmm</thought>Tak.",
        "extra_content": {"google": {"thought": True}},
    }
    parsed = parse_message(message, "thought")
    assert (parsed.thoughts, parsed.content) == ("hmm", "Tak.")


def test_parse_flagged_untagged_message_is_thought() -> None:
    parsed = parse_message(
        {"content": "only thinking", "extra_content": {"google": {"thought": True}}}, None
    )
    assert (parsed.thoughts, parsed.content) == ("only thinking", "")


def test_parse_reasoning_content_maas() -> None:
    parsed = parse_message({"content": "42", "reasoning_content": "because"}, None)
    assert (parsed.thoughts, parsed.content) == ("because", "42")


def test_parse_image_in_audio() -> None:
    message = {
        "audio": {"data": "iVBOR", "extra_content": {"google": {"mime_type": "image/png"}}},
        "content": None,
        "role": "assistant",
    }
    parsed = parse_message(message, None)
    assert parsed.images == [{"mime_type": "image/png", "data": "iVBOR"}]
    assert parsed.audio is None
    assert parsed.content == ""


def test_parse_sdk_object() -> None:
    from openai.types.chat import ChatCompletionMessage

    msg = ChatCompletionMessage.model_validate(
        {
            "role": "assistant",
            "content": "hi",
            "extra_content": {"google": {"thought_signature": "S"}},
        }
    )
    assert parse_message(msg, None).message_signature == "S"


# --------------------------------------------------------------------------- streaming

# https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/examples, verbatim shapes
# (inconsistent index values)
SAMPLE_53 = [
    {"index": 1, "id": "A", "name": "get_current_weather", "args": "", "sig": "SIG"},
    {"index": 0, "id": "A", "name": "get_current_weather", "args": '{"location":"Boston, MA'},
    {"index": 0, "id": "A", "name": "get_current_weather", "args": '"'},
    {"index": 0, "id": "A", "name": "get_current_weather", "args": ',"unit":"celsius'},
    {"index": 0, "id": "A", "name": "get_current_weather", "args": '"'},
    {"index": 0, "id": "A", "name": "get_current_weather", "args": "}"},
    {"index": 0, "id": "B", "name": "get_current_weather", "args": ""},
    {"index": 1, "id": "B", "name": "get_current_weather", "args": '{"location":"New Delhi, India'},
    {"index": 1, "id": "B", "name": "get_current_weather", "args": '"'},
    {"index": 1, "id": "B", "name": "get_current_weather", "args": "}"},
]


def chunk(
    delta: dict[str, Any], finish: str | None = None, usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "choices": [
            {
                "delta": {"role": "assistant", **delta},
                "finish_reason": finish,
                "index": 0,
                "logprobs": None,
            }
        ],
        "created": 1770850461,
        "id": "nQiN",
        "model": "google/gemini-3.1-pro-preview",
        "object": "chat.completion.chunk",
        "system_fingerprint": "",
    }
    if usage is not None:
        out["usage"] = usage
    return out


def sample_chunks() -> list[dict[str, Any]]:
    chunks = []
    for i, frag in enumerate(SAMPLE_53):
        tc: dict[str, Any] = {
            "function": {"arguments": frag["args"], "name": frag["name"]},
            "id": frag["id"],
            "index": frag["index"],
            "type": "function",
        }
        if "sig" in frag:
            tc["extra_content"] = {"google": {"thought_signature": frag["sig"]}}
        last = i == len(SAMPLE_53) - 1
        chunks.append(
            chunk(
                {"tool_calls": [tc]},
                "tool_calls" if last else None,
                {
                    "completion_tokens": 45,
                    "completion_tokens_details": {"reasoning_tokens": 504},
                    "extra_properties": {"google": {"traffic_type": "PROVISIONED_THROUGHPUT"}},
                    "prompt_tokens": 27,
                    "total_tokens": 576,
                }
                if last
                else None,
            )
        )
    return chunks


def merge_by_index(fragments: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    calls: dict[int, dict[str, Any]] = {}
    for frag in fragments:
        call = calls.setdefault(frag["index"], {"id": "", "name": "", "arguments": ""})
        call["id"] += frag["id"] or ""
        call["name"] += frag["function"]["name"] or ""
        call["arguments"] += frag["function"]["arguments"] or ""
    return calls


def test_stream_reindexes_inconsistent_sample() -> None:
    acc = StreamAccumulator(None)
    deltas = [acc.feed(c) for c in sample_chunks()]
    fragments = [f for d in deltas for f in d.tool_call_chunks]
    calls = merge_by_index(fragments)
    assert calls == {
        0: {
            "id": "A",
            "name": "get_current_weather",
            "arguments": '{"location":"Boston, MA","unit":"celsius"}',
        },
        1: {
            "id": "B",
            "name": "get_current_weather",
            "arguments": '{"location":"New Delhi, India"}',
        },
    }
    for call in calls.values():
        json.loads(call["arguments"])
    sigs = [d.new_signatures for d in deltas if d.new_signatures]
    assert sigs == [{"A": "SIG"}]
    assert deltas[-1].finish_reason == "tool_calls"
    assert deltas[-1].usage == {
        "input_tokens": 27,
        "output_tokens": 549,
        "total_tokens": 576,
        "reasoning_tokens": 504,
        "cached_tokens": 0,
        "traffic_type": "PROVISIONED_THROUGHPUT",
    }
    assert all(d.usage is None for d in deltas[:-1])
    assert acc.signatures == {"A": "SIG"}


def test_stream_openai_style_fragments_without_id() -> None:
    acc = StreamAccumulator(None)
    frags = [
        {"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}},
        {"index": 1, "id": "c2", "type": "function", "function": {"name": "g", "arguments": ""}},
        {"index": 0, "function": {"arguments": '{"a":'}},
        {"index": 1, "function": {"arguments": '{"b":2}'}},
        {"index": 0, "function": {"arguments": "1}"}},
    ]
    out = [f for fr in frags for f in acc.feed(chunk({"tool_calls": [fr]})).tool_call_chunks]
    assert merge_by_index(out) == {
        0: {"id": "c1", "name": "f", "arguments": '{"a":1}'},
        1: {"id": "c2", "name": "g", "arguments": '{"b":2}'},
    }


def test_stream_index_less_fragments_follow_last_call() -> None:
    acc = StreamAccumulator(None)
    frags = [
        {"id": "x", "function": {"name": "f", "arguments": '{"a"'}},
        {"function": {"arguments": ":1}"}},
    ]
    out = [f for fr in frags for f in acc.feed(chunk({"tool_calls": [fr]})).tool_call_chunks]
    assert merge_by_index(out) == {0: {"id": "x", "name": "f", "arguments": '{"a":1}'}}


def test_stream_gapi_thought_flags_and_final_signature() -> None:
    # https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview capture (Gemini
    # API compat layer)
    acc = StreamAccumulator("thought")
    raw = [
        chunk(
            {
                "content": "<thought>**Calculating**\n\nStep one.",
                "extra_content": {"google": {"thought": True}},
            }
        ),
        chunk({"content": "More thinking.", "extra_content": {"google": {"thought": True}}}),
        chunk({"content": "</thought>The answer is ", "extra_content": None}),
        chunk({"content": "391."}),
        chunk(
            {"content": None, "extra_content": {"google": {"thought_signature": "sig123"}}}, "stop"
        ),
    ]
    deltas = [acc.feed(c) for c in raw]
    assert "".join(d.thoughts for d in deltas) == "**Calculating**\n\nStep one.More thinking."
    assert "".join(d.answer for d in deltas) == "The answer is 391."
    assert [d.message_signature for d in deltas] == [None, None, None, None, "sig123"]
    assert acc.finish().is_empty


def test_stream_flagged_untagged_thoughts_without_marker() -> None:
    acc = StreamAccumulator(None)
    d1 = acc.feed(chunk({"content": "thinking", "extra_content": {"google": {"thought": True}}}))
    d2 = acc.feed(chunk({"content": "answer"}))
    assert (d1.thoughts, d1.answer, d2.thoughts, d2.answer) == ("thinking", "", "", "answer")


def test_stream_split_tags_and_flush_on_finish() -> None:
    acc = StreamAccumulator("t")
    parts = ["<", "t>ab", "c</", "t>ans", "wer <"]
    deltas = [acc.feed(chunk({"content": p})) for p in parts]
    last = acc.feed(chunk({}, "stop"))
    assert "".join(d.thoughts for d in [*deltas, last]) == "abc"
    assert "".join(d.answer for d in [*deltas, last]) == "answer <"


def test_stream_reasoning_content_delta() -> None:
    acc = StreamAccumulator(None)
    d = acc.feed(chunk({"reasoning_content": "r", "content": "a"}))
    assert (d.thoughts, d.answer) == ("r", "a")


def test_stream_usage_only_chunk_and_empty_choices() -> None:
    acc = StreamAccumulator(None)
    d = acc.feed(
        {"choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}}
    )
    assert d.usage == {
        "input_tokens": 2,
        "output_tokens": 3,
        "total_tokens": 5,
        "reasoning_tokens": 0,
        "cached_tokens": 0,
        "traffic_type": None,
    }


def test_rewrite_chunk_for_stock_converter() -> None:
    acc = StreamAccumulator("thought")
    original = chunk(
        {
            "content": "<thought>x</thought>y",
            "extra_content": {"google": {"thought_signature": "S"}},
            "tool_calls": [
                {
                    "index": 3,
                    "id": "A",
                    "type": "function",
                    "function": {"name": "f", "arguments": "{}"},
                    "extra_content": {"google": {"thought_signature": "T"}},
                }
            ],
        }
    )
    frozen = copy.deepcopy(original)
    new, delta = acc.rewrite_chunk(original)
    assert original == frozen
    d = new["choices"][0]["delta"]
    assert d["content"] == "y"
    assert d["reasoning_content"] == "x"
    assert "extra_content" not in d
    assert d["tool_calls"] == [
        {"index": 0, "id": "A", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    ]
    assert delta.message_signature == "S"
    assert delta.new_signatures == {"A": "T"}
    assert new["id"] == "nQiN"


def test_rewrite_chunk_nested_langchain_shape() -> None:
    acc = StreamAccumulator(None)
    new, delta = acc.rewrite_chunk({"type": "chunk", "chunk": chunk({"content": '{"a": 1}'})})
    assert new["type"] == "chunk"
    assert new["chunk"]["choices"][0]["delta"]["content"] == '{"a": 1}'
    assert delta.answer == '{"a": 1}'


def test_finish_chunk() -> None:
    acc = StreamAccumulator("t")
    acc.feed(chunk({"content": "hi <"}))
    final = acc.finish_chunk()
    assert final is not None
    assert final["choices"][0]["delta"]["content"] == "<"
    assert final["model"] == "google/gemini-3.1-pro-preview"
    assert acc.finish_chunk() is None


# --------------------------------------------------------------------------- requests


def test_attach_signatures() -> None:
    wire = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {
                "id": "b",
                "type": "function",
                "function": {"name": "f", "arguments": "{}"},
                "extra_content": {"google": {"other": 1}},
            },
        ],
    }
    frozen = copy.deepcopy(wire)
    out = attach_signatures(wire, {"a": "SA", "b": "SB"}, "SM")
    assert wire == frozen
    assert sig_of(out["tool_calls"][0]) == "SA"
    assert out["tool_calls"][1]["extra_content"] == {
        "google": {"other": 1, "thought_signature": "SB"}
    }
    assert sig_of(out) == "SM"
    assert attach_signatures({"role": "assistant", "content": "x"}, None, None) == {
        "role": "assistant",
        "content": "x",
    }


def tool_turn(ids: list[str], sig: str | None = None) -> list[dict[str, Any]]:
    calls = [
        {"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}} for i in ids
    ]
    if sig:
        calls[0]["extra_content"] = {"google": {"thought_signature": sig}}
    msgs: list[dict[str, Any]] = [{"role": "assistant", "content": None, "tool_calls": calls}]
    msgs += [{"role": "tool", "tool_call_id": i, "content": "ok"} for i in ids]
    return msgs


def test_sentinel_added_only_in_current_turn_for_gemini3() -> None:
    history = [
        {"role": "user", "content": "old question"},
        *tool_turn(["o1"]),
        {"role": "assistant", "content": "old answer"},
        {"role": "user", "content": "new question"},
        *tool_turn(["n1", "n2"]),
        *tool_turn(["n3"], sig="REAL"),
    ]
    out = prepare_wire_messages(history, GEMINI3)
    assert sig_of(out[1]["tool_calls"][0]) is None  # previous turn untouched
    assert sig_of(out[5]["tool_calls"][0]) == SIGNATURE_SENTINEL
    assert sig_of(out[5]["tool_calls"][1]) is None
    assert sig_of(out[8]["tool_calls"][0]) == "REAL"
    assert sig_of(history[5]["tool_calls"][0]) is None  # input not mutated
    assert all(
        sig_of(tc) in (None, "REAL")
        for m in prepare_wire_messages(history, GEMINI25)
        for tc in m.get("tool_calls", [])
    )
    image = model_info("google/gemini-3-pro-image-preview")
    assert sig_of(prepare_wire_messages(history, image)[5]["tool_calls"][0]) is None


def test_tool_message_name_filled() -> None:
    out = prepare_wire_messages([{"role": "user", "content": "q"}, *tool_turn(["x"])], GEMINI25)
    assert out[2]["name"] == "f"


def test_multimodal_conversion() -> None:
    msgs = [
        {
            "role": "user",
            "content": [
                "plain",
                {"type": "text", "text": "t"},
                {"type": "image_url", "image_url": {"url": "gs://b/i.jpg"}},
                {"type": "image_url", "image_url": "https://x/y.png"},
                {
                    "type": "file",
                    "file": {"file_data": "data:application/pdf;base64,JVBER", "filename": "a.pdf"},
                },
                {"type": "file", "file": {"file_data": "JVBER", "filename": "doc.pdf"}},
                {"type": "file", "file": {"file_data": "AAAA", "mime_type": "video/mp4"}},
                {"type": "file", "file": {"file_id": "gs://bucket/doc.pdf"}},
                {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
                {"type": "input_audio", "input_audio": {"data": "SUQz", "format": "mp3"}},
                {
                    "type": "input_audio",
                    "input_audio": {"data": "gs://a.mp3", "format": "audio/mp3"},
                },
                {"type": "video_url", "video_url": {"url": "gs://b/v.mp4"}},
            ],
        }
    ]
    frozen = copy.deepcopy(msgs)
    parts = prepare_wire_messages(msgs, GEMINI25)[0]["content"]
    assert msgs == frozen
    assert parts[0] == {"type": "text", "text": "plain"}
    assert parts[2]["image_url"] == {"url": "gs://b/i.jpg"}
    assert parts[3]["image_url"] == "https://x/y.png"
    assert parts[4] == {
        "type": "image_url",
        "image_url": {"url": "data:application/pdf;base64,JVBER"},
    }
    assert parts[5]["image_url"]["url"] == "data:application/pdf;base64,JVBER"
    assert parts[6]["image_url"]["url"] == "data:video/mp4;base64,AAAA"
    assert parts[7]["input_audio"] == {"data": "gs://bucket/doc.pdf", "format": "application/pdf"}
    assert parts[8]["input_audio"]["format"] == "audio/wav"
    assert parts[9]["input_audio"]["format"] == "audio/mpeg"
    assert parts[10]["input_audio"]["format"] == "audio/mp3"
    # One rule for URIs (media_part): a video keeps its MIME type, as a `file` URL does.
    assert parts[11] == {
        "type": "input_audio",
        "input_audio": {"data": "gs://b/v.mp4", "format": "video/mp4"},
    }


@pytest.mark.parametrize(
    "part",
    [
        {"type": "hologram", "data": 1},
        {"type": "file", "file": {"file_id": "file-abc123"}},
        {"type": "file", "file": {}},
        42,
    ],
)
def test_unsupported_parts(part: Any) -> None:
    with pytest.raises(VertexConfigError):
        prepare_wire_messages([{"role": "user", "content": [part]}], GEMINI25)


def test_assistant_provider_blocks_dropped() -> None:
    msgs = [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "a"},
                {"type": "tool_use", "id": "x", "name": "f", "input": {}},
            ],
        }
    ]
    assert prepare_wire_messages(msgs, GEMINI25)[0]["content"] == [{"type": "text", "text": "a"}]


# --------------------------------------------------------------------------- usage


def test_normalize_usage_vertex_convention() -> None:
    usage = {
        "completion_tokens": 1120,
        "completion_tokens_details": {"reasoning_tokens": 251},
        "prompt_tokens": 7,
        "total_tokens": 1378,
        "extra_properties": {"google": {"traffic_type": "ON_DEMAND"}},
    }
    assert normalize_usage(usage) == {
        "input_tokens": 7,
        "output_tokens": 1371,
        "total_tokens": 1378,
        "reasoning_tokens": 251,
        "cached_tokens": 0,
        "traffic_type": "ON_DEMAND",
    }


def test_normalize_usage_openai_convention_and_cache() -> None:
    usage = {
        "completion_tokens": 100,
        "completion_tokens_details": {"reasoning_tokens": 60},
        "prompt_tokens": 10,
        "total_tokens": 110,
        "prompt_tokens_details": {"cached_tokens": 8},
    }
    out = normalize_usage(usage)
    assert out is not None
    assert (out["output_tokens"], out["total_tokens"], out["cached_tokens"]) == (100, 110, 8)


def test_normalize_usage_none() -> None:
    assert normalize_usage(None) is None


# --------------------------------------------------------------------------- properties

IDS = st.text(alphabet="abcdef0123456789-", min_size=1, max_size=8)
SIGS = st.text(alphabet="ABCDEFabcdef0123456789+/=", min_size=1, max_size=12)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, str], dict[int, str]]:
    """Random history shapes: user turns, tool steps (parallel calls), text answers."""
    messages: list[dict[str, Any]] = []
    tool_sigs: dict[str, str] = {}
    msg_sigs: dict[int, str] = {}
    used: set[str] = set()
    for _ in range(draw(st.integers(1, 4))):
        messages.append({"role": "user", "content": draw(st.text(max_size=5))})
        for _ in range(draw(st.integers(0, 3))):
            ids = [
                i for i in draw(st.lists(IDS, min_size=1, max_size=3, unique=True)) if i not in used
            ]
            if not ids:
                continue
            used.update(ids)
            if draw(st.booleans()):
                tool_sigs[ids[0]] = draw(SIGS)
            messages.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}}
                        for i in ids
                    ],
                }
            )
            messages += [{"role": "tool", "tool_call_id": i, "content": "r"} for i in ids]
        if draw(st.booleans()):
            messages.append({"role": "assistant", "content": draw(st.text(max_size=5))})
            if draw(st.booleans()):
                msg_sigs[len(messages) - 1] = draw(SIGS)
    return messages, tool_sigs, msg_sigs


@settings(max_examples=200, deadline=None)
@given(data=histories(), gemini3=st.booleans())
def test_signatures_round_trip(
    data: tuple[list[dict[str, Any]], dict[str, str], dict[int, str]], gemini3: bool
) -> None:
    messages, tool_sigs, msg_sigs = data
    wire = [
        attach_signatures(m, tool_sigs, msg_sigs.get(i)) if m["role"] == "assistant" else m
        for i, m in enumerate(messages)
    ]
    wire = json.loads(json.dumps(wire))  # survives serialisation
    prepared = prepare_wire_messages(wire, GEMINI3 if gemini3 else GEMINI25)
    recovered: dict[str, str] = {}
    for i, msg in enumerate(prepared):
        if msg["role"] != "assistant":
            continue
        parsed = parse_message(msg, None)
        assert parsed.message_signature == msg_sigs.get(i)
        for tc_id, sig in parsed.tool_call_signatures.items():
            if sig != SIGNATURE_SENTINEL:
                recovered[tc_id] = sig
    assert recovered == tool_sigs
    # Gemini 3: every step of the current turn has a signature on its first call.
    if gemini3:
        start = max(i for i, m in enumerate(prepared) if m["role"] == "user")
        for msg in prepared[start:]:
            if msg.get("tool_calls"):
                assert sig_of(msg["tool_calls"][0])


@settings(max_examples=200, deadline=None)
@given(
    calls=st.lists(
        st.tuples(
            IDS,
            # Arguments are JSON objects on the wire: the merge uses "a whole JSON value
            # was received" to tell a repeated id's new call from a continuation.
            st.dictionaries(st.text(alphabet="ab1", max_size=3), st.text(max_size=4)).map(
                json.dumps
            ),
        ),
        min_size=1,
        max_size=4,
        unique_by=lambda c: c[0],
    ),
    split=st.lists(st.integers(1, 4), min_size=1, max_size=6),
    index_noise=st.lists(st.integers(0, 3), min_size=30, max_size=30),
)
def test_stream_fragments_regroup_by_id(
    calls: list[tuple[str, str]], split: list[int], index_noise: list[int]
) -> None:
    acc = StreamAccumulator(None)
    fragments: list[dict[str, Any]] = []
    n = 0
    for tc_id, args in calls:
        pieces, pos, k = [], 0, 0
        while pos < len(args) or not pieces:
            step = split[k % len(split)]
            pieces.append(args[pos : pos + step])
            pos += step
            k += 1
        for j, piece in enumerate(pieces):
            tc = {
                "id": tc_id,
                "index": index_noise[n % 30],
                "type": "function",
                "function": {"name": "fn", "arguments": piece},
            }
            if j == 0:
                tc["extra_content"] = {"google": {"thought_signature": "S" + tc_id}}
            n += 1
            fragments += acc.feed(chunk({"tool_calls": [tc]})).tool_call_chunks
    merged = merge_by_index(fragments)
    assert merged == {
        i: {"id": tc_id, "name": "fn", "arguments": args} for i, (tc_id, args) in enumerate(calls)
    }
    assert acc.signatures == {tc_id: "S" + tc_id for tc_id, _ in calls}


def test_stream_flagged_text_with_lt_and_split_tag() -> None:
    acc = StreamAccumulator("thought")
    flag = {"extra_content": {"google": {"thought": True}}}
    d1 = acc.feed(chunk({"content": "a<b so", **flag}))
    d2 = acc.feed(chunk({"content": "x <tho", **flag}))
    d3 = acc.feed(chunk({"content": "ught>t</thought>ans"}))
    assert (d1.thoughts, d1.answer) == ("a<b so", "")
    # A possible tag start goes through the tag parser (tags win over the flag).
    assert (d2.thoughts, d2.answer) == ("", "x ")
    assert (d3.thoughts, d3.answer) == ("t", "ans")


# --------------------------------------------------------------------------- issue 12 #1


def _call(tc_id: str | None, index: int | None, name: str | None, args: str) -> dict[str, Any]:
    tc: dict[str, Any] = {"type": "function", "function": {"arguments": args}}
    if tc_id is not None:
        tc["id"] = tc_id
    if index is not None:
        tc["index"] = index
    if name is not None:
        tc["function"]["name"] = name
    return tc


def _merged(chunks: list[list[dict[str, Any]]]) -> list[tuple[str, str, str]]:
    acc = StreamAccumulator(None)
    fragments = []
    for calls in chunks:
        fragments += acc.feed(chunk({"tool_calls": calls})).tool_call_chunks
    merged = merge_by_index(fragments)
    return [(c["id"], c["name"], c["arguments"]) for _, c in sorted(merged.items())]


PARIS, LONDON = '{"city":"Paris"}', '{"city":"London"}'


@pytest.mark.parametrize(
    "chunks",
    [
        # Gemini 2.x: id == function name, both calls in one delta.
        [[_call("get_w", 0, "get_w", PARIS), _call("get_w", 1, "get_w", LONDON)]],
        # ... in separate deltas, the same index.
        [[_call("get_w", 0, "get_w", PARIS)], [_call("get_w", 0, "get_w", LONDON)]],
        # ... with stream_function_call_arguments: heads with "" and the index quirk.
        [
            [_call("get_w", 1, "get_w", "")],
            [_call("get_w", 0, "get_w", '{"city":')],
            [_call("get_w", 0, "get_w", '"Paris"}')],
            [_call("get_w", 0, "get_w", "")],
            [_call("get_w", 1, "get_w", LONDON)],
        ],
        # Gemini API compat layer: no index and no id at all.
        [[_call(None, None, "get_w", PARIS), _call(None, None, "get_w", LONDON)]],
    ],
)
def test_repeated_ids_and_missing_index_give_separate_calls(
    chunks: list[list[dict[str, Any]]],
) -> None:
    calls = _merged(chunks)
    assert [(name, args) for _, name, args in calls] == [("get_w", PARIS), ("get_w", LONDON)]
    ids = [i for i, _, _ in calls]
    assert all(ids)
    assert len(set(ids)) == 2
    # A derived id maps back to the wire id (the function name when there was none).
    assert [original_tool_call_id(i) for i in ids] == ["get_w", "get_w"]


def test_openai_style_index_continuations_and_trailing_whitespace() -> None:
    calls = _merged(
        [
            [_call("call_1", 0, "f", "")],
            [_call(None, 0, None, '{"x":1}')],
            [_call(None, 0, None, " ")],  # whitespace after a whole value still belongs to it
            [_call("call_2", 1, "f", '{"x":2}')],
        ]
    )
    assert calls == [("call_1", "f", '{"x":1} '), ("call_2", "f", '{"x":2}')]


def test_derived_ids_are_mapped_back_on_replay() -> None:
    parsed = parse_message(
        {
            "role": "assistant",
            "tool_calls": [
                _call("get_w", None, "get_w", PARIS),
                _call("get_w", None, "get_w", LONDON),
            ],
        },
        None,
    )
    assert [tc["id"] for tc in parsed.tool_calls] == ["get_w", "get_w-vx1"]
    wire = prepare_wire_messages(
        [
            {"role": "assistant", "tool_calls": parsed.tool_calls},
            {"role": "tool", "tool_call_id": "get_w", "content": "a"},
            {"role": "tool", "tool_call_id": "get_w-vx1", "content": "b"},
        ],
        None,
    )
    assert [tc["id"] for tc in wire[0]["tool_calls"]] == ["get_w", "get_w"]
    assert [m["tool_call_id"] for m in wire[1:]] == ["get_w", "get_w"]
    assert [m["name"] for m in wire[1:]] == ["get_w", "get_w"]


def test_billed_total_above_prompt_plus_completion_is_kept() -> None:
    usage = normalize_usage({"prompt_tokens": 108, "completion_tokens": 19, "total_tokens": 194})
    assert usage is not None
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (108, 86, 194)
    assert usage["reasoning_tokens"] == 67


# A stream as LangChain hands it over (SDK chunk model_dump()s): text pieces cut anywhere,
# tags included, and now and then a chunk that is more than text.
_TEXT_PIECES = st.text(alphabet="ab <>/thougt", max_size=8)


def _text_chunk(text: str) -> dict[str, Any]:
    delta = {
        "content": text,
        "function_call": None,
        "refusal": None,
        "role": "assistant",
        "tool_calls": None,
    }
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None, "logprobs": None}],
        "usage": None,
    }


def _other_chunk(kind: int, text: str) -> dict[str, Any]:
    chunk = _text_chunk(text)
    delta = chunk["choices"][0]["delta"]
    if kind == 0:
        delta["extra_content"] = {"google": {"thought": True}}
    elif kind == 1:
        delta["refusal"] = "no"
    elif kind == 2:
        delta["reasoning_content"] = "r"
    else:
        chunk["usage"] = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    return chunk


@settings(max_examples=200, deadline=None)
@given(
    pieces=st.lists(
        st.tuples(_TEXT_PIECES, st.one_of(st.none(), st.integers(min_value=0, max_value=3))),
        max_size=12,
    ),
    marker=st.sampled_from([None, "thought"]),
)
def test_text_only_fast_path_matches_the_full_walk(
    pieces: list[tuple[str, int | None]], marker: str | None
) -> None:
    # The `{"chunk": ...}` form (LangChain's structured stream) always takes the full
    # walk of feed(); the bare text chunk takes the fast path. Both must say the same.
    fast, full = StreamAccumulator(marker), StreamAccumulator(marker)
    for text, kind in pieces:
        chunk = _text_chunk(text) if kind is None else _other_chunk(kind, text)
        assert fast.feed(copy.deepcopy(chunk)) == full.feed({"chunk": chunk})
    assert fast.finish() == full.finish()


@pytest.mark.parametrize(
    "message",
    [
        {"role": "assistant", "content": "plain answer"},
        {"role": "assistant", "content": None, "refusal": "I can't help with that."},
        {"role": "assistant", "content": "<thought>hmm</thought>answer"},
        {
            "role": "assistant",
            "content": "all thought",
            "extra_content": {"google": {"thought": True, "thought_signature": "c2ln"}},
        },
        {"role": "assistant", "content": "", "reasoning_content": "steps"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "f", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
    ],
)
@pytest.mark.parametrize("marker", [None, "thought"])
def test_parse_message_reads_sdk_objects_as_their_dicts(
    message: dict[str, Any], marker: str | None
) -> None:
    # The SDK object takes a shortcut when it holds only text; it must agree with the
    # general path the same message takes as a dict.
    from openai._models import construct_type
    from openai.types.chat import ChatCompletionMessage

    sdk = construct_type(type_=ChatCompletionMessage, value=copy.deepcopy(message))
    assert parse_message(sdk, marker) == parse_message(message, marker)
