"""Shape checks of what Vertex streams back, written once for both framework classes.

The openai SDK builds stream chunks with ``construct`` (no validation), so a proxy or a
changed endpoint can hand the frameworks ``choices: null``, ``choices: [1]`` or string
token counts, which then fail deep inside them with a raw ``TypeError``. These checks turn
that into the SDK's own :class:`openai.APIResponseValidationError` naming the field, and
skip chunks without ``choices`` the way the parent LangChain class already does (an SSE
keep-alive such as ``event: ping`` arrives as such a chunk).
"""

from __future__ import annotations

from typing import Any

import openai

__all__ = ["usable_stream_chunk"]

_USAGE_COUNTS = ("prompt_tokens", "completion_tokens", "total_tokens")


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _invalid(problem: str, response: Any, url: str | None) -> openai.APIResponseValidationError:
    import httpx

    if response is None:
        # The framework hands us the decoded chunk only; the SDK's error needs a response.
        request = httpx.Request("POST", url or "https://aiplatform.googleapis.com/")
        response = httpx.Response(200, request=request)
    msg = (
        f"Vertex AI streamed a chat chunk with {problem}; the stream cannot be read. Retry "
        "the request; if it persists, something other than Vertex AI is answering (a proxy, "
        "or `base_url` / `api_endpoint` pointing elsewhere)."
    )
    return openai.APIResponseValidationError(response=response, body=None, message=msg)


def usable_stream_chunk(chunk: Any, response: Any = None, url: str | None = None) -> bool:
    """Whether to hand a stream chunk on; ``False`` for a keep-alive without ``choices``.

    Args:
        chunk: A ``ChatCompletionChunk`` or its dict.
        response: The stream's httpx response, for the error (optional).
        url: The request URL, for the error when ``response`` is not known.

    Raises:
        openai.APIResponseValidationError: ``choices`` that is not a list of choice
            objects, or a usage count that is not an integer.
    """
    choices = _get(chunk, "choices")
    if choices is None:
        if _get(chunk, "usage") is not None:
            _usage_ok(chunk, response, url)
        return False
    if not isinstance(choices, list):
        raise _invalid(f"`choices` of type {type(choices).__name__}", response, url)
    for i, choice in enumerate(choices):
        if isinstance(choice, dict) or (
            not isinstance(choice, str | int | float | bool | list) and choice is not None
        ):
            continue
        raise _invalid(f"`choices[{i}]` of type {type(choice).__name__}", response, url)
    return _get(chunk, "usage") is None or _usage_ok(chunk, response, url)


def _usage_ok(chunk: Any, response: Any, url: str | None) -> bool:
    usage = _get(chunk, "usage")
    if isinstance(usage, str | int | float | bool | list):
        raise _invalid(f"`usage` of type {type(usage).__name__}", response, url)
    for name in _USAGE_COUNTS:
        value = _get(usage, name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise _invalid(f"`usage.{name}` = {value!r}, not an integer", response, url)
    return True
