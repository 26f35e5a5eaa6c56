"""Small local HTTP servers for the faults the emulator cannot make.

Each binds 127.0.0.1 on an OS-chosen port, runs in daemon threads, is a context manager
and records what it received. Used by the reliability and security tests.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

Handler = Callable[["_Request"], tuple[int, dict[str, str], Any]]
"""request -> (status, headers, body); body is bytes or an iterator of (delay, bytes)."""


class _Request:
    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body


class LocalServer:
    """A threaded HTTP/1.1 server whose answers come from ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[_Request] = []
        self._lock = threading.Lock()
        server = self

        class _H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                req = _Request(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with server._lock:
                    server.requests.append(req)
                status, headers, payload = server.handler(req)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if isinstance(payload, bytes | str):
                    data = payload.encode() if isinstance(payload, str) else payload
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                # (delay, bytes) pieces: a stalled or drip-feeding peer
                self.send_header("connection", "close")
                self.end_headers()
                try:
                    for delay, piece in payload:
                        time.sleep(delay)
                        self.wfile.write(piece)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            do_GET = do_POST = _serve  # noqa: N815

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def json_body(data: Any) -> bytes:
    return json.dumps(data).encode()


def forwarder(target: str, delay_first: list[float] | None = None) -> LocalServer:
    """Forwards every request to ``target`` (the emulator); the n-th chat request waits
    ``delay_first[n]`` seconds first (a request held in flight). Keeps the Host header."""
    delays = list(delay_first or [])
    lock = threading.Lock()
    client = httpx.Client(timeout=60)

    def handle(req: _Request) -> tuple[int, dict[str, str], Any]:
        if req.path.endswith("/chat/completions"):
            with lock:
                delay = delays.pop(0) if delays else 0.0
            time.sleep(delay)
        headers = {
            k: v
            for k, v in req.headers.items()
            if k not in ("content-length", "connection", "host", "accept-encoding")
        }
        resp = client.request(req.method, target + req.path, headers=headers, content=req.body)
        out = {"content-type": resp.headers.get("content-type", "application/json")}
        return resp.status_code, out, resp.content

    return LocalServer(handle)


def http_proxy() -> LocalServer:
    """A plain HTTP forward proxy (absolute-form request targets), recording requests."""
    client = httpx.Client(timeout=60, trust_env=False)

    def handle(req: _Request) -> tuple[int, dict[str, str], Any]:
        if not req.path.startswith("http://"):
            return 400, {"content-type": "text/plain"}, b"not a proxy request"
        headers = {
            k: v
            for k, v in req.headers.items()
            if k not in ("content-length", "connection", "proxy-connection", "accept-encoding")
        }
        resp = client.request(req.method, req.path, headers=headers, content=req.body)
        out = {"content-type": resp.headers.get("content-type", "application/json")}
        return resp.status_code, out, resp.content

    return LocalServer(handle)


@contextmanager
def token_server(behaviour: str, **params: Any) -> Iterator[LocalServer]:
    """A token endpoint that misbehaves: ``stall``, ``drip``, ``html``, ``status``."""

    def handle(req: _Request) -> tuple[int, dict[str, str], Any]:
        if behaviour == "stall":
            return 200, {"content-type": "application/json"}, iter([(params["seconds"], b"{}")])
        if behaviour == "drip":
            body = b'{"access_token": "ya29.' + b"x" * 400 + b'", "expires_in": 3600}'
            pieces = [(params.get("every", 0.5), body[i : i + 1]) for i in range(len(body))]
            return 200, {"content-type": "application/json"}, iter(pieces)
        if behaviour == "html":
            page = b"<html><head><title>Sign in to the network</title></head><body>..."
            return 200, {"content-type": "text/html; charset=utf-8"}, page
        if behaviour == "status":
            status = int(params["status"])
            body_obj = params.get("body") or {
                "error": "internal_failure",
                "error_description": "Backend Error",
            }
            return status, {"content-type": "application/json"}, json_body(body_obj)
        raise AssertionError(behaviour)

    with LocalServer(handle) as server:
        yield server
