"""A minimal, fast OpenAI-compatible chat server for the benchmarks.

It answers every ``POST .../chat/completions`` instantly with a fixed answer, so what
the benchmarks time is the client. Accepted paths:

* ``/v1/chat/completions`` (plain ``ChatOpenAI``, ``OpenAILike``, the raw SDK);
* ``/v1/projects/{p}/locations/{l}/endpoints/{e}/chat/completions`` (Vertex style, also
  ``v1beta1``).

Any ``Authorization: Bearer ...`` is accepted (a missing one gets a 401). Non-streaming
requests get one small JSON completion; ``"stream": true`` requests get the fixed
thought-tagged SSE stream built by :func:`stream_chunks` (the tags are split across
chunks, as Vertex does).

It is a raw ``asyncio.Protocol`` HTTP/1.1 server (keep-alive, Content-Length bodies),
single threaded, and normally runs in its own process (:class:`ServerProcess`) so that
it shares neither the GIL nor the event loop with the client being measured.

Run it alone: ``python benchmarks/_server.py [--port 0] [--stream-chunks 1000]``; it
prints ``PORT <n>`` once it listens and exits when stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import subprocess
import sys
import threading
from typing import Any

MODEL = "google/gemini-2.5-flash"
ANSWER = "Hello! This is a fixed benchmark answer."
THOUGHT_MARKER = "thought"

_COMPLETION = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": MODEL,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": ANSWER},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14},
    "system_fingerprint": "",
}


def stream_text(n_chunks: int = 1000, seed: int = 7) -> tuple[str, str, list[str]]:
    """The streamed content: ``(thoughts, answer, chunks)``.

    ``"<thought>" + thoughts + "</thought>" + answer`` (about 5.5 characters per chunk,
    60 % thoughts) cut at random places into exactly ``n_chunks`` pieces, with one cut
    forced inside each tag so that both tags are split across chunks.
    """
    rng = random.Random(seed)
    words = (
        "the",
        "quick",
        "brown",
        "fox",
        "considers",
        "whether",
        "a",
        "<",
        "b",
        "and",
        "3",
        ">",
        "2",
        "hold",
        "while",
        "thinking",
        "carefully",
        "about",
        "every",
        "step",
        "of",
        "the",
        "plan",
        "before",
        "it",
        "answers",
    )

    def filler(length: int) -> str:
        out: list[str] = []
        size = 0
        while size < length:
            word = rng.choice(words) + " "
            out.append(word)
            size += len(word)
        return "".join(out)[:length]

    open_tag, close_tag = f"<{THOUGHT_MARKER}>", f"</{THOUGHT_MARKER}>"
    total = max(int(n_chunks * 5.5), 40)
    thoughts = filler(int(total * 0.6))
    answer = filler(total - len(thoughts))
    text = open_tag + thoughts + close_tag + answer
    close_at = len(open_tag) + len(thoughts)
    forced = {4, close_at + 3}  # "<tho|ught>" and "</t|hought>"
    pool = [i for i in range(1, len(text)) if i not in forced]
    cuts = sorted(forced | set(rng.sample(pool, max(n_chunks - 1 - len(forced), 0))))
    bounds = [0, *cuts, len(text)]
    chunks = [text[a:b] for a, b in itertools.pairwise(bounds)]
    return thoughts, answer, chunks


def _sse(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def build_stream_body(chunks: list[str]) -> bytes:
    """The complete SSE body: one content delta per chunk, a finish chunk, usage, [DONE]."""
    base = {
        "id": "chatcmpl-bench-stream",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": MODEL,
        "system_fingerprint": "",
    }
    parts: list[bytes] = []
    for i, piece in enumerate(chunks):
        delta: dict[str, Any] = {"content": piece}
        if i == 0:
            delta["role"] = "assistant"
        parts.append(_sse({**base, "choices": [{"index": 0, "delta": delta}]}))
    parts.append(_sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    usage = {"prompt_tokens": 5, "completion_tokens": len(chunks), "total_tokens": len(chunks) + 5}
    parts.append(_sse({**base, "choices": [], "usage": usage}))
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\n"
        f"content-type: {content_type}\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: keep-alive\r\n\r\n"
    )
    return head.encode("latin-1") + body


class _Responses:
    def __init__(self, n_chunks: int) -> None:
        self.json = _response("200 OK", "application/json", json.dumps(_COMPLETION).encode())
        _, _, chunks = stream_text(n_chunks)
        self.stream = _response("200 OK", "text/event-stream", build_stream_body(chunks))
        self.unauthorized = _response(
            "401 Unauthorized",
            "application/json",
            b'{"error":{"code":401,"message":"missing bearer token","status":"UNAUTHENTICATED"}}',
        )
        self.not_found = _response("404 Not Found", "text/plain", b"not found")
        self.ok = _response("200 OK", "text/plain", b"ok")
        self.bad = _response("411 Length Required", "text/plain", b"content-length needed")


def _is_chat_path(path: str) -> bool:
    path = path.split("?", 1)[0]
    if path == "/v1/chat/completions":
        return True
    parts = path.strip("/").split("/")
    # v1/projects/P/locations/L/endpoints/E/chat/completions
    return (
        len(parts) == 9
        and parts[0] in ("v1", "v1beta1")
        and parts[1] == "projects"
        and parts[3] == "locations"
        and parts[5] == "endpoints"
        and parts[7:] == ["chat", "completions"]
    )


class _Protocol(asyncio.Protocol):
    def __init__(self, responses: _Responses) -> None:
        self.r = responses
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
            auth = False
            chunked = False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "authorization":
                    auth = value.strip().startswith("Bearer ")
                elif name == "transfer-encoding":
                    chunked = True
            if len(self.buf) < end + 4 + length:
                return
            body = bytes(self.buf[end + 4 : end + 4 + length])
            del self.buf[: end + 4 + length]
            assert self.transport is not None
            self.transport.write(self._answer(method, target, body, auth, chunked))

    def _answer(self, method: str, target: str, body: bytes, auth: bool, chunked: bool) -> bytes:
        if method == "GET" and target == "/health":
            return self.r.ok
        if method != "POST" or not _is_chat_path(target):
            return self.r.not_found
        if chunked:
            return self.r.bad
        if not auth:
            return self.r.unauthorized
        try:
            stream = bool(json.loads(body).get("stream"))
        except ValueError:
            stream = False
        return self.r.stream if stream else self.r.json


async def serve(port: int, n_chunks: int, ready: Any) -> None:
    """Serve forever on 127.0.0.1:port; ``ready(port)`` is called once listening."""
    responses = _Responses(n_chunks)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Protocol(responses), "127.0.0.1", port, backlog=1024, reuse_address=True
    )
    ready(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


class ServerProcess:
    """The server in a child process (the default: no GIL sharing with the client).

    Usage::

        with ServerProcess() as srv:
            srv.url  # "http://127.0.0.1:PORT"
    """

    def __init__(self, n_chunks: int = 1000) -> None:
        self.n_chunks = n_chunks
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        cmd = [sys.executable, os.path.abspath(__file__), "--stream-chunks", str(self.n_chunks)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"benchmark server failed to start: {line!r}")
        self.port = int(line.split()[1])
        return self

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

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ServerThread:
    """The server on an event loop in a daemon thread of this process (for tests)."""

    def __init__(self, n_chunks: int = 1000) -> None:
        self.n_chunks = n_chunks
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        started = threading.Event()

        def ready(port: int) -> None:
            self.port = port
            started.set()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(serve(0, self.n_chunks, ready))

        threading.Thread(target=run, name="bench-server", daemon=True).start()
        if not started.wait(10):
            raise RuntimeError("benchmark server thread failed to start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is not None:
            for task in asyncio.all_tasks(loop):
                loop.call_soon_threadsafe(task.cancel)

    def __enter__(self) -> ServerThread:
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
        # Exit when the parent closes our stdin (or dies).
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        task.cancel()

    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(run())


if __name__ == "__main__":
    main()
