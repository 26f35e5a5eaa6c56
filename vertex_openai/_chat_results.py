"""Response and request shaping for a chat class that works on content-block lists.

Plain data in, plain data out: a message's ``content`` (a string or a list of blocks) and
its ``additional_kwargs`` dict, as LangChain messages hold them.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from vertex_openai._messages import (
    ParsedMessage,
    normalize_usage,
    signature_fields,
    standard_block_part,
)

__all__ = [
    "apply_parsed",
    "choice_messages",
    "standard_content",
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
