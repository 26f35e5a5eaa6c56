"""Response and request shaping for a chat class that works on content-block lists.

A message here is anything with LangChain's message attributes (``content``, a string or a
list of blocks; the ``additional_kwargs``, ``response_metadata`` and ``usage_metadata``
dicts); the caller picks which messages are AI messages, so the core imports no framework.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from vertex_openai._failover import LOCATION_KEY
from vertex_openai._messages import (
    ParsedMessage,
    normalize_usage,
    parse_message,
    replay_fields,
    signature_fields,
    standard_block_part,
    usage_metadata,
)

__all__ = [
    "apply_parsed",
    "apply_response",
    "choice_messages",
    "record_location",
    "replayed_wire",
    "standard_content",
    "standard_parts",
    "tag_chunk_location",
]


def choice_messages(response: Any) -> tuple[dict[str, Any] | None, list[Any]]:
    """A response's normalized usage and the raw message of each choice.

    Reads SDK objects directly (the parent already paid for one ``model_dump``) or dicts.
    """
    get = response.get if isinstance(response, dict) else partial(getattr, response)
    usage = normalize_usage(get("usage", None))
    messages = [
        choice.get("message") if isinstance(choice, dict) else choice.message
        for choice in get("choices", None) or []
    ]
    return usage, messages


def apply_response(
    messages: Sequence[Any | None], response: Any, marker: str | None, provider: str
) -> None:
    """Complete, in place, the AI messages the parent parsed from ``response``.

    ``messages`` has one entry per choice: its AI message, or ``None`` to leave it be.
    Thoughts, signatures and images as :func:`apply_parsed` puts them, Vertex's usage
    normalized, and ``response_metadata["model_provider"]`` set to ``provider``.
    """
    usage, raws = choice_messages(response)
    for message, raw in zip(messages, raws, strict=False):
        if message is not None:
            parsed = parse_message(raw or {}, marker)
            message.content = apply_parsed(message.content, message.additional_kwargs, parsed)
            if usage is not None:
                message.usage_metadata = usage_metadata(usage)
            message.response_metadata["model_provider"] = provider


def replayed_wire(
    kept: Sequence[Mapping[str, Any] | None], wire: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The request's wire messages, each AI message's thoughts and signatures put back.

    ``kept`` has one entry per message: an AI message's ``additional_kwargs``, else ``None``.
    Gemini 3 refuses a tool turn whose signatures are missing
    (https://cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures).
    """
    return [
        w if k is None else replay_fields(k, w, k.get("reasoning_content"))
        for k, w in zip(kept, wire, strict=True)
    ]


def apply_parsed(content: Any, additional_kwargs: dict[str, Any], parsed: ParsedMessage) -> Any:
    """A message's ``content`` with what the core parsed; ``additional_kwargs`` updated.

    Thoughts go to ``reasoning_content``, signatures to their private keys; generated
    images become standard image blocks after the text (and the ``audio`` the parent made
    of them is dropped).
    """
    if isinstance(content, str):
        content = parsed.content
    if parsed.images:
        text: list[str | dict] = [{"type": "text", "text": content}] if content else []
        content = text + [
            {"type": "image", "base64": image["data"], "mime_type": image["mime_type"]}
            for image in parsed.images
        ]
        additional_kwargs.pop("audio", None)
    if parsed.thoughts:
        additional_kwargs["reasoning_content"] = parsed.thoughts
    additional_kwargs.update(
        signature_fields(parsed.tool_call_signatures, parsed.message_signature)
    )
    return content


def standard_content(content: Any) -> list[Any] | None:
    """``content`` with standard audio / file / video blocks as the core's parts.

    ``None`` when nothing changes (a string, or no such block). The same rule as the
    LlamaIndex class (``media_part``); langchain-openai refuses file URLs and video.
    """
    if not isinstance(content, list):
        return None
    parts = [standard_block_part(block) for block in content]
    if not any(parts):
        return None
    return [b if p is None else p for b, p in zip(content, parts, strict=True)]


def record_location(
    messages: Iterable[Any], location: str | None, *, finished: bool = True
) -> None:
    """Put the answering location in each message's ``response_metadata``.

    Known only with ``fallback_locations`` (the failover transport records it), for
    residency audits and to see failover happen. A stream sets it on its finishing chunk
    only (``finished``): ``response_metadata`` strings concatenate when chunks merge.
    """
    if location is not None and finished:
        for message in messages:
            message.response_metadata[LOCATION_KEY] = location


def tag_chunk_location(chunk: Any, location: str | None) -> None:
    """:func:`record_location` for a stream's generation chunk: on the finishing one only."""
    finished = bool((chunk.generation_info or {}).get("finish_reason"))
    record_location([chunk.message], location, finished=finished)


def standard_parts(message: Any) -> Any:
    """``message`` (a pydantic message) with its media blocks as the core's parts.

    Audio / file / video blocks the parent refuses become parts by :func:`standard_content`.
    """
    content = standard_content(message.content)
    return message if content is None else message.model_copy(update={"content": content})
