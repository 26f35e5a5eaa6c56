"""Access tokens: one refresh at a time, within a deadline, reset in a forked child.

:class:`TokenRequest` is the google-auth transport every refresh goes through (one
deadline per refresh); :class:`TokenProvider` caches a token of one
:class:`~vertex_openai._credentials.CredentialsSource` and refreshes it single-flight for
all threads and event loops.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import hashlib
import json
import logging
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from vertex_openai._constants import CREDENTIALS_ENV_VAR
from vertex_openai._credentials import (
    _ADC_HELP,
    _KIND_HELP,
    _REAUTH_MARKERS,
    _REJECTED_HELP,
    CredentialsSource,
    _credential_kind,
    _first_line,
    _origin,
)
from vertex_openai._errors import VertexAuthError, redact
from vertex_openai._fork import ForkSafeLock, reset_after_fork
from vertex_openai._pickling import cleared_state

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

__all__ = [
    "DEFAULT_REFRESH_TIMEOUT",
    "TokenProvider",
    "TokenRequest",
    "clear_shared_token_providers",
    "credential_identity",
    "shared_token_provider",
]

logger = logging.getLogger("vertex_openai")

DEFAULT_REFRESH_TIMEOUT = 30.0
"""Seconds a whole token refresh may take when the model has no numeric ``timeout``."""


class _RefreshDeadlineError(Exception):
    """The refresh ran out of time (not a google-auth error, so google-auth won't retry)."""

    def __init__(self, url: str, seconds: float) -> None:
        super().__init__(url, seconds)
        self.url = url
        self.seconds = seconds


class _TokenResponse:
    """google.auth.transport.Response over a fully read httpx response."""

    def __init__(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        self.status = status
        self.headers = headers
        self.data = data


class TokenRequest:
    """A ``google.auth.transport.Request`` whose calls share one deadline per refresh.

    google-auth's default transport waits up to 120 s per call, retries some calls, and a
    drip-feeding server resets a per-read timeout forever. Here every call of one refresh
    (token endpoint, metadata server, STS, IAM) gets only the time left of the refresh's
    budget, also while the body is being read. Proxy environment variables apply as with
    google-auth's requests transport; ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` too.

    Args:
        timeout: Seconds one refresh may take in total.
    """

    def __init__(self, timeout: float = DEFAULT_REFRESH_TIMEOUT) -> None:
        self.timeout = float(timeout)
        self.deadline = float("inf")
        self.last: tuple[str, int, str, bytes] | None = None
        """(url, status, content type, first bytes) of the last response."""
        self.last_url: str | None = None
        self._client: tuple[int, httpx.Client] | None = None

    def __del__(self) -> None:
        # Close the pool with its owner (as the openai SDK's default client does), so a
        # dropped model leaves no socket for the garbage collector to warn about; never
        # a pool inherited through fork (its sockets are the parent's).
        client = self._client
        if client is not None and client[0] == os.getpid():
            with contextlib.suppress(Exception):
                client[1].close()

    def start(self) -> TokenRequest:
        """Begin a refresh: its calls together may take ``timeout`` seconds."""
        self.deadline = time.monotonic() + self.timeout
        self.last = None
        self.last_url = None
        return self

    def _http(self) -> httpx.Client:
        client = self._client
        if client is None or client[0] != os.getpid():
            # New after a fork: a pooled socket must not be shared with the parent.
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            verify: Any = True
            if bundle:
                import ssl

                if os.path.isdir(bundle):
                    verify = ssl.create_default_context(capath=bundle)
                else:
                    verify = ssl.create_default_context(cafile=bundle)
            client = self._client = (
                os.getpid(),
                httpx.Client(verify=verify, follow_redirects=False, trust_env=True),
            )
        return client[1]

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: Any = None,
        **kwargs: Any,
    ) -> _TokenResponse:
        import google.auth.exceptions

        self.last_url = url
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _RefreshDeadlineError(url, self.timeout)
        if isinstance(timeout, tuple):
            timeout = max(t for t in timeout if t is not None) if any(timeout) else None
        op_timeout = remaining if timeout is None else min(float(timeout), remaining)
        try:
            with self._http().stream(
                method, url, content=body, headers=dict(headers or {}), timeout=op_timeout
            ) as response:
                chunks = []
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    if time.monotonic() > self.deadline:
                        raise _RefreshDeadlineError(url, self.timeout)
                data = b"".join(chunks)
        except httpx.TimeoutException:
            if op_timeout >= remaining - 0.001:
                raise _RefreshDeadlineError(url, self.timeout) from None
            msg = f"Timed out after {op_timeout:g} s waiting for {_origin(url)}"
            raise google.auth.exceptions.TransportError(msg) from None
        except httpx.HTTPError as err:
            msg = f"Could not reach {_origin(url)} ({type(err).__name__}: {_first_line(err)})"
            raise google.auth.exceptions.TransportError(msg) from None
        content_type = response.headers.get("content-type", "")
        self.last = (url, response.status_code, content_type, data[:200])
        return _TokenResponse(response.status_code, dict(response.headers), data)

    def __getstate__(self) -> dict[str, Any]:
        return {"timeout": self.timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["timeout"])  # type: ignore[misc]


def _expiry_epoch(credentials: Credentials) -> float | None:
    # google-auth keeps expiry as a naive UTC datetime (google/auth/_helpers.py utcnow()).
    expiry = credentials.expiry
    if expiry is None:
        return None
    return calendar.timegm(expiry.utctimetuple()) + expiry.microsecond / 1e6


def _lookup_project(source: CredentialsSource, request: TokenRequest) -> str | None:
    """The credentials' project, looked up (external accounts) only when asked for.

    Raises:
        VertexAuthError: when the lookup fails; a network failure names the host.
    """
    credentials, project = source.load()
    if project or _credential_kind(credentials) != "external_account":
        return project
    import google.auth.exceptions

    request.start()
    try:
        found = credentials.get_project_id(request)  # type: ignore[attr-defined]
    except _RefreshDeadlineError as err:
        msg = (
            f"Timed out after {err.seconds:g} s looking up the project of "
            f"{source.describe()} at {_origin(err.url)}. Pass `project=` (or set "
            "GOOGLE_CLOUD_PROJECT) so no lookup is needed."
        )
        raise VertexAuthError(msg) from None
    except google.auth.exceptions.GoogleAuthError as err:
        host = _origin(request.last_url) if request.last_url else "Google"
        kind = (
            "Network failure"
            if isinstance(err, google.auth.exceptions.TransportError)
            else "Failure"
        )
        msg = (
            f"{kind} looking up the project of {source.describe()} at {host} "
            f"({_first_line(err)}). Pass `project=` (or set GOOGLE_CLOUD_PROJECT)."
        )
        raise VertexAuthError(redact(msg)) from None
    return str(found) if found else None


def _helpers_threshold() -> float:
    """google-auth's own refresh threshold (3m45s), in seconds."""
    from google.auth import _helpers

    return float(_helpers.REFRESH_THRESHOLD.total_seconds())


class TokenProvider:
    """Thread- and event-loop-safe access token cache around google-auth credentials.

    ``token()`` is lock-free while the token is fresh. Refreshes are serialized by one
    ``threading.Lock`` (shared by all threads and event loops); async callers refresh in a
    worker thread so the loop never blocks.

    A token is refreshed where google-auth's own ``valid`` turns False
    (``REFRESH_THRESHOLD``, 3m45s, before expiry). A token whose whole lifetime is shorter
    than that, which google-auth would call stale at once, is refreshed at half its life,
    so it is not refreshed on every request yet keeps life for requests in flight.
    """

    def __init__(
        self,
        source: CredentialsSource,
        *,
        clock: Any = time.time,
        refresh_timeout: float = DEFAULT_REFRESH_TIMEOUT,
    ) -> None:
        self.source = source
        self._clock = clock
        self._request = TokenRequest(refresh_timeout)
        self._lock = threading.Lock()
        # (token, refresh_at, expires_at, obtained_at); replaced atomically.
        self._snapshot: tuple[str, float, float, float] | None = None
        self._generation = 0
        self._failure: tuple[int, BaseException] | None = None
        self._inflight: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self.refresh_count = 0
        reset_after_fork(self)

    def __repr__(self) -> str:
        return f"TokenProvider({self.source.describe()})"

    def __getstate__(self) -> dict[str, Any]:
        return cleared_state(self, "_lock", "_snapshot", "_failure", "_inflight")

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._inflight = weakref.WeakKeyDictionary()
        reset_after_fork(self)

    def _reset_after_fork(self) -> None:
        # A refresh running in another thread of the parent holds the lock forever in
        # the child. The cached token stays usable while `_fresh` says it is valid.
        self._lock = threading.Lock()
        self._inflight = weakref.WeakKeyDictionary()
        self._failure = None

    @property
    def refresh_timeout(self) -> float:
        """Seconds one refresh may take in total."""
        return self._request.timeout

    @property
    def project(self) -> str | None:
        """Project of the credentials (loads them; may look it up for external accounts)."""
        credentials, project = self.source.load()
        if project or _credential_kind(credentials) != "external_account":
            return project
        with self._lock:  # the lookup shares the refresh's request and its deadline
            return _lookup_project(self.source, self._request)

    def now(self) -> float:
        """The provider's clock (``time.time`` unless a test clock was given)."""
        return float(self._clock())

    def _fresh(self, stale: str | None, sent_at: float | None = None) -> str | None:
        snap = self._snapshot
        if snap is None or snap[0] == stale:
            return None
        now = self._clock()
        if now >= snap[1]:
            return None
        if sent_at is not None:
            if snap[3] < sent_at:
                return None
            # The rejected request spent `now - sent_at` in flight: its resend needs a
            # token that outlives that again (capped, so a just-installed token always
            # qualifies and waiters never refresh in turn).
            needed = min(1.5 * (now - sent_at), 0.75 * (snap[2] - snap[3]))
            if snap[2] - now < needed:
                return None
        return snap[0]

    def token(self, stale: str | None = None, sent_at: float | None = None) -> str:
        """Return a valid access token.

        Args:
            stale: A token the server rejected (401); it is refreshed only if it is still
                the current one.
            sent_at: When the rejected request was signed: a token obtained before then
                is no better than ``stale`` (it may be expiring too), so it is refreshed;
                one obtained since (another caller's refresh) is reused.

        Raises:
            VertexAuthError: when the refresh fails; the message names the credentials.
        """
        token = self._fresh(stale, sent_at)
        if token is not None:
            return token
        snap = self._snapshot
        generation = self._generation
        # While another thread refreshes, a token with most of its margin left is used
        # rather than waited for; one about to expire in flight is not.
        if snap is not None and stale is None and self._clock() < snap[1] + (snap[2] - snap[1]) / 2:
            if not self._lock.acquire(blocking=False):
                return snap[0]
        else:
            self._lock.acquire()
        try:
            token = self._fresh(stale, sent_at)
            if token is not None:
                return token
            failure = self._failure
            if failure is not None and failure[0] > generation:
                # The refresh we waited for failed: share its error instead of retrying
                # (no refresh storm while the token endpoint is down).
                raise failure[1]
            return self._refresh_locked(stale)
        finally:
            self._lock.release()

    async def atoken(self, stale: str | None = None, sent_at: float | None = None) -> str:
        """Async :meth:`token`; refreshes run in a worker thread, never on the loop."""
        token = self._fresh(stale, sent_at)
        if token is not None:
            return token
        loop = asyncio.get_running_loop()
        inflight = self._inflight.get(loop)
        if inflight is not None:
            # Another coroutine of this loop is refreshing: wait for it (its error too)
            # instead of each waiter hopping to a worker thread to queue on the lock.
            await asyncio.shield(inflight)
            token = self._fresh(stale, sent_at)
            if token is not None:
                return token
        task = loop.create_task(asyncio.to_thread(self.token, stale, sent_at))
        self._inflight[loop] = task
        try:
            token = await asyncio.shield(task)
        finally:
            if self._inflight.get(loop) is task:
                del self._inflight[loop]
        if self._fresh(stale, sent_at) != token:
            # A busy loop resumed us after the token passed its refresh point: once more.
            token = await asyncio.to_thread(self.token, stale, sent_at)
        return token

    def _refresh_locked(self, stale: str | None = None) -> str:
        import google.auth.exceptions

        self._generation += 1
        credentials, _ = self.source.load()
        started = self._clock()
        if self._snapshot is None and credentials.token and credentials.token != stale:
            # Credentials that arrive with a token (a static token, or one the app already
            # refreshed) are used as they are while it is valid: some cannot refresh at all.
            expires_at = _expiry_epoch(credentials)
            threshold = _helpers_threshold()
            if expires_at is None or expires_at - started > threshold:
                return self._store(str(credentials.token), expires_at, started, threshold)
        request = self._request.start()
        try:
            try:
                credentials.refresh(request)
            except google.auth.exceptions.RefreshError as err:
                if not any(m in str(err).lower() for m in _REAUTH_MARKERS):
                    raise
                # Reauthentication is needed / invalid_grant: the user may have re-run
                # `gcloud auth application-default login`; re-read from disk once.
                logger.info("Refresh rejected (%s); re-reading credentials once", _first_line(err))
                self.source.reload()
                credentials, _ = self.source.load()
                credentials.refresh(request)
        except VertexAuthError as err:
            self._failure = (self._generation, err)
            raise
        except _RefreshDeadlineError as err:
            error = VertexAuthError(
                f"Timed out after {err.seconds:g} s refreshing the Google access token for "
                f"{self.source.describe()}: no complete answer from {_origin(err.url)}. "
                "Check the network path (proxy, firewall) to that endpoint, then retry; the "
                "model's `timeout` bounds each refresh."
            )
            self._failure = (self._generation, error)
            raise error from None
        except (google.auth.exceptions.GoogleAuthError, OSError) as err:
            error = self._refresh_error(err, credentials)
            self._failure = (self._generation, error)
            raise error from None
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            # google-auth could not parse what the token endpoint sent (an HTML login or
            # captive-portal page with status 200, a proxy's own answer ...).
            error = self._bad_answer_error(err)
            self._failure = (self._generation, error)
            raise error from None
        token = credentials.token
        if not token:
            error = VertexAuthError(
                f"{self.source.describe()} returned no access token. {_ADC_HELP}"
            )
            self._failure = (self._generation, error)
            raise error
        self.refresh_count += 1
        logger.debug("Refreshed Google access token (%s)", self.source.describe())
        return self._store(str(token), _expiry_epoch(credentials), started, lifetime_margin=True)

    def _store(
        self,
        token: str,
        expires_at: float | None,
        started: float,
        threshold: float | None = None,
        *,
        lifetime_margin: bool = False,
    ) -> str:
        received = self._clock()
        if expires_at is None:
            refresh_at = expires_at = float("inf")
        else:
            if lifetime_margin:
                # google-auth dates the expiry from when the answer was parsed
                # (utcnow() + expires_in); the token's life began when the server issued
                # it, somewhere after `started`. On a loaded machine the token request
                # can queue for a good part of a short lifetime, so it is counted from
                # `started`: never later than the server's own clock would say.
                expires_at -= max(received - started, 0.0)
            margin = _helpers_threshold() if threshold is None else threshold
            lifetime = max(expires_at - (received if lifetime_margin else started), 0.0)
            if lifetime_margin and lifetime <= margin:
                # google-auth calls such a token stale from the start (its `valid` is False
                # within REFRESH_THRESHOLD of expiry); following it would refresh on every
                # request, so half the lifetime is kept for requests in flight. A longer
                # token is never trusted past the point where google-auth's `valid` turns
                # False (a min() with half the lifetime would keep a 227 s token for 113 s
                # when google-auth holds it valid for 2 s).
                margin = lifetime / 2
            refresh_at = expires_at - margin
        # Installed "now": a request signed before this moment used the previous token.
        self._snapshot = (token, refresh_at, expires_at, received)
        self._failure = None
        return token

    def _bad_answer_error(self, err: BaseException) -> VertexAuthError:
        last = self._request.last
        who = self.source.describe()
        if last is None:
            msg = (
                f"Could not refresh the Google access token for {who}: unexpected "
                f"{type(err).__name__} ({redact(_first_line(err))})."
            )
            return VertexAuthError(msg)
        url, status, content_type, head = last
        first = redact(head.decode("utf-8", "replace")[:120])
        msg = (
            f"Could not refresh the Google access token for {who}: {_origin(url)} answered "
            f"{status} with {content_type or 'no content type'}, not a token (first bytes: "
            f"{first!r}). A proxy, captive portal or login page may be answering instead of "
            "Google: check the network path to that endpoint."
        )
        return VertexAuthError(msg)

    def _refresh_error(self, err: BaseException, credentials: Any = None) -> VertexAuthError:
        import google.auth.exceptions

        detail = redact(_first_line(err))
        lowered = detail.lower()
        kind = _credential_kind(credentials) if credentials is not None else None
        last = self._request.last
        status = last[1] if last is not None else None
        where = _origin(last[0]) if last is not None else "the token endpoint"
        if isinstance(err, google.auth.exceptions.TransportError | OSError) and (
            status is None or status < 400
        ):
            fix = f"Check the network connection to {where}, then retry."
        elif status is not None and (status >= 500 or status == 429):
            fix = (
                f"{where} answered {status}, a temporary error on the token service's side; "
                "retry later (nothing is wrong with the credentials)."
            )
        elif any(m in lowered for m in _REAUTH_MARKERS):
            fix = _REJECTED_HELP.get(kind or "", _ADC_HELP)
        else:
            fix = _KIND_HELP.get(kind or "", _ADC_HELP)
        who = self.source.describe()
        msg = f"Could not refresh the Google access token for {who}: {detail}. {fix}"
        return VertexAuthError(msg)


# -- one token source per credential, shared by every model object -------------------------

_MAX_SHARED = 256
"""Token sources kept alive for model objects yet to be built (least recently used go)."""

# Environment that decides what Application Default Credentials resolve to (google-auth's
# `_default.py`): models built under different values must not share a token.
_ADC_ENV = (
    CREDENTIALS_ENV_VAR,
    "CLOUDSDK_CONFIG",
    "GCE_METADATA_HOST",
    "GCE_METADATA_IP",
    "GCE_METADATA_ROOT",
    "GOOGLE_CLOUD_PROJECT",
    "GCLOUD_PROJECT",
)


class _SharedProviders(ForkSafeLock):
    """The process-wide cache (the providers reset their own locks in a forked child)."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: OrderedDict[tuple[Any, ...], TokenProvider] = OrderedDict()


_SHARED = _SharedProviders()


def _file_identity(path: str | os.PathLike[str]) -> tuple[Any, ...] | None:
    # A stat, not a read: the file's content is read once, by the provider that loads it.
    # A rewritten file (another key at the same path) has another inode / mtime / size.
    try:
        st = os.stat(path)
    except OSError:
        return None  # the load reports it, per model, as before
    return ("file", os.path.abspath(path), st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def credential_identity(credentials: Any) -> tuple[Any, ...] | None:
    """What makes two ``credentials`` arguments the same principal, or ``None`` if unknown.

    A file by path and stat signature; an info dict by a hash of its content (identity
    fields, keys and impersonation target included); a ``Credentials`` object by identity;
    Application Default Credentials by the environment that resolves them. Static tokens
    (an ``ya29.`` string given as ``api_key``) are never shared.
    """
    if credentials is None:
        path = os.environ.get(CREDENTIALS_ENV_VAR)
        env = tuple(os.environ.get(name) for name in _ADC_ENV)
        if path:
            found = _file_identity(path)
            return None if found is None else ("adc", env, found)
        return ("adc", env)
    if isinstance(credentials, str | os.PathLike):
        return _file_identity(credentials)
    if isinstance(credentials, Mapping):
        try:
            text = json.dumps(dict(credentials), sort_keys=True, default=repr)
        except (TypeError, ValueError):
            return None
        return ("info", hashlib.sha256(text.encode()).hexdigest())
    if type(credentials).__name__ == "StaticAccessToken":
        return None
    return ("object", id(credentials))


def shared_token_provider(
    credentials: Any,
    *,
    scopes: tuple[str, ...],
    quota_project: str | None,
    refresh_timeout: float,
    allow_non_google_token_urls: bool = False,
) -> TokenProvider:
    """The process-wide :class:`TokenProvider` for these credentials (made on first use).

    Model objects on one credential share one token and its single-flight refresh; a
    different credential (or scopes, quota project, refresh budget) gets its own. No I/O.
    """
    identity = credential_identity(credentials)
    if identity is None:
        source = CredentialsSource(
            credentials,
            scopes=scopes,
            quota_project=quota_project,
            allow_non_google_token_urls=allow_non_google_token_urls,
        )
        return TokenProvider(source, refresh_timeout=refresh_timeout)
    key = (identity, scopes, quota_project, float(refresh_timeout), allow_non_google_token_urls)
    with _SHARED.lock:
        provider = _SHARED.entries.get(key)
        if provider is not None:
            _SHARED.entries.move_to_end(key)
            return provider
    source = CredentialsSource(
        credentials,
        scopes=scopes,
        quota_project=quota_project,
        allow_non_google_token_urls=allow_non_google_token_urls,
    )
    provider = TokenProvider(source, refresh_timeout=refresh_timeout)
    with _SHARED.lock:
        # Another thread may have made one meanwhile: keep the first.
        provider = _SHARED.entries.setdefault(key, provider)
        _SHARED.entries.move_to_end(key)
        while len(_SHARED.entries) > _MAX_SHARED:
            _SHARED.entries.popitem(last=False)
    return provider


def clear_shared_token_providers() -> None:
    """Forget every shared token source (tests; an app rotating every credential)."""
    with _SHARED.lock:
        _SHARED.entries.clear()
