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
from vertex_openai._endpoint import VertexEndpoint, is_trusted_host, parse_dedicated_dns
from vertex_openai._errors import VertexAuthError, VertexConfigError, redact

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

__all__ = ["CredentialsSource", "EndpointRouter", "TokenProvider", "VertexAuth"]

logger = logging.getLogger("vertex_openai")

_ADC_HELP = (
    "Run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a "
    "service-account key file, or pass `credentials=`."
)
_REAUTH_MARKERS = ("invalid_grant", "reauthentication is needed", "invalid_rapt")
_OPENAI_ONLY_HEADERS = ("openai-organization", "openai-project")
_PLACEHOLDER_BYTES = PROJECT_PLACEHOLDER.encode()
_DEDICATED_RE = re.compile(r"dedicated dns name '([^']+)'")


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
        self._given = credentials
        self._scopes = scopes
        self._quota_project = quota_project
        self._lock = threading.Lock()
        self._loaded: tuple[Credentials, str | None] | None = None

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
            return getattr(self._loaded[0], "quota_project_id", None) or None
        return None

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
            credentials, project = google.auth.load_credentials_from_dict(
                info, scopes=list(self._scopes)
            )
            return credentials, project
        except (ValueError, KeyError, google.auth.exceptions.GoogleAuthError) as err:
            msg = (
                f"{where} is malformed ({type(err).__name__}: {_first_line(err)}). "
                "Create a new key or re-run `gcloud auth application-default login`."
            )
            raise VertexAuthError(redact(msg)) from None


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

    The refresh margin is google-auth's ``REFRESH_THRESHOLD`` (3m45s) capped at half the
    token's lifetime, so short-lived tokens are not refreshed on every request yet keep
    enough life for requests in flight.
    """

    def __init__(self, source: CredentialsSource, *, clock: Any = time.time) -> None:
        self.source = source
        self._clock = clock
        self._lock = threading.Lock()
        # (token, refresh_at, expires_at, obtained_at); replaced atomically.
        self._snapshot: tuple[str, float, float, float] | None = None
        self._generation = 0
        self._failure: tuple[int, BaseException] | None = None
        self._inflight: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self.refresh_count = 0

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

    @property
    def project(self) -> str | None:
        """Project of the credentials (loads them)."""
        return self.source.load()[1]

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
        from google.auth.transport.requests import Request

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
        try:
            try:
                credentials.refresh(Request())
            except google.auth.exceptions.RefreshError as err:
                if not any(m in str(err).lower() for m in _REAUTH_MARKERS):
                    raise
                # Reauthentication is needed / invalid_grant: the user may have re-run
                # `gcloud auth application-default login`; re-read from disk once.
                logger.info("Refresh rejected (%s); re-reading credentials once", _first_line(err))
                self.source.reload()
                credentials, _ = self.source.load()
                credentials.refresh(Request())
        except VertexAuthError as err:
            self._failure = (self._generation, err)
            raise
        except (google.auth.exceptions.GoogleAuthError, OSError) as err:
            error = self._refresh_error(err)
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
            if lifetime_margin:
                margin = min(margin, max(expires_at - started, 0.0) / 2)
            refresh_at = expires_at - margin
        # Installed "now": a request signed before this moment used the previous token.
        self._snapshot = (token, refresh_at, expires_at, self._clock())
        self._failure = None
        return token

    def _refresh_error(self, err: BaseException) -> VertexAuthError:
        detail = redact(_first_line(err))
        lowered = detail.lower()
        if any(m in lowered for m in _REAUTH_MARKERS):
            fix = "Run `gcloud auth application-default login` again (your session expired)."
        elif isinstance(err, OSError) or "connection" in lowered or "timed out" in lowered:
            fix = "Check the network connection to Google's token endpoint, then retry."
        else:
            fix = _ADC_HELP
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
    ) -> None:
        if (token_provider is None) == (api_key is None):
            msg = "VertexAuth needs exactly one of token_provider or api_key."
            raise VertexConfigError(msg)
        self.router = router
        self.token_provider = token_provider
        self._api_key = api_key

    def __repr__(self) -> str:
        kind = "api_key=<redacted>" if self._api_key else repr(self.token_provider)
        return f"VertexAuth({kind})"

    # -- request preparation -------------------------------------------------------

    def _target(self, request: Any, project: str | None) -> None:
        """Rewrite the URL for a learned project / dedicated host and check the origin."""
        url = request.url
        if _PLACEHOLDER_BYTES in url.raw_path:
            path = url.raw_path.decode("ascii", "replace")
            if not project:
                msg = (
                    "No Google Cloud project: pass `project=` or set GOOGLE_CLOUD_PROJECT "
                    f"(the credentials, {self._describe()}, do not name one)."
                )
                raise VertexConfigError(msg)
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
        if url.netloc != request.url.netloc:
            # httpx set Host from the original URL; keep it in step with the new origin.
            request.headers["Host"] = url.netloc.decode("ascii")
        request.url = url
        if any(key[:7].lower() == b"openai-" for key, _ in request.headers.raw):
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
            # Express mode: the key rides in the query string; a Bearer header would make
            # Vertex answer 401 ACCESS_TOKEN_TYPE_UNSUPPORTED (wire facts §10).
            request.headers.pop("Authorization", None)
            request.url = clean_url.copy_merge_params({"key": self._api_key})
        return clean_url

    @staticmethod
    def _unsign(request: Any, clean_url: Any) -> None:
        # The SDK and httpx error texts read response.request: keep the secrets out of it.
        request.url = clean_url
        if "Authorization" in request.headers:
            request.headers["Authorization"] = "Bearer <redacted>"

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
        if response.status_code == 401 and provider is not None and token is not None:
            response.read()
            token = provider.token(stale=token, sent_at=sent_at)
            clean_url = self._sign(request, token)
            try:
                response = yield request
            finally:
                self._unsign(request, clean_url)

    async def async_auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
        provider = self.token_provider
        project = None
        if provider is not None and _PLACEHOLDER_BYTES in request.url.raw_path:
            project = (await asyncio.to_thread(provider.source.load))[1]
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
        if response.status_code == 401 and provider is not None and token is not None:
            await response.aread()
            token = await provider.atoken(stale=token, sent_at=sent_at)
            clean_url = self._sign(request, token)
            try:
                response = yield request
            finally:
                self._unsign(request, clean_url)
