"""Response bodies and SSE chunks exactly as Vertex shapes them (sorted keys etc.)."""

from __future__ import annotations

import json
import random
import secrets
import string
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from vertex_openai.emulator._model import ModelOutput

_ID_ALPHABET = string.ascii_letters + string.digits + "-_"


def response_id() -> str:
    """A Gemini responseId-like id (22 chars, never ``chatcmpl-``)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(22)).lstrip("-_") or "emu"


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def usage(out: ModelOutput, traffic_type: str) -> dict[str, Any]:
    u: dict[str, Any] = {
        "completion_tokens": out.completion_tokens,
        "extra_properties": {"google": {"traffic_type": traffic_type}},
        "prompt_tokens": out.prompt_tokens,
        "total_tokens": out.prompt_tokens + out.completion_tokens + out.reasoning_tokens,
    }
    if out.reasoning_tokens > 0:
        u["completion_tokens_details"] = {"reasoning_tokens": out.reasoning_tokens}
    return u


@dataclass
class Rendered:
    """What the wire builder needs beyond the model output."""

    model: str
    marker: str | None
    thought_flag: bool
    tool_ids: list[str]
    tool_signature: str | None  # on the first tool call
    message_signature: str | None  # on a text answer
    traffic_type: str
    n: int = 1
    id: str = field(default_factory=response_id)
    created: int = field(default_factory=lambda: int(time.time()))


def full_content(out: ModelOutput, r: Rendered) -> str | None:
    if out.content is None and not out.thoughts:
        return None
    answer = out.content or ""
    if out.thoughts:
        if r.marker:
            return f"<{r.marker}>{out.thoughts}</{r.marker}>{answer}"
        return out.thoughts + "\n\n" + answer
    return answer


def _tool_call_dicts(out: ModelOutput, r: Rendered) -> list[dict[str, Any]]:
    calls = []
    for i, tc in enumerate(out.tool_calls):
        call: dict[str, Any] = {
            "function": {"arguments": tc.arguments, "name": tc.name},
            "id": r.tool_ids[i],
            "type": "function",
        }
        if i == 0 and r.tool_signature:
            call["extra_content"] = {"google": {"thought_signature": r.tool_signature}}
        calls.append(call)
    return calls


def completion_body(out: ModelOutput, r: Rendered) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant"}
    if out.refusal is not None:
        # Llama Guard (MaaS Llama): no answer, the filtering reason in `refusal`.
        message["content"] = None
        message["refusal"] = out.refusal
    elif out.tool_calls:
        message["tool_calls"] = _tool_call_dicts(out, r)
        if out.thoughts:
            message["content"] = full_content(ModelOutput(thoughts=out.thoughts, content=""), r)
    else:
        message["content"] = full_content(out, r)
    google: dict[str, Any] = {}
    if r.message_signature and not out.tool_calls:
        google["thought_signature"] = r.message_signature
    if r.thought_flag and out.thoughts:
        google["thought"] = True
    if google:
        message["extra_content"] = {"google": google}
    if out.reasoning_content is not None:
        message["reasoning_content"] = out.reasoning_content
    choices = [
        {"finish_reason": out.finish_reason, "index": i, "logprobs": None, "message": message}
        for i in range(r.n)
    ]
    return {
        "choices": choices,
        "created": r.created,
        "id": r.id,
        "model": r.model,
        "object": "chat.completion",
        "system_fingerprint": "",
        "usage": usage(out, r.traffic_type),
    }


def split_text(text: str, rng: random.Random, lo: int, hi: int) -> list[str]:
    """Cut ``text`` at arbitrary places (words and tags split), deterministic for ``rng``."""
    pieces = []
    i = 0
    lo = max(1, lo)
    hi = max(lo, hi)
    while i < len(text):
        size = rng.randint(lo, hi)
        pieces.append(text[i : i + size])
        i += size
    return pieces


def stream_chunks(
    out: ModelOutput,
    r: Rendered,
    rng: random.Random,
    lo: int,
    hi: int,
    fragment_tools: bool,
    index_quirk: bool,
) -> Iterator[dict[str, Any]]:
    """The chunk dicts of a stream; the last one has finish_reason and usage."""
    deltas: list[dict[str, Any]] = []

    if out.thoughts:
        head = f"<{r.marker}>" + out.thoughts if r.marker else out.thoughts
        for piece in split_text(head, rng, lo, hi):
            d: dict[str, Any] = {"content": piece, "role": "assistant"}
            if r.thought_flag:
                d["extra_content"] = {"google": {"thought": True}}
            deltas.append(d)
    answer = out.content or ""
    if out.thoughts:
        answer = (f"</{r.marker}>" if r.marker else "\n\n") + answer
    if out.reasoning_content:
        for piece in split_text(out.reasoning_content, rng, lo, hi):
            deltas.append({"content": "", "reasoning_content": piece, "role": "assistant"})
    if out.refusal is not None:
        # [INF] streamed like OpenAI's refusal deltas (no Vertex capture of the stream).
        for piece in split_text(out.refusal, rng, lo, hi):
            deltas.append({"refusal": piece, "role": "assistant"})
    elif answer and not out.tool_calls:
        for piece in split_text(answer, rng, lo, hi):
            deltas.append({"content": piece, "role": "assistant"})
    elif answer and out.tool_calls and out.thoughts:
        deltas.append({"content": answer, "role": "assistant"})

    if out.tool_calls:
        calls = _tool_call_dicts(out, r)
        if not fragment_tools:
            for i, c in enumerate(calls):
                c["index"] = i
            deltas.append({"role": "assistant", "tool_calls": calls})
        else:
            for k, c in enumerate(calls):
                first_index = (1 if k % 2 == 0 else 0) if index_quirk else k
                head_call = {
                    **c,
                    "function": {"arguments": "", "name": c["function"]["name"]},
                    "index": first_index,
                }
                deltas.append({"role": "assistant", "tool_calls": [head_call]})
                for piece in split_text(c["function"]["arguments"], rng, max(lo, 4), hi * 2):
                    frag = {
                        "function": {"arguments": piece, "name": c["function"]["name"]},
                        "id": c["id"],
                        "index": k,
                        "type": "function",
                    }
                    deltas.append({"role": "assistant", "tool_calls": [frag]})

    if r.message_signature and not out.tool_calls:
        deltas.append(
            {
                "content": "",
                "extra_content": {"google": {"thought_signature": r.message_signature}},
                "role": "assistant",
            }
        )
    if not deltas:
        deltas.append({"content": "", "role": "assistant"})

    for i, delta in enumerate(deltas):
        last = i == len(deltas) - 1
        choice: dict[str, Any] = {"delta": delta, "index": 0, "logprobs": None}
        if last:
            choice["finish_reason"] = out.finish_reason
        chunk: dict[str, Any] = {
            "choices": [choice],
            "created": r.created,
            "id": r.id,
            "model": r.model,
            "object": "chat.completion.chunk",
            "system_fingerprint": "",
        }
        if last:
            chunk["usage"] = usage(out, r.traffic_type)
        yield chunk


def sse(chunk: dict[str, Any]) -> bytes:
    return f"data: {dumps(chunk)}\n\n".encode()


DONE = b"data: [DONE]\n\n"
