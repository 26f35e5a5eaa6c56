"""7. Embeddings: 5,000 short texts, ours vs ``OpenAIEmbeddings`` / ``OpenAIEmbedding``.

A minimal server in its own process answers both wires instantly: OpenAI's
``POST /v1/embeddings`` (``float`` or the SDK's default ``base64`` encoding) for the
OpenAI classes, and Vertex's ``POST .../publishers/google/models/{m}:predict`` for ours
(``text-embedding-005``, 256-dimensional vectors either way, responses cached by size).
Each variant embeds the same 5,000 texts per sample; samples are interleaved (order
shuffled) and throughput = texts / median wall time of a sample.

Rows: the same batch size (250, sequential) for both; then ours with its concurrent
batching (LangChain: 8 requests in flight; LlamaIndex: ``embed_batch_size=2000`` handed
to the core, which sends 250-text requests 8 at a time). Once against the instant server,
once with 20 ms added to every response (what a network costs; the OpenAI classes send
their batches one after another).

Run alone as a child (``python bench_embeddings.py --server``) it prints ``PORT <n>``
and exits when stdin closes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import subprocess
import sys
import threading
from typing import Any

from _common import PROJECT, STATIC_KEY, Row, Section, interleaved, log, median, static_credentials

N_TEXTS = 5000
BATCH = 250
DIMS = 256
GOAL = 1.0
TEXTS = [f"short text number {i} about topic {i % 17}" for i in range(N_TEXTS)]
_VECTOR = [round(((i * 7919) % 1000) / 1000.0 - 0.5, 6) for i in range(DIMS)]


# ------------------------------------------------------------------ the server


class _Answers:
    def __init__(self) -> None:
        self.cache: dict[tuple[str, int], bytes] = {}
        self.float_item = json.dumps(_VECTOR, separators=(",", ":"))
        self.b64_item = json.dumps(base64.b64encode(struct.pack(f"<{DIMS}f", *_VECTOR)).decode())

    def openai(self, n: int, encoding: str) -> bytes:
        key = (encoding, n)
        if key not in self.cache:
            item = self.b64_item if encoding == "base64" else self.float_item
            data = ",".join(
                f'{{"object":"embedding","index":{i},"embedding":{item}}}' for i in range(n)
            )
            body = (
                f'{{"object":"list","data":[{data}],"model":"bench",'
                f'"usage":{{"prompt_tokens":{n},"total_tokens":{n}}}}}'
            ).encode()
            self.cache[key] = _http(body)
        return self.cache[key]

    def predict(self, n: int) -> bytes:
        key = ("predict", n)
        if key not in self.cache:
            one = (
                '{"embeddings":{"statistics":{"token_count":6,"truncated":false},'
                f'"values":{self.float_item}}}}}'
            )
            body = f'{{"predictions":[{",".join([one] * n)}]}}'.encode()
            self.cache[key] = _http(body)
        return self.cache[key]


def _http(body: bytes, status: str = "200 OK") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: keep-alive\r\n\r\n"
    )
    return head.encode("latin-1") + body


class _Protocol(asyncio.Protocol):
    answers = _Answers()
    delay = 0.0

    def __init__(self) -> None:
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
            target = lines[0].split(" ", 2)[1]
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buf) < end + 4 + length:
                return
            body = json.loads(bytes(self.buf[end + 4 : end + 4 + length]) or b"{}")
            del self.buf[: end + 4 + length]
            assert self.transport is not None
            path = target.split("?", 1)[0]
            if path.endswith(":predict"):
                out = self.answers.predict(len(body.get("instances") or ()))
            elif path.endswith("/embeddings"):
                raw = body.get("input")
                n = 1 if isinstance(raw, str) else len(raw or ())
                out = self.answers.openai(n, body.get("encoding_format") or "float")
            else:
                out = _http(b'{"error":"not found"}', "404 Not Found")
            if self.delay:
                asyncio.get_running_loop().call_later(self.delay, self.transport.write, out)
            else:
                self.transport.write(out)


def _serve(delay: float) -> None:
    _Protocol.delay = delay
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(_Protocol, "127.0.0.1", 0))
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    threading.Thread(
        target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(loop.stop)), daemon=True
    ).start()
    loop.run_forever()


class EmbeddingServer:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    def __enter__(self) -> EmbeddingServer:
        cmd = [sys.executable, os.path.abspath(__file__), "--server", str(self.delay)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.__exit__()
            raise RuntimeError(f"embedding server failed to start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ------------------------------------------------------------------ the variants


def _variants(url: str) -> dict[str, dict[str, Any]]:
    from langchain_openai import OpenAIEmbeddings
    from llama_index.embeddings.openai import OpenAIEmbedding

    from langchain_vertex_openai import VertexOpenAIEmbeddings
    from llama_index_vertex_openai import VertexOpenAIEmbedding

    vertex = {
        "project": PROJECT,
        "location": "us-central1",
        "api_endpoint": url,
        "credentials": static_credentials(),
        "model": "text-embedding-005",
    }
    lc_openai = OpenAIEmbeddings(
        model="text-embedding-3-small",
        base_url=f"{url}/v1",
        api_key=STATIC_KEY,
        chunk_size=BATCH,
        dimensions=DIMS,
        check_embedding_ctx_length=False,
    )
    li_openai = OpenAIEmbedding(
        model_name="text-embedding-3-small",
        api_base=f"{url}/v1",
        api_key=STATIC_KEY,
        embed_batch_size=BATCH,
        dimensions=DIMS,
    )
    return {
        "LangChain embed_documents": {
            "baseline": lambda: lc_openai.embed_documents(TEXTS),
            "same": VertexOpenAIEmbeddings(
                **vertex, batch_size=BATCH, max_concurrency=1, output_dimensionality=DIMS
            ).embed_documents,
            "concurrent": VertexOpenAIEmbeddings(
                **vertex, output_dimensionality=DIMS
            ).embed_documents,
        },
        "LlamaIndex get_text_embedding_batch": {
            "baseline": lambda: li_openai.get_text_embedding_batch(TEXTS),
            "same": VertexOpenAIEmbedding(
                **vertex, embed_batch_size=BATCH, max_concurrency=1, dimensions=DIMS
            ).get_text_embedding_batch,
            "concurrent": VertexOpenAIEmbedding(
                **vertex, embed_batch_size=2000, dimensions=DIMS
            ).get_text_embedding_batch,
        },
    }


LATENCY = 0.02


def run(samples: int = 7) -> Section:
    section = Section("7. Embeddings: 5,000 short texts (throughput, higher is better)")
    for delay in (0.0, LATENCY):
        where = "instant server" if not delay else f"{delay * 1000:.0f} ms per response"
        with EmbeddingServer(delay) as server:
            for framework, v in _variants(server.url).items():
                _measure(section, framework, v, where, samples if not delay else 3)
    from vertex_openai._embeddings import _fast_loads

    reader = (
        "orjson (installed here)"
        if _fast_loads() is not None
        else "the standard library's json (orjson is not installed here)"
    )
    section.details.append(
        "The OpenAI classes receive base64 vectors (the openai SDK's default encoding) and "
        f"ours the JSON floats of Vertex's `:predict` wire, read with {reader}; our "
        "checks and normalization (one `math.hypot` per vector, then the division) run on "
        "every vector. Against an instant server there is no latency to overlap, so 8 "
        "requests in flight only add thread hand-offs; with "
        f"{LATENCY * 1000:.0f} ms per response (a network), concurrency is what counts."
    )
    return section


def _measure(section: Section, framework: str, v: dict[str, Any], where: str, samples: int) -> None:
    variants = {
        "openai": v["baseline"],
        "same": lambda f=v["same"]: f(TEXTS),
        "concurrent": lambda f=v["concurrent"]: f(TEXTS),
    }
    for name, fn in variants.items():
        got = fn()
        assert len(got) == N_TEXTS, (framework, name)
        assert len(got[0]) == DIMS, (framework, name)
    log(f"  [6] {framework} ({where})")
    times = interleaved(variants, samples, warmup=1, collect_every=1)
    base = N_TEXTS / median(times["openai"].wall)
    for key, label in (
        ("same", f"same batch size ({BATCH}, sequential)"),
        ("concurrent", "our concurrent batching (8 in flight)"),
    ):
        ours = N_TEXTS / median(times[key].wall)
        section.rows.append(
            Row(
                bench="6 embeddings",
                name=f"{framework}, {where}: {label}",
                ours=ours,
                baseline=base,
                unit="texts/s",
                ratio=ours / base,
                goal=GOAL,
                direction="ge",
                ours_label="Vertex (predict)",
                baseline_label="OpenAI class (/v1/embeddings)",
            )
        )
    cpu = {k: median(t.cpu) for k, t in times.items()}
    section.details.append(
        f"{framework} ({where}): CPU per 5,000 texts: OpenAI class {cpu['openai']:.2f} s, "
        f"ours (same batch) {cpu['same']:.2f} s, ours (concurrent) {cpu['concurrent']:.2f} s."
    )


if __name__ == "__main__":
    if "--server" in sys.argv:
        _serve(float(sys.argv[sys.argv.index("--server") + 1]))
    else:
        for row in run(int(sys.argv[1]) if len(sys.argv) > 1 else 5).rows:
            print(f"{row.name}: {row.ours:.0f} vs {row.baseline:.0f} texts/s = {row.ratio:.2f}x")
