"""Checks on Vertex responses that the openai SDK would otherwise mis-read.

The auth flow sees every final response before the SDK parses it; it asks
:func:`needs_chat_body_check` whether to read the body and hands it to
:func:`check_chat_response`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import openai

from vertex_openai._errors import redact

__all__ = ["check_chat_response", "needs_chat_body_check"]


def needs_chat_body_check(request: Any, response: Any) -> bool:
    """Whether ``response`` is a non-streamed 200 of a ``chat/completions`` POST."""
    if response.status_code != 200 or request.method != "POST":
        return False
    # raw_path (path and query, undecoded) is cheaper than url.path, which decodes.
    if not request.url.raw_path.partition(b"?")[0].endswith(b"/chat/completions"):
        return False
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind != "text/event-stream"


# A completion's `"choices": [` key, looked for in the first 4 KiB only (it precedes the
# message text, whatever the key order); an escaped one inside a string cannot match.
_CHOICES_LIST = re.compile(rb'"choices"\s*:\s*\[')


def check_chat_response(response: Any, body: bytes | None) -> None:
    """Raise the SDK's invalid-response error for a 200 that is not a chat completion.

    A captive portal or proxy login page (HTML with status 200), or JSON without a
    ``choices`` list, would otherwise reach the frameworks as a string or a half-built
    object and fail there with a ``ValueError`` / ``AttributeError`` / ``TypeError``.

    Args:
        response: The httpx / httpx2 response of a ``chat/completions`` request.
        body: Its body when already read (non-streamed JSON), else ``None``.

    Raises:
        openai.APIResponseValidationError: with status, content type and first bytes.
    """
    content_type = response.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    if kind == "text/event-stream":
        return
    if kind.endswith("json") and body is not None:
        if _CHOICES_LIST.search(body, 0, 4096):
            # The common case, found without decoding the body a second time (the SDK
            # decodes it next). Anything else is decoded to say exactly what is wrong.
            return
        try:
            data = json.loads(body)
        except ValueError:
            return  # the SDK reports undecodable JSON itself
        if isinstance(data, dict) and isinstance(data.get("choices"), list):
            return
        problem = "JSON without a `choices` list"
    elif kind.endswith("json"):
        return
    else:
        problem = f"{kind or 'no content type'}, not a chat completion"
    head = (body or b"")[:160].decode("utf-8", "replace")
    msg = (
        f"Vertex AI endpoint answered {response.status_code} with {problem} (first bytes: "
        f"{redact(head)!r}). A proxy, captive portal or login page may be answering instead "
        "of Vertex AI: check the network path and `api_endpoint` / `base_url`."
    )
    raise openai.APIResponseValidationError(response=response, body=head, message=msg)
