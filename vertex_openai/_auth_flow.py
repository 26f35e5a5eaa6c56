"""The httpx / httpx2 auth flow that signs every request for Vertex AI.

One :class:`VertexAuth` is installed as the ``auth`` of the httpx (openai 2.x) or httpx2
(openai 3.x) clients the framework classes build. For every request it:

* sends a fresh ``Authorization: Bearer`` token from a
  :class:`~vertex_openai._tokens.TokenProvider`;
* on a 401 refreshes once, only if the token that failed is still the current one (so a
  burst of concurrent 401s costs one refresh), then resends once. The openai SDK never
  retries a 401 itself;
* sends ``x-goog-user-project`` for a quota project, drops ``OpenAI-Organization`` /
  ``OpenAI-Project`` (picked up from OPENAI_ORG_ID / OPENAI_PROJECT_ID) so they never reach
  Google;
* for express-mode API keys, sends ``x-goog-api-key`` (or ``?key=``) and no Bearer header,
  and keeps the key out of the request the SDK and httpx errors see afterwards;
* follows Vertex's "dedicated endpoint" 400 to the dedicated DNS name once, and remembers it;
* refuses to send a credential to a host that is neither Google's nor configured.

The sync and async flows drive one generator (``VertexAuth._flow``) and differ only in how
they do its I/O, as httpx's own ``Auth`` flows do.

See https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/auth-and-credentials.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import sys
from collections.abc import AsyncGenerator, Generator
from contextlib import closing
from typing import Any

import httpx

from vertex_openai._constants import PROJECT_PLACEHOLDER
from vertex_openai._endpoint import (
    EndpointRouter,
    is_trusted_host,
    parse_dedicated_dns,
    validate_project,
)
from vertex_openai._errors import VertexAuthError, VertexConfigError
from vertex_openai._options import API_KEY_TRANSPORTS
from vertex_openai._responses import check_chat_response, needs_chat_body_check
from vertex_openai._tokens import TokenProvider

__all__ = ["VertexAuth"]

logger = logging.getLogger("vertex_openai")

_OPENAI_ONLY_HEADERS = ("openai-organization", "openai-project")
_PLACEHOLDER_BYTES = PROJECT_PLACEHOLDER.encode()
_DEDICATED_RE = re.compile(r"dedicated dns name '([^']+)'")
# What the shared flow asks its driver for.
_READ, _TOKEN, _PROJECT, _CALL = "read", "token", "project", "call"
_MAX_401_ROUNDS = 2

_AUTH_BASES: tuple[type, ...] = (httpx.Auth,)
# openai 3.x speaks httpx2 (and has imported it by now); httpx2.Client rejects a plain
# httpx.Auth. Only dual-base when it is loaded, so openai 2.x users don't pay its import.
# If an app called httpx2.alias_httpx(), both names are one module: dedupe the bases.
if "httpx2" in sys.modules:
    _AUTH_BASES = tuple(dict.fromkeys((httpx.Auth, sys.modules["httpx2"].Auth)))


class VertexAuth(*_AUTH_BASES):  # type: ignore[misc]
    """httpx / httpx2 auth flow that signs every request for Vertex AI.

    Args:
        endpoint: Where requests go; shared with the framework class.
        token_provider: Source of OAuth access tokens (``None`` with ``api_key``).
        api_key: A Vertex express-mode API key, sent as ``x-goog-api-key`` / ``?key=``.
        token_function: A callable (sync or async) returning an OAuth access token; called
            per request, its result sent as ``Bearer`` (``api_key=<callable>``).
        quota_project: Project billed for quota with ``token_function``.
    """

    requires_request_body = True  # the body is replayed on a 401 / dedicated-endpoint resend

    def __init__(
        self,
        router: EndpointRouter,
        token_provider: TokenProvider | None = None,
        *,
        api_key: str | None = None,
        api_key_transport: str = "header",
        token_function: Any = None,
        quota_project: str | None = None,
    ) -> None:
        if sum(x is not None for x in (token_provider, api_key, token_function)) != 1:
            msg = "VertexAuth needs exactly one of token_provider, api_key or token_function."
            raise VertexConfigError(msg)
        if api_key_transport not in API_KEY_TRANSPORTS:
            msg = (
                f"api_key_transport must be 'header' (x-goog-api-key, the default) or "
                f"'query' (?key=); got {api_key_transport!r}."
            )
            raise VertexConfigError(msg)
        self.router = router
        self.token_provider = token_provider
        self._api_key = api_key
        self.api_key_transport = api_key_transport
        self._token_function = token_function
        self._quota_project = quota_project

    def __repr__(self) -> str:
        kind = (
            "api_key=<redacted>"
            if self._api_key
            else "api_key=<callable>"
            if self._token_function is not None
            else repr(self.token_provider)
        )
        return f"VertexAuth({kind})"

    # -- request preparation -------------------------------------------------------

    def _target(self, request: Any, project: str | None) -> None:
        """Rewrite the URL for a learned project / dedicated host and check the origin."""
        url = original = request.url
        raw_path = url.raw_path
        if _PLACEHOLDER_BYTES in raw_path:
            path = raw_path.decode("ascii", "replace")
            if not project:
                msg = (
                    "No Google Cloud project: pass `project=` or set GOOGLE_CLOUD_PROJECT "
                    f"(the credentials, {self._describe()}, do not name one)."
                )
                raise VertexConfigError(msg)
            # From the credentials file or the metadata server: it becomes part of the
            # path, so it is checked like an explicit one.
            validate_project(project, f"the credentials, {self._describe()}")
            self.router.learn_project(project)
            url = url.copy_with(raw_path=path.replace(PROJECT_PLACEHOLDER, project).encode())
        endpoint = self.router.endpoint
        if endpoint.dedicated_endpoint_dns and not endpoint.base_url_override:
            dedicated = type(url)(endpoint.dedicated_endpoint_dns)
            if url.host != dedicated.host or url.port != dedicated.port:
                url = url.copy_with(
                    scheme=dedicated.scheme, host=dedicated.host, port=dedicated.port
                )
        if not is_trusted_host(url.host, endpoint.configured_hosts):
            msg = (
                f"Refusing to send Google credentials to {url.host!r}: it is not a Google "
                "host (*.googleapis.com, *.prediction.vertexai.goog) nor the configured "
                "api_endpoint / base_url. Pass it explicitly as `api_endpoint` if you trust it."
            )
            raise VertexConfigError(msg)
        if url is not original:
            if url.netloc != original.netloc:
                # httpx set Host from the original URL; keep it in step with the new origin.
                request.headers["Host"] = url.netloc.decode("ascii")
            request.url = url
        # One scan of the joined names: this runs on every request.
        if b"openai-" in b"\n".join([key for key, _ in request.headers.raw]).lower():
            for name in _OPENAI_ONLY_HEADERS:
                request.headers.pop(name, None)

    def _describe(self) -> str:
        if self.token_provider is not None:
            return self.token_provider.source.describe()
        if self._token_function is not None:
            return "tokens from the api_key callable"
        return "an express-mode API key"

    def _sign(self, request: Any, token: str | None) -> Any:
        """Apply the credential; returns the URL to restore after sending."""
        clean_url = request.url
        if token is not None:
            request.headers["Authorization"] = f"Bearer {token}"
            provider = self.token_provider
            quota_project = (
                provider.source.quota_project if provider is not None else self._quota_project
            )
            if quota_project:
                request.headers["x-goog-user-project"] = quota_project
        else:
            # Express mode: a Bearer header would make Vertex answer 401
            # ACCESS_TOKEN_TYPE_UNSUPPORTED (docs/troubleshooting.md). The key goes in Google's
            # x-goog-api-key header by default (see docs/authentication.md for the
            # evidence), so it is in no URL that tracing or logging sees; `?key=` is the
            # documented alternative.
            request.headers.pop("Authorization", None)
            if self.api_key_transport == "query":
                request.url = clean_url.copy_merge_params({"key": self._api_key})
            else:
                request.headers["x-goog-api-key"] = self._api_key
        return clean_url

    def _unsign(self, request: Any, clean_url: Any) -> None:
        # The SDK and httpx error texts read response.request: keep the secrets out of it.
        # Only the header `_sign` set can hold one (it removed any other Authorization).
        request.url = clean_url
        if self._api_key is None:
            request.headers["Authorization"] = "Bearer <redacted>"
        elif self.api_key_transport != "query":
            request.headers["x-goog-api-key"] = "<redacted>"

    def _dedicated_dns(self, response: Any, request: Any) -> str | None:
        if response.status_code != 400:
            return None
        match = _DEDICATED_RE.search(response.text)
        if match is None:
            return None
        dns = match.group(1)
        if "://" not in dns:
            dns = f"{request.url.scheme}://{dns}"
        origin = parse_dedicated_dns(dns)
        host = type(request.url)(origin).host
        if not is_trusted_host(host, self.router.endpoint.configured_hosts):
            logger.warning("Ignoring untrusted dedicated endpoint host %r from Vertex", host)
            return None
        return origin

    # -- flows --------------------------------------------------------------------

    def _flow(self, request: Any) -> Generator[Any, Any, None]:
        """The auth flow itself, shared by the sync and async flows.

        It yields what needs I/O and is sent back the result: the request (to send) -> the
        response; ``(_READ, response)`` -> once the body is read; ``(_TOKEN, stale,
        sent_at)`` -> a token; ``(_PROJECT,)`` -> the credentials' project; ``(_CALL,)`` ->
        the ``api_key`` callable's token. A fresh token is taken without yielding (no I/O).
        """
        provider = self.token_provider
        project = None
        if provider is not None and _PLACEHOLDER_BYTES in request.url.raw_path:
            project = yield (_PROJECT,)
        self._target(request, project)
        token: str | None = None
        sent_at = 0.0
        if provider is not None:
            token = provider._fresh(None)
            if token is None:
                token = yield (_TOKEN, None, None)
            sent_at = provider.now()
        elif self._token_function is not None:
            token = yield (_CALL,)
        clean_url = self._sign(request, token)
        try:
            response = yield request
        finally:
            # Also when httpx closes the flow on a timeout or connection error.
            self._unsign(request, clean_url)
        if response.status_code == 400:
            yield (_READ, response)
            dedicated = self._dedicated_dns(response, request)
            if dedicated is not None:
                self.router.learn_dedicated_dns(dedicated)
                self._target(request, project)
                clean_url = self._sign(request, token)
                try:
                    response = yield request
                finally:
                    self._unsign(request, clean_url)
        # A 401 for a token that expired in flight: resend with a token issued after the
        # failed attempt was sent, at most twice (on a saturated machine the first resend
        # can itself spend its short token's life in a queue).
        for _ in range(_MAX_401_ROUNDS):
            if response.status_code != 401 or provider is None or token is None:
                break
            yield (_READ, response)
            token = yield (_TOKEN, token, sent_at)
            sent_at = provider.now()
            clean_url = self._sign(request, token)
            try:
                response = yield request
            finally:
                self._unsign(request, clean_url)
        if needs_chat_body_check(request, response):
            # Not a stream: the body is read anyway by the SDK; check it is a completion.
            yield (_READ, response)
            check_chat_response(response, response.content)

    def _io(self, op: tuple[Any, ...]) -> Any:
        """Do one I/O step of :meth:`_flow` (see there) for the sync flow."""
        kind = op[0]
        if kind is _READ:
            return op[1].read()
        if kind is _CALL:
            return _checked_token(self._token_function())
        provider = self.token_provider
        assert provider is not None
        return provider.token(op[1], op[2]) if kind is _TOKEN else provider.project

    async def _aio(self, op: tuple[Any, ...]) -> Any:
        """Do one I/O step of :meth:`_flow` (see there) for the async flow."""
        kind = op[0]
        if kind is _READ:
            return await op[1].aread()
        if kind is _CALL:
            value = self._token_function()
            return _checked_token(await value if inspect.isawaitable(value) else value)
        provider = self.token_provider
        assert provider is not None
        if kind is _TOKEN:
            return await provider.atoken(op[1], op[2])
        # May load a file or ask the metadata server: off the event loop.
        return await asyncio.to_thread(getattr, provider, "project")

    # The two drivers must each ``yield`` (and the async one ``await``) themselves, so
    # only these few lines exist twice. A request (not a tuple) is the common step: it
    # goes to httpx. httpx closes a driver on a send error; `closing` then closes the
    # shared flow, which unsigns the request.

    def sync_auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        with closing(self._flow(request)) as flow:
            op = _advance(flow, None)
            while op is not None:
                op = _advance(flow, (yield op) if op.__class__ is not tuple else self._io(op))

    async def async_auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
        with closing(self._flow(request)) as flow:
            op = _advance(flow, None)
            while op is not None:
                sent = (yield op) if op.__class__ is not tuple else await self._aio(op)
                op = _advance(flow, sent)


def _advance(flow: Generator[Any, Any, None], value: Any) -> Any:
    """Send ``value`` into ``flow``; its next step, or ``None`` once it has finished."""
    try:
        return flow.send(value)
    except StopIteration:
        return None


def _checked_token(value: Any) -> str:
    """The result of an ``api_key`` callable, checked before it goes into a header."""
    if inspect.isawaitable(value):
        if hasattr(value, "close"):
            value.close()  # never awaited: no "coroutine was never awaited" warning
        msg = (
            "api_key is an async callable, which only async calls can await; use a sync "
            "callable (or ainvoke / achat / aembed_*)."
        )
        raise VertexConfigError(msg)
    if not isinstance(value, str) or not value.strip():
        msg = (
            "The api_key callable returned "
            f"{'an empty string' if isinstance(value, str) else type(value).__name__}, not an "
            "access token."
        )
        raise VertexAuthError(msg)
    return value.strip()
