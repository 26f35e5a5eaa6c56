"""Messages on Vertex's wire: thoughts, thought signatures, multimodal parts, streams, usage.

Everything here works on plain wire dicts (the JSON the openai SDK sends and receives;
for responses, `ChatCompletion.model_dump()` / `ChatCompletionChunk.model_dump()`).
Nothing is mutated in place.

Response side:

* `parse_message(message, marker)` -> `ParsedMessage`: answer text, thought text (tagged
  thoughts, whole-message `extra_content.google.thought`, or `reasoning_content` from
  MaaS models), the message signature, `{tool_call_id: signature}`, the tool calls
  without `extra_content`, and images returned in `message.audio` (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/examples).
* Streaming: create one `StreamAccumulator(marker)` per call (never share it between
  calls or store it on a model object). Two equivalent ways to drive it:

  - `acc.feed(chunk_dict) -> StreamDelta`: typed deltas (answer, thoughts, re-indexed
    tool-call fragments, signatures exactly once, normalised usage, finish_reason). Use
    it when the framework builds its own chunk objects (LlamaIndex).
  - `acc.rewrite_chunk(chunk_dict) -> (new_chunk_dict, StreamDelta)`: the same, but also
    returns a rewritten OpenAI chunk dict (`delta.content` = answer only,
    `delta.reasoning_content` = thoughts, `delta.tool_calls` re-indexed with id/name/type
    only on a call's first fragment, `extra_content` removed) so a parent converter such
    as LangChain's `_convert_chunk_to_generation_chunk` can be reused unchanged; the
    signatures and normalised usage come from the returned `StreamDelta`.

  Finish with `acc.finish()` (or `acc.finish_chunk()` for the dict form) to flush a
  held-back partial tag; the parser is also flushed automatically on the chunk that
  carries `finish_reason`, so this is normally empty.

Request side:

* `attach_signatures(wire_message, {id: sig}, message_sig)` puts
  `extra_content.google.thought_signature` back on tool calls and on the message (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/examples,
  https://cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures).
* `prepare_wire_messages(messages, model_info)` converts multimodal parts into the ones
  Vertex accepts (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview),
  fills a missing tool-message `name` from its tool call, and, for models that enforce signatures
  (Gemini 3), adds the documented sentinel to the first
  tool call of every step of the current turn that has none (https://cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures).
* `normalize_usage(usage)`: `completion_tokens` on Vertex excludes reasoning, and
  `total = prompt + completion + reasoning` (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/examples).
"""

from __future__ import annotations

import copy
import json
import mimetypes
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from vertex_openai._constants import (
    MESSAGE_SIGNATURE_KEY,
    SIGNATURE_SENTINEL,
    SIGNATURES_KEY,
    THOUGHTS_WIRE_KEY,
)
from vertex_openai._errors import VertexConfigError
from vertex_openai._models import ModelInfo, split_publisher
from vertex_openai._thoughts import ThoughtParser, split_thoughts

__all__ = [
    "ParsedMessage",
    "StreamAccumulator",
    "StreamDelta",
    "attach_signatures",
    "fix_accumulated_roles",
    "google_extra",
    "media_part",
    "normalize_usage",
    "original_tool_call_id",
    "parse_message",
    "prepare_wire_messages",
    "remember_signature_origins",
    "replay_fields",
    "signature_fields",
    "signature_origin",
    "standard_block_part",
    "strip_signatures",
    "unique_tool_call_ids",
    "usage_counts",
    "usage_metadata",
    "with_unique_tool_call_ids",
]


# --------------------------------------------------------------------------- helpers


def _is_map(obj: Any) -> TypeGuard[Mapping[str, Any]]:
    # Per-chunk hot path: a plain dict, and the usual non-mappings (absent fields are
    # None), skip the ABC machinery of isinstance(obj, Mapping).
    kind = type(obj)
    if kind is dict:
        return True
    if obj is None or kind is str or kind is list:
        return False
    return isinstance(obj, Mapping)


_PARSED_FIELDS: Any = {
    "parsed": True,
    "tool_calls": {"__all__": {"function": {"parsed_arguments"}}},
}


def _as_dict(obj: Any) -> dict[str, Any]:
    """Plain dict from a dict or an openai SDK model (extras such as extra_content kept)."""
    if _is_map(obj):
        return dict(obj)
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        # `parsed` / `parsed_arguments` (the SDK's `.parse()` results) are typed by a
        # generic parameter the SDK never binds, so dumping them makes pydantic warn
        # (PydanticSerializationUnexpectedValue); nothing here reads them.
        dumped = dump(exclude_unset=True, mode="json", exclude=_PARSED_FIELDS)
        if isinstance(dumped, dict):
            return dumped
    msg = f"Expected a message dict, got {type(obj).__name__}."
    raise VertexConfigError(msg)


def google_extra(obj: Any) -> Mapping[str, Any]:
    """Return `obj["extra_content"]["google"]` (or `{}`), tolerating None at any level.

    Signatures also arrive under `extra_content.vertex` behind some gateways
    (earendil-works/pi#6733): that namespace is read too, `google` winning per key.

    Args:
        obj: A wire dict (message, delta, tool call, content part, audio).

    Returns:
        The `google` mapping (merged over `vertex`), or an empty mapping.
    """
    if not _is_map(obj):
        return {}
    extra = obj.get("extra_content")
    if not _is_map(extra):
        return {}
    google = extra.get("google")
    vertex = extra.get("vertex")
    if _is_map(vertex):
        return {**vertex, **google} if _is_map(google) else vertex
    return google if _is_map(google) else {}


# Which model produced each thought signature seen in a response (bounded, most recent
# kept). Vertex refuses a signature replayed to another model ("Thought signature is not
# valid.", Roo-Code #11716, langchain-google #1570), e.g. after a LangChain middleware
# switches models mid-conversation; such signatures are replaced by Google's documented
# bypass value on the way out.
_ORIGINS: OrderedDict[str, str] = OrderedDict()
_ORIGINS_MAX = 4096
_ORIGINS_LOCK = threading.Lock()


def _model_key(model: str) -> str:
    return split_publisher(model)[1].lower()


def remember_signature_origins(signatures: Any, model: Any) -> None:
    """Record that `model` produced each signature in `signatures` (strings).

    Args:
        signatures: An iterable of signature strings (others are skipped).
        model: The model id the response names; nothing is recorded without one.
    """
    if not isinstance(model, str) or not model:
        return
    key = _model_key(model)
    with _ORIGINS_LOCK:
        for sig in signatures:
            if isinstance(sig, str) and sig and sig != SIGNATURE_SENTINEL:
                _ORIGINS[sig] = key
                _ORIGINS.move_to_end(sig)
        while len(_ORIGINS) > _ORIGINS_MAX:
            _ORIGINS.popitem(last=False)


def signature_origin(signature: str) -> str | None:
    """The (bare, lower-case) model id that produced `signature`, if it was seen."""
    with _ORIGINS_LOCK:
        return _ORIGINS.get(signature)


def _response_signatures(response: Any) -> list[str]:
    found: list[str] = []
    choices = response.get("choices") if _is_map(response) else getattr(response, "choices", None)
    for choice in choices or ():
        message = choice.get("message") if _is_map(choice) else getattr(choice, "message", None)
        data = message if _is_map(message) else getattr(message, "model_extra", None) or {}
        holders = [data]
        calls = (
            message.get("tool_calls") if _is_map(message) else getattr(message, "tool_calls", None)
        )
        for tc in calls or ():
            holders.append(tc if _is_map(tc) else getattr(tc, "model_extra", None) or {})
        found.extend(sig for sig in map(_signature, holders) if sig)
    return found


def _signature(obj: Any) -> str | None:
    sig = google_extra(obj).get("thought_signature")
    return sig if isinstance(sig, str) and sig else None


def _with_signature(obj: Mapping[str, Any], signature: str) -> dict[str, Any]:
    """Copy of `obj` with `extra_content.google.thought_signature` set (other extras kept).

    A signature that came under `extra_content.vertex` is written under `google` only.
    """
    extra = obj.get("extra_content")
    extra = dict(extra) if _is_map(extra) else {}
    google = extra.get("google")
    google = dict(google) if _is_map(google) else {}
    google["thought_signature"] = signature
    extra["google"] = google
    vertex = extra.get("vertex")
    if _is_map(vertex) and "thought_signature" in vertex:
        rest = {k: v for k, v in vertex.items() if k != "thought_signature"}
        if rest:
            extra["vertex"] = rest
        else:
            del extra["vertex"]
    return {**obj, "extra_content": extra}


def _text_of(content: Any) -> str:
    """Text of a content field that is a string, None, or a list of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif _is_map(part) and isinstance(part.get("text"), str):
                texts.append(part["text"])
        return "".join(texts)
    return str(content)


def _reasoning_text(obj: Mapping[str, Any]) -> str:
    # MaaS gpt-oss / Kimi return `reasoning_content`; some servers use `reasoning` (https://github.com/GoogleCloudPlatform/generative-ai/blob/main/open-models/get_started_with_oss_maas_reasoning_open_ai_sdk.ipynb).
    for key in ("reasoning_content", "reasoning"):
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _split_marked(text: str, marker: str | None, flagged: bool) -> tuple[str, str]:
    """Split a whole text: tags win; untagged text flagged `thought: true` is all thought."""
    if not text:
        return "", ""
    if marker and f"<{marker}>" in text:
        return split_thoughts(text, marker)
    if flagged:
        return text, ""
    return "", text


def _may_hold_tag(text: str, marker: str) -> bool:
    """Whether `text` contains a thought tag or ends with the start of one."""
    start = text.rfind("<")
    if start < 0:
        return False  # every tag, and every start of one, begins with "<"
    open_tag, close_tag = f"<{marker}>", f"</{marker}>"
    if open_tag in text or close_tag in text:
        return True
    if "<" in marker:  # markers are validated without "<"; keep the general rule anyway
        return any(text.endswith(t[:k]) for t in (open_tag, close_tag) for k in range(1, len(t)))
    # A tag's "<" is its only one, so a tag start at the end begins at the last "<".
    tail = text[start:]
    return open_tag.startswith(tail) or close_tag.startswith(tail)


def _image_from_audio(audio: Any) -> dict[str, str] | None:
    # Image output (`modalities: ["image"]`) arrives in message.audio with
    # extra_content.google.mime_type (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/examples).
    if not _is_map(audio):
        return None
    mime = google_extra(audio).get("mime_type")
    data = audio.get("data")
    if isinstance(mime, str) and mime.startswith("image/") and isinstance(data, str):
        return {"mime_type": mime, "data": data}
    return None


def _clean_tool_call(tc: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in tc.items() if k != "extra_content"}
    function = tc.get("function")
    if _is_map(function):
        out["function"] = dict(function)
    return out


# --------------------------------------------------------------------------- tool-call ids

_DERIVED_ID = re.compile(r"^(.+)-vx\d+\Z")
_DERIVED_SUFFIX = "-vx"


def _unique_id(wire_id: str | None, name: str | None, position: int, used: set[str]) -> str:
    """A non-empty id unique within the message; the wire id when it is free.

    Gemini 2.x uses the function name as tool-call id (https://github.com/GoogleCloudPlatform/python-docs-samples/blob/main/generative_ai/chat_completions/chat_completions_function_calling_config.py),
    so two parallel calls to one function share an id; the 2nd gets `<id>-vx<position>`, which
    `original_tool_call_id` maps back on replay. A call without an id gets
    `<name>-vx<position>` (the function name is what Gemini 2.x itself would send).
    """
    if wire_id and wire_id not in used:
        return wire_id
    base = wire_id or name or "call"
    candidate = f"{base}{_DERIVED_SUFFIX}{position}"
    while candidate in used:
        position += 1
        candidate = f"{base}{_DERIVED_SUFFIX}{position}"
    return candidate


def original_tool_call_id(tool_call_id: Any) -> Any:
    """The id Vertex sent for a call whose id was derived by `unique_tool_call_ids`.

    Args:
        tool_call_id: An id from a framework message (any value).

    Returns:
        The wire id (`get_weather` for `get_weather-vx1`), or the value unchanged.
    """
    if isinstance(tool_call_id, str) and _DERIVED_SUFFIX in tool_call_id:
        match = _DERIVED_ID.match(tool_call_id)
        if match:
            return match.group(1)
    return tool_call_id


def unique_tool_call_ids(calls: Sequence[Any]) -> list[str]:
    """Ids for a message's tool calls, non-empty and unique (see `_unique_id`).

    Args:
        calls: Tool calls as wire dicts or openai SDK objects.

    Returns:
        One id per call, in order.
    """
    used: set[str] = set()
    ids = []
    for position, tc in enumerate(calls):
        get = tc.get if _is_map(tc) else (lambda key, _tc=tc: getattr(_tc, key, None))
        wire_id = get("id")
        function = get("function")
        name = function.get("name") if _is_map(function) else getattr(function, "name", None)
        new = _unique_id(
            wire_id if isinstance(wire_id, str) and wire_id else None,
            name if isinstance(name, str) and name else None,
            position,
            used,
        )
        used.add(new)
        ids.append(new)
    return ids


def with_unique_tool_call_ids(response: Any) -> Any:
    """`response` with repeated or missing tool-call ids made unique, in every choice.

    Works on a `ChatCompletion` (SDK object) or its dict; returns the same object when
    nothing needs changing, else a deep copy, so parsed fields (`message.parsed`) stay.

    Args:
        response: A chat completion.

    Returns:
        The response, or a fixed copy. The model that produced each thought signature
        in it is remembered (`signature_origin`).
    """
    model = response.get("model") if _is_map(response) else getattr(response, "model", None)
    remember_signature_origins(_response_signatures(response), model)
    choices = response.get("choices") if _is_map(response) else getattr(response, "choices", None)
    plans: list[tuple[int, list[str]]] = []
    for i, choice in enumerate(choices or ()):
        message = choice.get("message") if _is_map(choice) else getattr(choice, "message", None)
        calls = (
            message.get("tool_calls") if _is_map(message) else getattr(message, "tool_calls", None)
        )
        if not calls:
            continue
        ids = unique_tool_call_ids(calls)
        current = [tc.get("id") if _is_map(tc) else getattr(tc, "id", None) for tc in calls]
        if ids != current:
            plans.append((i, ids))
    if not plans:
        return response
    if _is_map(response):
        out = copy.deepcopy(dict(response))
        for i, ids in plans:
            for tc, new in zip(out["choices"][i]["message"]["tool_calls"], ids, strict=True):
                tc["id"] = new
        return out
    out = response.model_copy(deep=True)
    for i, ids in plans:
        for tc, new in zip(out.choices[i].message.tool_calls, ids, strict=True):
            tc.id = new
    return out


@dataclass
class _StreamedCall:
    id: str
    name: str | None = None
    arguments: str = ""

    def complete(self) -> bool:
        """Whether the arguments so far are a whole JSON value (the call is done)."""
        text = self.arguments.strip()
        if not text or text[-1] not in "}]":
            return False
        try:
            json.loads(text)
        except ValueError:
            return False
        return True


# --------------------------------------------------------------------------- responses


@dataclass
class ParsedMessage:
    """One assistant message from Vertex, split into what the frameworks need.

    Attributes:
        content: The answer text only (thoughts removed).
        thoughts: Thought text ("" when none).
        message_signature: `extra_content.google.thought_signature` of the message.
        tool_call_signatures: `{tool_call_id: thought_signature}` (Gemini 3 puts one on
            the first call of a step).
        tool_calls: The tool calls as wire dicts, without `extra_content`.
        images: Images returned in `message.audio`, as `{"mime_type", "data"}` (base64).
        audio: The raw `message.audio` when it is not an image, else None.
        refusal: `message.refusal` if the server set one (MaaS Llama Guard).
    """

    content: str = ""
    thoughts: str = ""
    message_signature: str | None = None
    tool_call_signatures: dict[str, str] = field(default_factory=dict)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, str]] = field(default_factory=list)
    audio: dict[str, Any] | None = None
    refusal: str | None = None


def parse_message(message: Mapping[str, Any] | Any, marker: str | None) -> ParsedMessage:
    """Split a response message into answer, thoughts, signatures, tool calls and images.

    Thoughts come from, in order: `reasoning_content`/`reasoning` (MaaS models), then
    `<marker>...</marker>` tags in `content`; if there are no tags and the message is
    marked `extra_content.google.thought: true`, the whole content is thought (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview).

    Args:
        message: `choices[i].message` as a dict (or an openai SDK message object).
        marker: The `thought_tag_marker` in effect for the request, or None.

    Returns:
        A `ParsedMessage`.
    """
    if not _is_map(message):
        plain = _plain_sdk_message(message, marker)
        if plain is not None:
            return plain
    msg = _as_dict(message)
    flagged = google_extra(msg).get("thought") is True
    thoughts, answer = _split_marked(_text_of(msg.get("content")), marker, flagged)
    reasoning = _reasoning_text(msg)
    if reasoning:
        thoughts = reasoning + thoughts
    parsed = ParsedMessage(content=answer, thoughts=thoughts, message_signature=_signature(msg))
    raw_calls = [_as_dict(raw) for raw in msg.get("tool_calls") or ()]
    for tc, tc_id in zip(raw_calls, unique_tool_call_ids(raw_calls), strict=True):
        sig = _signature(tc)
        if sig:
            parsed.tool_call_signatures[tc_id] = sig
        parsed.tool_calls.append({**_clean_tool_call(tc), "id": tc_id})
    audio = msg.get("audio")
    image = _image_from_audio(audio)
    if image:
        parsed.images.append(image)
    elif _is_map(audio):
        parsed.audio = dict(audio)
    refusal = msg.get("refusal")
    parsed.refusal = refusal if isinstance(refusal, str) and refusal else None
    return parsed


def _plain_sdk_message(message: Any, marker: str | None) -> ParsedMessage | None:
    """`parse_message` of an SDK message holding only text (the common answer), else None.

    Only text: no extras (so no `extra_content`, signatures or reasoning), no tool calls,
    no audio, and no thought tag in the content. Read from the fields, without the
    `model_dump` the general path needs.
    """
    if getattr(message, "__pydantic_extra__", True) or getattr(message, "audio", None) is not None:
        return None  # extras (or not a pydantic object at all), or audio / images
    content = getattr(message, "content", None)
    if getattr(message, "tool_calls", None) or not (content is None or type(content) is str):
        return None
    if content and marker and f"<{marker}>" in content:
        return None
    refusal = getattr(message, "refusal", None)
    return ParsedMessage(
        content=content or "", refusal=refusal if isinstance(refusal, str) and refusal else None
    )


def fix_accumulated_roles(completion: Any) -> None:
    """Undo the openai SDK's concatenation of Vertex's repeated `role` in a stream snapshot.

    Vertex repeats `"role": "assistant"` in every streamed delta (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/examples);
    the SDK's `chat.completions.stream()` adds string fields up, so its final completion says
    `role="assistantassistant..."`, which frameworks no longer read as an assistant
    message (LangChain builds a `ChatMessage`, and fails on a refusal's `content: None`).
    Fixed in place on the SDK object.
    """
    for choice in getattr(completion, "choices", None) or ():
        message = getattr(choice, "message", None)
        role = getattr(message, "role", None)
        if isinstance(role, str) and len(role) > 9 and not role.replace("assistant", ""):
            message.role = "assistant"  # type: ignore[union-attr]


@dataclass
class StreamDelta:
    """What one streamed chunk adds.

    Attributes:
        answer: Answer text delta (thoughts removed).
        thoughts: Thought text delta.
        tool_call_chunks: Tool-call fragments `{"index", "id", "type", "function":
            {"name", "arguments"}}` with a stable `index` per tool-call id (order of first
            appearance); `id` (unique within the message) and `type` are set only on a
            call's first fragment and `name` only once (None otherwise), so concatenating
            fragments by index is correct.
        new_signatures: `{tool_call_id: signature}` seen for the first time in this chunk.
        message_signature: The message signature, on the chunk that first carries it.
        usage: `normalize_usage(...)` of the chunk's usage, only on that chunk.
        usage_increment: What `usage` adds to the usage already reported in this stream,
            for frameworks that add up chunk usage (LangChain). Vertex sends usage once,
            on the last chunk; Google's Gemini API compat layer sends the running total on
            every chunk (https://ai.google.dev/gemini-api/docs/openai), which summed would count it
            many times.
        finish_reason: The choice's finish reason, on the chunk that carries it.
        images: Images carried in `delta.audio` (`{"mime_type", "data"}`).
        refusal: `delta.refusal` text, on the chunks that carry it (MaaS Llama Guard).
    """

    answer: str = ""
    thoughts: str = ""
    tool_call_chunks: list[dict[str, Any]] = field(default_factory=list)
    new_signatures: dict[str, str] = field(default_factory=dict)
    message_signature: str | None = None
    usage: dict[str, Any] | None = None
    usage_increment: dict[str, Any] | None = None
    finish_reason: str | None = None
    images: list[dict[str, str]] = field(default_factory=list)
    refusal: str | None = None

    @property
    def is_empty(self) -> bool:
        """True when the delta carries nothing."""
        return not (
            self.answer
            or self.thoughts
            or self.tool_call_chunks
            or self.new_signatures
            or self.message_signature
            or self.usage
            or self.finish_reason
            or self.images
        )


def _usage_increment(
    usage: dict[str, Any] | None, before: dict[str, Any] | None
) -> dict[str, Any] | None:
    if usage is None or before is None:
        return usage
    return {
        k: (v - before.get(k, 0) if isinstance(v, int) and isinstance(before.get(k), int) else v)
        for k, v in usage.items()
    }


def _chunk_choices(chunk: Mapping[str, Any]) -> tuple[Mapping[str, Any], list[Any]]:
    """The mapping holding `choices` (LangChain's beta stream nests it under `chunk`)."""
    if "choices" not in chunk and isinstance(chunk.get("chunk"), Mapping):
        inner = chunk["chunk"]
        return inner, list(inner.get("choices") or [])
    return chunk, list(chunk.get("choices") or [])


# The delta of an SDK chunk's model_dump() carrying text only: these keys, with None
# (or nothing) for all but role and content.
_TEXT_DELTA_KEYS = frozenset(("role", "content", "refusal", "function_call", "tool_calls", "audio"))


def _plain_text(chunk: Any) -> str | None:
    """The text of a chunk dict that carries text and nothing else, else None.

    Nothing else: one choice (index 0) without finish_reason, a delta without tool calls,
    refusal, audio or extras (no `extra_content`, no reasoning), and no usage. Such a
    chunk needs only the thought split, not the full walk of `feed`.
    """
    if type(chunk) is not dict or chunk.get("usage") is not None:
        return None
    choices = chunk.get("choices")
    if type(choices) is not list or len(choices) != 1:
        return None
    choice = choices[0]
    if type(choice) is not dict or choice.get("finish_reason") or choice.get("index", 0) != 0:
        return None
    delta = choice.get("delta")
    if type(delta) is not dict or not _TEXT_DELTA_KEYS.issuperset(delta):
        return None
    text = delta.get("content")
    if type(text) is not str or delta.get("tool_calls") or delta.get("function_call"):
        return None
    if delta.get("refusal") is not None or delta.get("audio") is not None:
        return None
    return text


def _unchanged(data: Mapping[str, Any], result: StreamDelta) -> bool:
    """Whether `rewrite_chunk` would return the chunk as it is."""
    if result.thoughts or result.tool_call_chunks:
        return False
    choices = data.get("choices")
    if type(choices) is not list or len(choices) != 1:
        return False
    delta = choices[0].get("delta") if type(choices[0]) is dict else None
    if type(delta) is not dict or not _TEXT_DELTA_KEYS.issuperset(delta):
        return False  # (tool calls in the delta make result.tool_call_chunks non-empty)
    return (delta.get("content") or "") == result.answer and delta.get("content") is not None


class StreamAccumulator:
    """Per-call streaming state: thought splitting, tool-call re-indexing, signatures.

    Tool-call fragments are merged by the rule in `_target` (wire id, then index, then
    the last call; a fragment naming a function again after a whole call starts a new
    call), so Vertex's repeated ids and inconsistent `index` values (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/examples),
    Gemini 2.x's shared ids for parallel calls to one function and calls with no `index`
    (https://github.com/GoogleCloudPlatform/python-docs-samples/blob/main/generative_ai/chat_completions/chat_completions_function_calling_config.py)
    all come out as separate calls. Each call gets a unique non-empty id (`unique_tool_call_ids`'
    rule).

    Only choice 0 is handled (streaming with `n > 1` is not supported by the frameworks).
    """

    def __init__(self, marker: str | None = None) -> None:
        """Create the state for one streamed call.

        Args:
            marker: The `thought_tag_marker` in effect, or None.
        """
        self.marker = marker
        self._parser = ThoughtParser(marker) if marker else None
        self._usage_reported: dict[str, Any] | None = None
        self._calls: list[_StreamedCall] = []
        self._by_wire_id: dict[str, int] = {}
        self._by_raw_index: dict[Any, int] = {}
        self._signatures: dict[str, str] = {}
        self._message_signature: str | None = None
        self.finished = False
        """Whether a chunk carried a `finish_reason` (a stream without one was cut off)."""
        self._finished = False
        self._last_holder: Mapping[str, Any] = {}

    @property
    def signatures(self) -> dict[str, str]:
        """All `{tool_call_id: signature}` seen so far."""
        return dict(self._signatures)

    @property
    def message_signature(self) -> str | None:
        """The message signature seen so far, if any."""
        return self._message_signature

    def _split_text(self, text: str, flagged: bool) -> tuple[str, str]:
        parser = self._parser
        if parser is None:
            return (text, "") if flagged else ("", text)
        if (
            flagged
            and not parser.in_thought
            and not parser.has_pending
            and not _may_hold_tag(text, parser.marker)
        ):
            # Thought flagged explicitly but not tagged: trust the flag (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview).
            return text, ""
        return parser.feed(text)

    def passes_unchanged(self, chunk: Any) -> bool:
        """Whether an SDK chunk object is plain answer text that needs no rewriting.

        The hot path of a stream (most chunks): one choice whose delta has only `role`
        and string `content`, no extras, no finish_reason and no usage, and text that
        cannot be (part of) a thought. Such a chunk is consumed here without a
        `model_dump`; anything else returns False and must go through `feed`.

        Args:
            chunk: A `ChatCompletionChunk` (dicts always return False).

        Returns:
            True when the chunk was consumed and can be handed on as it is.
        """
        if type(chunk) is dict or getattr(chunk, "usage", None) is not None:
            return False
        choices = getattr(chunk, "choices", None)
        if not choices or len(choices) != 1:
            return False
        choice = choices[0]
        delta = choice.delta
        if choice.finish_reason or choice.index != 0 or delta is None:
            return False
        text = delta.content
        if (
            not isinstance(text, str)
            or delta.tool_calls
            or delta.function_call is not None
            or delta.refusal is not None
            or delta.model_extra
        ):
            return False
        parser = self._parser
        if parser is None:
            return True
        return not (parser.in_thought or parser.has_pending or _may_hold_tag(text, parser.marker))

    def feed(self, chunk: Mapping[str, Any] | Any) -> StreamDelta:
        """Consume one chunk.

        Args:
            chunk: `ChatCompletionChunk.model_dump()` (or the chunk object itself); the
                `{"chunk": {...}}` wrapping of LangChain's structured stream is accepted.

        Returns:
            The `StreamDelta` for this chunk.
        """
        text = _plain_text(chunk)
        if text is not None:
            # Text and nothing else (most chunks): only the thought split applies.
            self._last_holder = chunk
            plain = StreamDelta()
            if text:
                plain.thoughts, plain.answer = self._split_text(text, False)
            return plain
        data = chunk if type(chunk) is dict else _as_dict(chunk)
        holder, choices = _chunk_choices(data)
        self._last_holder = holder  # id/created/model for finish_chunk(), read lazily
        out = StreamDelta()
        usage = holder.get("usage")
        if _is_map(usage):
            out.usage = normalize_usage(usage)
            out.usage_increment = _usage_increment(out.usage, self._usage_reported)
            self._usage_reported = out.usage
        choice = None
        for candidate in choices:
            if _is_map(candidate) and candidate.get("index", 0) == 0:
                choice = candidate
                break
        if choice is None:
            return out
        delta = choice.get("delta")
        delta = delta if _is_map(delta) else {}
        google = google_extra(delta)
        flagged = google.get("thought") is True
        reasoning = _reasoning_text(delta)
        if reasoning:
            out.thoughts += reasoning
        text = _text_of(delta.get("content"))
        if text:
            thoughts, answer = self._split_text(text, flagged)
            out.thoughts += thoughts
            out.answer += answer
        sig = google.get("thought_signature")
        if sig and isinstance(sig, str) and self._message_signature is None:
            self._message_signature = sig
            out.message_signature = sig
        seen: set[int] = set()
        for raw in delta.get("tool_calls") or ():
            out.tool_call_chunks.append(self._tool_fragment(_as_dict(raw), out, seen))
        image = _image_from_audio(delta.get("audio"))
        if image:
            out.images.append(image)
        refusal = delta.get("refusal")
        if isinstance(refusal, str) and refusal:
            out.refusal = refusal
        if out.message_signature or out.new_signatures:
            remember_signature_origins(
                [out.message_signature, *out.new_signatures.values()], holder.get("model")
            )
        finish = choice.get("finish_reason")
        if finish:
            self.finished = True
            out.finish_reason = finish
            rest_t, rest_a = self._flush()
            out.thoughts += rest_t
            out.answer += rest_a
        return out

    def _target(
        self, tc: Mapping[str, Any], name: str | None, arguments: str, seen: set[int]
    ) -> int | None:
        """The call a fragment continues, or None when it starts a new call.

        Vertex repeats `id` and `name` on every fragment with unreliable `index` values
        (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/examples), Gemini 2.x
        reuses the function name as id for parallel calls to the same function (https://github.com/GoogleCloudPlatform/python-docs-samples/blob/main/generative_ai/chat_completions/chat_completions_function_calling_config.py),
        OpenAI-style servers send the id only on the first
        fragment and then rely on `index`, and Google's Gemini API compat layer sends
        whole calls with no `index` at all (https://github.com/noho/dayu-agent/issues/45). So: the
        wire id wins, then the index, then the last call; a fragment that names a function again
        after its target is a
        whole call (or shows up twice in one delta) starts a new call.
        """
        tc_id = tc.get("id")
        raw_index = tc.get("index")
        target: int | None
        if isinstance(tc_id, str) and tc_id:
            target = self._by_wire_id.get(tc_id)
        elif raw_index is not None:
            target = self._by_raw_index.get(raw_index)
        else:
            target = len(self._calls) - 1 if self._calls else None
            if target is not None and name is not None and name != self._calls[target].name:
                target = None
        if target is None:
            return None
        call = self._calls[target]
        if target in seen:
            return None
        # Whitespace after a whole JSON value still belongs to it (arguments are JSON).
        restarts = arguments == "" or arguments.strip() != ""
        if name is not None and restarts and call.complete():
            return None
        return target

    def _tool_fragment(
        self, tc: dict[str, Any], out: StreamDelta, seen: set[int]
    ) -> dict[str, Any]:
        function = tc.get("function")
        function = function if _is_map(function) else {}
        raw_name = function.get("name")
        name = raw_name if isinstance(raw_name, str) and raw_name else None
        arguments = function.get("arguments")
        arguments = arguments if isinstance(arguments, str) else ""
        wire_id = tc.get("id") if isinstance(tc.get("id"), str) and tc.get("id") else None
        pos = self._target(tc, name, arguments, seen)
        first = pos is None
        if pos is None:
            pos = len(self._calls)
            used = {c.id for c in self._calls}
            self._calls.append(_StreamedCall(id=_unique_id(wire_id, name, pos, used)))
        call = self._calls[pos]
        seen.add(pos)
        if wire_id is not None:
            self._by_wire_id[wire_id] = pos
        if tc.get("index") is not None:
            self._by_raw_index[tc.get("index")] = pos
        emit_name = name if name is not None and call.name is None else None
        if emit_name is not None:
            call.name = emit_name
        call.arguments += arguments
        sig = _signature(tc)
        if sig and call.id not in self._signatures:
            self._signatures[call.id] = sig
            out.new_signatures[call.id] = sig
        return {
            "index": pos,
            "id": call.id if first else None,
            "type": (tc.get("type") or "function") if first else None,
            "function": {"name": emit_name, "arguments": arguments},
        }

    def _flush(self) -> tuple[str, str]:
        if self._parser is None:
            return "", ""
        return self._parser.flush()

    def finish(self) -> StreamDelta:
        """Flush text held back as a possible partial tag at the end of the stream.

        Returns:
            A `StreamDelta` with the remaining answer/thought text (usually empty).
        """
        thoughts, answer = self._flush()
        return StreamDelta(answer=answer, thoughts=thoughts)

    def rewrite_chunk(self, chunk: Mapping[str, Any] | Any) -> tuple[dict[str, Any], StreamDelta]:
        """Feed a chunk and return it rewritten for a stock OpenAI chunk converter.

        In the rewritten chunk, choice 0's delta has `content` = answer text only,
        `reasoning_content` = thought text (absent when none), `tool_calls` re-indexed
        (absent when none), and no `extra_content`; the chunk's `usage` is left as is.
        The original nesting (`{"chunk": {...}}`) is preserved.

        Args:
            chunk: As for `feed`.

        Returns:
            `(rewritten_chunk_dict, stream_delta)`.
        """
        data = chunk if type(chunk) is dict else _as_dict(chunk)
        result = self.feed(data)
        if _unchanged(data, result):
            return data, result  # plain answer text: nothing to rewrite (the common chunk)
        nested = "choices" not in data and _is_map(data.get("chunk"))
        holder = dict(data["chunk"]) if nested else dict(data)  # the caller's dict stays intact
        choices = []
        for choice in holder.get("choices") or []:
            if not _is_map(choice) or choice.get("index", 0) != 0:
                choices.append(choice)
                continue
            new_choice = dict(choice)
            old = choice.get("delta")
            delta = {
                k: v
                for k, v in (old.items() if _is_map(old) else ())
                if k not in ("extra_content", "tool_calls", "reasoning_content", "reasoning")
            }
            delta["content"] = result.answer
            if result.thoughts:
                delta["reasoning_content"] = result.thoughts
            if result.tool_call_chunks:
                delta["tool_calls"] = result.tool_call_chunks
            new_choice["delta"] = delta
            choices.append(new_choice)
        holder["choices"] = choices
        if nested:
            return {**data, "chunk": holder}, result
        return holder, result

    def finish_chunk(self) -> dict[str, Any] | None:
        """`finish()` as a chunk dict for a stock converter, or None when nothing is left.

        Returns:
            A `chat.completion.chunk` dict carrying the flushed text, or None.
        """
        rest = self.finish()
        if not (rest.answer or rest.thoughts):
            return None
        delta: dict[str, Any] = {"role": "assistant", "content": rest.answer}
        if rest.thoughts:
            delta["reasoning_content"] = rest.thoughts
        return {
            "object": "chat.completion.chunk",
            **{
                k: self._last_holder[k]
                for k in ("id", "created", "model", "object")
                if k in self._last_holder
            },
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }


# --------------------------------------------------------------------------- requests


def attach_signatures(
    wire_message: Mapping[str, Any],
    tool_call_signatures: Mapping[str, str] | None,
    message_signature: str | None,
) -> dict[str, Any]:
    """Put thought signatures back on an outgoing assistant message.

    See https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/examples and
    https://cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures.

    Args:
        wire_message: The message dict as the framework produced it (not mutated).
        tool_call_signatures: `{tool_call_id: signature}`; calls are matched by id.
        message_signature: Signature of the message itself (text/image answers), or None.

    Returns:
        A new message dict with `extra_content.google.thought_signature` on each matching
        tool call and on the message; other `extra_content` keys are kept.
    """
    out = dict(wire_message)
    if tool_call_signatures and isinstance(out.get("tool_calls"), list):
        calls = []
        for raw in out["tool_calls"]:
            tc = _as_dict(raw)
            sig = tool_call_signatures.get(tc.get("id") or "")
            calls.append(_with_signature(tc, sig) if sig else tc)
        out["tool_calls"] = calls
    if message_signature:
        out = _with_signature(out, message_signature)
    return out


def signature_fields(
    signatures: Mapping[str, str] | None, message_signature: str | None
) -> dict[str, Any]:
    """The private `additional_kwargs` keys a framework message keeps signatures under."""
    fields: dict[str, Any] = {}
    if signatures:
        fields[SIGNATURES_KEY] = dict(signatures)
    if message_signature:
        fields[MESSAGE_SIGNATURE_KEY] = message_signature
    return fields


def replay_fields(
    kept: Mapping[str, Any], wire: dict[str, Any], thoughts: str | None
) -> dict[str, Any]:
    """An assistant wire dict with what its framework message kept put back.

    Args:
        kept: The message's `additional_kwargs` (the `signature_fields` keys).
        wire: The parent's wire dict for the message.
        thoughts: The message's thoughts (sent tagged, or dropped, by the core).
    """
    signatures = kept.get(SIGNATURES_KEY)
    message_signature = kept.get(MESSAGE_SIGNATURE_KEY)
    if signatures or message_signature:
        wire = attach_signatures(wire, signatures, message_signature)
    if isinstance(thoughts, str) and thoughts:
        wire = {**wire, THOUGHTS_WIRE_KEY: thoughts}
    return wire


_AUDIO_MIME = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "mpeg": "audio/mpeg",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "m4a": "audio/mp4",
    "mp4": "audio/mp4",
    "webm": "audio/webm",
    "aiff": "audio/aiff",
    "pcm": "audio/pcm",
    "pcm16": "audio/pcm",
}
_URI_PREFIXES = ("gs://", "http://", "https://", "data:")
# Assistant-history parts that carry no wire content (provider-specific blocks some
# frameworks leave in); dropped rather than rejected.
_DROPPABLE_ASSISTANT_PARTS = frozenset({"tool_use", "thinking", "reasoning", "redacted_thinking"})
_URL_PART_TYPES = ("video_url", "audio_url", "document_url", "file_url")


_DEFAULT_MIME = {
    "image": "image/png",
    "audio": "audio/mpeg",
    "file": "application/pdf",
    "video": "video/mp4",
}


def _mime(mime_type: str | None) -> str | None:
    if not isinstance(mime_type, str) or not mime_type:
        return None
    # OpenAI's short audio formats ("wav", "mp3") -> MIME types, which Vertex expects.
    return (
        mime_type
        if "/" in mime_type
        else _AUDIO_MIME.get(mime_type.lower(), f"audio/{mime_type.lower()}")
    )


def media_part(
    kind: str, *, url: str | None = None, data: str | None = None, mime_type: str | None = None
) -> dict[str, Any]:
    """The wire part for an image, audio clip, document or video: the one rule for both.

    Vertex has no `file` or `video_url` part. Per Google's Chat Completions docs
    (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview),
    `image_url` "as a URL will default to the image/* MIME-type and as blob data can be
    used as any multimodal input", and `input_audio` takes any MIME type as `format` with
    a URI or base64 `data`. So:

    * a URI (gs://, https) of an image, or of unknown type -> `image_url`;
    * a URI of anything else (audio, PDF, video) -> `input_audio` with its MIME type;
    * base64 audio -> `input_audio`; other base64 data -> `image_url` with a data: URI
      carrying the MIME type; a data: URI -> `image_url` as is.

    Args:
        kind: "image", "audio", "file" (a document) or "video".
        url: A gs://, http(s) or data: URI.
        data: Base64 data (when there is no URL).
        mime_type: The MIME type (or a short audio format such as "mp3"); guessed from the
            URL when omitted.

    Raises:
        VertexConfigError: Neither url nor data given.
    """
    mime = _mime(mime_type)
    if isinstance(url, str) and url:
        if url.startswith("data:"):
            return {"type": "image_url", "image_url": {"url": url}}
        mime = mime or mimetypes.guess_type(url)[0]
        if kind == "audio" and not mime:
            mime = _DEFAULT_MIME["audio"]
        if kind == "image" or not mime or mime.startswith("image/"):
            return {"type": "image_url", "image_url": {"url": url}}
        return {"type": "input_audio", "input_audio": {"data": url, "format": mime}}
    if isinstance(data, str) and data:
        mime = mime or _DEFAULT_MIME.get(kind, "application/octet-stream")
        if kind == "audio":
            return {"type": "input_audio", "input_audio": {"data": data, "format": mime}}
        return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}
    msg = f"A {kind} content part needs a URL (gs://, https, data:) or base64 data."
    raise VertexConfigError(msg)


def standard_block_part(block: Any) -> dict[str, Any] | None:
    """A LangChain standard `audio` / `file` / `video` block as a Vertex part, else None.

    langchain-openai refuses these by URL ("does not support file URLs") and video in any
    form: OpenAI has no such parts, Vertex reads them (`media_part`). An inline document
    (base64 with its MIME type) is converted here too: the parent would make an OpenAI
    `file` part and warn that "OpenAI may require a filename" (inventing one), where Vertex
    takes the same bytes as an `image_url` data: URI, which has no filename. Both the v1
    form (`url` / `base64`) and the v0 form (`source_type` "url" / "base64" with `data`)
    count.
    """
    if not _is_map(block) or block.get("type") not in ("audio", "file", "video"):
        return None
    kind = block["type"]
    url = block.get("url")
    data = block.get("base64")
    if block.get("source_type") == "base64":
        data = block.get("data")
    inline = isinstance(data, str) and (
        kind == "video"
        or (kind == "file" and bool(data) and isinstance(block.get("mime_type"), str))
    )
    if not isinstance(url, str) and not inline:
        return None  # inline audio: the parent's own conversion, same wire result
    return media_part(
        kind, url=url if isinstance(url, str) else None, data=data, mime_type=block.get("mime_type")
    )


def _file_part_to_image_url(part: Mapping[str, Any]) -> dict[str, Any]:
    file = part.get("file")
    # OpenAI nests the fields under "file"; older llama-index-llms-openai (0.6.26) puts
    # `filename`/`file_data` on the part itself.
    file = file if _is_map(file) else part
    data = file.get("file_data")
    filename = file.get("filename")
    mime = file.get("mime_type")
    if isinstance(data, str) and data:
        if data.startswith(_URI_PREFIXES):
            return media_part("file", url=data, mime_type=mime)
        if not isinstance(mime, str) or not mime:
            mime = mimetypes.guess_type(filename)[0] if isinstance(filename, str) else None
        return media_part("file", data=data, mime_type=mime)
    for key in ("file_url", "url", "file_id"):
        ref = file.get(key)
        if isinstance(ref, str) and ref.startswith(_URI_PREFIXES):
            return media_part("file", url=ref, mime_type=mime)
    file_id = file.get("file_id")
    if file_id:
        msg = (
            f"File id {file_id!r} cannot be used: Vertex has no Files API. Pass the bytes "
            "(base64 'file_data' with a filename or MIME type), a gs:// URI or an https URL."
        )
        raise VertexConfigError(msg)
    msg = "A 'file' content part needs 'file_data' (base64 or data: URI) or a gs:// / https URL."
    raise VertexConfigError(msg)


def _audio_part(part: Mapping[str, Any]) -> dict[str, Any]:
    audio = part.get("input_audio")
    if not _is_map(audio):
        msg = "An 'input_audio' part needs an object {'data': ..., 'format': ...}."
        raise VertexConfigError(msg)
    fmt = audio.get("format")
    if isinstance(fmt, str) and "/" not in fmt:
        return {**part, "input_audio": {**audio, "format": _mime(fmt)}}
    return dict(part)


def _convert_part(part: Any, role: str) -> dict[str, Any] | None:
    if isinstance(part, str):
        return {"type": "text", "text": part}
    if not _is_map(part):
        msg = f"Unsupported content part {part!r}: expected a dict or a string."
        raise VertexConfigError(msg)
    kind = part.get("type")
    if kind in ("text", "image_url"):
        return dict(part)
    if kind == "input_audio":
        return _audio_part(part)
    if kind == "file":
        converted = _file_part_to_image_url(part)
        if "extra_content" in part:
            converted["extra_content"] = part["extra_content"]
        return converted
    if kind in _URL_PART_TYPES:
        value = part.get(kind)
        url = value.get("url") if _is_map(value) else value
        if not isinstance(url, str) or not url:
            msg = f"A {kind!r} content part needs a URL ({{'url': 'gs://...'}})."
            raise VertexConfigError(msg)
        converted = media_part(kind.removesuffix("_url"), url=url)
        if "extra_content" in part:
            converted["extra_content"] = part["extra_content"]
        return converted
    if kind == "refusal" and isinstance(part.get("refusal"), str):
        return {"type": "text", "text": part["refusal"]}
    if role == "assistant" and kind in _DROPPABLE_ASSISTANT_PARTS:
        return None
    msg = (
        f"Content part type {kind!r} is not supported by Vertex's chat completions. Use "
        "'text', 'image_url' (gs://, https or data: URI of any MIME type), 'input_audio', "
        "'file' (converted to a data: URI) or 'video_url'."
    )
    raise VertexConfigError(msg)


def _convert_content(message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if not isinstance(content, list):
        return message
    role = str(message.get("role") or "")
    parts = [p for p in (_convert_part(part, role) for part in content) if p is not None]
    return {**message, "content": parts}


def _current_turn_start(messages: Sequence[Mapping[str, Any]]) -> int:
    # A turn starts at the most recent user message that is not a function response
    # (https://cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures); tool results are
    # `role: tool` on this wire.
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user":
            return i
    return 0


def _wire_ids(message: dict[str, Any]) -> dict[str, Any]:
    """Put back the ids Vertex sent where `unique_tool_call_ids` derived new ones."""
    out = message
    tool_call_id = message.get("tool_call_id")
    if original_tool_call_id(tool_call_id) != tool_call_id:
        out = {**out, "tool_call_id": original_tool_call_id(tool_call_id)}
    calls = message.get("tool_calls")
    if isinstance(calls, list) and any(
        _is_map(tc) and original_tool_call_id(tc.get("id")) != tc.get("id") for tc in calls
    ):
        out = {
            **out,
            "tool_calls": [
                {**tc, "id": original_tool_call_id(tc.get("id"))} if _is_map(tc) else tc
                for tc in calls
            ],
        }
    return out


def prepare_wire_messages(
    messages: Sequence[Mapping[str, Any] | Any], model_info: ModelInfo | None
) -> list[dict[str, Any]]:
    """Make outgoing messages acceptable to Vertex.

    * Multimodal parts: `image_url` kept (gs://, https, data:); `file` ->
      `image_url` with a data: URI carrying the file's MIME type (Vertex has no file
      part); `input_audio.format` `wav`/`mp3` -> `audio/wav`/`audio/mpeg`;
      `video_url`/`audio_url` -> `image_url`; plain strings -> text parts.
    * Tool messages without `name` get the name of their tool call (Gemini wants it).
    * Tool-call ids derived by `unique_tool_call_ids` (`get_weather-vx1`) go back to the
      id Vertex sent, on the calls and on the tool results, so results pair with calls
      in the order Gemini gave them.
    * If `model_info.enforces_signatures` (Gemini 3): in the current turn (from the last
      user message), the first tool call of every assistant step without a signature
      gets `SIGNATURE_SENTINEL` (hand-built or trimmed histories, https://cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures).

    Args:
        messages: Wire message dicts (or openai SDK message objects); not mutated.
        model_info: The target model's info, or None when unknown.

    Returns:
        A new list of new message dicts.

    Raises:
        VertexConfigError: For content parts Vertex cannot take.
    """
    out = [_convert_content(_as_dict(m)) for m in messages]
    names: dict[str, str] = {}
    for msg in out:
        for tc in msg.get("tool_calls") or ():
            if _is_map(tc):
                function = tc.get("function")
                if isinstance(tc.get("id"), str) and _is_map(function):
                    name = function.get("name")
                    if isinstance(name, str):
                        names[tc["id"]] = name
    for i, msg in enumerate(out):
        if msg.get("role") == "tool" and not msg.get("name"):
            name = names.get(str(msg.get("tool_call_id")))
            if name:
                out[i] = {**msg, "name": name}
    out = [_wire_ids(msg) for msg in out]
    if model_info is not None and model_info.is_gemini:
        target = _model_key(model_info.model_id) if model_info.model_id else None
        out = [_own_signatures(msg, target) for msg in out]
    if model_info is not None and model_info.enforces_signatures:
        for i in range(_current_turn_start(out), len(out)):
            msg = out[i]
            calls = msg.get("tool_calls")
            if msg.get("role") not in ("assistant", "model") or not calls:
                continue
            first = _as_dict(calls[0])
            if _signature(first) is None:
                out[i] = {
                    **msg,
                    "tool_calls": [_with_signature(first, SIGNATURE_SENTINEL), *calls[1:]],
                }
    return out


def _replayable(obj: Any, target: str | None) -> Any:
    """`obj` with its signature under `google`, the bypass value if another model made it."""
    sig = _signature(obj)
    if sig is None:
        return obj
    origin = signature_origin(sig)
    if origin is not None and target is not None and origin != target:
        # Documented bypass for signatures that cannot be replayed (thought-signatures
        # page, "skip_thought_signature_validator").
        return _with_signature(obj, SIGNATURE_SENTINEL)
    extra = obj.get("extra_content")
    if _is_map(extra) and _is_map(extra.get("vertex")):
        return _with_signature(obj, sig)
    return obj


def _own_signatures(message: dict[str, Any], target: str | None) -> dict[str, Any]:
    if message.get("role") not in ("assistant", "model"):
        return message
    out = _replayable(message, target)
    calls = out.get("tool_calls")
    if isinstance(calls, list):
        fixed = [_replayable(tc, target) for tc in calls]
        if any(a is not b for a, b in zip(fixed, calls, strict=True)):
            out = {**out, "tool_calls": fixed}
    content = out.get("content")
    if isinstance(content, list):
        parts = [_replayable(part, target) for part in content]
        if any(a is not b for a, b in zip(parts, content, strict=True)):
            out = {**out, "content": parts}
    return out


def strip_signatures(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop thought signatures from outgoing messages (for models other than Gemini).

    A history that went through Gemini carries `extra_content.google.thought_signature`
    on assistant messages and tool calls; partner and self-deployed models have no use
    for it. Other `extra_content` is kept.
    """

    def clean(obj: Any) -> Any:
        if not _is_map(obj) or "thought_signature" not in google_extra(obj):
            return obj
        google = {k: v for k, v in google_extra(obj).items() if k != "thought_signature"}
        extra = {k: v for k, v in obj["extra_content"].items() if k not in ("google", "vertex")}
        if google:
            extra["google"] = google
        rest = {k: v for k, v in obj.items() if k != "extra_content"}
        return {**rest, "extra_content": extra} if extra else rest

    out = []
    for message in messages:
        message = clean(message)
        calls = message.get("tool_calls") if _is_map(message) else None
        if isinstance(calls, list):
            message = {**message, "tool_calls": [clean(tc) for tc in calls]}
        out.append(message)
    return out


# --------------------------------------------------------------------------- usage


_USAGE_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "completion_tokens_details",
    "prompt_tokens_details",
)


def _field(obj: Any, key: str) -> Any:
    """`obj[key]` of a mapping, or the attribute of an SDK object; None when absent."""
    if obj is None:
        return None
    return obj.get(key) if _is_map(obj) else getattr(obj, key, None)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_counts(usage: Mapping[str, Any] | None) -> dict[str, Any]:
    """Normalised usage under OpenAI's count names (LlamaIndex's response keys)."""
    if not usage:
        return {}
    return {
        "prompt_tokens": usage["input_tokens"],
        "completion_tokens": usage["output_tokens"],
        "total_tokens": usage["total_tokens"],
        "reasoning_tokens": usage["reasoning_tokens"],
        "cached_tokens": usage["cached_tokens"],
    }


def usage_metadata(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Normalised usage in LangChain's `UsageMetadata` shape (a plain dict)."""
    return {
        "input_tokens": usage["input_tokens"],
        "output_tokens": usage["output_tokens"],
        "total_tokens": usage["total_tokens"],
        "input_token_details": {"cache_read": usage["cached_tokens"]},
        "output_token_details": {"reasoning": usage["reasoning_tokens"]},
    }


def normalize_usage(usage: Mapping[str, Any] | Any | None) -> dict[str, Any] | None:
    """Normalise a chat-completions `usage` object.

    Vertex's `completion_tokens` excludes thinking and `total_tokens = prompt +
    completion + reasoning` (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/examples).
    If a server follows OpenAI's convention instead (`total = prompt + completion`, reasoning
    included in completion), the
    reasoning is not added twice. A wire `total_tokens` larger than that sum is kept (what
    was billed); with no `reasoning_tokens` field the gap is counted as reasoning.

    Args:
        usage: The `usage` dict (or SDK object), or None.

    Returns:
        None if `usage` is None, else `{"input_tokens", "output_tokens" (completion +
        reasoning), "total_tokens" (input + output, or the larger wire total),
        "reasoning_tokens",
        "cached_tokens", "traffic_type" (str or None)}`.
    """
    if usage is None:
        return None
    if _is_map(usage):
        data: Mapping[str, Any] = usage
    else:
        # An SDK object: its declared fields and extras, read without a model_dump.
        extras = getattr(usage, "__pydantic_extra__", None)
        data = {**(extras or {}), **{key: getattr(usage, key, None) for key in _USAGE_FIELDS}}
    prompt = _int(data.get("prompt_tokens"))
    completion = _int(data.get("completion_tokens"))
    reasoning = _int(_field(data.get("completion_tokens_details"), "reasoning_tokens"))
    cached = _int(_field(data.get("prompt_tokens_details"), "cached_tokens"))
    reported_total = data.get("total_tokens")
    openai_style = (
        reasoning > 0
        and isinstance(reported_total, int)
        and reported_total == prompt + completion
        and completion >= reasoning
    )
    output = completion if openai_style else completion + reasoning
    total = prompt + output
    if isinstance(reported_total, int) and reported_total > total:
        # Google's Gemini API compat layer counts thinking in total_tokens without a
        # reasoning_tokens field (https://ai.google.dev/gemini-api/docs/openai: 108 + 19, total
        # 194): the gap was billed as output, so keep the wire total and count the gap as reasoning.
        if reasoning == 0:
            reasoning = reported_total - total
            output += reasoning
        total = reported_total
    extra = data.get("extra_properties")
    google = extra.get("google") if _is_map(extra) else None
    traffic = google.get("traffic_type") if _is_map(google) else None
    return {
        "input_tokens": prompt,
        "output_tokens": output,
        "total_tokens": total,
        "reasoning_tokens": reasoning,
        "cached_tokens": cached,
        "traffic_type": traffic if isinstance(traffic, str) else None,
    }
