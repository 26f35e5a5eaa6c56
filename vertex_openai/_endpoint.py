"""Where a Vertex AI Chat Completions request goes.

Vertex serves the OpenAI-compatible API under an endpoint resource:

* Gemini and partner (MaaS) models: ``.../endpoints/openapi``
* self-deployed Model Garden endpoints: ``.../endpoints/{ENDPOINT_ID}``
  (numeric or ``mg-endpoint-...``)
* dedicated endpoints: the same path on their own ``*.prediction.vertexai.goog`` host

See https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview.
"""

from __future__ import annotations

import difflib
import os
import re
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from typing import Any
from urllib.parse import urlsplit

from vertex_openai._constants import (
    API_ENDPOINT_ENV_VAR,
    API_VERSIONS,
    DEFAULT_API_VERSION,
    DEFAULT_ENDPOINT_ID,
    DEFAULT_LOCATION,
    GLOBAL_HOST,
    LOCATION_ENV_VARS,
    PROJECT_ENV_VARS,
    PROJECT_PLACEHOLDER,
)
from vertex_openai._errors import VertexConfigError, require_match

__all__ = [
    "KNOWN_LOCATIONS",
    "EndpointRouter",
    "VertexEndpoint",
    "check_known_location",
    "host_for_location",
    "is_trusted_host",
    "parse_dedicated_dns",
    "resolve_location",
    "resolve_project",
]

# Regions look like us-central1, europe-west4, asia-northeast1, me-central2, us (multi-region).
_LOCATION_RE = re.compile(r"^(global|[a-z]+(-[a-z]+[0-9]+)?|[a-z]+-[a-z]+[0-9]+)\Z")
# Project ids, numbers and legacy domain-scoped ids (example.com:my-project).
_PROJECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._\-]*\Z")
_ENDPOINT_ID_RE = re.compile(r"^(openapi|[0-9]+|mg-endpoint-[0-9a-zA-Z-]+)\Z")
_BASE_URL_LOCATION = re.compile(r"/projects/[^/]+/locations/([^/]+)/endpoints/")
_HOST_RE = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]+)?\Z")
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f]")

# Hosts a credential may be sent to without the user naming them (security: a learned
# dedicated DNS or redirect pointing elsewhere must not receive a token).
_GOOGLE_HOST_SUFFIXES = (".googleapis.com", ".prediction.vertexai.goog")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


# Multi-region locations have their own host, not "{loc}-aiplatform.googleapis.com":
# https://cloud.google.com/vertex-ai/generative-ai/docs/learn/locations#multi-region-endpoints
# (and epam/ai-dial-adapter-vertexai#471 for a client that got "eu" wrong).
_MULTI_REGION_HOSTS = {
    "us": "aiplatform.us.rep.googleapis.com",
    "eu": "aiplatform.eu.rep.googleapis.com",
}


KNOWN_LOCATIONS: tuple[str, ...] = (
    "global",
    "us",
    "eu",
    "us-central1",
    "us-east1",
    "us-east4",
    "us-east5",
    "us-south1",
    "us-west1",
    "us-west2",
    "us-west3",
    "us-west4",
    "northamerica-northeast1",
    "northamerica-northeast2",
    "southamerica-east1",
    "southamerica-west1",
    "europe-central2",
    "europe-north1",
    "europe-southwest1",
    "europe-west1",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "europe-west6",
    "europe-west8",
    "europe-west9",
    "europe-west10",
    "europe-west12",
    "asia-east1",
    "asia-east2",
    "asia-northeast1",
    "asia-northeast2",
    "asia-northeast3",
    "asia-south1",
    "asia-south2",
    "asia-southeast1",
    "asia-southeast2",
    "australia-southeast1",
    "australia-southeast2",
    "me-central1",
    "me-central2",
    "me-west1",
    "africa-south1",
)
"""Locations Vertex AI serves, from Google's "Vertex AI locations" and "Generative AI on
Vertex AI locations" pages (https://cloud.google.com/vertex-ai/docs/general/locations,
https://cloud.google.com/vertex-ai/generative-ai/docs/learn/locations), as of 2026-12-05.
New regions appear: a location missing here is warned about, never refused."""


def check_known_location(location: str, source: str = "argument `location`") -> str | None:
    """Warn about a well-formed location Vertex does not list (a typo such as ``us-centrall1``).

    Args:
        location: A well-formed location.
        source: Where it came from, for the message.

    Returns:
        The warning text, or None for a known location (nothing is warned then).
    """
    if location in KNOWN_LOCATIONS:
        return None
    close = difflib.get_close_matches(location, KNOWN_LOCATIONS, n=1, cutoff=0.75)
    guess = f" Did you mean {close[0]!r}?" if close else ""
    msg = (
        f"Location {location!r} (from {source}) is not in the list of Vertex AI locations "
        f"known to vertex-openai (as of 2026-12-05).{guess} Requests to a location Vertex "
        "does not serve fail; see https://cloud.google.com/vertex-ai/generative-ai/docs/"
        "learn/locations. Ignore this warning if the location is new."
    )
    warnings.warn(msg, UserWarning, stacklevel=4)
    return msg


def host_for_location(location: str) -> str:
    """The Vertex AI host (no scheme) that serves ``location``.

    ``global`` -> ``aiplatform.googleapis.com``; the multi-regions ``us`` / ``eu`` ->
    ``aiplatform.{us,eu}.rep.googleapis.com``; a region such as ``europe-west4`` ->
    ``europe-west4-aiplatform.googleapis.com``. The request path keeps
    ``locations/{location}`` in every case.

    Args:
        location: A resolved location (see :func:`resolve_location`).

    Raises:
        VertexConfigError: if ``location`` is not a well-formed location name.
    """
    if location == "global":
        return GLOBAL_HOST
    multi = _MULTI_REGION_HOSTS.get(location)
    if multi is not None:
        return multi
    msg = (
        f"Malformed location {location!r}. Use 'global', 'us', 'eu' or a region "
        "such as 'us-central1'."
    )
    return f"{require_match(_LOCATION_RE, location, msg)}-{GLOBAL_HOST}"


def _first_env(names: tuple[str, ...], environ: Mapping[str, str]) -> tuple[str, str] | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return value, name
    return None


def _argument_or_env(
    value: str | None, argument: str, names: tuple[str, ...], environ: Mapping[str, str] | None
) -> tuple[str, str] | None:
    """``(value, where it came from)``: the argument, else the first env var set, else None."""
    if value:
        return value.strip(), f"argument `{argument}`"
    found = _first_env(names, os.environ if environ is None else environ)
    if found is None:
        return None
    return found[0], f"environment variable {found[1]}"


def resolve_project(
    project: str | None, environ: Mapping[str, str] | None = None
) -> tuple[str | None, str]:
    """Resolve the Google Cloud project without any network I/O.

    Args:
        project: The explicit argument, if any.
        environ: Environment to read (defaults to ``os.environ``).

    Returns:
        ``(project, source)``. ``project`` is ``None`` when it has to come from the
        credentials (resolved lazily, on the first request); ``source`` says where it
        came from, for ``vertex-openai doctor``.

    Raises:
        VertexConfigError: if the project id is malformed.
    """
    found = _argument_or_env(project, "project", PROJECT_ENV_VARS, environ)
    if found is None:
        return None, "credentials (Application Default Credentials)"
    project, source = found
    return validate_project(project, source), source


def validate_project(project: str, source: str) -> str:
    """Check a project id wherever it came from (argument, env, credentials, metadata).

    It becomes part of the request path, so anything but a project id or number is
    refused before a request is sent.

    Raises:
        VertexConfigError: if the project id is malformed.
    """
    msg = (
        f"Malformed Google Cloud project {project!r} (from {source}). Use the project ID "
        "(e.g. 'my-project-123') or project number shown by `gcloud projects list`."
    )
    return require_match(_PROJECT_RE, project, msg)


def validate_header_value(value: str, name: str, source: str) -> str:
    """Refuse a value with CR, LF or other control characters before it becomes a header.

    Raises:
        VertexConfigError: naming the setting and where it came from.
    """
    if _UNSAFE_CHARS.search(value) or value != value.strip() or not value:
        msg = (
            f"Malformed {name} {value!r} (from {source}): it is sent as an HTTP header and "
            "must be non-empty, without spaces at the ends, line breaks or control characters."
        )
        raise VertexConfigError(msg)
    return value


def resolve_location(
    location: str | None, environ: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """Resolve the Vertex AI location: argument > GOOGLE_CLOUD_LOCATION > ... > ``global``.

    Raises:
        VertexConfigError: if the location is not a region name or ``global``.
    """
    found = _argument_or_env(location, "location", LOCATION_ENV_VARS, environ)
    if found is None:
        return DEFAULT_LOCATION, "default"
    location, source = found
    if not _LOCATION_RE.match(location):
        hint = ""
        if location.endswith("-aiplatform.googleapis.com") or "." in location:
            hint = " It looks like a host name; pass the host as `api_endpoint` instead."
        elif location != location.lower():
            hint = f" Locations are lower case: {location.lower()!r}."
        elif re.match(r"^[a-z]+-[a-z]+[0-9]+-[a-z]\Z", location):
            hint = f" That is a zone; use its region {location.rsplit('-', 1)[0]!r}."
        msg = (
            f"Malformed location {location!r} (from {source}). Use 'global' or a region "
            f"such as 'us-central1' or 'europe-west4'.{hint}"
        )
        raise VertexConfigError(msg)
    return location, source


def _check_not_global_prefixed(host: str, name: str, value: str) -> None:
    # `global` has no region prefix: global-aiplatform.googleapis.com does not exist, and a
    # request to it ends in a bare "Connection error." (sigoden/aichat#1353).
    if host.lower() == f"global-{GLOBAL_HOST}":
        msg = (
            f"{name} {value!r} names the host 'global-{GLOBAL_HOST}', which does not exist. "
            f"The global endpoint is served at '{GLOBAL_HOST}' (no region prefix); "
            "multi-regions at 'aiplatform.us.rep.googleapis.com' / "
            "'aiplatform.eu.rep.googleapis.com'. Or drop it and pass location='global'."
        )
        raise VertexConfigError(msg)


def _normalize_api_endpoint(api_endpoint: str) -> str:
    """``host`` or ``scheme://host[:port]`` -> ``scheme://host[:port]`` (https by default)."""
    value = api_endpoint.strip().rstrip("/")
    if "://" not in value:
        value = f"https://{value}"
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or not _HOST_RE.match(parts.netloc)
    ):
        msg = (
            f"Malformed api_endpoint {api_endpoint!r}: pass a host such as "
            "'us-central1-aiplatform.googleapis.com' or 'http://127.0.0.1:8080'."
        )
        raise VertexConfigError(msg)
    if parts.query or parts.fragment or "?" in value or "#" in value:
        # urlsplit would silently drop "#.googleapis.com" and send to the host before it.
        msg = (
            f"Malformed api_endpoint {api_endpoint!r}: it has a query or fragment "
            "('?' / '#'); pass only a host such as 'us-central1-aiplatform.googleapis.com'."
        )
        raise VertexConfigError(msg)
    _check_not_global_prefixed(parts.hostname or "", "api_endpoint", api_endpoint)
    if parts.path not in ("", "/"):
        msg = (
            f"api_endpoint {api_endpoint!r} has a path; api_endpoint is only the host. "
            "Pass a full URL as `base_url` instead."
        )
        raise VertexConfigError(msg)
    return f"{parts.scheme}://{parts.netloc}"


def parse_dedicated_dns(value: str) -> str:
    """Normalize a dedicated endpoint DNS name (with or without scheme) to an origin."""
    return _normalize_api_endpoint(value)


@lru_cache(maxsize=256)  # checked on every signed request; a pure function of its args
def is_trusted_host(host: str, configured_hosts: tuple[str, ...] = ()) -> bool:
    """Whether a credential may be sent to ``host`` (no port).

    Google-owned Vertex hosts, hosts the user configured explicitly, and loopback when a
    loopback host was configured (the local emulator serves dedicated endpoints on
    ``localhost``).
    """
    host = host.lower()
    if host in configured_hosts:
        return True
    if any(host.endswith(suffix) for suffix in _GOOGLE_HOST_SUFFIXES):
        return True
    return host in _LOOPBACK_HOSTS and any(h in _LOOPBACK_HOSTS for h in configured_hosts)


@dataclass(frozen=True)
class VertexEndpoint:
    """A resolved Vertex AI Chat Completions endpoint.

    Build it with :meth:`resolve`; it does no I/O. When the project is not known yet
    (it comes from Application Default Credentials), :attr:`base_url` holds a
    placeholder that :class:`~vertex_openai.VertexAuth` fills in on the first request.
    """

    project: str | None
    location: str
    endpoint_id: str = DEFAULT_ENDPOINT_ID
    api_version: str = DEFAULT_API_VERSION
    api_endpoint: str | None = None
    """Origin override (``scheme://host[:port]``): Private Service Connect, proxies, emulator."""
    dedicated_endpoint_dns: str | None = None
    """Origin of a dedicated endpoint; wins over ``api_endpoint`` and the shared host."""
    base_url_override: str | None = None
    """A full base URL that wins over everything."""
    project_source: str = "argument `project`"
    location_source: str = "argument `location`"

    @classmethod
    def resolve(
        cls,
        *,
        project: str | None = None,
        location: str | None = None,
        endpoint_id: str | None = None,
        api_version: str | None = None,
        api_endpoint: str | None = None,
        dedicated_endpoint_dns: str | None = None,
        base_url: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> VertexEndpoint:
        """Resolve every part from arguments and Google's environment variables.

        Raises:
            VertexConfigError: for a malformed project, location, endpoint id, API
                version or host, each naming the argument and the fix.
        """
        endpoint_id = (endpoint_id or DEFAULT_ENDPOINT_ID).strip()
        if endpoint_id.startswith("projects/"):
            msg = (
                f"endpoint_id {endpoint_id!r} is a resource name; pass only the last "
                "segment (e.g. '1234567890' or 'mg-endpoint-...')."
            )
            raise VertexConfigError(msg)
        msg = (
            f"Malformed endpoint_id {endpoint_id!r}: use 'openapi' for Gemini and partner "
            "models, or the numeric / 'mg-endpoint-...' id of a self-deployed endpoint."
        )
        require_match(_ENDPOINT_ID_RE, endpoint_id, msg)
        api_version = (api_version or DEFAULT_API_VERSION).strip()
        if api_version not in API_VERSIONS:
            msg = f"api_version must be one of {', '.join(API_VERSIONS)}, got {api_version!r}."
            raise VertexConfigError(msg)
        resolved_location, location_source = resolve_location(location, environ)
        if location_source != "default":
            check_known_location(resolved_location, location_source)
        if base_url:
            parts = urlsplit(base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                msg = f"Malformed base_url {base_url!r}: it must start with https:// or http://."
                raise VertexConfigError(msg)
            if (
                parts.query
                or parts.fragment
                or "#" in base_url
                or "@" in parts.netloc
                or not _HOST_RE.match(parts.netloc)
                or _UNSAFE_CHARS.search(base_url)
            ):
                msg = (
                    f"Malformed base_url {base_url!r}: use scheme://host[:port]/path with no "
                    "user info, query, fragment, spaces or control characters."
                )
                raise VertexConfigError(msg)
            _check_not_global_prefixed(parts.hostname or "", "base_url", base_url)
            named = _BASE_URL_LOCATION.search(parts.path)
            if not location and named and _LOCATION_RE.match(named.group(1)):
                # The URL that is called names the region: report that, not the default.
                resolved_location, location_source = named.group(1), "base_url"
            resolved_project, project_source = resolve_project(project, environ)
            return cls(
                project=resolved_project,
                location=resolved_location,
                endpoint_id=endpoint_id,
                api_version=api_version,
                base_url_override=base_url.rstrip("/"),
                project_source=project_source,
                location_source=location_source,
            )
        resolved_project, project_source = resolve_project(project, environ)
        if not api_endpoint:
            # gcloud's override (lets apps and examples target a proxy or the emulator
            # with no code change).
            api_endpoint = (os.environ if environ is None else environ).get(
                API_ENDPOINT_ENV_VAR, ""
            ).strip() or None
        return cls(
            project=resolved_project,
            location=resolved_location,
            endpoint_id=endpoint_id,
            api_version=api_version,
            api_endpoint=_normalize_api_endpoint(api_endpoint) if api_endpoint else None,
            dedicated_endpoint_dns=(
                parse_dedicated_dns(dedicated_endpoint_dns) if dedicated_endpoint_dns else None
            ),
            project_source=project_source,
            location_source=location_source,
        )

    @property
    def is_self_deployed(self) -> bool:
        """True for Model Garden endpoints, where the model id is optional."""
        return self.endpoint_id != DEFAULT_ENDPOINT_ID

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` requests go to."""
        if self.base_url_override:
            parts = urlsplit(self.base_url_override)
            return f"{parts.scheme}://{parts.netloc}"
        if self.dedicated_endpoint_dns:
            return self.dedicated_endpoint_dns
        if self.api_endpoint:
            return self.api_endpoint
        return f"https://{host_for_location(self.location)}"

    @property
    def location_path(self) -> str:
        """``/v1/projects/P/locations/L`` (project may be the placeholder)."""
        project = self.project or PROJECT_PLACEHOLDER
        return f"/{self.api_version}/projects/{project}/locations/{self.location}"

    @property
    def resource_path(self) -> str:
        """``/v1/projects/P/locations/L/endpoints/E`` (project may be the placeholder)."""
        return f"{self.location_path}/endpoints/{self.endpoint_id}"

    @property
    def base_url(self) -> str:
        """The base URL for the openai SDK (it appends ``/chat/completions``)."""
        if self.base_url_override:
            return self.base_url_override
        return f"{self.origin}{self.resource_path}"

    @cached_property
    def configured_hosts(self) -> tuple[str, ...]:
        """Hosts the user named explicitly (trusted to receive credentials)."""
        hosts = []
        for origin in (self.base_url_override, self.api_endpoint, self.dedicated_endpoint_dns):
            if origin:
                host = urlsplit(origin).hostname
                if host:
                    hosts.append(host.lower())
        return tuple(hosts)

    def embedding_url(self, model: str, route: str) -> str:
        """Where an embedding request for ``model`` goes.

        Args:
            model: The model id as sent in the URL (``gemini-embedding-001``).
            route: ``"openapi"`` (OpenAI-compatible ``/embeddings`` under this endpoint) or
                ``"predict"`` (the publisher model's ``:predict`` method).
        """
        if route == "openapi":
            return f"{self.base_url}/embeddings"
        return self.publisher_model_url("google", model, "predict")

    def publisher_model_url(self, publisher: str, model: str, method: str) -> str:
        """``.../publishers/{publisher}/models/{model}:{method}`` beside this endpoint.

        With ``base_url`` the part before ``/endpoints/`` is kept (the emulator, a proxy);
        the project may still be the placeholder, which the signing client fills in.
        """
        if self.base_url_override:
            prefix = self.base_url_override.split("/endpoints/", 1)[0]
        else:
            prefix = f"{self.origin}{self.location_path}"
        return f"{prefix}/publishers/{publisher}/models/{model}:{method}"

    def with_project(self, project: str) -> VertexEndpoint:
        """A copy with the project filled in (from credentials)."""
        return replace(self, project=project)

    def with_dedicated_dns(self, dns: str) -> VertexEndpoint:
        """A copy that sends to a dedicated endpoint host learned from Vertex."""
        return replace(self, dedicated_endpoint_dns=parse_dedicated_dns(dns))


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
