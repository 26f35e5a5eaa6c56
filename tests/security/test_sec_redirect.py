"""A redirect to another host never carries the Google credential there."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai
import pytest
from google.oauth2.credentials import Credentials

TOKEN = "ya29.redirect-test-secret-token"


class _Capture(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_POST(self) -> None:
        type(self).seen.append(dict(self.headers))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


def _serve(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def hosts() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A redirector on 127.0.0.1 pointing every request at a capture server on 127.0.0.2."""
    _Capture.seen = []
    capture = ThreadingHTTPServer(("127.0.0.2", 0), _Capture)
    target = f"http://127.0.0.2:{capture.server_address[1]}"

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(307)
            self.send_header("Location", f"{target}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    redirector = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threads = [_serve(capture), _serve(redirector)]
    try:
        yield f"http://127.0.0.1:{redirector.server_address[1]}", _Capture.seen
    finally:
        for server in (capture, redirector):
            server.shutdown()
            server.server_close()
        for thread in threads:
            thread.join(timeout=5)


def _credentials() -> Credentials:
    expiry = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return Credentials(token=TOKEN, expiry=expiry + datetime.timedelta(hours=1))


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
def test_redirect_to_another_host_is_not_followed(
    hosts: tuple[str, list[dict[str, str]]], framework: str
) -> None:
    origin, seen = hosts
    params: dict[str, Any] = {
        "model": "gemini-2.5-flash",
        "project": "p",
        "location": "us-central1",
        "api_endpoint": origin,
        "credentials": _credentials(),
        "max_retries": 0,
    }
    if framework == "langchain":
        pytest.importorskip("langchain_openai")
        from langchain_vertex_openai import ChatVertexOpenAI as LangChainModel

        with pytest.raises(openai.APIStatusError) as info:
            LangChainModel(**params).invoke("hi")
    else:
        pytest.importorskip("llama_index.core")
        from llama_index.core.llms import ChatMessage

        from llama_index_vertex_openai import ChatVertexOpenAI as LlamaModel

        with pytest.raises(openai.APIStatusError) as info:
            LlamaModel(**params).chat([ChatMessage(role="user", content="hi")])
    assert info.value.status_code == 307
    assert seen == []  # the other host was never contacted, so it never saw the token
    assert TOKEN not in str(info.value)
