"""A small, fast local fake of the APIs the alternatives speak, plus our OpenAI route.

Section 6 (``bench_alternatives``) points every client at this one server, so that all
of them get the same answer text, the same answer size and the same number of stream
chunks, each in its own protocol:

* Google's native JSON, Vertex routes (``google-genai`` with ``vertexai=True``,
  ``ChatVertexAI``'s REST transport, LiteLLM ``vertex_ai/``):
  ``POST /{v1,v1beta1}/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent``
  and ``...:streamGenerateContent`` (``?alt=sse``: server-sent events, as google-genai
  and LiteLLM ask; without it a streamed JSON array, as the GAPIC REST transport reads);
* the Gemini API routes (``/v1beta/models/{m}:generateContent`` and
  ``:streamGenerateContent``, key in ``x-goog-api-key`` or ``?key=``);
* ``POST /token``: an OAuth token endpoint, for a client that only takes credentials
  JSON (LiteLLM gets ``authorized_user`` JSON whose ``token_uri`` points here);
* the OpenAI-compatible Chat Completions route of ``_server`` (plain
  ``/v1/chat/completions`` and the Vertex ``.../endpoints/openapi/chat/completions``).

Every answer is fixed bytes built once; a request without credentials gets a 401.
``GET /stats`` returns how many requests each route kind answered (the benchmark checks
that every client really spoke the protocol it is labelled with). Runs in its own process
(:class:`FakeGoogleProcess`): ``python benchmarks/_fake_google.py`` prints ``PORT <n>``
and exits when stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import sys
from collections import Counter
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _server import ANSWER, _is_chat_path, _response, build_stream_body

MODEL_ID = "gemini-2.5-flash"
PROMPT_TOKENS, ANSWER_TOKENS = 5, 9


def plain_chunks(n_chunks: int) -> list[str]:
    """A plain answer (no thoughts) of about 5.5 characters per chunk, cut into ``n_chunks``."""
    words = (
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "a",
        "lazy",
        "dog",
        "and",
        "then",
        "answers",
        "every",
        "question",
        "about",
        "it",
    )
    text = ""
    i = 0
    while len(text) < n_chunks * 5.5:
        text += words[i % len(words)] + " "
        i += 1
    text = text[: int(n_chunks * 5.5)]
    step = len(text) / n_chunks
    cuts = [round(k * step) for k in range(n_chunks + 1)]
    return [text[a:b] for a, b in itertools.pairwise(cuts)]


def _usage(completion: int) -> dict[str, Any]:
    return {
        "promptTokenCount": PROMPT_TOKENS,
        "candidatesTokenCount": completion,
        "totalTokenCount": PROMPT_TOKENS + completion,
    }


def _candidate(text: str, finish: bool) -> dict[str, Any]:
    cand: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
    if finish:
        cand["finishReason"] = "STOP"
    return cand


def native_response(text: str = ANSWER) -> dict[str, Any]:
    return {
        "candidates": [{**_candidate(text, True), "index": 0}],
        "usageMetadata": _usage(ANSWER_TOKENS),
        "modelVersion": MODEL_ID,
        "responseId": "bench-response",
    }


def native_stream_events(chunks: list[str]) -> list[dict[str, Any]]:
    """One ``GenerateContentResponse`` per chunk; the last one finishes and has the usage.

    (Gemini sends the usage with every chunk and the finish reason with the last: the
    same shape, so each client does its normal per-chunk work.)
    """
    events = []
    for i, piece in enumerate(chunks):
        last = i == len(chunks) - 1
        events.append(
            {
                "candidates": [_candidate(piece, last)],
                "usageMetadata": _usage(i + 1),
                "modelVersion": MODEL_ID,
                "responseId": "bench-stream",
            }
        )
    return events


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class _Answers:
    def __init__(self, n_chunks: int) -> None:
        chunks = plain_chunks(n_chunks)
        self.chunks = chunks
        events = native_stream_events(chunks)
        json_type = "application/json; charset=UTF-8"
        self.native = _response("200 OK", json_type, _dumps(native_response()))
        self.native_sse = _response(
            "200 OK",
            "text/event-stream",
            b"".join(b"data: " + _dumps(e) + b"\r\n\r\n" for e in events),
        )
        self.native_array = _response(
            "200 OK", json_type, b"[" + b",\r\n".join(_dumps(e) for e in events) + b"]"
        )
        openai_json = {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "google/" + MODEL_ID,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": ANSWER},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": PROMPT_TOKENS,
                "completion_tokens": ANSWER_TOKENS,
                "total_tokens": PROMPT_TOKENS + ANSWER_TOKENS,
            },
        }
        self.openai = _response("200 OK", "application/json", _dumps(openai_json))
        self.openai_sse = _response("200 OK", "text/event-stream", build_stream_body(chunks))
        self.token = _response(
            "200 OK",
            "application/json",
            b'{"access_token":"ya29.bench-fake","expires_in":3599,"token_type":"Bearer"}',
        )
        self.unauthorized = _response(
            "401 Unauthorized",
            "application/json",
            b'{"error":{"code":401,"message":"no credentials","status":"UNAUTHENTICATED"}}',
        )
        self.not_found = _response(
            "404 Not Found",
            "application/json",
            b'{"error":{"code":404,"message":"unknown route","status":"NOT_FOUND"}}',
        )


def route_kind(path: str) -> str | None:
    """``vertex`` / ``gemini`` (native) or ``openai`` / ``openai-vertex``; None if unknown."""
    bare = path.split("?", 1)[0]
    if _is_chat_path(bare):
        return "openai" if bare == "/v1/chat/completions" else "openai-vertex"
    if ":generateContent" not in bare and ":streamGenerateContent" not in bare:
        return None
    parts = bare.strip("/").split("/")
    if (
        len(parts) == 9
        and parts[0] in ("v1", "v1beta1")
        and parts[1] == "projects"
        and parts[3] == "locations"
        and parts[5:7] == ["publishers", "google"]
        and parts[7] == "models"
    ):
        return "vertex"
    if len(parts) == 3 and parts[0] in ("v1", "v1beta") and parts[1] == "models":
        return "gemini"
    return None


class _Protocol(asyncio.Protocol):
    def __init__(self, answers: _Answers, stats: Counter[str]) -> None:
        self.a = answers
        self.stats = stats
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
            method, target = lines[0].split(" ", 2)[:2]
            length = 0
            auth = "key=" in target
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "authorization":
                    auth = auth or value.strip().startswith("Bearer ")
                elif name == "x-goog-api-key":
                    auth = auth or bool(value.strip())
            if len(self.buf) < end + 4 + length:
                return
            body = bytes(self.buf[end + 4 : end + 4 + length])
            del self.buf[: end + 4 + length]
            assert self.transport is not None
            self.transport.write(self._answer(method, target, body, auth))

    def _answer(self, method: str, target: str, body: bytes, auth: bool) -> bytes:
        if method == "GET" and target == "/stats":
            return _response("200 OK", "application/json", _dumps(dict(self.stats)))
        if method == "POST" and target == "/token":
            # OAuth refresh for clients that only take credentials JSON (LiteLLM).
            self.stats["token"] += 1
            return self.a.token
        kind = route_kind(target) if method == "POST" else None
        if kind is None:
            self.stats["unknown " + target.split("?", 1)[0]] += 1
            return self.a.not_found
        if not auth:
            self.stats["401 " + kind] += 1
            return self.a.unauthorized
        if kind.startswith("openai"):
            try:
                stream = bool(json.loads(body).get("stream"))
            except ValueError:
                stream = False
            self.stats[kind + (" stream" if stream else "")] += 1
            return self.a.openai_sse if stream else self.a.openai
        if ":streamGenerateContent" in target:
            sse = "alt=sse" in target
            self.stats[kind + (" stream-sse" if sse else " stream-array")] += 1
            return self.a.native_sse if sse else self.a.native_array
        self.stats[kind] += 1
        return self.a.native


async def serve(port: int, n_chunks: int, ready: Any) -> None:
    answers = _Answers(n_chunks)
    stats: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Protocol(answers, stats), "127.0.0.1", port, backlog=1024, reuse_address=True
    )
    ready(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


class FakeGoogleProcess:
    """The fake in a child process: ``with FakeGoogleProcess() as srv: srv.url``."""

    def __init__(self, n_chunks: int = 1000) -> None:
        self.n_chunks = n_chunks
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeGoogleProcess:
        cmd = [sys.executable, os.path.abspath(__file__), "--stream-chunks", str(self.n_chunks)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"fake Google server failed to start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def stats(self) -> dict[str, int]:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", "/stats")
            data: dict[str, int] = json.loads(conn.getresponse().read())
            return data
        finally:
            conn.close()

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> FakeGoogleProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--stream-chunks", type=int, default=1000)
    args = parser.parse_args()

    def ready(port: int) -> None:
        print(f"PORT {port}", flush=True)

    async def run() -> None:
        task = asyncio.ensure_future(serve(args.port, args.stream_chunks, ready))
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        task.cancel()

    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(run())


if __name__ == "__main__":
    main()
