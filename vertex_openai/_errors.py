"""Errors raised by vertex-openai, and helpers that keep secrets out of messages."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openai

__all__ = [
    "VertexAuthError",
    "VertexConfigError",
    "VertexContextOverflowError",
    "describe_vertex_error",
    "incomplete_stream_error",
    "is_context_overflow",
    "readable_status_error",
    "redact",
    "require_match",
    "stream_failure",
    "stream_failure_types",
    "translated_errors",
]


class VertexConfigError(openai.OpenAIError, ValueError):
    """Input that Vertex would reject or silently ignore; raised before anything is sent.

    An ``openai.OpenAIError`` so the SDK propagates it as-is (no retries, no wrapping in
    ``APIConnectionError``) when it is raised while a request is being prepared.
    """


class VertexAuthError(openai.OpenAIError, RuntimeError):
    """Credentials could not be loaded or refreshed; the message says which and how to fix it."""


class VertexContextOverflowError(openai.BadRequestError):
    """Vertex refused a request whose input is longer than the model's context window.

    Vertex answers ``400 INVALID_ARGUMENT`` with "The input token count (N) exceeds the
    maximum number of tokens allowed (M)." (the text langchain-google maps to its
    context-overflow error, googleapis/langchain-google#1952). A ``BadRequestError``, so
    code that catches that keeps working; catch this class to trim or summarise the
    history and retry. The LangChain chat model raises langchain-openai's
    ``OpenAIContextOverflowError`` (which LangChain's ``SummarizationMiddleware`` reacts to)
    through a subclass of both.
    """


def require_match(pattern: re.Pattern[str], value: object, message: str) -> str:
    """``value`` if it is a string ``pattern`` matches, else a ``VertexConfigError(message)``.

    For names that end up in a URL or a header: a malformed one is refused before anything
    is sent, with a message that says what to pass instead.
    """
    if not isinstance(value, str) or not pattern.match(value):
        raise VertexConfigError(message)
    return value


_OVERFLOW = re.compile(
    r"input token count \(?\d+\)? exceeds the maximum number of tokens allowed", re.IGNORECASE
)


def is_context_overflow(message: str) -> bool:
    """Whether an error message is Vertex's context-window overflow."""
    return bool(_OVERFLOW.search(message))


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


# --------------------------------------------------------------------------- Vertex errors

_CANONICAL_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_HTML_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_DEDICATED_DNS = re.compile(r"([A-Za-z0-9.-]+\.prediction\.vertexai\.goog)")
_MAX_MESSAGE = 2000


def _error_object(body: object) -> tuple[dict[str, Any], str | None]:
    """Dig the Google error object out of a body: dict, `[{"error": ...}]`, JSON text, HTML."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        text = body.strip()
        try:
            body = json.loads(text)
        except ValueError:
            if "<html" in text.lower() or "<!doctype" in text.lower():
                title = _HTML_TITLE.search(text)
                page = re.sub(r"\s+", " ", title.group(1)).strip() if title else "an HTML page"
                return {}, f"HTML error page ({page})"
            return {}, text[:_MAX_MESSAGE] or None
    if isinstance(body, list) and body:
        # Vertex wraps compat-handler errors in a one-element list (https://github.com/OpenHands/software-agent-sdk/issues/1313)
        body = body[0]
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            message = inner.get("message")
            return inner, message if isinstance(message, str) else None
        if isinstance(inner, str):
            return body, inner
    return {}, None


def _details_reasons(error: dict[str, Any]) -> set[str]:
    reasons: set[str] = set()
    for detail in error.get("details") or ():
        if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
            reasons.add(detail["reason"])
    return reasons


@dataclass(frozen=True)
class _Failure:
    """What the hint rules read in one error response."""

    status_code: int
    status: str
    message: str
    text: str  # the message in lower case
    reasons: set[str]
    html: bool


def _says(*phrases: str) -> Callable[[_Failure], bool]:
    return lambda f: any(phrase in f.text for phrase in phrases)


def _says_all(*phrases: str) -> Callable[[_Failure], bool]:
    return lambda f: all(phrase in f.text for phrase in phrases)


def _is(status_code: int, status: str) -> Callable[[_Failure], bool]:
    return lambda f: f.status_code == status_code or f.status == status


def _dedicated_hint(f: _Failure) -> str:
    dns = _DEDICATED_DNS.search(f.message)
    where = f" ('{dns.group(1)}')" if dns else ""
    return (
        f"this is a dedicated endpoint; send requests to its dedicated DNS name{where} "
        "with dedicated_endpoint_dns=..., not to aiplatform.googleapis.com"
    )


# (applies to the failure, hint): the first row that applies gives the hint, so the
# specific messages come before the bare status codes.
_HINTS: tuple[tuple[Callable[[_Failure], bool], str | Callable[[_Failure], str]], ...] = (
    (
        lambda f: f.html and f.status_code == 404,
        (
            "the URL is not a Vertex chat completions route. Vertex serves only "
            "'.../endpoints/openapi/chat/completions' (or '.../endpoints/<ENDPOINT_ID>/"
            "chat/completions'); check base_url, api_version and endpoint_id"
        ),
    ),
    (
        _says_all("thought_signature", "missing"),
        (
            "Gemini 3 requires each function call of the current turn to be replayed with the "
            "thought_signature it came with. Send the assistant message back unchanged (the "
            "vertex-openai chat models do this for messages they produced); for hand-built "
            "histories use the signature 'skip_thought_signature_validator'"
        ),
    ),
    (
        lambda f: is_context_overflow(f.message),
        (
            "the conversation is longer than the model's context window. Trim or summarise "
            "the history (LangChain: trim_messages or SummarizationMiddleware; the model's "
            "get_num_tokens_from_messages counts with Vertex's countTokens), or use a model "
            "with a larger window"
        ),
    ),
    (
        _says("requests ending with a model turn"),
        (
            "this model does not take a prefilled answer: the last message must be the "
            "user's (or a tool result). Drop the trailing assistant message, or move its "
            "text into the user's message as an instruction"
        ),
    ),
    (
        _says("thought signature is not valid"),
        (
            "a thought signature was replayed to a different model than the one that "
            "produced it, or was altered (e.g. base64-encoded again). The vertex-openai chat "
            "models replace signatures from another model with "
            "'skip_thought_signature_validator'; for hand-built histories send the "
            "signature exactly as received, to the same model"
        ),
    ),
    (
        _says("corrupted thought signature"),
        (
            "a thought signature was altered or produced by a different model; do not replay "
            "signatures across models. Drop them (or use 'skip_thought_signature_validator') "
            "when switching models"
        ),
    ),
    (
        _says("reasoning_effort"),
        (
            "Vertex accepts reasoning_effort 'minimal', 'low', 'medium' or 'high', and not "
            "together with thinking_config. To turn thinking off use "
            "thinking_config={'thinking_budget': 0} where the model allows it (Gemini 2.5 "
            "Flash / Flash-Lite)"
        ),
    ),
    (
        _says("multiple candidates"),
        "this model returns one candidate only; use n=1",
    ),
    (
        lambda f: "dedicated" in f.text and ("dns" in f.text or "endpoint" in f.text),
        _dedicated_hint,
    ),
    (
        _says("api keys are not supported"),
        (
            "this route expects an OAuth2 access token. Use credentials (ADC or a service "
            "account), or pass an express-mode key as api_key=... so it is sent as ?key=..."
        ),
    ),
    (
        _is(401, "UNAUTHENTICATED"),
        (
            "the access token was rejected (expired, revoked, or not an OAuth2 token). Check "
            "the credentials in use (GOOGLE_APPLICATION_CREDENTIALS, or run 'gcloud auth "
            "application-default login'); an express-mode API key must be passed as api_key=..."
        ),
    ),
    (
        lambda f: "billing" in f.text or "BILLING_DISABLED" in f.reasons,
        "enable billing for the project (Vertex AI needs an active billing account)",
    ),
    (
        _is(403, "PERMISSION_DENIED"),
        (
            "the principal needs the 'aiplatform.endpoints.predict' permission (role "
            "roles/aiplatform.user) on the project, the Vertex AI API must be enabled, and "
            "the project must have billing enabled"
        ),
    ),
    (
        lambda f: "publisher model" in f.text or (f.status_code == 404 and "not found" in f.text),
        (
            "check the model id is publisher-prefixed (e.g. 'google/gemini-2.5-flash', "
            "'meta/llama-3.3-70b-instruct-maas') and served in this location: try "
            "location='global' or a region where the model is available (partner models are "
            "region-bound), and check the project has access to it"
        ),
    ),
    (
        _says("schema", "unknown name", "invalid json payload"),
        (
            "Gemini accepts an OpenAPI subset for tool parameters (no $ref, "
            "additionalProperties, const, ...); the vertex-openai chat models sanitize tool "
            "schemas, so pass the schema through them"
        ),
    ),
    (
        _says_all("cached", "global"),
        "context caching is not available on the global endpoint; use a region",
    ),
    (
        _is(429, "RESOURCE_EXHAUSTED"),
        (
            "quota exhausted. Retry later with backoff (raise max_retries), request a quota "
            "increase (https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429), "
            "or use location='global', which spreads load across regions"
        ),
    ),
    (
        lambda f: f.status_code in (500, 502, 503, 504) or f.status in ("INTERNAL", "UNAVAILABLE"),
        (
            "a transient Vertex server error; retry (the openai SDK retries up to "
            "max_retries times) or try another region or location='global'"
        ),
    ),
)


def _hint(status_code: int, status: str, message: str, reasons: set[str], html: bool) -> str | None:
    failure = _Failure(status_code, status, message, message.lower(), reasons, html)
    for applies, hint in _HINTS:
        if applies(failure):
            return hint if isinstance(hint, str) else hint(failure)
    return None


def describe_vertex_error(status_code: int, body: object) -> str:
    """Turn a Vertex error response into one readable sentence with a hint.

    Args:
        status_code: The HTTP status.
        body: The response body: a dict (`{"error": {...}}` or the inner error object,
            as openai's `APIStatusError.body`), a one-element list of those (https://github.com/OpenHands/software-agent-sdk/issues/1313),
            JSON text, an HTML page, or None.

    Returns:
        E.g. "Vertex AI returned 400 INVALID_ARGUMENT: <message>. Hint: <what to do>."
        (secrets are not redacted here; see `readable_status_error`).
    """
    error, message = _error_object(body)
    html = bool(message and message.startswith("HTML error page"))
    status = error.get("status") if isinstance(error.get("status"), str) else None
    status = status or _CANONICAL_STATUS.get(status_code, "")
    message = (message or "").strip()[:_MAX_MESSAGE] or "(no error message)"
    if not message.endswith((".", "!", "?")):
        message += "."
    head = f"Vertex AI returned {status_code}{' ' + status if status else ''}: {message}"
    hint = _hint(status_code, status, message, _details_reasons(error), html)
    return f"{head} Hint: {hint}." if hint else head


def readable_status_error(
    exc: openai.APIStatusError,
    overflow: type[openai.BadRequestError] | None = VertexContextOverflowError,
) -> openai.APIStatusError:
    """A copy of an openai status error whose message explains the Vertex error.

    Args:
        exc: The exception raised by the openai SDK.
        overflow: The class for Vertex's context-overflow 400 (None: keep `exc`'s class).

    Returns:
        A new exception of the same class with the same `response` and `body`, and a
        redacted message from `describe_vertex_error`; `exc` itself if it was already
        converted. Raise it with `raise readable_status_error(e) from e`. Vertex's
        context-overflow 400 becomes `overflow` (default `VertexContextOverflowError`).
    """
    if getattr(exc, "_vertex_readable", False):
        return exc
    body = exc.body if exc.body is not None else exc.message
    message = redact(describe_vertex_error(exc.status_code, body))
    cls: type[openai.APIStatusError] = type(exc)
    if (
        overflow is not None
        and isinstance(exc, openai.BadRequestError)
        and is_context_overflow(message)
        and not isinstance(exc, overflow)
    ):
        cls = overflow
    try:
        new = cls(message, response=exc.response, body=exc.body)
    except TypeError:  # a subclass with a different constructor
        new = openai.APIStatusError(message, response=exc.response, body=exc.body)
    new._vertex_readable = True  # type: ignore[attr-defined]
    return new


def stream_failure_types() -> tuple[type[BaseException], ...]:
    """Exceptions raised while reading a response body that the openai SDK leaves raw.

    The same failure before the body arrives is an ``APIConnectionError`` /
    ``APITimeoutError``; while iterating a stream (or decoding a body) the SDK lets
    httpx / httpx2 transport errors and ``json.JSONDecodeError`` through.
    """
    import sys

    import httpx

    types: list[type[BaseException]] = [httpx.TransportError, json.JSONDecodeError]
    httpx2 = sys.modules.get("httpx2")
    if httpx2 is not None:
        types.append(httpx2.TransportError)
    return tuple(types)


def _request_of(exc: BaseException | None, url: str) -> Any:
    import httpx

    try:
        request = getattr(exc, "request", None)
    except RuntimeError:  # httpx raises when the error carries no request
        request = None
    return request if request is not None else httpx.Request("POST", url)


def stream_failure(exc: BaseException, url: str) -> openai.APIError:
    """The openai exception for a failure while reading Vertex's response.

    Args:
        exc: The raw transport or JSON error.
        url: The endpoint URL (used when the error carries no request).

    Returns:
        ``APITimeoutError`` for timeouts, ``APIConnectionError`` for dropped connections,
        ``APIError`` for a malformed body; the message never holds a key or token.
    """
    request = _request_of(exc, url)
    if "timeout" in type(exc).__name__.lower():
        return openai.APITimeoutError(request=request)
    if isinstance(exc, json.JSONDecodeError):
        msg = (
            "Vertex AI sent a malformed response (invalid JSON); the answer is incomplete. "
            "Retry the request."
        )
        return openai.APIError(msg, request, body=None)
    msg = redact(
        f"The connection to Vertex AI broke while reading the response "
        f"({type(exc).__name__}: {exc}); the answer is incomplete. Retry the request."
    )
    return openai.APIConnectionError(message=msg, request=request)


def incomplete_stream_error(url: str) -> openai.APIConnectionError:
    """The stream ended without a ``finish_reason`` (cut off before ``[DONE]``)."""
    import httpx

    msg = (
        "The stream from Vertex AI ended before its last chunk (no finish_reason): the "
        "answer is incomplete. Retry the request. (A server that ends every stream "
        "without a finish_reason, such as a proxy in front of the model: pass "
        "require_finish_reason=False to the model class to accept such streams.)"
    )
    return openai.APIConnectionError(message=msg, request=httpx.Request("POST", url))


class translated_errors:  # noqa: N801 - used like a function: `with translated_errors(url):`
    """Re-raise Vertex failures as readable openai exceptions of the right class.

    Wraps a call or the iteration of a stream: status errors get
    :func:`readable_status_error`; transport and JSON errors raised while reading the body
    become the ``APIConnectionError`` / ``APITimeoutError`` / ``APIError`` the SDK raises
    for the same failure before the body (see :func:`stream_failure`). ``url`` may be a
    callable, so the hot path does not build the string.
    """

    __slots__ = ("_overflow", "_url")

    def __init__(
        self,
        url: str | Callable[[], str],
        overflow: type[openai.BadRequestError] = VertexContextOverflowError,
    ) -> None:
        self._url = url
        self._overflow = overflow

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            return
        if isinstance(exc, openai.APIStatusError):
            raise readable_status_error(exc, self._overflow) from exc
        if isinstance(exc, stream_failure_types()):
            url = self._url() if callable(self._url) else self._url
            raise stream_failure(exc, url) from exc
