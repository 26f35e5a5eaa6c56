"""The Emulator object: a Starlette app served by uvicorn in a daemon thread."""

from __future__ import annotations

import copy
import json
import pathlib
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from vertex_openai.emulator._chat import ChatRoutes
from vertex_openai.emulator._config import EmulatorConfig
from vertex_openai.emulator._embeddings import EmbeddingRoutes
from vertex_openai.emulator._errors import html_404
from vertex_openai.emulator._oauth import KeyMaterial, OAuthRoutes
from vertex_openai.emulator._state import EmulatorState, RecordedRequest, canonical_fault


class Emulator:
    """A local Vertex AI emulator (OpenAI-compatible chat + OAuth + metadata server).

    No I/O happens in ``__init__``; :meth:`start` binds 127.0.0.1 and returns when
    the server accepts connections. Also usable as a context manager.
    """

    def __init__(self, config: EmulatorConfig | None = None, port: int = 0) -> None:
        self.config = config if config is not None else EmulatorConfig()
        self._initial_config = copy.deepcopy(self.config)
        self._requested_port = port
        self._state = EmulatorState(self.config)
        self._keys = KeyMaterial()
        self._oauth = OAuthRoutes(self._state, self._keys)
        self._chat = ChatRoutes(self._state)
        self._embeddings = EmbeddingRoutes(self._state, self._chat)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    # -- lifecycle -----------------------------------------------------------------
    def _app(self) -> Starlette:
        routes: list[BaseRoute] = [
            *self._admin_routes(),
            *self._oauth.routes(),
            *self._chat.routes(),
            *self._embeddings.routes(),
        ]

        async def not_found(request: Request, exc: Exception) -> Response:
            return html_404(request.url.path)

        async def http_error(request: Request, exc: Exception) -> Response:
            if isinstance(exc, HTTPException) and exc.status_code not in (404, 405):
                return Response(str(exc.detail), status_code=exc.status_code)
            return html_404(request.url.path)

        return Starlette(
            routes=routes,
            exception_handlers={404: not_found, 405: not_found, HTTPException: http_error},
        )

    def start(self) -> Emulator:
        if self._thread is not None:
            return self
        # With IPPROTO_TCP given, asyncio sets TCP_NODELAY on accepted connections;
        # without it every response waited ~40 ms on a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._requested_port))
        sock.listen(128)
        sock.setblocking(False)
        self._sock = sock
        self._state.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app(),
            log_level="critical",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            timeout_keep_alive=5,
            # Vertex's chat routes are plain HTTP: loading a websockets protocol only adds
            # import time and, on older uvicorn, deprecation warnings from websockets.
            ws="none",
        )
        server = uvicorn.Server(config)
        self._server = server
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="vertex-emulator", daemon=True
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Vertex emulator failed to start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout=1.5)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=1.0)
        if self._sock is not None:
            self._sock.close()
        self._server = None
        self._thread = None
        self._sock = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._state.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    @property
    def metadata_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def embeddings(self) -> EmbeddingRoutes:
        """The embedding routes: their ``config``, ``max_in_flight``, ``request_sizes``."""
        return self._embeddings

    @property
    def project(self) -> str:
        return self.config.project

    @property
    def project_number(self) -> str:
        return self.config.project_number

    def base_url(
        self, location: str = "global", endpoint: str = "openapi", version: str = "v1"
    ) -> str:
        """Base URL for the openai SDK (``{url}/v1/projects/P/locations/L/endpoints/E``)."""
        return (
            f"{self.url}/{version}/projects/{self.project}/locations/{location}"
            f"/endpoints/{endpoint}"
        )

    # -- credentials ----------------------------------------------------------------
    @property
    def service_account_email(self) -> str:
        return self.config.sa_email

    def service_account_info(self) -> dict[str, Any]:
        return {
            "type": "service_account",
            "project_id": self.project,
            "private_key_id": self._keys.private_key_id,
            "private_key": self._keys.private_pem(),
            "client_email": self.config.sa_email,
            "client_id": self._keys.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "universe_domain": "googleapis.com",
        }

    def write_service_account_file(self, path: str | pathlib.Path) -> pathlib.Path:
        return _write_private_json(path, self.service_account_info())

    def authorized_user_info(self) -> dict[str, Any]:
        return {
            "type": "authorized_user",
            "client_id": self._state.client_id,
            "client_secret": self._state.client_secret,
            "refresh_token": self._state.refresh_token,
            "quota_project_id": self.project,
            "token_uri": self.token_uri,
            "universe_domain": "googleapis.com",
        }

    def write_authorized_user_file(self, path: str | pathlib.Path) -> pathlib.Path:
        return _write_private_json(path, self.authorized_user_info())

    def issue_token(self, lifetime: float | None = None) -> str:
        """A valid access token, issued directly (counted in no grant)."""
        token, _ = self._state.issue_token("direct", lifetime)
        return token

    @property
    def api_key(self) -> str:
        return self._state.api_key

    def revoke_refresh_token(self) -> None:
        """The authorized-user refresh token now answers invalid_grant / invalid_rapt."""
        self._state.refresh_token_revoked = True

    def restore_refresh_token(self) -> None:
        self._state.refresh_token_revoked = False

    def revoke_all_tokens(self) -> int:
        return self._state.revoke_all_tokens()

    # -- observation and faults -----------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def token_grants(self) -> dict[str, int]:
        with self._state.lock:
            return dict(self._state.token_grants)

    @property
    def token_refresh_count(self) -> int:
        return self._state.token_refresh_count

    def inject_fault(self, kind: str, count: int = 1, **params: Any) -> None:
        """The next ``count`` chat requests get fault ``kind``.

        Kinds: rate_limit (429), internal (500), unavailable (503), permission_denied
        (403), drop, stall (``seconds=``), malformed_json, truncate, token_outage (the
        next ``count`` token requests answer 503), revoke (revokes all tokens now).
        ``drop``/``truncate`` accept ``after_chunks=N`` for streams.
        """
        self._state.add_fault(kind, count, **params)

    def reset(self) -> None:
        """Clear recorded requests, grant counters and pending faults (keys/config kept)."""
        self._state.reset()

    def restore_config(self) -> None:
        """Put the configuration back to what the emulator was constructed with."""
        self.config.update(copy.deepcopy(self._initial_config).to_dict())

    def stats(self) -> dict[str, Any]:
        return self._state.stats()

    # -- admin routes ---------------------------------------------------------------------
    def _admin_routes(self) -> list[BaseRoute]:
        state = self._state

        async def get_requests(request: Request) -> Response:
            with state.lock:
                data = [r.to_dict() for r in state.requests]
            return JSONResponse(data)

        async def get_stats(request: Request) -> Response:
            return JSONResponse(state.stats())

        async def post_faults(request: Request) -> Response:
            body = await _json_body(request)
            kind = str(body.pop("kind", ""))
            count = int(body.pop("count", 1))
            try:
                canonical_fault(kind)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            state.add_fault(kind, count, **body)
            return JSONResponse(state.stats())

        async def config_route(request: Request) -> Response:
            if request.method == "POST":
                try:
                    self.config.update(await _json_body(request))
                except KeyError as exc:
                    return JSONResponse({"error": f"unknown config field {exc}"}, 400)
                except ValueError as exc:
                    return JSONResponse({"error": str(exc)}, 400)
            return JSONResponse(self.config.to_dict())

        async def post_revoke(request: Request) -> Response:
            return JSONResponse({"revoked": state.revoke_all_tokens()})

        async def post_reset(request: Request) -> Response:
            state.reset()
            return JSONResponse(state.stats())

        async def post_token(request: Request) -> Response:
            body = await _json_body(request)
            lifetime = body.get("lifetime")
            token, life = state.issue_token("direct", None if lifetime is None else float(lifetime))
            return JSONResponse({"access_token": token, "expires_in": life})

        return [
            Route("/_emulator/requests", get_requests, methods=["GET"]),
            Route("/_emulator/stats", get_stats, methods=["GET"]),
            Route("/_emulator/faults", post_faults, methods=["POST"]),
            Route("/_emulator/config", config_route, methods=["GET", "POST"]),
            Route("/_emulator/revoke", post_revoke, methods=["POST"]),
            Route("/_emulator/reset", post_reset, methods=["POST"]),
            Route("/_emulator/token", post_token, methods=["POST"]),
        ]


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    data = json.loads(raw)
    return dict(data) if isinstance(data, dict) else {}


def serve(
    port: int = 8765,
    token_lifetime: float = 3600.0,
    write_credentials: str | pathlib.Path | None = None,
    *,
    print_fn: Any = print,
) -> None:
    """Run an emulator in the foreground until Ctrl-C (the ``vertex-openai emulator`` command)."""
    emu = Emulator(EmulatorConfig(token_lifetime=token_lifetime), port=port)
    emu.start()
    lines = [
        f"Vertex AI emulator listening on {emu.url}",
        f"  api_endpoint:  {emu.url}",
        f"  project:       {emu.project} (number {emu.project_number}); location: any",
        f"  base_url:      {emu.base_url()}",
        f"  token_uri:     {emu.token_uri}",
        f"  API key (x-goog-api-key or ?key=): {emu.api_key}",
    ]
    if write_credentials:
        path = emu.write_service_account_file(write_credentials).resolve()
        lines += [
            f"Service-account credentials written to {path}",
            "Point your app at the emulator with:",
            f"  export GOOGLE_APPLICATION_CREDENTIALS={path}",
            f"  export GOOGLE_CLOUD_PROJECT={emu.project}",
            f"  export CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM={emu.url}",
            "(or pass api_endpoint= instead of the last one); no other code change is needed.",
        ]
    else:
        lines += [
            "Get credentials: re-run with --write-credentials creds.json, then",
            "  export GOOGLE_APPLICATION_CREDENTIALS=creds.json",
            f"  export CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM={emu.url}",
            f"Or a raw token: curl -X POST {emu.url}/_emulator/token",
        ]
    lines.append("Press Ctrl-C to stop.")
    print_fn("\n".join(lines), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()


def _write_private_json(path: str | pathlib.Path, info: dict[str, Any]) -> pathlib.Path:
    """Write a credentials file readable by its owner only; returns its path."""
    target = pathlib.Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(info, indent=2))
    target.chmod(0o600)
    return target
