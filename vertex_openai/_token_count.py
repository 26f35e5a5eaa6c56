"""Token counting without an OpenAI tokenizer download.

The parents count with tiktoken, which downloads ``cl100k_base`` from a third-party host on
first use (failing offline and inside VPC Service Controls) and counts a tokenizer Gemini
does not use. Here:

* Gemini: Vertex's ``countTokens`` method, one request on the native route
  ``POST {origin}/v1/projects/P/locations/L/publishers/google/models/M:countTokens`` with
  ``contents`` / ``systemInstruction`` / ``tools`` in Gemini's native shape, answering
  ``{"totalTokens": N, ...}``
  (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/count-tokens).
  It goes through the model's own signed client, so it reaches only the Vertex host the
  model talks to.
* Partner (MaaS) and self-deployed models (no ``countTokens``): an offline estimate,
  about four characters a token, never any network.
"""

from __future__ import annotations

import functools
import json
import math
import mimetypes
from collections.abc import Callable, Coroutine, Generator, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from vertex_openai._endpoint import VertexEndpoint
from vertex_openai._errors import VertexConfigError, translated_errors
from vertex_openai._messages import _is_map, original_tool_call_id
from vertex_openai._models import model_info, split_publisher

__all__ = [
    "acount_message_tokens",
    "count_message_tokens",
    "count_tokens_body",
    "count_tokens_url",
    "estimate_tokens",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")

# Per-message overhead of the offline estimate (role and separators).
_MESSAGE_OVERHEAD = 4
# An image in the offline estimate: Gemini's documented cost of an image up to 384 px.
_IMAGE_TOKENS = 258


def _text_parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else [content]:
        if isinstance(part, str):
            parts.append({"text": part})
            continue
        if not _is_map(part):
            continue
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            parts.append({"text": part["text"]})
        elif kind in ("image_url", "video_url", "audio_url", "document_url", "file_url"):
            holder = part.get(kind)
            url = holder.get("url") if _is_map(holder) else holder
            if isinstance(url, str):
                parts.append(_media_part(url))
        elif kind == "input_audio" and _is_map(part.get("input_audio")):
            audio = part["input_audio"]
            fmt = str(audio.get("format") or "wav")
            mime = fmt if "/" in fmt else f"audio/{fmt}"
            parts.append({"inlineData": {"mimeType": mime, "data": audio.get("data") or ""}})
        elif kind == "file" and _is_map(part.get("file")):
            data = part["file"].get("file_data") or part["file"].get("file_id")
            if isinstance(data, str):
                parts.append(_media_part(data))
    return parts


def _media_part(url: str) -> dict[str, Any]:
    if url.startswith("data:") and ";base64," in url:
        head, data = url[5:].split(";base64,", 1)
        return {"inlineData": {"mimeType": head.split(";")[0], "data": data}}
    mime = mimetypes.guess_type(url.split("?")[0])[0] or "application/octet-stream"
    return {"fileData": {"fileUri": url, "mimeType": mime}}


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw.strip() else {}
        except ValueError:
            return {"arguments": raw}
    return raw if _is_map(raw) else {}


def count_tokens_body(
    messages: Sequence[Mapping[str, Any]], tools: Sequence[Any] | None = None
) -> dict[str, Any]:
    """The native ``countTokens`` body for OpenAI-style wire messages and tools.

    System / developer messages become ``systemInstruction``; assistant turns ``model``
    (with ``functionCall`` parts for tool calls); tool results ``functionResponse``
    parts; images and other media ``inlineData`` (data: URIs) or ``fileData`` (URIs).

    Raises:
        VertexConfigError: for an empty message list.
    """
    if not messages:
        msg = "No messages to count: pass at least one message."
        raise VertexConfigError(msg)
    names: dict[str, str] = {}
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(_text_parts(message.get("content")))
            continue
        if role in ("assistant", "model"):
            parts = _text_parts(message.get("content"))
            for tc in message.get("tool_calls") or ():
                function = tc.get("function") if _is_map(tc) else None
                if not _is_map(function):
                    continue
                name = str(function.get("name") or "")
                names[str(tc.get("id"))] = name
                call = {"name": name, "args": _arguments(function.get("arguments"))}
                parts.append({"functionCall": call})
            if parts:
                contents.append({"role": "model", "parts": parts})
            continue
        if role in ("tool", "function"):
            call_id = message.get("tool_call_id")
            name = (
                message.get("name")
                or names.get(str(call_id))
                or names.get(str(original_tool_call_id(call_id)), "function")
            )
            content = message.get("content")
            text = content if isinstance(content, str) else json.dumps(content, default=str)
            response = {"name": name, "response": {"content": text}}
            contents.append({"role": "user", "parts": [{"functionResponse": response}]})
            continue
        parts = _text_parts(message.get("content"))
        contents.append({"role": "user", "parts": parts or [{"text": ""}]})
    if not contents:
        # Vertex needs contents; a system-only list counts as a user text.
        contents, system = [{"role": "user", "parts": system or [{"text": ""}]}], []
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    declarations = []
    for tool in tools or ():
        function = tool.get("function") if _is_map(tool) else None
        if _is_map(function) and function.get("name"):
            declarations.append(
                {k: function[k] for k in ("name", "description", "parameters") if k in function}
            )
    if declarations:
        body["tools"] = [{"functionDeclarations": declarations}]
    return body


def count_tokens_url(endpoint: VertexEndpoint, model: str) -> str:
    """``.../publishers/google/models/{model}:countTokens`` on the model's own Vertex host.

    The project may still be the placeholder; the signing client fills it in.
    """
    publisher, name = split_publisher(model)
    return endpoint.publisher_model_url(publisher or "google", name, "countTokens")


def estimate_tokens(
    messages: Sequence[Mapping[str, Any]], tools: Sequence[Any] | None = None
) -> int:
    """Offline estimate (about four characters a token) for models without ``countTokens``."""
    total = 0
    for message in messages:
        total += _MESSAGE_OVERHEAD
        for part in _text_parts(message.get("content")):
            if "text" in part:
                total += math.ceil(len(part["text"]) / 4)
            else:
                total += _IMAGE_TOKENS
        for tc in message.get("tool_calls") or ():
            total += math.ceil(len(json.dumps(tc, default=str)) / 4)
    if tools:
        total += math.ceil(len(json.dumps(list(tools), default=str)) / 4)
    return total


def _total(data: Any) -> int:
    total = data.get("totalTokens") if _is_map(data) else None
    if not isinstance(total, int):
        msg = f"Vertex countTokens answered without totalTokens: {str(data)[:200]!r}."
        raise VertexConfigError(msg)
    return total


# The one body yields each I/O call's result and is sent back the answer: as it is from a
# blocking client, awaited from an async one (as vertex_openai._auth_flow does).
_Steps = Generator[Any, Any, _R]


def _blocking(steps: Callable[_P, _Steps[_R]], name: str) -> Callable[_P, _R]:
    @functools.wraps(steps)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        flow = steps(*args, **kwargs)
        try:
            answer = next(flow)
            while True:
                answer = flow.send(answer)
        except StopIteration as done:
            return done.value

    run.__name__ = run.__qualname__ = name
    return run


def _awaiting(steps: Callable[_P, _Steps[_R]], name: str) -> Callable[_P, Coroutine[Any, Any, _R]]:
    @functools.wraps(steps)
    async def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        flow = steps(*args, **kwargs)
        try:
            pending = next(flow)
            while True:
                try:
                    answer = await pending
                except BaseException as exc:  # raised where the body awaits, as in the sync run
                    pending = flow.throw(exc)
                else:
                    pending = flow.send(answer)
        except StopIteration as done:
            return done.value

    run.__name__ = run.__qualname__ = name
    return run


def _count_tokens(
    client: Any,
    endpoint: VertexEndpoint,
    model: str | None,
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Any] | None = None,
) -> _Steps[int]:
    """Count the tokens of a request: ``countTokens`` for Gemini, else an offline estimate.

    :func:`count_message_tokens` with an ``openai.OpenAI`` client;
    :func:`acount_message_tokens` (awaited) with an ``openai.AsyncOpenAI``.

    Args:
        client: The model's signed SDK client (its auth and host checks apply; nothing
            goes to another host).
        endpoint: The model's resolved endpoint.
        model: The model id.
        messages: OpenAI-style wire messages.
        tools: OpenAI-style tools, if any.

    Returns:
        The input token count.
    """
    if not model or not model_info(model).is_gemini or endpoint.is_self_deployed:
        return estimate_tokens(messages, tools)
    url = count_tokens_url(endpoint, model)
    body = count_tokens_body(messages, tools)
    with translated_errors(url):
        return _total((yield client.post(url, body=body, cast_to=object)))


count_message_tokens = _blocking(_count_tokens, "count_message_tokens")
acount_message_tokens = _awaiting(_count_tokens, "acount_message_tokens")
