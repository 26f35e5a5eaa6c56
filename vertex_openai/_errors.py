"""Errors raised by vertex-openai, and helpers that keep secrets out of messages."""

from __future__ import annotations

import re

import openai

__all__ = [
    "VertexAuthError",
    "VertexConfigError",
    "redact",
]


class VertexConfigError(openai.OpenAIError, ValueError):
    """Input that Vertex would reject or silently ignore; raised before anything is sent.

    An ``openai.OpenAIError`` so the SDK propagates it as-is (no retries, no wrapping in
    ``APIConnectionError``) when it is raised while a request is being prepared.
    """


class VertexAuthError(openai.OpenAIError, RuntimeError):
    """Credentials could not be loaded or refreshed; the message says which and how to fix it."""


_KEY_QUERY = re.compile(r"([?&](?:key|access_token)=)[^&#\s'\"]+", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


def redact(text: str, *secrets: str | None) -> str:
    """Return `text` with API keys in URLs, Bearer tokens and the given secrets masked."""
    text = _KEY_QUERY.sub(r"\1<redacted>", text)
    text = _BEARER.sub(r"\1<redacted>", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "<redacted>")
    return text
