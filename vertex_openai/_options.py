"""One frozen object with everything a model needs to reach Vertex AI, validated once.

Every framework class turns its fields into a :class:`ConnectionOptions` with
:meth:`ConnectionOptions.build` and asks it for a :class:`~vertex_openai.VertexConnection`
(:meth:`ConnectionOptions.connect`). The rules about what ``api_key`` holds (an express-mode
key, a Google OAuth access token, or a callable returning tokens) live here, once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vertex_openai._constants import CLOUD_PLATFORM_SCOPE, PLACEHOLDER_API_KEY
from vertex_openai._errors import VertexConfigError
from vertex_openai._keys import split_api_key

if TYPE_CHECKING:
    from vertex_openai._clients import VertexConnection
    from vertex_openai._endpoint import VertexEndpoint
    from vertex_openai._gemini import VertexRequestSettings

__all__ = ["ConnectionOptions", "request_settings"]

API_KEY_TRANSPORTS = ("header", "query")
"""How an express-mode key is sent: ``x-goog-api-key`` header, or ``?key=`` in the URL."""


@dataclass(frozen=True, eq=False, repr=False)
class ConnectionOptions:
    """Where a model's requests go and what signs them.

    Build it with :meth:`build` (which reads what an ``api_key`` argument holds); the
    constructor validates the combination. Nothing here does I/O.

    Attributes:
        project: Google Cloud project (else env / the credentials' own).
        location: Region or ``global`` (else env; default ``global``).
        endpoint_id: ``openapi`` (default) or a self-deployed endpoint id.
        api_version: ``v1`` (default) or ``v1beta1``.
        api_endpoint: Host or ``scheme://host:port`` override.
        dedicated_endpoint_dns: Dedicated endpoint host.
        base_url: Full base URL; wins over everything.
        credentials: google-auth ``Credentials``, a JSON path or dict; ``None``: ADC.
        api_key: A Vertex express-mode API key.
        token_function: A callable (sync or async) returning an OAuth access token, called
            per request and sent as ``Bearer`` (``api_key=<callable>``, as the parents take).
        api_key_transport: ``"header"`` (``x-goog-api-key``) or ``"query"`` (``?key=``).
        quota_project: Project billed for quota (``x-goog-user-project``).
        scopes: OAuth scopes for credentials that need them.
        timeout: The model's request timeout; it also bounds each token refresh.
        fallback_locations: Locations to try when the first is unavailable (in order).
        environ: Environment to resolve project / location from (default ``os.environ``).
        allow_non_google_token_urls: Accept ``external_account`` credentials whose
            ``token_url`` / ``service_account_impersonation_url`` is not a Google STS / IAM
            Credentials host (refused by default; docs/authentication.md).
    """

    project: str | None = None
    location: str | None = None
    endpoint_id: str | None = None
    api_version: str | None = None
    api_endpoint: str | None = None
    dedicated_endpoint_dns: str | None = None
    base_url: str | None = None
    credentials: Any = None
    api_key: str | None = None
    token_function: Callable[[], Any] | None = None
    api_key_transport: str = "header"
    quota_project: str | None = None
    scopes: tuple[str, ...] = (CLOUD_PLATFORM_SCOPE,)
    timeout: Any = None
    fallback_locations: tuple[str, ...] = ()
    environ: Mapping[str, str] | None = field(default=None)
    allow_non_google_token_urls: bool = False

    def __post_init__(self) -> None:
        if self.credentials is not None and (
            self.api_key is not None or self.token_function is not None
        ):
            msg = (
                "Pass either `api_key` (Vertex express mode, or a callable returning OAuth "
                "tokens) or `credentials`, not both: an API key request carries no OAuth token."
            )
            raise VertexConfigError(msg)
        if self.api_key is not None and (
            not isinstance(self.api_key, str) or not self.api_key.strip()
        ):
            msg = "`api_key` is empty; pass a Vertex express-mode API key or omit it to use ADC."
            raise VertexConfigError(msg)
        if self.api_key_transport not in API_KEY_TRANSPORTS:
            msg = (
                f"api_key_transport must be 'header' (x-goog-api-key, the default) or "
                f"'query' (?key=); got {self.api_key_transport!r}."
            )
            raise VertexConfigError(msg)

    @classmethod
    def build(
        cls, *, api_key: Any = None, credentials: Any = None, **fields: Any
    ) -> ConnectionOptions:
        """Options from a model's fields; the one rule for what ``api_key`` holds.

        Args:
            api_key: ``None``; a Vertex express-mode key (``str`` or pydantic
                ``SecretStr``); a Google OAuth access token (``ya29.``: used as a static
                Bearer token, with a warning, as ``credentials``); or a sync / async
                callable returning an access token, called per request.
            credentials: As :attr:`credentials`.
            **fields: The other attributes.

        Raises:
            VertexConfigError: A bad combination, named with how to fix it.
        """
        token_function = None
        if api_key is not None and hasattr(api_key, "get_secret_value"):
            api_key = api_key.get_secret_value()
        if api_key == PLACEHOLDER_API_KEY:
            api_key = None
        if callable(api_key):
            token_function, api_key = api_key, None
        elif api_key is not None and not isinstance(api_key, str):
            msg = (
                "api_key must be a Vertex express-mode API key string or a callable returning "
                f"an OAuth access token; got {type(api_key).__name__}."
            )
            raise VertexConfigError(msg)
        else:
            api_key, credentials = split_api_key(api_key, credentials)
        if isinstance(fields.get("fallback_locations"), list | tuple):
            # Anything else (a bare string ...) is refused by name when the connection
            # is built (_failover.failover_plan).
            fields["fallback_locations"] = tuple(fields["fallback_locations"])
        if "scopes" in fields and fields["scopes"] is not None:
            fields["scopes"] = tuple(fields["scopes"])
        fields = {k: v for k, v in fields.items() if v is not None}
        return cls(
            api_key=api_key, credentials=credentials, token_function=token_function, **fields
        )

    @property
    def async_token_function(self) -> bool:
        """Whether :attr:`token_function` is a coroutine function."""
        return self.token_function is not None and inspect.iscoroutinefunction(self.token_function)

    def __repr__(self) -> str:
        # Never a key, a token function's result or credential material.
        signer = (
            "api_key=<redacted>"
            if self.api_key is not None
            else "api_key=<callable>"
            if self.token_function is not None
            else f"credentials={type(self.credentials).__name__}"
        )
        return (
            f"ConnectionOptions(project={self.project!r}, location={self.location!r}, "
            f"endpoint_id={self.endpoint_id!r}, base_url={self.base_url!r}, {signer})"
        )

    def connect(self) -> VertexConnection:
        """A :class:`~vertex_openai.VertexConnection` on these options (no I/O)."""
        from vertex_openai._clients import VertexConnection

        return VertexConnection(self)


def request_settings(
    model_object: Any, *, model: str | None, endpoint: VertexEndpoint
) -> VertexRequestSettings:
    """The :class:`VertexRequestSettings` of a framework model object, built once.

    Reads the Gemini fields every framework class declares under the same names
    (``thought_tag_marker``, ``thinking_config``, ``safety_settings``,
    ``cached_content``, ``reasoning_effort``, ``fallback_locations``,
    ``shared_request_type``).
    """
    from vertex_openai._gemini import VertexRequestSettings

    return VertexRequestSettings(
        model=model,
        endpoint_id=endpoint.endpoint_id,
        location=endpoint.location,
        thought_tag_marker=getattr(model_object, "thought_tag_marker", None),
        thinking_config=getattr(model_object, "thinking_config", None),
        safety_settings=getattr(model_object, "safety_settings", None),
        cached_content=getattr(model_object, "cached_content", None),
        reasoning_effort=getattr(model_object, "reasoning_effort", None),
        fallback_locations=tuple(getattr(model_object, "fallback_locations", None) or ()),
        shared_request_type=getattr(model_object, "shared_request_type", None),
    )
