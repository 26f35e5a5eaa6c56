"""Google credentials: loaded once on first use, described without secrets.

:class:`CredentialsSource` turns what a user passes as ``credentials`` (a google-auth
``Credentials``, a JSON key file path or its dict, or nothing for Application Default
Credentials) into google-auth credentials, and holds the hint tables that turn google-auth
failures into errors saying how to fix them.

See https://google-auth.readthedocs.io/en/latest/user-guide.html.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from vertex_openai._constants import CLOUD_PLATFORM_SCOPE, CREDENTIALS_ENV_VAR
from vertex_openai._credential_policy import check_external_account_urls
from vertex_openai._endpoint import validate_header_value
from vertex_openai._errors import VertexAuthError, VertexConfigError, redact
from vertex_openai._fork import reset_after_fork
from vertex_openai._pickling import cleared_state

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

__all__ = ["CredentialsSource"]

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


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else type(err).__name__


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
        allow_non_google_token_urls: bool = False,
    ) -> None:
        self.check(credentials)
        if quota_project is not None:
            validate_header_value(quota_project, "quota_project", "argument `quota_project`")
        self._given = credentials
        self._scopes = scopes
        self._quota_project = quota_project
        self._allow_non_google_token_urls = allow_non_google_token_urls
        self._lock = threading.Lock()
        self._loaded: tuple[Credentials, str | None] | None = None
        reset_after_fork(self)

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()

    @staticmethod
    def check(credentials: Any) -> None:
        """Refuse a ``credentials`` argument of a kind that cannot be loaded (no I/O).

        Raises:
            VertexConfigError: naming the accepted kinds.
        """
        if credentials is not None and not isinstance(credentials, str | os.PathLike | Mapping):
            from google.auth.credentials import Credentials as _Credentials

            if not isinstance(credentials, _Credentials):
                msg = (
                    "credentials must be a google.auth.credentials.Credentials, a path to a "
                    f"credentials JSON file, or its parsed dict; got {type(credentials).__name__}."
                )
                raise VertexConfigError(msg)

    def __repr__(self) -> str:
        return f"CredentialsSource({self.describe()})"

    def __getstate__(self) -> dict[str, Any]:
        # Never pickle live credentials or key material; reload on first use instead.
        state = cleared_state(self, "_lock", "_loaded")
        if not isinstance(state["_given"], str | os.PathLike):
            state["_given"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        reset_after_fork(self)

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
            if kind in ("external_account", "external_account_authorized_user"):
                check_external_account_urls(info, where, self._allow_non_google_token_urls)
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
