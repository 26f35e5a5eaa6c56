"""openai SDK objects for parent classes that call the SDK themselves (LlamaIndex).

`shaped_client` wraps the parent's SDK client so that its ``chat.completions.create()``
builds the request Vertex needs and returns a normalised response; the parent hands that
create() one `SdkCall` per call in its keyword arguments (`CALL_KWARG`), so the call's own
data travels with the call (no context variable). `SdkChunkRewriter` rewrites the streamed
chunk objects for the parent's own parser.

LlamaIndex's OpenAI classes parse the SDK's ``ChatCompletionChunk`` objects themselves (not
their ``model_dump()``, which is what LangChain converts). `SdkChunkRewriter` feeds each
chunk through a `StreamAccumulator` and hands on what such a parser must see: thoughts in
``reasoning_content``, answer text alone in ``content``, tool calls re-indexed, one tool
call per chunk.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import Any

from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionChunk

from vertex_openai._errors import incomplete_stream_error, translated_errors
from vertex_openai._failover import answered_location
from vertex_openai._messages import (
    ParsedMessage,
    StreamAccumulator,
    normalize_usage,
    parse_message,
    with_unique_tool_call_ids,
)
from vertex_openai._wire_checks import usable_stream_chunk

__all__ = [
    "CALL_KWARG",
    "SdkCall",
    "SdkChunkRewriter",
    "ShapedChatClient",
    "one_call_per_chunk",
    "sdk_chunk_dict",
    "shaped_client",
]

CALL_KWARG = "vertex_call"
"""The keyword argument that carries the `SdkCall` from the framework class, through the
parent's `_get_model_kwargs`, to our `create()` (which removes it before sending)."""


class SdkCall:
    """One chat call: the framework's own messages in, what the response held out.

    Args:
        messages: The call's messages as the framework holds them (opaque here: the
            `shape` function given to `shaped_client` converts them).
    """

    def __init__(self, messages: Sequence[Any]) -> None:
        self.messages = list(messages)
        self.marker: str | None = None
        self.parsed: ParsedMessage | None = None
        self.usage: dict[str, Any] | None = None
        self.chunks: SdkChunkRewriter | None = None
        self.location: str | None = None
        """The location that answered, with ``fallback_locations`` (``_failover.py``)."""

    def normalize(self, response: Any) -> Any:
        """The ChatCompletion as the parent should parse it (a copy when changed)."""
        response = with_unique_tool_call_ids(response)
        choices = getattr(response, "choices", None)
        if not choices:
            return response
        parsed = parse_message(choices[0].message, self.marker)
        self.parsed = parsed
        self.usage = normalize_usage(getattr(response, "usage", None))
        message = choices[0].message
        answer = parsed.content or (None if parsed.tool_calls or parsed.images else "")
        if message.content != answer or parsed.thoughts:
            response = response.model_copy(deep=True)
            message = response.choices[0].message
            message.content = answer
            if parsed.thoughts:
                message.reasoning_content = parsed.thoughts  # what the parent reads as thinking
        return response


Shape = Callable[[SdkCall, dict[str, Any]], dict[str, Any]]
"""Builds the create() kwargs from the call's messages and the parent's other kwargs."""


class _Completions:
    """``client.chat.completions`` whose create() sends what Vertex needs."""

    def __init__(
        self, inner: Any, shape: Shape, url: Callable[[], str], cut_off: Callable[[], bool]
    ) -> None:
        self._inner = inner
        self._shape = shape
        self._url = url
        self._cut_off = cut_off

    def _params(self, kwargs: dict[str, Any]) -> tuple[SdkCall, dict[str, Any]]:
        params = dict(kwargs)
        call = params.pop(CALL_KWARG, None)
        if not isinstance(call, SdkCall):
            # Every chat path of the parent goes through the class's _chat family, which
            # passes the call; anything else would send a request built from nothing.
            msg = "chat.completions.create() of a Vertex client needs the call's messages."
            raise TypeError(msg)
        params.pop("messages", None)  # the parent's conversion of no messages
        return call, self._shape(call, params)

    def _check_end(self, rewriter: SdkChunkRewriter) -> None:
        if not rewriter.finished and self._cut_off():
            raise incomplete_stream_error(self._url())

    def create(self, **kwargs: Any) -> Any:
        call, params = self._params(kwargs)
        with translated_errors(self._url), answered_location() as where:
            response = self._inner.create(**params)
        call.location = where.location
        if not params.get("stream"):
            return call.normalize(response)
        rewriter = call.chunks = SdkChunkRewriter(call.marker, getattr(response, "response", None))

        def chunks() -> Generator[Any, None, None]:
            with translated_errors(self._url):
                for chunk in response:
                    yield from rewriter.rewrite(chunk)
            self._check_end(rewriter)
            yield from rewriter.rest()

        return chunks()


class _AsyncCompletions(_Completions):
    async def create(self, **kwargs: Any) -> Any:  # type: ignore[override]
        call, params = self._params(kwargs)
        with translated_errors(self._url), answered_location() as where:
            response = await self._inner.create(**params)
        call.location = where.location
        if not params.get("stream"):
            return call.normalize(response)
        rewriter = call.chunks = SdkChunkRewriter(call.marker, getattr(response, "response", None))

        async def chunks() -> AsyncGenerator[Any, None]:
            with translated_errors(self._url):
                async for chunk in response:
                    for piece in rewriter.rewrite(chunk):
                        yield piece
            self._check_end(rewriter)
            for piece in rewriter.rest():
                yield piece

        return chunks()


def shaped_client(
    inner: Any, shape: Shape, url: Callable[[], str], cut_off: Callable[[], bool]
) -> ShapedChatClient:
    """The parent's openai client, with ``chat.completions.create`` shaped for Vertex.

    Args:
        inner: The parent's ``openai.OpenAI`` / ``AsyncOpenAI`` client.
        shape: Builds the create() kwargs for a call (`Shape`).
        url: The chat URL, for error messages.
        cut_off: Whether a stream without a ``finish_reason`` is an error (it is for
            Google-managed models, where it means the stream was cut off).
    """
    kind = _AsyncCompletions if isinstance(inner, AsyncOpenAI) else _Completions
    return ShapedChatClient(inner, kind(inner.chat.completions, shape, url, cut_off))


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
        # Built without validation, as the SDK builds the chunks the parent parses: a
        # gateway that omits `id` / `created` must not fail here when it works there.
        return [ChatCompletionChunk.construct(**c) for c in one_call_per_chunk(raw)]

    def rest(self) -> list[Any]:
        """Text held back as a possible partial tag at the end of the stream, as chunks."""
        rest = self.acc.finish_chunk()
        return [] if rest is None else [ChatCompletionChunk.construct(**rest)]


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
    only ``delta.tool_calls[0]``, and Vertex sends parallel calls whole in one delta (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/examples):
    the others would be lost.
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
