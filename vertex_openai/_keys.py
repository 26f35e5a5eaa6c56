"""What an `api_key` argument holds: a Vertex express-mode key or an OAuth access token.

The commonest existing app builds `ChatOpenAI(base_url=..., api_key=creds.token)` with a
Google OAuth access token (Google's own samples do, https://github.com/GoogleCloudPlatform/python-docs-samples/tree/main/generative_ai/chat_completions).
Renamed to our class, that token must not be sent as an express-mode `?key=` (Vertex answers
`400 API key not valid`). It is used as what it is, a static Bearer token, with a
warning: it expires (1 hour by default) and cannot be refreshed.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

from vertex_openai._errors import VertexConfigError

__all__ = [
    "OAUTH_TOKEN_WARNING",
    "is_oauth_access_token",
    "oauth_token_as_credentials",
    "split_api_key",
]

OAUTH_TOKEN_PREFIX = "ya29."
"""Google OAuth 2.0 access tokens start with this; express-mode API keys never do."""

OAUTH_TOKEN_WARNING = (
    "api_key holds a Google OAuth access token ('ya29.'), not a Vertex express-mode API "
    "key. It is sent as a static Bearer token, which expires (1 hour by default) and "
    "cannot be refreshed: requests then fail with 401. Drop api_key to use Application "
    "Default Credentials (refreshed automatically), or pass credentials=<google-auth "
    "Credentials> (e.g. the `creds` the token came from)."
)


def is_oauth_access_token(value: Any) -> bool:
    """Whether `value` is a Google OAuth access token rather than an API key."""
    return isinstance(value, str) and value.strip().startswith(OAUTH_TOKEN_PREFIX)


def oauth_token_as_credentials(values: Any, names: tuple[str, ...]) -> Any:
    """Constructor values with an OAuth token given as an api key moved to `credentials`.

    For frameworks that validate a dict of constructor values (LangChain's "before"
    validators): the first of `names` holding a `ya29.` token (a plain string or an
    object with `get_secret_value()`) is removed, and its static Bearer credentials set
    (`split_api_key`: a warning that it expires; an error together with `credentials`).
    """
    if not isinstance(values, dict):
        return values
    for name in names:
        value = values.get(name)
        getter = getattr(value, "get_secret_value", None)
        token = getter() if callable(getter) else value
        if is_oauth_access_token(token):
            _, credentials = split_api_key(token, values.get("credentials"))
            values = {k: v for k, v in values.items() if k != name}
            return {**values, "credentials": credentials}
    return values


def split_api_key(api_key: str | None, credentials: Any) -> tuple[str | None, Any]:
    """Route an `api_key` that is really an OAuth access token to the credentials.

    Args:
        api_key: The `api_key` the user gave (None when absent).
        credentials: The `credentials` the user gave (None when absent).

    Returns:
        `(express_key, credentials)`: unchanged for an express-mode key; for an OAuth
        token `(None, google.oauth2.credentials.Credentials(token=...))`, after a
        `UserWarning` (`OAUTH_TOKEN_WARNING`).

    Raises:
        VertexConfigError: An OAuth token as `api_key` together with `credentials`.
    """
    if not is_oauth_access_token(api_key):
        return api_key, credentials
    if credentials is not None:
        msg = (
            "api_key holds a Google OAuth access token ('ya29.') and credentials are given "
            "too. Drop api_key: the credentials sign every request with fresh tokens."
        )
        raise VertexConfigError(msg)
    warnings.warn(OAUTH_TOKEN_WARNING, UserWarning, stacklevel=3)
    assert api_key is not None
    return None, _static_token_class()(token=api_key.strip())


STATIC_TOKEN_EXPIRED = (
    "the OAuth access token passed as api_key expired or was rejected, and a bare token "
    "cannot be refreshed. Drop api_key to use Application Default Credentials, or pass "
    "credentials=<google-auth Credentials> so tokens are refreshed"
)


@lru_cache(maxsize=1)
def _static_token_class() -> type:
    """`StaticAccessToken`: google-auth credentials holding one token, failing clearly.

    Built on first use so importing the core does not import google-auth.
    """
    import google.auth.exceptions
    from google.oauth2.credentials import Credentials

    class StaticAccessToken(Credentials):  # type: ignore[misc]
        """A bare access token given as `api_key`: used until it expires, never refreshed."""

        def refresh(self, request: Any) -> None:
            raise google.auth.exceptions.RefreshError(STATIC_TOKEN_EXPIRED)

    StaticAccessToken.__qualname__ = "StaticAccessToken"  # as named in describe_credentials()
    return StaticAccessToken
