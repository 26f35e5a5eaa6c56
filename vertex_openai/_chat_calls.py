"""Per-call state for a chat class whose parent parses a call in hooks it calls back.

LangChain's ``ChatOpenAI`` builds the request, then parses the response (or each stream
chunk) in separate methods. What one call needs across them (the thought marker of the
request it built, its stream's accumulator, a streamed refusal) lives in a
:class:`ChatCall`, made current by :class:`in_call` or the ``steps_in_call`` iterators
around the parent's work. A context variable, not model state: one model serves
concurrent calls, and LangChain runs async result parsing in an executor with a copy of
the context.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import openai

from vertex_openai._errors import incomplete_stream_error, translated_errors
from vertex_openai._failover import AnsweredLocation, answered_location
from vertex_openai._messages import StreamAccumulator, StreamDelta, signature_fields
from vertex_openai._wire_checks import usable_stream_chunk

__all__ = [
    "ChatCall",
    "StreamHooks",
    "asteps_in_call",
    "astream_in_call",
    "call_scope",
    "current_call",
    "in_call",
    "steps_in_call",
    "stream_in_call",
    "stream_rest",
]

_T = TypeVar("_T")

if TYPE_CHECKING:
    from typing_extensions import Unpack


class ChatCall:
    """One call's state: the thought marker of its request, its stream's accumulator."""

    __slots__ = ("acc", "marker", "refusal")

    def __init__(self, acc: StreamAccumulator | None = None) -> None:
        self.marker: str | None = None
        self.acc = acc
        self.refusal = ""

    def rewrite(
        self, chunk: Mapping[str, Any], url: str | None
    ) -> tuple[dict[str, Any], StreamDelta] | None:
        """The stream chunk rewritten for the parent, and what it added; None to skip it.

        Events of a ``beta.chat.completions.stream`` carry the chunk inside (``"chunk"``).
        A keep-alive without ``choices`` is skipped, as the parents do.
        """
        wire = chunk.get("chunk") if "type" in chunk else chunk
        if isinstance(wire, dict) and not usable_stream_chunk(wire, url=url):
            return None
        if self.acc is None:  # first chunk: the request (and its marker) was just built
            self.acc = StreamAccumulator(self.marker)
        return self.acc.rewrite_chunk(chunk)

    def message_extras(self, delta: StreamDelta) -> dict[str, Any]:
        """The ``additional_kwargs`` a streamed message chunk gets for ``delta``.

        Streamed refusals are kept whole on the finishing chunk (the parent drops them;
        strings in ``additional_kwargs`` would concatenate on merge): the framework's
        structured-output check then raises with the full reason, as without streaming.
        """
        extras: dict[str, Any] = {}
        if delta.refusal:
            self.refusal += delta.refusal
        if delta.finish_reason and self.refusal:
            extras["refusal"], self.refusal = self.refusal, ""
        if delta.thoughts:
            extras["reasoning_content"] = delta.thoughts
        extras.update(signature_fields(delta.new_signatures, delta.message_signature))
        return extras


# What the framework class hands both stream twins, in this order: the chat URL (for error
# messages), its context-overflow error class, ``finish(call)`` (what the stream still holds
# back) and ``tag(chunk, location)`` (the location that answered).
StreamHooks: TypeAlias = tuple[
    Callable[[], str],
    type[openai.BadRequestError],
    Callable[[ChatCall], _T | None],
    Callable[[_T, str | None], None],
]


_CALL: ContextVar[ChatCall | None] = ContextVar("vertex_openai_call", default=None)


def current_call() -> ChatCall | None:
    """The call in progress, or ``None`` outside one (a direct use of a parsing hook)."""
    return _CALL.get()


class in_call:  # noqa: N801 - used like a function: `with in_call():`
    """``with in_call():`` a new call for the block (a class: this runs on every call)."""

    __slots__ = ("_token",)

    def __init__(self, acc: StreamAccumulator | None = None) -> None:
        self._token = _CALL.set(ChatCall(acc))

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        _CALL.reset(self._token)


class call_scope:  # noqa: N801 - used like a function: `with call_scope(url) as where:`
    """One non-streaming call: its :class:`ChatCall`, errors translated, location recorded.

    Errors as :class:`~vertex_openai._errors.translated_errors` gives them;
    ``with call_scope(url, overflow) as where:`` ... ``where.location`` after the call.
    """

    __slots__ = ("_call", "_errors", "_where")

    def __init__(
        self, url: str | Callable[[], str], overflow: type[openai.BadRequestError]
    ) -> None:
        self._call: in_call | None = None
        self._errors = translated_errors(url, overflow)
        self._where = answered_location()

    def __enter__(self) -> AnsweredLocation:
        self._call = in_call()
        return self._where.__enter__()

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            self._where.__exit__()
            self._errors.__exit__(exc_type, exc, tb)
        finally:
            if self._call is not None:
                self._call.__exit__()


def steps_in_call(parent: Iterator[_T], call: ChatCall, where: AnsweredLocation) -> Iterator[_T]:
    """The parent's stream, each step run with ``call`` current and the location recorded.

    Set and reset around each step only: the consumer's own code between chunks runs in
    its own context.
    """
    while True:
        token = _CALL.set(call)
        try:
            with answered_location(where):
                item = next(parent)
        except StopIteration:
            return
        finally:
            _CALL.reset(token)
        yield item


async def asteps_in_call(
    parent: AsyncIterator[_T], call: ChatCall, where: AnsweredLocation
) -> AsyncIterator[_T]:
    """Async :func:`steps_in_call`."""
    while True:
        token = _CALL.set(call)
        try:
            with answered_location(where):
                item = await parent.__anext__()
        except StopAsyncIteration:
            return
        finally:
            _CALL.reset(token)
        yield item


def stream_in_call(
    parent: Iterator[_T], *hooks: Unpack[StreamHooks[_T]]
) -> Iterator[tuple[_T, bool]]:
    """The parent's stream run as one call: ``(chunk, is_the_added_last_one)`` pairs.

    Each step runs with the call current (:func:`steps_in_call`) and Vertex errors
    translated; ``tag(chunk, location)`` sees each chunk with the location that answered;
    ``finish(call)`` gives what the stream still holds back, yielded last (flagged, as the
    caller reports it to its callbacks itself).
    """
    url, overflow, finish, tag = hooks
    call, where = ChatCall(), AnsweredLocation()
    with translated_errors(url, overflow):
        for chunk in steps_in_call(parent, call, where):
            tag(chunk, where.location)
            yield chunk, False
    if (last := finish(call)) is not None:
        yield last, True


async def astream_in_call(
    parent: AsyncIterator[_T], *hooks: Unpack[StreamHooks[_T]]
) -> AsyncIterator[tuple[_T, bool]]:
    """Async :func:`stream_in_call`."""
    url, overflow, finish, tag = hooks
    call, where = ChatCall(), AnsweredLocation()
    with translated_errors(url, overflow):
        async for chunk in asteps_in_call(parent, call, where):
            tag(chunk, where.location)
            yield chunk, False
    if (last := finish(call)) is not None:
        yield last, True


def stream_rest(call: ChatCall, must_finish: bool, url: Callable[[], str]) -> dict[str, Any] | None:
    """What a finished stream still holds back (a last chunk), or ``None``.

    Raises:
        openai.APIConnectionError: The stream ended without a ``finish_reason`` and
            ``must_finish`` (it was cut off: never hand back a half answer as complete).
    """
    if call.acc is None or not call.acc.finished:
        if must_finish:
            raise incomplete_stream_error(url())
        if call.acc is None:
            return None
    return call.acc.finish_chunk()
