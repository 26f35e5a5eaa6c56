"""Rules on where credentials may send what they hold, written once for every class.

Kept apart from the credential loading itself so the loading code calls each rule with a
one-line hook.

* An ``external_account`` (workload identity federation) configuration names the URLs its
  subject token is POSTed to (``token_url``) and the access token is then sent to
  (``service_account_impersonation_url``); the subject token is read from a local file, a
  local URL or a program. A configuration that came from somewhere else (a shared file, a
  loaded manifest) could send those to any host, so only Google's Security Token Service
  and IAM Credentials hosts are accepted unless the user opts in with
  ``allow_non_google_token_urls=True``. Google's own configurations use
  ``https://sts.googleapis.com/v1/token`` and
  ``https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/...``
  (https://cloud.google.com/iam/docs/workload-identity-federation-with-other-providers);
  regional (``sts.us-east1.rep.googleapis.com``, ``us-east1-sts.googleapis.com``), private
  (``sts-xyz.p.googleapis.com``), mTLS and universe-domain (``sts.<universe>``) forms too.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from vertex_openai._errors import VertexAuthError

__all__ = [
    "ALLOW_KEYWORD",
    "DROPPED_CREDENTIALS_KEY",
    "built_by_manifest_loader",
    "check_external_account_urls",
    "dropped_credentials_kind",
    "google_service_host",
    "refuse_manifest_credentials",
    "warn_principal_switch",
]

ALLOW_KEYWORD = "allow_non_google_token_urls"

_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"


def _host_patterns(service: str, domain: str) -> list[re.Pattern[str]]:
    d = re.escape(domain)
    s = re.escape(service)
    mtls = r"(?:\.mtls)?"
    return [
        re.compile(rf"{s}{mtls}\.{d}\Z"),  # sts.googleapis.com
        re.compile(rf"{s}\.{_LABEL}(?:\.rep)?{mtls}\.{d}\Z"),  # sts.us-east1.rep.googleapis.com
        re.compile(rf"{_LABEL}-{s}{mtls}\.{d}\Z"),  # us-east1-sts.googleapis.com
        re.compile(rf"{_LABEL}\.{s}{mtls}\.{d}\Z"),  # us-east1.sts.googleapis.com
        re.compile(rf"{s}-{_LABEL}\.p{mtls}\.{d}\Z"),  # sts-xyz.p.googleapis.com (PSC)
    ]


def _domains() -> list[str]:
    # The universe domain is the user's own setting (google-api-core's env var), never
    # what a credentials file claims: a file naming `universe_domain: evil.example` must
    # not make `sts.evil.example` acceptable.
    domains = ["googleapis.com"]
    universe = os.environ.get("GOOGLE_CLOUD_UNIVERSE_DOMAIN", "").strip().lower()
    if universe and universe not in domains:
        domains.append(universe)
    return domains


def google_service_host(url: str, service: str) -> bool:
    """Whether ``url`` is ``https://`` on a Google host of ``service`` (``sts``, ...)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "https" or port not in (None, 443) or parts.username or parts.password:
        return False
    return any(p.match(host) for d in _domains() for p in _host_patterns(service, d))


_URL_FIELDS = (
    ("token_url", "sts"),
    ("service_account_impersonation_url", "iamcredentials"),
)


def check_external_account_urls(info: Mapping[str, Any], where: str, allow: bool) -> None:
    """Refuse an ``external_account`` configuration that sends tokens off Google.

    Args:
        info: The parsed configuration (``type: external_account``).
        where: Where it came from (a file path or "credentials dict"), for the message.
        allow: The user's explicit ``allow_non_google_token_urls=True``.

    Raises:
        VertexAuthError: naming the field, its host, and the opt-in keyword.
    """
    if allow:
        return
    for field, service in _URL_FIELDS:
        url = info.get(field)
        if url is None:
            continue  # google-auth's default token URL is Google's; no impersonation
        if not isinstance(url, str) or not google_service_host(url, service):
            host = urlsplit(url).netloc if isinstance(url, str) else repr(url)
            msg = (
                f"The external_account credentials in {where} send tokens to {field} host "
                f"{host!r}, which is not Google's {service}.googleapis.com (or a regional / "
                "universe-domain form of it). A workload identity federation file from "
                "`gcloud iam workload-identity-pools create-cred-config` uses Google's hosts; "
                f"if you run your own token exchange on purpose, pass {ALLOW_KEYWORD}=True."
            )
            raise VertexAuthError(msg)


_LOADER_MODULES = ("langchain_core.load.load",)


def built_by_manifest_loader() -> bool:
    """Whether the object being built is revived by LangChain's ``load`` / ``loads``.

    Its ``Reviver`` calls ``cls(**kwargs)`` with the manifest's kwargs; the frames above
    the model's validator show it. (An ``init_validator`` would be the loader's own hook,
    but it is the caller's to pass, so a hostile manifest would not meet it.)
    """
    import sys

    frame = sys._getframe(1)
    for _ in range(40):
        if frame is None:
            return False
        if frame.f_globals.get("__name__") in _LOADER_MODULES:
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def refuse_manifest_credentials(values: Any, class_name: str) -> None:
    """Refuse credentials (and the token-URL opt-in) that arrive through a manifest.

    ``dumpd`` writes a credentials *path* at most (secrets are references only, never
    values), so a manifest carrying a credentials dict, or switching
    ``allow_non_google_token_urls`` on, was not written by this package: a loaded manifest
    could otherwise make the first call read a local file and POST it to any host.

    Raises:
        ValueError: naming the key and what to do instead.
    """
    if not isinstance(values, Mapping) or not built_by_manifest_loader():
        return
    credentials = values.get("credentials")
    if credentials is not None and not isinstance(credentials, str):
        msg = (
            f"A serialized {class_name} may not carry a `credentials` "
            f"{type(credentials).__name__}: dumpd() never writes one (secrets are references "
            "only). Load it without credentials and pass `credentials=` in code, or name a "
            "key file path."
        )
        raise ValueError(msg)
    if values.get(ALLOW_KEYWORD):
        msg = (
            f"A serialized {class_name} may not switch on {ALLOW_KEYWORD}; set it in code "
            "after reviewing the credentials file."
        )
        raise ValueError(msg)


DROPPED_CREDENTIALS_KEY = "vertex_openai_dropped_credentials"
"""Key in a pickled model's state naming the kind of credentials left out of it."""

_logger = logging.getLogger("vertex_openai")


def dropped_credentials_kind(credentials: Any) -> str | None:
    """What a pickle leaves out: the kind of a credentials object or dict, else ``None``."""
    if credentials is None or isinstance(credentials, str | os.PathLike):
        return None
    if isinstance(credentials, Mapping):
        kind = credentials.get("type")
        return f"{kind} credentials dict" if isinstance(kind, str) else "credentials dict"
    return f"{type(credentials).__module__}.{type(credentials).__name__} credentials object"


def warn_principal_switch(state: Any, class_name: str) -> None:
    """Log, when a model is unpickled, that it now signs as another principal.

    Credentials objects and dicts hold private keys and are never pickled; the copy
    resolves Application Default Credentials in the process that loads it, which may be
    a different identity (and project) than the one that pickled it.
    """
    kind = state.get(DROPPED_CREDENTIALS_KEY) if isinstance(state, Mapping) else None
    if kind:
        _logger.warning(
            "Unpickled %s was built with a %s, which is never pickled: it now signs requests "
            "with this process's Application Default Credentials, possibly another principal "
            "(and project). Pass credentials= again after loading, or build the model with "
            "a key file path, which is pickled.",
            class_name,
            kind,
        )
