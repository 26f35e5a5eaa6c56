"""Property tests: thoughts and thought signatures survive any history shape, through each
framework class's own request building and response parsing, over real HTTP to a local
server that answers each request with the Vertex-shaped body the example drew."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vertex_openai._constants import MESSAGE_SIGNATURE_KEY, SIGNATURES_KEY, THOUGHTS_WIRE_KEY

# The static token below is what these tests mean to use; its expiry warning is expected.
pytestmark = pytest.mark.filterwarnings("ignore:api_key holds a Google OAuth access token")

PRIVATE = (SIGNATURES_KEY, MESSAGE_SIGNATURE_KEY, THOUGHTS_WIRE_KEY)
WORDS = st.text(
    alphabet=st.characters(blacklist_characters="<>", blacklist_categories=("Cs", "Cc")),
    min_size=1,
    max_size=24,
)
SIGNATURE = st.binary(min_size=4, max_size=24).map(lambda b: b.hex())


@st.composite
def assistant_turn(draw: st.DrawFn, number: int) -> dict[str, Any]:
    calls = []
    for k in range(draw(st.integers(0, 3))):
        calls.append(
            {
                "id": f"function-call-{number}-{k}",
                "name": draw(st.sampled_from(["get_weather", "lookup", "convert"])),
                "arguments": {"q": draw(WORDS)},
                "signature": draw(st.none() | SIGNATURE),
            }
        )
    return {
        "thoughts": draw(st.none() | WORDS),
        "answer": draw(st.just("") | WORDS) if calls else draw(WORDS),
        "calls": calls,
        "message_signature": draw(st.none() | SIGNATURE),
    }


HISTORIES = st.integers(1, 4).flatmap(lambda n: st.tuples(*(assistant_turn(i) for i in range(n))))


def vertex_response(turn: dict[str, Any]) -> dict[str, Any]:
    """A chat.completion body as Vertex sends it for this turn (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/examples,
    https://cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures)."""
    content = turn["answer"]
    if turn["thoughts"]:
        content = f"<thought>{turn['thoughts']}</thought>{content}"
    message: dict[str, Any] = {"role": "assistant", "content": content or None}
    if turn["calls"]:
        message["tool_calls"] = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
                **(
                    {"extra_content": {"google": {"thought_signature": c["signature"]}}}
                    if c["signature"]
                    else {}
                ),
            }
            for c in turn["calls"]
        ]
    if turn["message_signature"]:
        message["extra_content"] = {"google": {"thought_signature": turn["message_signature"]}}
    return {
        "id": "bA-NacCPKoae",
        "object": "chat.completion",
        "created": 1,
        "system_fingerprint": "",
        "model": "google/gemini-2.5-flash",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls" if turn["calls"] else "stop",
                "logprobs": None,
                "message": message,
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def check_wire(wire_messages: list[dict[str, Any]], turns: tuple[dict[str, Any], ...]) -> None:
    assistants = [m for m in wire_messages if m["role"] == "assistant"]
    assert len(assistants) == len(turns)
    for wire, turn in zip(assistants, turns, strict=True):
        expected_text = turn["answer"]
        if turn["thoughts"]:
            expected_text = f"<thought>{turn['thoughts']}</thought>{expected_text}"
        assert (wire.get("content") or "") == expected_text
        sent_calls = wire.get("tool_calls") or []
        assert [c["id"] for c in sent_calls] == [c["id"] for c in turn["calls"]]
        for sent, call in zip(sent_calls, turn["calls"], strict=True):
            got = (sent.get("extra_content") or {}).get("google", {}).get("thought_signature")
            assert got == call["signature"]  # exactly the one received, never concatenated
        message_sig = (wire.get("extra_content") or {}).get("google", {}).get("thought_signature")
        assert message_sig == turn["message_signature"]
    dumped = json.dumps(wire_messages)
    for key in PRIVATE:
        assert key not in dumped


class Replay:
    """A 127.0.0.1 server answering every POST with `body`, recording what it received."""

    def __init__(self) -> None:
        self.body: dict[str, Any] = {}
        self.received: list[dict[str, Any]] = []
        replay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                replay.received.append(json.loads(self.rfile.read(length)))
                data = json.dumps(replay.body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answer(self, body: dict[str, Any]) -> None:
        self.body = body


@pytest.fixture(scope="module")
def replay() -> Iterator[Replay]:
    server = Replay()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
        thread.join(timeout=10)


# A static OAuth token: no token endpoint needed, and sent only to the replay server.
STATIC = {"api_key": "ya29.property-test-token", "max_retries": 0}
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(turns=HISTORIES)
def test_langchain_history_round_trip(replay: Replay, turns: tuple[dict[str, Any], ...]) -> None:
    pytest.importorskip("langchain_openai")
    from langchain_core.messages import HumanMessage, ToolMessage

    from langchain_vertex_openai import ChatVertexOpenAI

    llm = ChatVertexOpenAI(
        model="gemini-2.5-flash",
        base_url=replay.url,
        thinking_config={"include_thoughts": True},
        **STATIC,
    )
    history: list[Any] = [HumanMessage("start")]
    for turn in turns:
        replay.answer(vertex_response(turn))
        message = llm.invoke(history)
        assert message.text == turn["answer"]
        assert (message.additional_kwargs.get("reasoning_content") or None) == turn["thoughts"]
        history.append(message)
        history.extend(ToolMessage("ok", tool_call_id=c["id"]) for c in turn["calls"])
        history.append(HumanMessage("next"))
    llm.invoke(history)
    check_wire(replay.received[-1]["messages"], turns)


@PROPERTY
@given(turns=HISTORIES)
def test_llama_index_history_round_trip(replay: Replay, turns: tuple[dict[str, Any], ...]) -> None:
    pytest.importorskip("llama_index.core")
    from llama_index.core.llms import ChatMessage

    from llama_index_vertex_openai import ChatVertexOpenAI

    llm = ChatVertexOpenAI(
        model="gemini-2.5-flash",
        base_url=replay.url,
        thinking_config={"include_thoughts": True},
        **STATIC,
    )
    history: list[Any] = [ChatMessage(role="user", content="start")]
    for turn in turns:
        replay.answer(vertex_response(turn))
        message = llm.chat(history).message
        assert (message.content or "") == turn["answer"]
        history.append(message)
        history.extend(
            ChatMessage(role="tool", content="ok", additional_kwargs={"tool_call_id": c["id"]})
            for c in turn["calls"]
        )
        history.append(ChatMessage(role="user", content="next"))
    llm.chat(history)
    check_wire(replay.received[-1]["messages"], turns)
