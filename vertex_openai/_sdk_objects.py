"""openai SDK objects for parent classes that call the SDK themselves (LlamaIndex).

`ShapedChatClient` stands in for the parent's SDK client so that its
``chat.completions.create()`` is ours; `SdkChunkRewriter` rewrites the streamed chunk
objects for the parent's own parser.

LlamaIndex's OpenAI classes parse the SDK's ``ChatCompletionChunk`` objects themselves (not
their ``model_dump()``, which is what LangChain converts). `SdkChunkRewriter` feeds each
chunk through a `StreamAccumulator` and hands on what such a parser must see: thoughts in
``reasoning_content``, answer text alone in ``content``, tool calls re-indexed, one tool
call per chunk.
"""

from __future__ import annotations

from typing import Any

from openai.types.chat import ChatCompletionChunk

from vertex_openai._messages import StreamAccumulator
from vertex_openai._wire_checks import usable_stream_chunk

__all__ = ["SdkChunkRewriter", "ShapedChatClient", "one_call_per_chunk", "sdk_chunk_dict"]


class _Chat:
    def __init__(self, completions: Any) -> None:
        self.completions = completions


class ShapedChatClient:
    """An openai SDK client whose ``chat.completions`` is replaced by ``completions``.

    Everything else (closing, ``with``, other resources) is the SDK client's own.

    Args:
        inner: The ``openai.OpenAI`` / ``AsyncOpenAI`` client.
        completions: An object with the ``create(**kwargs)`` to use instead.
    """

    def __init__(self, inner: Any, completions: Any) -> None:
        self._inner = inner
        self.chat = _Chat(completions)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> ShapedChatClient:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._inner.__exit__(*exc)

    async def __aenter__(self) -> ShapedChatClient:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._inner.__aexit__(*exc)


class SdkChunkRewriter:
    """Per-stream state: the chunks a stock SDK-object parser should see for each wire chunk.

    Args:
        marker: The ``thought_tag_marker`` in effect for the request, or None.
    """

    def __init__(self, marker: str | None, response: Any = None) -> None:
        self.acc = StreamAccumulator(marker)
        self.response = response
        """The stream's httpx response, named by the error for a malformed chunk."""

    @property
    def finished(self) -> bool:
        """Whether a chunk carried a ``finish_reason`` (a stream without one was cut off)."""
        return self.acc.finished

    def rewrite(self, chunk: Any) -> list[Any]:
        """The chunks to hand on for one wire chunk (the same object when nothing changes)."""
        acc = self.acc
        if not usable_stream_chunk(chunk, self.response):
            return []  # a keep-alive without `choices`
        if acc.passes_unchanged(chunk):  # plain answer text, most chunks: no dump
            return [chunk]
        data = sdk_chunk_dict(chunk)
        raw, delta = acc.rewrite_chunk(data)
        if raw is data:
            return [chunk]
        if not delta.tool_call_chunks and not isinstance(chunk, dict) and len(chunk.choices) == 1:
            # Text and thoughts only (the other common chunk): set the two fields on the
            # SDK's chunk, which was built for this call and is seen by no one else yet,
            # instead of validating the whole rewritten dict (or copying it) again.
            wire_delta = chunk.choices[0].delta
            wire_delta.content = delta.answer
            wire_delta.reasoning_content = delta.thoughts or None
            return [chunk]
        return [ChatCompletionChunk.model_validate(c) for c in one_call_per_chunk(raw)]

    def rest(self) -> list[Any]:
        """Text held back as a possible partial tag at the end of the stream, as chunks."""
        rest = self.acc.finish_chunk()
        return [] if rest is None else [ChatCompletionChunk.model_validate(rest)]


def sdk_chunk_dict(chunk: Any) -> dict[str, Any]:
    """A chunk as the dict `StreamAccumulator` reads, without a full dump when it can.

    A text/thought chunk is read field by field (the per-chunk hot path); extras such as
    ``extra_content`` and ``reasoning_content`` are kept as the SDK stored them (plain
    JSON). Anything else is a ``model_dump``.
    """
    if isinstance(chunk, dict):
        return chunk
    choices = chunk.choices
    if len(choices) == 1:
        delta = choices[0].delta
        if delta is not None and not delta.tool_calls and delta.function_call is None:
            light: dict[str, Any] = {"role": delta.role, "content": delta.content}
            if delta.refusal is not None:
                light["refusal"] = delta.refusal
            if delta.model_extra:
                light.update(delta.model_extra)
            out: dict[str, Any] = {
                "id": chunk.id,
                "created": chunk.created,
                "model": chunk.model,
                "object": chunk.object,
                "choices": [
                    {
                        "index": choices[0].index,
                        "delta": light,
                        "finish_reason": choices[0].finish_reason,
                    }
                ],
            }
            if chunk.usage is not None:
                out["usage"] = chunk.usage.model_dump(exclude_unset=True, mode="json")
            return out
    dumped: dict[str, Any] = chunk.model_dump(exclude_unset=True, mode="json")
    return dumped


def one_call_per_chunk(chunk: dict[str, Any]) -> list[dict[str, Any]]:
    """Split a chunk whose delta carries several tool calls into one chunk per call.

    The OpenAI parsers built for OpenAI's stream (LlamaIndex's ``update_tool_calls``) read
    only ``delta.tool_calls[0]``, and Vertex sends parallel calls whole in one delta (fact
    sheet §5.3): the others would be lost.
    """
    choices = chunk.get("choices") or []
    delta = choices[0].get("delta") if choices and isinstance(choices[0], dict) else None
    calls = delta.get("tool_calls") if isinstance(delta, dict) else None
    if not isinstance(delta, dict) or not isinstance(calls, list) or len(calls) < 2:
        return [chunk]
    out = []
    for i, tc in enumerate(calls):
        last = i == len(calls) - 1
        choice = dict(choices[0])
        part = dict(delta) if i == 0 else {"role": delta.get("role") or "assistant", "content": ""}
        part["tool_calls"] = [tc]
        choice["delta"] = part
        if not last:
            choice["finish_reason"] = None
        piece = {**chunk, "choices": [choice, *choices[1:]] if i == 0 else [choice]}
        if not last:
            piece.pop("usage", None)
        out.append(piece)
    return out
