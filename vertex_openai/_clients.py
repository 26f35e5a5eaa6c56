"""One object that knows where to send requests and how to sign them.

Both framework classes hold a :class:`VertexConnection` and ask it for fresh httpx / httpx2
clients. Each is an outer client that only signs (its ``auth`` is our ``VertexAuth``) and
forwards to an inner client that owns the connections: the user's own ``http_client``,
never modified (another model or the app may share it), or one built the way the openai
SDK builds its default client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from vertex_openai._auth_flow import VertexAuth
from vertex_openai._credentials import CredentialsSource
from vertex_openai._endpoint import EndpointRouter, VertexEndpoint
from vertex_openai._errors import VertexConfigError, redact
from vertex_openai._tokens import DEFAULT_REFRESH_TIMEOUT, TokenProvider

__all__ = ["VertexConnection"]

_NOT_GIVEN: Any = object()


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


# Bumped in a forked child: pools (and their sockets) made before the fork belong to
# the parent. A child that reused them would interleave its requests with the parent's
# on the same TCP connections.
_FORK_GENERATION = 0


def _after_fork_in_child() -> None:
    global _FORK_GENERATION
    _FORK_GENERATION += 1


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _http_module(client_class: type) -> Any:
    """httpx or httpx2: the module whose ``Client`` / ``AsyncClient`` ``client_class`` is."""
    for base in client_class.__mro__:
        if base.__name__ in ("Client", "AsyncClient"):
            return sys.modules[base.__module__.split(".")[0]]
    msg = f"{client_class!r} is not an httpx client class"
    raise TypeError(msg)


_TRANSPORT_CLASSES: dict[str, tuple[type, type]] = {}


def _transport_classes(module: Any) -> tuple[type, type]:
    """Transports that hand each (already signed) request to an inner httpx client.

    The openai SDK talks to an outer client whose ``auth`` is our ``VertexAuth``; its
    transport forwards to an inner client that owns the connections: the user's own
    ``http_client`` (never modified: its CA, proxy, mounts, limits and event hooks apply)
    or one we build the way the openai SDK builds its default client (so proxy
    environment variables are honoured the same way).
    """
    cached = _TRANSPORT_CLASSES.get(module.__name__)
    if cached is not None:
        return cached

    class ForwardingTransport(module.BaseTransport):  # type: ignore[misc,name-defined]
        def __init__(self, client: Any = None, factory: Any = None) -> None:
            # Exactly one of `client` (the user's: shared, never closed by us) or
            # `factory` (ours: rebuilt in a forked child, closed with the outer client).
            self._user_client = client
            self._factory = factory
            self._own: tuple[int, Any] | None = None

        def _client(self) -> Any:
            if self._user_client is not None:
                return self._user_client
            own = self._own
            if own is None or own[0] != _FORK_GENERATION:
                # After a fork the parent's pool is dropped untouched: its lock may be held
                # by a parent thread, and its sockets are the parent's. No lock of ours
                # here either (it could be inherited held): two threads racing build two
                # clients without connections, and one is dropped.
                own = self._own = (_FORK_GENERATION, self._factory())
            return own[1]

        def handle_request(self, request: Any) -> Any:
            user = self._user_client
            if user is not None:
                # The app's client sends it: its event hooks, mounts and logging apply.
                return user.send(request, stream=True, follow_redirects=False)
            # Our own client: straight to the transport it routes this URL to (its proxy
            # mounts from the environment), without a second pass through httpx's send
            # machinery (auth, redirects, cookies, logging), which the outer client has
            # just done. About a tenth of a plain call's CPU time.
            return self._client()._transport_for_url(request.url).handle_request(request)

        def close(self) -> None:
            own, self._own = self._own, None
            if own is not None and own[0] == _FORK_GENERATION:
                own[1].close()

        def __del__(self) -> None:
            # The openai SDK closes its own default client when it is dropped; ours must
            # too, or every discarded model leaves its pooled sockets to the GC.
            with contextlib.suppress(Exception):
                self.close()

    class PerLoopTransport(module.AsyncBaseTransport):  # type: ignore[misc,name-defined]
        """Async forwarding transport; our own inner clients are kept one per event loop.

        A model object is often shared by many ``asyncio.run()`` calls (scripts,
        notebooks, Celery tasks, pytest). A pooled connection belongs to the loop that
        opened it, so each loop gets its own inner client, closed while that loop shuts
        down (``asyncio.run`` finalizes async generators before closing the loop: a
        started generator per loop runs the ``aclose()``). Pools of loops closed another
        way are dropped the next time any loop sends a request.
        """

        def __init__(self, client: Any = None, factory: Any = None) -> None:
            self._user_client = client
            self._factory = factory
            self._by_loop: dict[Any, tuple[Any, Any]] = {}
            self._generation = _FORK_GENERATION

        async def _client(self) -> Any:
            if self._user_client is not None:
                return self._user_client
            if self._generation != _FORK_GENERATION:
                # Forked child: every pool here is the parent's (or of a loop that does
                # not exist in this process). Drop them untouched.
                self._by_loop = {}
                self._generation = _FORK_GENERATION
            loop = asyncio.get_running_loop()
            entry = self._by_loop.get(loop)
            if entry is not None:
                return entry[0]
            # list() first: other threads' loops may register meanwhile.
            for other in [lp for lp in list(self._by_loop) if lp.is_closed()]:
                # A loop closed without finalizing async generators: its sockets cannot
                # be closed through it any more; dropping the pool lets them be freed.
                self._by_loop.pop(other, None)
            client = self._factory()
            closer = self._close_with_loop(loop, client)
            self._by_loop[loop] = (client, closer)
            await closer.asend(None)
            return client

        async def _close_with_loop(self, loop: Any, client: Any) -> Any:
            try:
                yield
            finally:
                entry = self._by_loop.get(loop)
                if entry is not None and entry[0] is client:
                    del self._by_loop[loop]
                await client.aclose()

        async def handle_async_request(self, request: Any) -> Any:
            client = await self._client()
            if client is self._user_client:
                return await client.send(request, stream=True, follow_redirects=False)
            # As in the sync transport: ours goes straight to its routed transport.
            return await client._transport_for_url(request.url).handle_async_request(request)

        async def aclose(self) -> None:
            # Only the running loop's pool can be awaited here; the others are closed
            # when their loops shut down.
            if self._user_client is not None:
                return
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            entry = self._by_loop.pop(loop, None)
            if entry is not None:
                await entry[0].aclose()

    _TRANSPORT_CLASSES[module.__name__] = (ForwardingTransport, PerLoopTransport)
    return ForwardingTransport, PerLoopTransport


def _inner_client_factory(
    client_class: type,
    module: Any,
    *,
    async_: bool,
    proxy: str | None,
    socket_options: Sequence[tuple[int, int, int]] | None,
    verify: Any,
) -> Any:
    """Builds the connection-owning client the way the openai SDK / parent class would."""

    def make() -> Any:
        kwargs: dict[str, Any] = {"follow_redirects": False}
        if verify is not None:
            kwargs["verify"] = verify
        if socket_options:
            # As langchain-openai does: socket options need an explicit transport (which
            # httpx then uses instead of proxy environment variables).
            transport_class = module.AsyncHTTPTransport if async_ else module.HTTPTransport
            transport_kwargs: dict[str, Any] = {
                "socket_options": list(socket_options),
                "limits": _default_limits(module),
            }
            if verify is not None:
                transport_kwargs["verify"] = verify
            if proxy:
                transport_kwargs["proxy"] = module.Proxy(proxy)
            kwargs["transport"] = transport_class(**transport_kwargs)
        elif proxy:
            kwargs["proxy"] = proxy
        return client_class(**kwargs)

    return make


def refresh_timeout(timeout: Any) -> float:
    """Seconds one token refresh may take, from a model's ``timeout`` setting."""
    values: list[Any]
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        values = [timeout]
    elif isinstance(timeout, tuple):
        values = list(timeout)
    elif timeout is not None and hasattr(timeout, "read") and hasattr(timeout, "connect"):
        values = [timeout.connect, timeout.read, timeout.write, timeout.pool]
    else:
        values = []
    numbers = [float(v) for v in values if isinstance(v, int | float) and v and v > 0]
    return max(numbers) if numbers else DEFAULT_REFRESH_TIMEOUT


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
        timeout: The model's request timeout (number, tuple or ``httpx.Timeout``); it also
            bounds each token refresh as a whole (default 30 s when not a number).
        api_key_transport: ``"header"`` (default: ``x-goog-api-key``) or ``"query"``
            (``?key=``) for an express-mode key.
        allow_non_google_token_urls: Accept an ``external_account`` credentials file or
            dict whose ``token_url`` / ``service_account_impersonation_url`` is not a Google
            STS / IAM Credentials host (refused by default: docs/security.md).
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
        timeout: Any = None,
        api_key_transport: str = "header",
        allow_non_google_token_urls: bool = False,
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
                CredentialsSource(
                    credentials,
                    quota_project=quota_project,
                    allow_non_google_token_urls=allow_non_google_token_urls,
                ),
                refresh_timeout=refresh_timeout(timeout),
            )
        self.auth = VertexAuth(
            self.router, self.token_provider, api_key=api_key, api_key_transport=api_key_transport
        )

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

    def http_client(
        self,
        user_client: Any = None,
        *,
        proxy: str | None = None,
        socket_options: Sequence[tuple[int, int, int]] | None = None,
        timeout: Any = _NOT_GIVEN,
    ) -> Any:
        """A new sync client of the kind the installed openai SDK uses, signed by us.

        Args:
            user_client: The app's own ``httpx.Client`` (``http_client=``). It is never
                modified: requests are signed by our outer client and then sent through
                it, so its transport, proxy, CA, mounts, limits and event hooks apply and
                its other traffic carries no Google credential.
            proxy: Explicit proxy URL (``openai_proxy``); wins over the environment.
            socket_options: ``(level, option, value)`` socket options for our own pool.
            timeout: Default timeout of the outer client.
        """
        import openai

        return self._build(
            openai.DefaultHttpxClient, False, user_client, proxy, socket_options, timeout
        )

    def async_http_client(
        self,
        user_client: Any = None,
        *,
        proxy: str | None = None,
        socket_options: Sequence[tuple[int, int, int]] | None = None,
        timeout: Any = _NOT_GIVEN,
    ) -> Any:
        """A new async client of the kind the installed openai SDK uses, signed by us.

        Our own connection pools are kept per event loop and closed when the loop shuts
        down (a model object is often shared by several ``asyncio.run()`` calls, and a
        pooled connection from a closed loop fails with "Event loop is closed"). A
        ``user_client`` is used as it is, as the openai SDK would use it.
        """
        import openai

        return self._build(
            openai.DefaultAsyncHttpxClient, True, user_client, proxy, socket_options, timeout
        )

    def _build(
        self,
        client_class: type,
        async_: bool,
        user_client: Any,
        proxy: str | None,
        socket_options: Sequence[tuple[int, int, int]] | None,
        timeout: Any,
    ) -> Any:
        module = _http_module(client_class)
        forwarding, per_loop = _transport_classes(module)
        transport_class = per_loop if async_ else forwarding
        kwargs: dict[str, Any] = {}
        if user_client is not None:
            expected = module.AsyncClient if async_ else module.Client
            if not isinstance(user_client, expected):
                name = "http_async_client" if async_ else "http_client"
                msg = (
                    f"{name} must be a {module.__name__}.{expected.__name__} (the HTTP "
                    f"library of the installed openai SDK); got {type(user_client).__name__}."
                )
                raise VertexConfigError(msg)
            if proxy:
                msg = (
                    "Pass the proxy either as `openai_proxy` or on your own http client, "
                    "not both."
                )
                raise VertexConfigError(msg)
            transport = transport_class(client=user_client)
            # What the SDK would have taken from the user's client when building requests.
            kwargs.update(
                timeout=user_client.timeout,
                headers=user_client.headers,
                params=user_client.params,
                cookies=user_client.cookies,
            )
        else:
            factory = _inner_client_factory(
                client_class,
                module,
                async_=async_,
                proxy=proxy,
                socket_options=socket_options,
                verify=None,
            )
            transport = transport_class(factory=factory)
        if timeout is not _NOT_GIVEN:
            kwargs["timeout"] = timeout
        # The outer client only signs: no proxies or redirects of its own (the inner
        # client routes; a redirect is never followed with a Google credential).
        return client_class(
            auth=self.auth,
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            **kwargs,
        )

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
