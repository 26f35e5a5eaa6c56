"""Shared pytest fixtures: a local Vertex emulator and a clean environment."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator

import pytest

from vertex_openai.emulator import Emulator

_ENV_PREFIXES = ("OPENAI_", "GOOGLE_", "CLOUD_ML_", "GCE_METADATA")
_ENV_NAMES = ("GCLOUD_PROJECT",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses an emulator fixture `integration`.

    `make test` runs the rest (unit tests: our code, recorded payloads and small local
    servers), `make integration` these; a plain `pytest` runs both.
    """
    for item in items:
        if any("emulator" in name for name in getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No developer gcloud/ADC/OpenAI settings leak into any test."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES) or name in _ENV_NAMES:
            monkeypatch.delenv(name, raising=False)
    gcloud_dir = tmp_path_factory.mktemp("gcloud-config")
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(gcloud_dir))
    # ADC's metadata-server probe (read at call time) hits a closed local port instead of
    # waiting on 169.254.169.254; tests that want the metadata server point it at the emulator.
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    # Token sources are shared process-wide by credential identity; a test's counts of
    # token grants start from an empty cache (as a new process would).
    from vertex_openai._tokens import clear_shared_token_providers

    clear_shared_token_providers()


@pytest.fixture(scope="module")
def _module_emulator() -> Iterator[Emulator]:
    emu = Emulator()
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def emulator(_module_emulator: Emulator) -> Emulator:
    """A started emulator shared by the module, reset and with default config per test."""
    _module_emulator.reset()
    _module_emulator.restore_config()
    _module_emulator.restore_refresh_token()
    return _module_emulator


@pytest.fixture
def sa_file(emulator: Emulator, tmp_path: pathlib.Path) -> pathlib.Path:
    """The emulator's service-account key written to a file."""
    return emulator.write_service_account_file(tmp_path / "sa.json")


class SseServer:
    """A 127.0.0.1 server streaming `chunks` as SSE to every POST (a given wire stream).

    For streams the emulator does not make because Vertex does not send them: a gateway
    in front of Gemini, a self-deployed server, fields such as logprobs.
    """

    def __init__(self) -> None:
        import http.server
        import json
        import threading

        self.chunks: list[dict] = []
        self.done = True
        self.received: list[dict] = []
        sse = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                sse.received.append(json.loads(self.rfile.read(length)))
                events = [f"data: {json.dumps(c)}\n\n" for c in sse.chunks]
                if sse.done:
                    events.append("data: [DONE]\n\n")
                data = "".join(events).encode()
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture
def sse_server() -> Iterator[SseServer]:
    """A local SSE server; set `.chunks` (and `.done`) before the request."""
    server = SseServer()
    try:
        yield server
    finally:
        server.close()
