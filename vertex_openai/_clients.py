"""One object that knows where to send requests and how to sign them.

Both framework classes hold a :class:`VertexConnection` and ask it for fresh httpx / httpx2
clients (never the shared cached client LangChain keeps: its auth must not be mutated).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import weakref
from collections.abc import Mapping
from typing import Any

from vertex_openai._auth import CredentialsSource, EndpointRouter, TokenProvider, VertexAuth
from vertex_openai._endpoint import VertexEndpoint
from vertex_openai._errors import VertexConfigError, redact

__all__ = ["VertexConnection"]


class _RedactingFilter(logging.Filter):
    """Masks ``?key=`` and Bearer tokens in openai / httpx debug logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                record.msg = record.getMessage()
            except (TypeError, ValueError):
                return True
            record.args = None
        if isinstance(record.msg, str) and ("key=" in record.msg or "Bearer" in record.msg):
            record.msg = redact(record.msg)
        return True


_FILTER = _RedactingFilter()
for _name in (
    "httpx",
    "httpx2",
    "openai._base_client",
    "openai",
    "httpcore.http11",
    "vertex_openai",
):
    _logger = logging.getLogger(_name)
    if _FILTER not in _logger.filters:
        _logger.addFilter(_FILTER)


def _default_limits(module: Any) -> Any:
    import openai._constants as constants

    limits = constants.DEFAULT_CONNECTION_LIMITS
    return module.Limits(
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
    )


_PER_LOOP_CLASSES: dict[str, type] = {}


def _per_loop_transport_class(module: Any) -> type:
    """An async transport that keeps one connection pool per running event loop."""
    cached = _PER_LOOP_CLASSES.get(module.__name__)
    if cached is not None:
        return cached

    class PerLoopTransport(module.AsyncBaseTransport):  # type: ignore[misc,name-defined]
        def __init__(self, factory: Any) -> None:
            self._factory = factory
            self._by_loop: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

        async def handle_async_request(self, request: Any) -> Any:
            loop = asyncio.get_running_loop()
            transport = self._by_loop.get(loop)
            if transport is None:
                transport = self._by_loop[loop] = self._factory()
            return await transport.handle_async_request(request)

        async def aclose(self) -> None:
            # Pools of other (possibly closed) loops cannot be awaited here; they are
            # dropped with their loop.
            transport = self._by_loop.pop(asyncio.get_running_loop(), None)
            if transport is not None:
                await transport.aclose()

    _PER_LOOP_CLASSES[module.__name__] = PerLoopTransport
    return PerLoopTransport


class VertexConnection:
    """Endpoint + credentials for one model object.

    Construction does no I/O: credentials load and the project (when it comes from
    Application Default Credentials) resolves on the first request.

    Args:
        project: Google Cloud project. Env: GOOGLE_CLOUD_PROJECT (GCLOUD_PROJECT,
            CLOUD_ML_PROJECT_ID); else the credentials' project.
        location: Region or ``global``. Env: GOOGLE_CLOUD_LOCATION (GOOGLE_CLOUD_REGION,
            CLOUD_ML_REGION); default ``global``.
        endpoint_id: ``openapi`` (default) or a self-deployed endpoint id.
        api_version: ``v1`` (default) or ``v1beta1``.
        api_endpoint: Host or ``scheme://host:port`` override (PSC, proxies, emulator).
        dedicated_endpoint_dns: Dedicated endpoint host.
        base_url: Full base URL; wins over everything.
        credentials: Credentials object, JSON path or dict; ADC when omitted. Env:
            GOOGLE_APPLICATION_CREDENTIALS (through ADC).
        api_key: Vertex express-mode API key (mutually exclusive with ``credentials``).
        quota_project: Project billed for quota, sent as ``x-goog-user-project``.
    """

    def __init__(
        self,
        *,
        project: str | None = None,
        location: str | None = None,
        endpoint_id: str | None = None,
        api_version: str | None = None,
        api_endpoint: str | None = None,
        dedicated_endpoint_dns: str | None = None,
        base_url: str | None = None,
        credentials: Any = None,
        api_key: str | None = None,
        quota_project: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if api_key is not None and credentials is not None:
            msg = (
                "Pass either `api_key` (Vertex express mode) or `credentials`, not both: "
                "an API key request carries no OAuth token."
            )
            raise VertexConfigError(msg)
        if api_key is not None and not api_key.strip():
            msg = "`api_key` is empty; pass a Vertex express-mode API key or omit it to use ADC."
            raise VertexConfigError(msg)
        self.endpoint_at_start = VertexEndpoint.resolve(
            project=project,
            location=location,
            endpoint_id=endpoint_id,
            api_version=api_version,
            api_endpoint=api_endpoint,
            dedicated_endpoint_dns=dedicated_endpoint_dns,
            base_url=base_url,
            environ=environ,
        )
        if api_key is not None and self.endpoint_at_start.project is None:
            msg = (
                "Express-mode API keys need the project in the URL: pass `project=` or set "
                "GOOGLE_CLOUD_PROJECT."
            )
            raise VertexConfigError(msg)
        self.router = EndpointRouter(self.endpoint_at_start)
        self.token_provider: TokenProvider | None = None
        if api_key is None:
            self.token_provider = TokenProvider(
                CredentialsSource(credentials, quota_project=quota_project)
            )
        self.auth = VertexAuth(self.router, self.token_provider, api_key=api_key)

    def __repr__(self) -> str:
        return f"VertexConnection(base_url={self.base_url!r}, auth={self.auth!r})"

    @property
    def endpoint(self) -> VertexEndpoint:
        """The current endpoint (project / dedicated DNS may have been learned since start)."""
        return self.router.endpoint

    @property
    def base_url(self) -> str:
        """Base URL for the openai SDK (may hold the project placeholder until first use)."""
        return self.endpoint_at_start.base_url

    def describe_credentials(self) -> str:
        """What signs the requests, without secrets."""
        return self.auth._describe()

    def http_client(self, **kwargs: Any) -> Any:
        """A new sync client of the kind the installed openai SDK uses, signed by us."""
        import openai

        kwargs.setdefault("follow_redirects", False)
        return openai.DefaultHttpxClient(auth=self.auth, **kwargs)

    def async_http_client(self, **kwargs: Any) -> Any:
        """A new async client of the kind the installed openai SDK uses, signed by us.

        Its connection pool is kept per event loop: a model object is often shared by
        several ``asyncio.run()`` calls (scripts, notebooks, thread pools), and a pooled
        connection from a closed loop fails with "Event loop is closed".
        """
        import openai

        kwargs.setdefault("follow_redirects", False)
        client_class = openai.DefaultAsyncHttpxClient
        module = sys.modules[
            next(c.__module__ for c in client_class.__mro__ if c.__name__ == "AsyncClient").split(
                "."
            )[0]
        ]
        if "transport" not in kwargs:
            proxy = kwargs.pop("proxy", None)
            limits = kwargs.get("limits") or _default_limits(module)

            def make_transport() -> Any:
                return module.AsyncHTTPTransport(limits=limits, proxy=proxy)

            kwargs["transport"] = _per_loop_transport_class(module)(make_transport)
        return client_class(auth=self.auth, **kwargs)

    def openai_client(self, **kwargs: Any) -> Any:
        """A ready ``openai.OpenAI`` for Vertex (for code that uses the SDK directly)."""
        import openai

        from vertex_openai._constants import PLACEHOLDER_API_KEY

        http_kwargs = {"timeout": kwargs["timeout"]} if "timeout" in kwargs else {}
        return openai.OpenAI(
            base_url=self.base_url,
            api_key=PLACEHOLDER_API_KEY,
            organization=None,
            project=None,
            http_client=self.http_client(**http_kwargs),
            **kwargs,
        )

    def async_openai_client(self, **kwargs: Any) -> Any:
        """A ready ``openai.AsyncOpenAI`` for Vertex."""
        import openai

        from vertex_openai._constants import PLACEHOLDER_API_KEY

        http_kwargs = {"timeout": kwargs["timeout"]} if "timeout" in kwargs else {}
        return openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=PLACEHOLDER_API_KEY,
            organization=None,
            project=None,
            http_client=self.async_http_client(**http_kwargs),
            **kwargs,
        )
