"""What a chat class does with its fields: keyword rules, client checks, serialization.

Framework-neutral bodies of the LangChain ``ChatVertexOpenAI`` validators and
construction, so the class keeps its fields and thin overrides only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from vertex_openai._constants import MESSAGE_SIGNATURE_KEY, PLACEHOLDER_API_KEY, SIGNATURES_KEY
from vertex_openai._credential_policy import refuse_manifest_credentials
from vertex_openai._endpoint import VertexEndpoint
from vertex_openai._gemini import google_fields_from_model_kwargs
from vertex_openai._keys import oauth_token_as_credentials
from vertex_openai._options import ConnectionOptions

__all__ = [
    "INTERNAL_KWARGS",
    "check_proxy_alone",
    "connection_options",
    "constructor_values",
    "express_key",
    "must_finish_stream",
    "no_token_ids",
    "refuse_key_pickling",
    "secret_references",
    "thinking_keywords_as_config",
]

INTERNAL_KWARGS = (SIGNATURES_KEY, MESSAGE_SIGNATURE_KEY, "reasoning_content")
"""``additional_kwargs`` keys already streamed, dropped from a stream's final snapshot."""

THINKING_KEYWORDS = ("include_thoughts", "thinking_budget", "thinking_level")
"""ChatVertexAI-style thinking keywords, taken as ``thinking_config`` fields."""

_D = TypeVar("_D")

_SAME_NAMED = (
    "project",
    "location",
    "endpoint_id",
    "api_version",
    "api_endpoint",
    "dedicated_endpoint_dns",
    "credentials",
    "quota_project",
    "api_key_transport",
    "fallback_locations",
    "allow_non_google_token_urls",
)


def constructor_values(values: Any, class_name: str) -> Any:
    """A chat class's constructor arguments, taken the Vertex way (before the parent's).

    - ``api_key=creds.token`` (a renamed ``ChatOpenAI`` app): a static Bearer token
      (:func:`~vertex_openai._keys.oauth_token_as_credentials`).
    - Credentials in a serialized manifest are refused
      (:func:`~vertex_openai._credential_policy.refuse_manifest_credentials`).
    - ``include_thoughts=`` etc. as ``thinking_config`` (:func:`thinking_keywords_as_config`).
    - Gemini extras in ``model_kwargs`` taken as the typed fields, without the parent's
      warning (:func:`~vertex_openai._gemini.google_fields_from_model_kwargs`).
    """
    values = oauth_token_as_credentials(values, ("api_key", "openai_api_key"))
    refuse_manifest_credentials(values, class_name)
    values = thinking_keywords_as_config(values)
    return google_fields_from_model_kwargs(values)


def thinking_keywords_as_config(values: Any) -> Any:
    """Constructor ``values`` with ``include_thoughts=`` etc. moved into ``thinking_config``.

    Keys already in ``thinking_config`` win. Without this, the parent would warn ("not
    default parameter") and move them to ``model_kwargs``, sent top level.
    """
    if not isinstance(values, dict):
        return values
    found = {k: values[k] for k in THINKING_KEYWORDS if values.get(k) is not None}
    if not found:
        return values
    rest = {k: v for k, v in values.items() if k not in THINKING_KEYWORDS}
    return {**rest, "thinking_config": {**found, **(values.get("thinking_config") or {})}}


def check_proxy_alone(proxy: str | None, http_client: Any, http_async_client: Any) -> None:
    """langchain-openai's rule, with its message: a proxy is set in one place only.

    Raises:
        ValueError: ``openai_proxy`` together with a given http client.
    """
    if proxy and (http_client or http_async_client):
        msg = (
            "Cannot specify 'openai_proxy' if one of "
            "'http_client'/'http_async_client' is already specified. Received:\n"
            f"openai_proxy={proxy!r}\nhttp_client={http_client!r}\n"
            f"http_async_client={http_async_client!r}"
        )
        raise ValueError(msg)


def connection_options(model_object: Any, **renamed: Any) -> ConnectionOptions:
    """:meth:`ConnectionOptions.build` from the fields a model declares under our names.

    ``renamed`` carries the ones the parent names its own way (``base_url``, ``api_key``,
    ``timeout``).
    """
    fields = {name: getattr(model_object, name, None) for name in _SAME_NAMED}
    return ConnectionOptions.build(**fields, **renamed)


def express_key(api_key: Any) -> str | None:
    """The express-mode key a ``SecretStr`` field holds (not the placeholder), else None."""
    if not hasattr(api_key, "get_secret_value"):
        return None
    value = api_key.get_secret_value()
    return None if value == PLACEHOLDER_API_KEY else value


def refuse_key_pickling(class_name: str) -> TypeError:
    """The error for pickling a model whose ``api_key`` is a key or a callable."""
    return TypeError(
        f"A {class_name} using an express-mode (or callable) api_key cannot be pickled (the "
        "key would be written out). Build the model in the worker instead."
    )


def no_token_ids(class_name: str) -> NotImplementedError:
    """The error for ``get_token_ids``: Vertex counts tokens but returns no ids."""
    return NotImplementedError(
        f"{class_name} cannot return token ids (Vertex's countTokens returns counts "
        "only, and an OpenAI tokenizer would give the wrong ids); use get_num_tokens or "
        "get_num_tokens_from_messages."
    )


def secret_references(data: _D, secrets: Mapping[str, str], default: str) -> _D:
    """A serialized constructor with each secret's reference id set to ours.

    LangChain merges the parent's ``lc_secrets`` (``OPENAI_API_KEY``) over the subclass's;
    an OpenAI key name must never be what a loader fills a Google key from.
    """
    if not isinstance(data, dict) or data.get("type") != "constructor":
        return data
    kwargs = data.get("kwargs")
    if isinstance(kwargs, dict):
        for name, value in kwargs.items():
            if isinstance(value, dict) and value.get("type") == "secret":
                kwargs[name] = {**value, "id": [secrets.get(name, default)]}
    return data


def must_finish_stream(require_finish_reason: bool | None, endpoint: VertexEndpoint) -> bool:
    """Whether a stream without ``finish_reason`` is an error (it was cut off).

    ``None``: yes for Google-managed models, which always send one; not for self-deployed
    endpoints, which may end with ``[DONE]`` alone.
    """
    if require_finish_reason is not None:
        return require_finish_reason
    return not endpoint.is_self_deployed
