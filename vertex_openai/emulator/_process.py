"""The emulator in its own process, driven over its admin routes.

An in-process emulator shares the GIL with the client under test. Under heavy load (soak
tests, benchmarks) that adds seconds of latency no real Vertex would add, and a token
checked on arrival looks older than it was when sent. ``EmulatorProcess`` runs
``python -m vertex_openai.emulator`` and offers the same observation API over HTTP.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace
from typing import Any

import httpx

__all__ = ["EmulatorProcess"]

_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


class EmulatorProcess:
    """A local Vertex emulator in a child process.

    Args:
        token_lifetime: Lifetime of issued access tokens, in seconds.
        startup_timeout: Seconds to wait for the child to listen.
    """

    def __init__(
        self,
        token_lifetime: float = 3600.0,
        startup_timeout: float = 30.0,
    ) -> None:
        self._token_lifetime = token_lifetime
        self._startup_timeout = startup_timeout
        self._tmp = tempfile.TemporaryDirectory(prefix="vertex-emulator-")
        self.credentials_path = pathlib.Path(self._tmp.name) / "sa.json"
        self._proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> EmulatorProcess:
        """Spawn the child and wait until it listens."""
        self._proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [
                sys.executable,
                "-m",
                "vertex_openai.emulator",
                "--port",
                "0",
                "--token-lifetime",
                str(self._token_lifetime),
                "--write-credentials",
                str(self.credentials_path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + self._startup_timeout
        assert self._proc.stdout is not None
        while time.monotonic() < deadline:
            line = self._proc.stdout.readline()
            if not line and self._proc.poll() is not None:
                break
            match = _LISTENING.search(line)
            if match:
                self.url = match.group(1)
                return self
        self.stop()
        msg = "the emulator child process did not start listening"
        raise RuntimeError(msg)

    def stop(self) -> None:
        """Terminate the child (bounded wait) and remove its files."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
        self._proc = None
        self._tmp.cleanup()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _admin(self, method: str, route: str) -> Any:
        response = httpx.request(method, f"{self.url}/_emulator/{route}", timeout=30)
        response.raise_for_status()
        return response.json()

    @property
    def project(self) -> str:
        return str(json.loads(self.credentials_path.read_text())["project_id"])

    @property
    def requests(self) -> list[SimpleNamespace]:
        """Recorded requests (attribute access like ``RecordedRequest``)."""
        return [SimpleNamespace(**r) for r in self._admin("GET", "requests")]

    def stats(self) -> dict[str, Any]:
        return dict(self._admin("GET", "stats"))

    @property
    def token_refresh_count(self) -> int:
        return int(self.stats()["token_refresh_count"])

    def reset(self) -> None:
        self._admin("POST", "reset")
