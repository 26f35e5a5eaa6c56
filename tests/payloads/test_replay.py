"""Recorded payloads rebuilt from public captures, replayed through both classes and their parents.

Each `*.json` here is one response, stream or error body of Vertex's OpenAI-compatible
endpoint (`layer: vertex`) or, marked as such, of Google's Gemini API compat layer
(`layer: gemini-api-compat`), with its public source and date. A small HTTP server on
127.0.0.1 (started by this module) answers every chat-completions request with the
payload under test; LangChain's `ChatVertexOpenAI` and LlamaIndex's `ChatVertexOpenAI`
must parse it into `expect`, and must be at least as right as plain `ChatOpenAI` and
`OpenAILike` on the same bytes.
"""

from __future__ import annotations

import json
import pathlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai
import pytest
from google.oauth2 import credentials as oauth2_credentials

from vertex_openai._constants import MESSAGE_SIGNATURE_KEY, SIGNATURES_KEY

HERE = pathlib.Path(__file__).parent
PAYLOADS = sorted(HERE.glob("*.json"))
PROJECT, LOCATION = "replay-project", "us-central1"


def load(path: pathlib.Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_corpus_is_sourced_and_large_enough() -> None:
    payloads = [load(p) for p in PAYLOADS]
    assert len(payloads) >= 20
    for data in payloads:
        source = data["source"]
        assert source["url"].startswith("https://"), data["name"]
        assert source["layer"] in ("vertex", "gemini-api-compat")
        assert source["date_note"]
        assert data["kind"] in ("response", "stream", "error")
    kinds = {d["name"] for d in payloads}
    for needed in (
        "vertex_stream_parallel_calls_share_id_one_delta",  # duplicate ids
        "gapi_stream_tool_calls_without_index",  # no index
        "gapi_stream_thought_tags_flags_and_null_signature_chunk",  # thought flags + null sig
        "vertex_response_image_in_message_audio",
        "err_vertex_maas_400_list_wrapped_pretty",
    ):
        assert needed in kinds


# -- the replay server -------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _ReplayServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("content-length") or 0)
        self.server.requests.append(json.loads(self.rfile.read(length) or b"{}"))
        payload = self.server.payload
        if payload["kind"] == "error":
            body = payload["text"].encode()
            ctype = payload.get("content_type", "application/json; charset=UTF-8")
            self._send(payload["status"], ctype, body)
        elif payload["kind"] == "response":
            self._send(200, "application/json; charset=UTF-8", json.dumps(payload["body"]).encode())
        else:
            lines = [f"data: {json.dumps(c, separators=(',', ':'))}\n\n" for c in payload["chunks"]]
            self._send(200, "text/event-stream", ("".join(lines) + "data: [DONE]\n\n").encode())

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _ReplayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.payload: dict[str, Any] = {}
        self.requests: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def base_url(self, endpoint: str = "openapi") -> str:
        return f"{self.url}/v1/projects/{PROJECT}/locations/{LOCATION}/endpoints/{endpoint}"


@pytest.fixture(scope="module")
def server() -> Iterator[_ReplayServer]:
    srv = _ReplayServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=10)


# -- the four clients ----------------------------------------------------------------------


def _ours_kwargs(server: _ReplayServer, payload: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "project": PROJECT,
        "location": LOCATION,
        "api_endpoint": server.url,
        "credentials": oauth2_credentials.Credentials(token="replay-token"),
        "max_retries": 0,
    }
    if payload.get("endpoint"):
        kwargs["endpoint_id"] = payload["endpoint"]
    request = payload.get("request", {})
    if request.get("include_thoughts"):
        kwargs["thinking_config"] = {"include_thoughts": True}
    if request.get("thought_tag_marker"):
        kwargs["thought_tag_marker"] = request["thought_tag_marker"]
    return kwargs


def _model(payload: dict[str, Any]) -> str:
    model = payload["model"]
    if model and "/" not in model:
        return f"google/{model}"  # Gemini API ids are bare; ours wants the publisher
    return model


def _lc_result(message: Any) -> dict[str, Any]:
    content = message.content
    text = (
        content
        if isinstance(content, str)
        else "".join(
            b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    )
    images = (
        0
        if isinstance(content, str)
        else sum(1 for b in content if isinstance(b, dict) and b.get("type") == "image")
    )
    usage = message.usage_metadata
    kwargs = message.additional_kwargs
    return {
        "content": text,
        "thoughts": kwargs.get("reasoning_content") or "",
        "tool_calls": [[tc["name"], tc["args"]] for tc in message.tool_calls],
        "ids": [tc["id"] for tc in message.tool_calls],
        "usage": [usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]]
        if usage
        else None,
        "images": images,
        "tool_signature": bool(kwargs.get(SIGNATURES_KEY)),
        "message_signature": bool(kwargs.get(MESSAGE_SIGNATURE_KEY)),
    }


def _li_result(response: Any, usage_kwargs: dict[str, Any]) -> dict[str, Any]:
    from llama_index.core.base.llms.types import (
        ImageBlock,
        TextBlock,
        ThinkingBlock,
        ToolCallBlock,
    )

    blocks = response.message.blocks
    calls = []
    for b in blocks:
        if isinstance(b, ToolCallBlock):
            args = b.tool_kwargs
            calls.append([b.tool_name, json.loads(args) if isinstance(args, str) else args])
    kwargs = response.message.additional_kwargs
    usage = None
    if "total_tokens" in usage_kwargs:
        usage = [
            usage_kwargs["prompt_tokens"],
            usage_kwargs["completion_tokens"],
            usage_kwargs["total_tokens"],
        ]
    return {
        "content": "".join(b.text for b in blocks if isinstance(b, TextBlock)),
        "thoughts": "".join(b.content or "" for b in blocks if isinstance(b, ThinkingBlock)),
        "tool_calls": calls,
        "ids": [b.tool_call_id for b in blocks if isinstance(b, ToolCallBlock)],
        "usage": usage,
        "images": sum(1 for b in blocks if isinstance(b, ImageBlock)),
        "tool_signature": bool(kwargs.get(SIGNATURES_KEY)),
        "message_signature": bool(kwargs.get(MESSAGE_SIGNATURE_KEY)),
    }


def run_langchain(llm: Any, payload: dict[str, Any]) -> dict[str, Any]:
    if payload["kind"] == "stream":
        full = None
        for chunk in llm.stream("hi"):
            full = chunk if full is None else full + chunk
        return _lc_result(full)
    return _lc_result(llm.invoke("hi"))


def run_llama_index(llm: Any, payload: dict[str, Any]) -> dict[str, Any]:
    from llama_index.core.base.llms.types import ChatMessage

    messages = [ChatMessage(role="user", content="hi")]
    if payload["kind"] == "stream":
        last, usage = None, {}
        for last in llm.stream_chat(messages):
            if "total_tokens" in last.additional_kwargs:
                usage = last.additional_kwargs
        assert last is not None
        return _li_result(last, usage)
    response = llm.chat(messages)
    return _li_result(response, response.additional_kwargs)


def lc_ours(server: _ReplayServer, payload: dict[str, Any]) -> Any:
    pytest.importorskip("langchain_openai")
    from langchain_vertex_openai import ChatVertexOpenAI

    model = {"model": _model(payload)} if payload["model"] else {}
    return ChatVertexOpenAI(**model, **_ours_kwargs(server, payload))


def lc_parent(server: _ReplayServer, payload: dict[str, Any]) -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=payload["model"] or "served-model",
        base_url=server.base_url(payload.get("endpoint") or "openapi"),
        api_key="replay-token",  # type: ignore[arg-type]
        max_retries=0,
        stream_usage=True,
    )


def li_ours(server: _ReplayServer, payload: dict[str, Any]) -> Any:
    pytest.importorskip("llama_index.llms.openai_like")
    from llama_index_vertex_openai import ChatVertexOpenAI

    return ChatVertexOpenAI(model=_model(payload) or None, **_ours_kwargs(server, payload))


def li_parent(server: _ReplayServer, payload: dict[str, Any]) -> Any:
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(
        model=payload["model"] or "served-model",
        api_base=server.base_url(payload.get("endpoint") or "openapi"),
        api_key="replay-token",
        is_chat_model=True,
        is_function_calling_model=True,
        max_retries=0,
    )


FRAMEWORKS = {
    "langchain": (lc_ours, lc_parent, run_langchain),
    "llama_index": (li_ours, li_parent, run_llama_index),
}


def _check(result: dict[str, Any], expect: dict[str, Any]) -> None:
    assert result["content"] == expect.get("content", result["content"])
    assert result["thoughts"] == expect.get("thoughts", "")
    assert result["tool_calls"] == expect.get("tool_calls", [])
    if expect.get("unique_ids") or expect.get("tool_calls"):
        assert all(result["ids"])
        assert len(set(result["ids"])) == len(result["ids"])
    if "usage" in expect:
        assert result["usage"] == expect["usage"]
    assert result["images"] == expect.get("images", 0)
    assert result["tool_signature"] == expect.get("tool_signature", False)
    assert result["message_signature"] == expect.get("message_signature", False)


def _outcome(run: Any, llm: Any, payload: dict[str, Any]) -> Any:
    try:
        return run(llm, payload)
    except openai.APIStatusError as exc:
        return exc
    except Exception as exc:  # a parent that cannot parse the bytes at all
        return exc


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
@pytest.mark.parametrize("path", PAYLOADS, ids=[p.stem for p in PAYLOADS])
def test_replay(server: _ReplayServer, framework: str, path: pathlib.Path) -> None:
    payload = load(path)
    make_ours, make_parent, run = FRAMEWORKS[framework]
    server.payload = payload
    ours_llm = make_ours(server, payload)
    expect = payload["expect"]
    ours = _outcome(run, ours_llm, payload)
    parent = _outcome(run, make_parent(server, payload), payload)
    if payload["kind"] == "error":
        # Same openai class as the parent, with Google's message readable in it.
        assert isinstance(ours, openai.APIStatusError), ours
        assert isinstance(ours, getattr(openai, expect["error"]))
        assert type(parent) is type(ours)  # LangChain may use its own subclass: same for both
        for needle in expect["contains"]:
            assert needle in str(ours)
        return
    assert isinstance(ours, dict), ours
    _check(ours, expect)
    # At least as right as the parent on the same bytes.
    if isinstance(parent, dict):
        for key in ("content", "tool_calls", "usage", "images"):
            if parent[key] == expect.get(key, parent[key]):
                assert ours[key] == parent[key], key
