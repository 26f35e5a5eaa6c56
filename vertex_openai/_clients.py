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
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from vertex_openai._auth_flow import VertexAuth
from vertex_openai._credentials import CredentialsSource
from vertex_openai._endpoint import EndpointRouter, VertexEndpoint, validate_header_value
from vertex_openai._errors import VertexConfigError, redact
from vertex_openai._failover import FailoverPlan, failover_plan
from vertex_openai._fork import ForkSafeLock, reset_after_fork
from vertex_openai._options import ConnectionOptions
from vertex_openai._tokens import DEFAULT_REFRESH_TIMEOUT, TokenProvider, shared_token_provider

__all__ = ["VertexConnection"]

_NOT_GIVEN: Any = object()

if TYPE_CHECKING:
    from typing_extensions import Unpack


class _HttpClientOptions(TypedDict, total=False):
    """The options of :meth:`VertexConnection.http_client` and its async twin.

    Attributes:
        proxy: Explicit proxy URL (``openai_proxy``); wins over the environment.
        socket_options: ``(level, option, value)`` socket options for our own pool.
        timeout: Default timeout of the outer client.
    """

    proxy: str | None
    socket_options: Sequence[tuple[int, int, int]] | None
    timeout: Any


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
        def __init__(self, client: Any = None, factory: Any = None, shared: bool = False) -> None:
            # Exactly one of `client` (the user's: shared, never closed by us) or
            # `factory` (ours: rebuilt in a forked child). A `shared` pool serves every
            # model with the same connection options and lives as long as the process
            # (as langchain-openai's cached default clients do): closing one model's SDK
            # client must not close the pool other models are using.
            self._user_client = client
            self._factory = factory
            self._shared = shared
            self._own: tuple[int, Any] | None = None
            self._lock = threading.Lock()
            reset_after_fork(self)

        def _reset_after_fork(self) -> None:
            self._lock = threading.Lock()  # may have been held by a parent thread

        def _client(self) -> Any:
            if self._user_client is not None:
                return self._user_client
            own = self._own
            if own is None or own[0] != _FORK_GENERATION:
                # One pool per transport, even when several threads start at once (the
                # losers' pools would be used once and dropped with their sockets open).
                # After a fork the parent's pool is dropped untouched: its sockets are
                # the parent's, and its lock may be held by a parent thread.
                with self._lock:
                    own = self._own
                    if own is None or own[0] != _FORK_GENERATION:
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
            if self._shared:
                return
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

        def __init__(self, client: Any = None, factory: Any = None, shared: bool = False) -> None:
            self._user_client = client
            self._factory = factory
            self._shared = shared
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
            # when their loops shut down. A shared pool closes with its loop only.
            if self._user_client is not None or self._shared:
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


_FAILOVER_CLASSES: dict[str, tuple[type, type]] = {}


def _failover_transport(module: Any, inner: Any, plan: FailoverPlan, async_: bool) -> Any:
    """One model's failover (docs/failover.md) in front of a transport it may share.

    The forwarding transports are shared by every model with the same HTTP options, so a
    model's ``fallback_locations`` live in this thin per-model layer: on 429/503 the same
    signed request goes to the next location through the same inner transport.
    """
    classes = _FAILOVER_CLASSES.get(module.__name__)
    if classes is None:

        class FailoverTransport(module.BaseTransport):  # type: ignore[misc,name-defined]
            def __init__(self, inner: Any, plan: FailoverPlan) -> None:
                self._inner = inner
                self._plan = plan

            def handle_request(self, request: Any) -> Any:
                return self._plan.send(request, self._inner.handle_request)

            def close(self) -> None:
                self._inner.close()

        class AsyncFailoverTransport(module.AsyncBaseTransport):  # type: ignore[misc,name-defined]
            def __init__(self, inner: Any, plan: FailoverPlan) -> None:
                self._inner = inner
                self._plan = plan

            async def handle_async_request(self, request: Any) -> Any:
                return await self._plan.asend(request, self._inner.handle_async_request)

            async def aclose(self) -> None:
                await self._inner.aclose()

        classes = _FAILOVER_CLASSES[module.__name__] = (FailoverTransport, AsyncFailoverTransport)
    return classes[1 if async_ else 0](inner, plan)


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


_SHARED_TRANSPORTS: dict[tuple[Any, ...], Any] = {}
_CLIENT_ENV = (
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


_SHARED_LOCK = ForkSafeLock()  # of the pool cache


def _shared_transport(
    client_class: type,
    module: Any,
    *,
    async_: bool,
    proxy: str | None,
    socket_options: Sequence[tuple[int, int, int]] | None,
) -> Any:
    """Our own forwarding transport for these connection options, one per process.

    Every model object with the same HTTP options sends through the same pool (per event
    loop for async, per fork), so a model built per request reuses warm TLS connections
    and builds no SSL context of its own.
    """
    # The environment our inner clients read when made (proxies, CA bundle): a model built
    # after it changed gets a pool made under the new values, as a new client would.
    env = tuple(os.environ.get(name) for name in _CLIENT_ENV)
    key = (client_class, async_, proxy, tuple(socket_options or ()), env)
    transport = _SHARED_TRANSPORTS.get(key)
    if transport is not None:
        return transport
    forwarding, per_loop = _transport_classes(module)
    factory = _inner_client_factory(
        client_class,
        module,
        async_=async_,
        proxy=proxy,
        socket_options=socket_options,
        verify=None,
    )
    with _SHARED_LOCK.lock:
        transport = _SHARED_TRANSPORTS.get(key)
        if transport is None:
            transport_class = per_loop if async_ else forwarding
            transport = _SHARED_TRANSPORTS[key] = transport_class(factory=factory, shared=True)
    return transport


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
    """Endpoint + credentials for one model object, on shared token sources and pools.

    Construction does no I/O: credentials load and the project (when it comes from
    Application Default Credentials) resolves on the first request. Model objects on the
    same credentials share one token source (:func:`~vertex_openai._tokens.shared_token_provider`);
    those with the same HTTP options share one connection pool.

    Args:
        options: The :class:`~vertex_openai._options.ConnectionOptions`; or, instead,
            their fields as keyword arguments (``project``, ``location``, ``endpoint_id``,
            ``api_version``, ``api_endpoint``, ``dedicated_endpoint_dns``, ``base_url``,
            ``credentials``, ``api_key``, ``quota_project``, ``environ``, ``timeout``,
            ``api_key_transport``), read by :meth:`ConnectionOptions.build`.
    """

    def __init__(self, options: ConnectionOptions | None = None, **fields: Any) -> None:
        if options is None:
            options = ConnectionOptions.build(**fields)
        elif fields:
            msg = "Pass ConnectionOptions or their fields, not both."
            raise TypeError(msg)
        self.options = options
        self.endpoint_at_start = VertexEndpoint.resolve(
            project=options.project,
            location=options.location,
            endpoint_id=options.endpoint_id,
            api_version=options.api_version,
            api_endpoint=options.api_endpoint,
            dedicated_endpoint_dns=options.dedicated_endpoint_dns,
            base_url=options.base_url,
            environ=options.environ,
        )
        if (
            options.api_key is not None or options.token_function is not None
        ) and self.endpoint_at_start.project is None:
            what = "API keys" if options.api_key is not None else "api_key callables"
            msg = (
                f"Express-mode {what} need the project in the URL: pass `project=` or set "
                "GOOGLE_CLOUD_PROJECT."
                if options.api_key is not None
                else f"With {what} the project must be given: pass `project=` or set "
                "GOOGLE_CLOUD_PROJECT."
            )
            raise VertexConfigError(msg)
        if options.quota_project is not None:
            validate_header_value(
                options.quota_project, "quota_project", "argument `quota_project`"
            )
        self.failover = failover_plan(self.endpoint_at_start, options.fallback_locations)
        self.router = EndpointRouter(self.endpoint_at_start)
        self.token_provider: TokenProvider | None = None
        if options.api_key is None and options.token_function is None:
            if options.credentials is not None:
                CredentialsSource.check(options.credentials)
            self.token_provider = shared_token_provider(
                options.credentials,
                scopes=options.scopes,
                quota_project=options.quota_project,
                refresh_timeout=refresh_timeout(options.timeout),
                allow_non_google_token_urls=options.allow_non_google_token_urls,
            )
        self.auth = VertexAuth(
            self.router,
            self.token_provider,
            api_key=options.api_key,
            api_key_transport=options.api_key_transport,
            token_function=options.token_function,
            quota_project=options.quota_project,
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

    def http_client(self, user_client: Any = None, **options: Unpack[_HttpClientOptions]) -> Any:
        """A new sync client of the kind the installed openai SDK uses, signed by us.

        Args:
            user_client: The app's own ``httpx.Client`` (``http_client=``). It is never
                modified: requests are signed by our outer client and then sent through
                it, so its transport, proxy, CA, mounts, limits and event hooks apply and
                its other traffic carries no Google credential.
            **options: ``proxy``, ``socket_options``, ``timeout`` (see
                :class:`_HttpClientOptions`).
        """
        import openai

        return self._build(openai.DefaultHttpxClient, False, user_client, **options)

    def async_http_client(
        self, user_client: Any = None, **options: Unpack[_HttpClientOptions]
    ) -> Any:
        """A new async client of the kind the installed openai SDK uses, signed by us.

        Our own connection pools are kept per event loop and closed when the loop shuts
        down (a model object is often shared by several ``asyncio.run()`` calls, and a
        pooled connection from a closed loop fails with "Event loop is closed"). A
        ``user_client`` is used as it is, as the openai SDK would use it.
        """
        import openai

        return self._build(openai.DefaultAsyncHttpxClient, True, user_client, **options)

    def _build(
        self,
        client_class: type,
        async_: bool,
        user_client: Any,
        *,
        proxy: str | None = None,
        socket_options: Sequence[tuple[int, int, int]] | None = None,
        timeout: Any = _NOT_GIVEN,
    ) -> Any:
        kwargs: dict[str, Any] = {}
        if user_client is not None:
            # httpx or httpx2, whichever the app's client is (openai takes both): the
            # outer client is of the same library, so the SDK treats it as it would theirs.
            module = _user_client_module(user_client, async_)
            if proxy:
                msg = (
                    "Pass the proxy either as `openai_proxy` or on your own http client, not both."
                )
                raise VertexConfigError(msg)
            forwarding, per_loop = _transport_classes(module)
            transport = (per_loop if async_ else forwarding)(client=user_client)
            client_class = module.AsyncClient if async_ else module.Client
            # What the SDK would have taken from the user's client when building requests.
            kwargs.update(
                timeout=user_client.timeout,
                headers=user_client.headers,
                params=user_client.params,
                cookies=user_client.cookies,
            )
        else:
            module = _http_module(client_class)
            transport = _shared_transport(
                client_class, module, async_=async_, proxy=proxy, socket_options=socket_options
            )
        if self.failover is not None:
            transport = _failover_transport(module, transport, self.failover, async_)
        if timeout is not _NOT_GIVEN:
            kwargs["timeout"] = timeout
        # The outer client only signs: no proxies or redirects of its own (the inner
        # client routes; a redirect is never followed with a Google credential).
        return client_class(
            auth=_auth_for(self.auth, module),
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            **kwargs,
        )

    def sdk_client_kwargs(
        self,
        async_: bool = False,
        *,
        http_client: Any = None,
        proxy: str | None = None,
        socket_options: Sequence[tuple[int, int, int]] | None = None,
        http_timeout: Any = _NOT_GIVEN,
    ) -> dict[str, Any]:
        """The arguments of an ``openai.OpenAI`` / ``AsyncOpenAI`` for Vertex (one recipe).

        A placeholder key (the SDK never reads ``OPENAI_API_KEY``; our auth signs each
        request), no organization / project (``OPENAI_ORG_ID`` / ``OPENAI_PROJECT_ID``
        never reach Google), the Vertex base URL and a signing http client.

        Args:
            async_: For ``AsyncOpenAI``.
            http_client: The app's own ``httpx`` / ``httpx2`` client, sent through and
                never modified.
            proxy: Explicit proxy URL (``openai_proxy``).
            socket_options: Socket options for our own pool.
            http_timeout: Default timeout of the signing client.
        """
        from vertex_openai._constants import PLACEHOLDER_API_KEY

        build = self.async_http_client if async_ else self.http_client
        return {
            "base_url": self.base_url,
            "api_key": PLACEHOLDER_API_KEY,
            "organization": None,
            "project": None,
            "http_client": build(
                http_client, proxy=proxy, socket_options=socket_options, timeout=http_timeout
            ),
        }

    def sdk_client(self, async_: bool = False, **kwargs: Any) -> Any:
        """A ready ``openai.OpenAI`` (or ``AsyncOpenAI``) for Vertex.

        Args:
            async_: Build ``openai.AsyncOpenAI``.
            **kwargs: ``http_client`` / ``proxy`` / ``socket_options`` (see
                :meth:`sdk_client_kwargs`); the rest goes to the SDK client (``timeout``,
                ``max_retries``, ``default_headers`` ...).
        """
        import openai

        http_keys = ("http_client", "proxy", "socket_options")
        http_args = {k: kwargs.pop(k) for k in http_keys if k in kwargs}
        if "timeout" in kwargs:
            http_args["http_timeout"] = kwargs["timeout"]
        cls = openai.AsyncOpenAI if async_ else openai.OpenAI
        return cls(**self.sdk_client_kwargs(async_, **http_args), **kwargs)

    def openai_client(self, **kwargs: Any) -> Any:
        """A ready ``openai.OpenAI`` for Vertex (for code that uses the SDK directly)."""
        return self.sdk_client(False, **kwargs)

    def async_openai_client(self, **kwargs: Any) -> Any:
        """A ready ``openai.AsyncOpenAI`` for Vertex."""
        return self.sdk_client(True, **kwargs)


def _user_client_module(user_client: Any, async_: bool) -> Any:
    """httpx or httpx2: the library of the app's client; a clear error for anything else."""
    for module_name in ("httpx", "httpx2"):
        module = sys.modules.get(module_name)
        if module is None:
            continue
        expected = module.AsyncClient if async_ else module.Client
        if isinstance(user_client, expected):
            return module
    name = "http_async_client" if async_ else "http_client"
    kind = "AsyncClient" if async_ else "Client"
    msg = (
        f"{name} must be an httpx.{kind} or httpx2.{kind} (as the openai SDK takes); got "
        f"{type(user_client).__name__}."
    )
    raise VertexConfigError(msg)


_AUTH_ADAPTERS: dict[str, type] = {}


def _auth_for(auth: VertexAuth, module: Any) -> Any:
    """``auth`` as an ``Auth`` of ``module`` (httpx2 clients refuse an ``httpx.Auth``)."""
    if isinstance(auth, module.Auth):
        return auth
    adapter = _AUTH_ADAPTERS.get(module.__name__)
    if adapter is None:

        class VertexAuthAdapter(module.Auth):  # type: ignore[misc,name-defined]
            requires_request_body = True

            def __init__(self, inner: VertexAuth) -> None:
                self.inner = inner

            def __repr__(self) -> str:
                return repr(self.inner)

            def sync_auth_flow(self, request: Any) -> Any:
                return self.inner.sync_auth_flow(request)

            def async_auth_flow(self, request: Any) -> Any:
                return self.inner.async_auth_flow(request)

        adapter = _AUTH_ADAPTERS[module.__name__] = VertexAuthAdapter
    return adapter(auth)
