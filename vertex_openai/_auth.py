"""Google auth for the openai SDK: tokens that refresh themselves.

One :class:`VertexAuth` is installed as the ``auth`` of the httpx (openai 2.x) or httpx2
(openai 3.x) clients the framework classes build. For every request it:

* resolves credentials lazily (never at construction) and sends a fresh
  ``Authorization: Bearer`` token, refreshed before expiry with google-auth's own
  ``refresh()`` (not ``before_request()``, which starts Regional Access Boundary lookups);
* on a 401 refreshes once, only if the token that failed is still the current one (so a
  burst of concurrent 401s costs one refresh), then resends once. The openai SDK never
  retries a 401 itself;
* sends ``x-goog-user-project`` for a quota project, drops ``OpenAI-Organization`` /
  ``OpenAI-Project`` (picked up from OPENAI_ORG_ID / OPENAI_PROJECT_ID) so they never reach
  Google;
* for express-mode API keys, sends ``?key=`` and no Bearer header, and keeps the key out of
  the URL the SDK and httpx errors see afterwards;
* follows Vertex's "dedicated endpoint" 400 to the dedicated DNS name once, and remembers it;
* refuses to send a credential to a host that is neither Google's nor configured.

See https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/auth-and-credentials.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import json
import logging
import os
import re
import sys
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Generator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from vertex_openai._constants import (
    CLOUD_PLATFORM_SCOPE,
    CREDENTIALS_ENV_VAR,
    PROJECT_PLACEHOLDER,
)
from vertex_openai._endpoint import (
    VertexEndpoint,
    is_trusted_host,
    parse_dedicated_dns,
    validate_header_value,
    validate_project,
)
from vertex_openai._errors import (
    VertexAuthError,
    VertexConfigError,
    check_chat_response,
    redact,
)

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

__all__ = ["CredentialsSource", "EndpointRouter", "TokenProvider", "VertexAuth"]

logger = logging.getLogger("vertex_openai")

_ADC_HELP = (
    "Run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a "
    "service-account key file, or pass `credentials=`."
)
# Hints per credential kind (google-auth credentials class), for a rejected refresh
# (invalid_grant ...) and for other failures.
_REJECTED_HELP = {
    "authorized_user": "Run `gcloud auth application-default login` again (your session "
    "expired or was revoked).",
    "service_account": "The service-account key was rejected: it may have been deleted or "
    "disabled, or this machine's clock is wrong. Create a new key (`gcloud iam "
    "service-accounts keys create`) and check the clock.",
    "impersonated": "The source credentials were rejected, or they may not impersonate the "
    "target service account (they need roles/iam.serviceAccountTokenCreator on it).",
    "external_account": "The workload identity federation exchange was rejected: check the "
    "pool provider, the audience and that the subject token is current.",
    "metadata": "The metadata server refused a token: check the service account attached to "
    "this VM / workload and its scopes.",
}
_KIND_HELP = {
    "authorized_user": "Run `gcloud auth application-default login`, or pass `credentials=`.",
    "service_account": "Check the service-account key file (or create a new key with `gcloud "
    "iam service-accounts keys create`).",
    "impersonated": "Check the source credentials and that they may impersonate the target "
    "service account.",
    "external_account": "Check the workload identity federation configuration file.",
    "metadata": "Check the service account attached to this VM / workload.",
}
_REAUTH_MARKERS = ("invalid_grant", "reauthentication is needed", "invalid_rapt")
_OPENAI_ONLY_HEADERS = ("openai-organization", "openai-project")
_PLACEHOLDER_BYTES = PROJECT_PLACEHOLDER.encode()
_DEDICATED_RE = re.compile(r"dedicated dns name '([^']+)'")


# Objects whose locks must be new in a forked child: a lock held by another thread at
# fork time (a token refresh in progress) would otherwise stay locked in the child forever.
_FORK_RESET: weakref.WeakSet[Any] = weakref.WeakSet()


def _reset_after_fork() -> None:
    for obj in list(_FORK_RESET):
        obj._reset_after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_reset_after_fork)

DEFAULT_REFRESH_TIMEOUT = 30.0
"""Seconds a whole token refresh may take when the model has no numeric ``timeout``."""


class _RefreshDeadline(Exception):
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
            raise _RefreshDeadline(url, self.timeout)
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
                        raise _RefreshDeadline(url, self.timeout)
                data = b"".join(chunks)
        except httpx.TimeoutException:
            if op_timeout >= remaining - 0.001:
                raise _RefreshDeadline(url, self.timeout) from None
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


def _origin(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except Exception:
        return "the token endpoint"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def _credential_kind(credentials: Any) -> str:
    """service_account | authorized_user | metadata | impersonated | external_account | other."""
    module = type(credentials).__module__
    name = type(credentials).__name__
    if module.startswith("google.oauth2.service_account"):
        return "service_account"
    if module.startswith("google.oauth2.credentials"):
        return "authorized_user"
    if module.startswith("google.auth.compute_engine"):
        return "metadata"
    if module.startswith("google.auth.impersonated_credentials"):
        return "impersonated"
    if "external_account" in module or module.split(".")[-1] in (
        "identity_pool",
        "aws",
        "pluggable",
    ):
        return "external_account"
    return name


def _expiry_epoch(credentials: Credentials) -> float | None:
    # google-auth keeps expiry as a naive UTC datetime (google/auth/_helpers.py utcnow()).
    expiry = credentials.expiry
    if expiry is None:
        return None
    return calendar.timegm(expiry.utctimetuple()) + expiry.microsecond / 1e6


class CredentialsSource:
    """Loads Google credentials once, on first use, and describes them without secrets.

    Args:
        credentials: A ``google.auth.credentials.Credentials``; a path to, or dict of, a
            service-account / authorized-user / external-account JSON; or ``None`` for
            Application Default Credentials.
        scopes: OAuth scopes (default: cloud-platform).
        quota_project: Project billed for quota (sent as ``x-goog-user-project``).
    """

    def __init__(
        self,
        credentials: Any = None,
        *,
        scopes: tuple[str, ...] = (CLOUD_PLATFORM_SCOPE,),
        quota_project: str | None = None,
    ) -> None:
        if credentials is not None and not isinstance(credentials, str | os.PathLike | Mapping):
            from google.auth.credentials import Credentials as _Credentials

            if not isinstance(credentials, _Credentials):
                msg = (
                    "credentials must be a google.auth.credentials.Credentials, a path to a "
                    f"credentials JSON file, or its parsed dict; got {type(credentials).__name__}."
                )
                raise VertexConfigError(msg)
        if quota_project is not None:
            validate_header_value(quota_project, "quota_project", "argument `quota_project`")
        self._given = credentials
        self._scopes = scopes
        self._quota_project = quota_project
        self._lock = threading.Lock()
        self._loaded: tuple[Credentials, str | None] | None = None
        _FORK_RESET.add(self)

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CredentialsSource({self.describe()})"

    def __getstate__(self) -> dict[str, Any]:
        # Never pickle live credentials or key material; reload on first use instead.
        state = self.__dict__.copy()
        state["_lock"] = None
        state["_loaded"] = None
        if not isinstance(state["_given"], str | os.PathLike):
            state["_given"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        _FORK_RESET.add(self)

    def describe(self) -> str:
        """Human description of the credentials in use; never contains secrets."""
        given = self._given
        if given is None:
            path = os.environ.get(CREDENTIALS_ENV_VAR)
            if path:
                return f"Application Default Credentials from {CREDENTIALS_ENV_VAR}={path}"
            return "Application Default Credentials"
        if isinstance(given, str | os.PathLike):
            return f"credentials file {os.fspath(given)}"
        if isinstance(given, Mapping):
            kind = given.get("type", "unknown type")
            who = given.get("client_email") or given.get("audience") or given.get("client_id", "")
            return f"credentials dict ({kind}{', ' + str(who) if who else ''})"
        email = getattr(given, "service_account_email", None) or getattr(
            given, "signer_email", None
        )
        name = type(given).__module__ + "." + type(given).__qualname__
        return f"explicit credentials {name}{f' ({email})' if email else ''}"

    @property
    def quota_project(self) -> str | None:
        """The explicit quota project, else the credentials' own (once loaded)."""
        if self._quota_project:
            return self._quota_project
        if self._loaded is not None:
            found = getattr(self._loaded[0], "quota_project_id", None) or None
            if found is not None:
                validate_header_value(
                    found, "quota project", f"quota_project_id of {self.describe()}"
                )
            return found
        return None

    @property
    def credential_kind(self) -> str | None:
        """Kind of the loaded credentials (for hints), ``None`` before loading."""
        loaded = self._loaded
        return None if loaded is None else _credential_kind(loaded[0])

    def load(self) -> tuple[Credentials, str | None]:
        """Return ``(credentials, project)``, loading them on the first call.

        Raises:
            VertexAuthError: when no credentials can be found or a file is unreadable.
        """
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def reload(self) -> None:
        """Forget loaded credentials so the next :meth:`load` re-reads them (e.g. after reauth)."""
        with self._lock:
            self._loaded = None

    def _load(self) -> tuple[Credentials, str | None]:
        import google.auth
        import google.auth.exceptions

        given = self._given
        try:
            if given is None:
                adc_file = os.environ.get(CREDENTIALS_ENV_VAR)
                if not adc_file:
                    credentials, project = google.auth.default(scopes=list(self._scopes))
                    return credentials, project
                # Load the file ourselves: google.auth.default() would replace an
                # authorized-user file's token_uri with Google's.
                given = adc_file
            if isinstance(given, str | os.PathLike):
                path = Path(given)
                try:
                    info = json.loads(path.read_text(encoding="utf-8"))
                except OSError as err:
                    msg = (
                        f"Cannot read credentials file {path}: {err.strerror or err}. "
                        f"Check the path (argument `credentials` or {CREDENTIALS_ENV_VAR})."
                    )
                    raise VertexAuthError(msg) from None
                except ValueError:
                    msg = (
                        f"Credentials file {path} is not valid JSON. Download a new key with "
                        "`gcloud iam service-accounts keys create` or re-run "
                        "`gcloud auth application-default login`."
                    )
                    raise VertexAuthError(msg) from None
                return self._from_info(info, str(path))
            if isinstance(given, Mapping):
                return self._from_info(dict(given), "credentials dict")
            credentials = given
            if getattr(credentials, "requires_scopes", False):
                credentials = credentials.with_scopes(list(self._scopes))  # type: ignore[attr-defined]
            return credentials, getattr(credentials, "project_id", None)
        except google.auth.exceptions.DefaultCredentialsError as err:
            msg = f"No Google credentials found ({_first_line(err)}). {_ADC_HELP}"
            raise VertexAuthError(msg) from None

    def _from_info(self, info: dict[str, Any], where: str) -> tuple[Credentials, str | None]:
        import google.auth
        import google.auth.exceptions

        kind = info.get("type")
        if kind not in (
            "service_account",
            "authorized_user",
            "external_account",
            "impersonated_service_account",
            "external_account_authorized_user",
        ):
            msg = (
                f"{where} has unsupported type {kind!r}; expected a service_account, "
                "authorized_user or external_account JSON."
            )
            raise VertexAuthError(msg)
        try:
            if kind == "service_account":
                from google.oauth2 import service_account

                sa = service_account.Credentials.from_service_account_info(
                    info, scopes=list(self._scopes)
                )
                return sa, info.get("project_id")
            if kind == "authorized_user":
                from google.oauth2 import credentials as user_credentials

                # from_authorized_user_info() forces Google's token_uri; honour the file's.
                user = user_credentials.Credentials(
                    token=None,
                    refresh_token=info.get("refresh_token"),
                    token_uri=info.get("token_uri") or "https://oauth2.googleapis.com/token",
                    client_id=info.get("client_id"),
                    client_secret=info.get("client_secret"),
                    quota_project_id=info.get("quota_project_id"),
                    scopes=list(self._scopes),
                )
                return user, info.get("quota_project_id")
            if kind == "external_account":
                # Built directly: google.auth.load_credentials_from_dict() would exchange a
                # token at STS and ask Cloud Resource Manager for the project right away,
                # even when the user gave `project=`. Looked up later only if needed.
                return self._external_account(info), None
            credentials, project = google.auth.load_credentials_from_dict(
                info, scopes=list(self._scopes)
            )
            return credentials, project
        except google.auth.exceptions.TransportError as err:
            msg = (
                f"Network failure while loading {where} ({_first_line(err)}). Check the "
                "connection to the host named, or pass `project=` so no lookup is needed."
            )
            raise VertexAuthError(redact(msg)) from None
        except (ValueError, KeyError, google.auth.exceptions.GoogleAuthError) as err:
            msg = (
                f"{where} is malformed ({type(err).__name__}: {_first_line(err)}). "
                "Create a new key or re-run `gcloud auth application-default login`."
            )
            raise VertexAuthError(redact(msg)) from None


    def _external_account(self, info: dict[str, Any]) -> Any:
        source = info.get("credential_source")
        source = source if isinstance(source, Mapping) else {}
        if str(source.get("environment_id", "")).startswith("aws"):
            from google.auth import aws as module
        elif "executable" in source:
            from google.auth import pluggable as module  # type: ignore[no-redef]
        else:
            from google.auth import identity_pool as module  # type: ignore[no-redef]
        return module.Credentials.from_info(info, scopes=list(self._scopes))

    def project(self, request: TokenRequest) -> str | None:
        """The credentials' project, looked up (external accounts) only when asked for.

        Raises:
            VertexAuthError: when the lookup fails; a network failure names the host.
        """
        credentials, project = self.load()
        if project or _credential_kind(credentials) != "external_account":
            return project
        import google.auth.exceptions

        request.start()
        try:
            found = credentials.get_project_id(request)  # type: ignore[attr-defined]
        except _RefreshDeadline as err:
            msg = (
                f"Timed out after {err.seconds:g} s looking up the project of "
                f"{self.describe()} at {_origin(err.url)}. Pass `project=` (or set "
                "GOOGLE_CLOUD_PROJECT) so no lookup is needed."
            )
            raise VertexAuthError(msg) from None
        except google.auth.exceptions.GoogleAuthError as err:
            host = _origin(request.last_url) if request.last_url else "Google"
            kind = "Network failure" if isinstance(
                err, google.auth.exceptions.TransportError
            ) else "Failure"
            msg = (
                f"{kind} looking up the project of {self.describe()} at {host} "
                f"({_first_line(err)}). Pass `project=` (or set GOOGLE_CLOUD_PROJECT)."
            )
            raise VertexAuthError(redact(msg)) from None
        return str(found) if found else None


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else type(err).__name__


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
        _FORK_RESET.add(self)

    def __repr__(self) -> str:
        return f"TokenProvider({self.source.describe()})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_lock"] = None
        state["_snapshot"] = None
        state["_failure"] = None
        state["_inflight"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._inflight = weakref.WeakKeyDictionary()
        _FORK_RESET.add(self)

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
            return self.source.project(self._request)

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
        except _RefreshDeadline as err:
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
        if expires_at is None:
            refresh_at = expires_at = float("inf")
        else:
            margin = _helpers_threshold() if threshold is None else threshold
            lifetime = max(expires_at - started, 0.0)
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
        self._snapshot = (token, refresh_at, expires_at, self._clock())
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


class EndpointRouter:
    """The endpoint requests go to; learns the project and dedicated DNS names at run time."""

    def __init__(self, endpoint: VertexEndpoint) -> None:
        self.endpoint = endpoint
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.endpoint = state["endpoint"]
        self._lock = threading.Lock()

    def learn_project(self, project: str) -> None:
        with self._lock:
            if self.endpoint.project is None:
                self.endpoint = self.endpoint.with_project(project)

    def learn_dedicated_dns(self, dns: str) -> None:
        with self._lock:
            self.endpoint = self.endpoint.with_dedicated_dns(dns)


API_KEY_TRANSPORTS = ("header", "query")
"""How an express-mode key is sent: ``x-goog-api-key`` header, or ``?key=`` in the URL."""
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
        api_key: A Vertex express-mode API key, sent as ``?key=``.
    """

    requires_request_body = True  # the body is replayed on a 401 / dedicated-endpoint resend

    def __init__(
        self,
        router: EndpointRouter,
        token_provider: TokenProvider | None = None,
        *,
        api_key: str | None = None,
        api_key_transport: str = "header",
    ) -> None:
        if (token_provider is None) == (api_key is None):
            msg = "VertexAuth needs exactly one of token_provider or api_key."
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

    def __repr__(self) -> str:
        kind = "api_key=<redacted>" if self._api_key else repr(self.token_provider)
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
        return "an express-mode API key"

    def _sign(self, request: Any, token: str | None) -> Any:
        """Apply the credential; returns the URL to restore after sending."""
        clean_url = request.url
        if token is not None:
            request.headers["Authorization"] = f"Bearer {token}"
            assert self.token_provider is not None
            quota_project = self.token_provider.source.quota_project
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
        if self.token_provider is not None:
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

    def sync_auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        provider = self.token_provider
        project = (
            provider.project
            if provider is not None and _PLACEHOLDER_BYTES in request.url.raw_path
            else None
        )
        self._target(request, project)
        token = provider.token() if provider is not None else None
        sent_at = provider.now() if provider is not None else 0.0
        clean_url = self._sign(request, token)
        try:
            response = yield request
        finally:
            # Also when httpx closes the flow on a timeout or connection error.
            self._unsign(request, clean_url)
        dedicated = None
        if response.status_code == 400:
            response.read()
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
            response.read()
            token = provider.token(stale=token, sent_at=sent_at)
            sent_at = provider.now()
            clean_url = self._sign(request, token)
            try:
                response = yield request
            finally:
                self._unsign(request, clean_url)
        if _is_chat_200(request, response) and not _is_sse(response):
            # Not a stream: the body is read anyway by the SDK; check it is a completion.
            response.read()
            check_chat_response(response, response.content)

    async def async_auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
        provider = self.token_provider
        project = None
        if provider is not None and _PLACEHOLDER_BYTES in request.url.raw_path:
            project = await asyncio.to_thread(lambda: provider.project)
        self._target(request, project)
        token = await provider.atoken() if provider is not None else None
        sent_at = provider.now() if provider is not None else 0.0
        clean_url = self._sign(request, token)
        try:
            response = yield request
        finally:
            self._unsign(request, clean_url)
        if response.status_code == 400:
            await response.aread()
            dedicated = self._dedicated_dns(response, request)
            if dedicated is not None:
                self.router.learn_dedicated_dns(dedicated)
                self._target(request, project)
                clean_url = self._sign(request, token)
                try:
                    response = yield request
                finally:
                    self._unsign(request, clean_url)
        for _ in range(_MAX_401_ROUNDS):
            if response.status_code != 401 or provider is None or token is None:
                break
            await response.aread()
            token = await provider.atoken(stale=token, sent_at=sent_at)
            sent_at = provider.now()
            clean_url = self._sign(request, token)
            try:
                response = yield request
            finally:
                self._unsign(request, clean_url)
        if _is_chat_200(request, response) and not _is_sse(response):
            await response.aread()
            check_chat_response(response, response.content)


def _is_chat_200(request: Any, response: Any) -> bool:
    if response.status_code != 200 or request.method != "POST":
        return False
    # raw_path (path and query, undecoded) is cheaper than url.path, which decodes.
    return bool(request.url.raw_path.partition(b"?")[0].endswith(b"/chat/completions"))


def _is_sse(response: Any) -> bool:
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return bool(kind == "text/event-stream")

