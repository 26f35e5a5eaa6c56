"""Per-call glue for chat classes whose parent calls the openai SDK itself (LlamaIndex).

Framework-neutral: objects are read by their attributes, never imported. The framework
class keeps its fields and the overrides at its parent's conversion points; what those
overrides compute lives here: constructor keywords checked, the create() kwargs merged,
content blocks turned into the core's parts (`_messages.media_part`), usage read from an
SDK response, and what a response held (`FinishingCall`) for the framework to attach.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from vertex_openai._constants import MESSAGE_SIGNATURE_KEY, SIGNATURES_KEY
from vertex_openai._errors import VertexConfigError
from vertex_openai._failover import LOCATION_KEY
from vertex_openai._gemini import deep_merge
from vertex_openai._messages import media_part, normalize_usage, signature_fields, usage_counts
from vertex_openai._sdk_objects import CALL_KWARG, SdkCall

__all__ = [
    "INIT_ONLY_KWARGS",
    "FinishingCall",
    "block_part",
    "callable_key_pickle_error",
    "constructor_kwargs",
    "express_key_dropped_error",
    "merge_model_kwargs",
    "response_usage_counts",
    "tool_dicts",
    "without_private_keys",
]

INIT_ONLY_KWARGS = frozenset(
    {"http_client", "async_http_client", "openai_client", "async_openai_client", "extra_body"}
)
"""Keywords LlamaIndex's OpenAI constructor takes that are not pydantic fields."""

_THINKING_KEYWORDS = ("include_thoughts", "thinking_budget", "thinking_level")
_PRIVATE_KEYS = (SIGNATURES_KEY, MESSAGE_SIGNATURE_KEY)
_BLOCK_FIELDS = {  # kind: (data field, MIME field, resolver) of a LlamaIndex-style block
    "image": ("image", "image_mimetype", "resolve_image"),
    "audio": ("audio", "format", "resolve_audio"),
    "file": ("data", "document_mimetype", "resolve_document"),
    "video": ("video", "video_mimetype", "resolve_video"),
}


def constructor_kwargs(
    kwargs: dict[str, Any], fields: Iterable[str], class_name: str
) -> dict[str, Any]:
    """ChatVertexAI-style thinking keywords folded in; unknown keywords warned about.

    The parent accepts any keyword silently, so a typo (`thinkng_config=`) would be lost;
    `include_thoughts=` / `thinking_budget=` / `thinking_level=` are what users of
    ChatVertexAI and ChatGoogleGenerativeAI write for `thinking_config`.

    Args:
        kwargs: The constructor's remaining keyword arguments (changed in place).
        fields: The class's field names.
        class_name: Named in the warning.
    """
    shorthand = {key: kwargs.pop(key) for key in _THINKING_KEYWORDS if key in kwargs}
    if shorthand:
        given = kwargs.get("thinking_config") or {}
        kwargs["thinking_config"] = {**shorthand, **dict(given)}
    known = list(fields)
    unknown = sorted(set(kwargs) - set(known) - INIT_ONLY_KWARGS)
    if unknown:
        close = {name: difflib.get_close_matches(name, known, n=1) for name in unknown}
        hints = "; ".join(
            f"{name!r}" + (f" (did you mean {close[name][0]!r}?)" if close[name] else "")
            for name in unknown
        )
        warnings.warn(
            f"{class_name} got unknown keyword argument(s) {hints}; they are ignored. "
            "Per-request options go in additional_kwargs={...}.",
            UserWarning,
            stacklevel=3,
        )
    if (extra_body := kwargs.pop("extra_body", None)) is not None:
        # As newer OpenAILike releases do; older ones would drop it silently.
        extra = {"extra_body": extra_body}
        kwargs["additional_kwargs"] = deep_merge(kwargs.get("additional_kwargs") or {}, extra)
    return kwargs


def express_key_dropped_error(class_name: str) -> VertexConfigError:
    """The error of a model rebuilt from a pickle / dict of an express-mode model."""
    msg = (
        f"This {class_name} was unpickled (or rebuilt by from_dict) from one whose api_key "
        "was an express-mode key or a callable; neither is ever written out. Create it "
        "again with api_key=..."
    )
    return VertexConfigError(msg)


def callable_key_pickle_error(class_name: str) -> TypeError:
    """The error of pickling a model whose `api_key` is a callable."""
    msg = (
        f"A {class_name} with a callable api_key cannot be pickled; build it in the worker instead."
    )
    return TypeError(msg)


def tool_dicts(tools: Sequence[Any] | None) -> list[dict[str, Any]] | None:
    """OpenAI tool dicts from dicts or LlamaIndex tools (their `metadata.to_openai_tool()`)."""
    if not tools:
        return None
    out = []
    for item in tools:
        metadata = getattr(item, "metadata", None)
        out.append(metadata.to_openai_tool() if metadata is not None else dict(item))
    return out


def merge_model_kwargs(params: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The create() kwargs: the parent's `params`, then the per-call `kwargs`, deeply.

    Precedence: instance fields < additional_kwargs < per-call kwargs (LlamaIndex's
    OpenAI lets additional_kwargs override per-call kwargs), merged deeply so extra_body
    from different levels combines. The call (`CALL_KWARG`) is passed through as is;
    `None` tools / tool_choice / temperature are not sent (Gemini 3 keeps its own
    temperature default), nor stream_options without streaming.
    """
    kwargs = dict(kwargs)
    call = kwargs.pop(CALL_KWARG, None)
    params = deep_merge(params, kwargs)
    if call is not None:
        params[CALL_KWARG] = call
    if not params.get("stream"):
        params.pop("stream_options", None)
    for key in ("tools", "tool_choice", "temperature"):
        if key in params and params[key] is None:
            del params[key]
    return params


def without_private_keys(extras: Mapping[str, Any]) -> dict[str, Any] | None:
    """`extras` without the signature keys, or None when it holds none."""
    if not any(key in extras for key in _PRIVATE_KEYS):
        return None
    return {k: v for k, v in extras.items() if k not in _PRIVATE_KEYS}


def block_part(kind: str, block: Any) -> dict[str, Any]:
    """The wire part of one LlamaIndex-style media block, by the core's rule (`media_part`).

    Args:
        kind: "image", "audio", "file" (a document) or "video".
        block: An object with `url`, `path`, the kind's data and MIME fields and resolver
            (`resolve_image(as_base64=True)` ...), as LlamaIndex's content blocks have.
            A URL is sent by reference for an image, or when nothing is inline.
    """
    data_attr, mime_attr, resolve = _BLOCK_FIELDS[kind]
    mime = getattr(block, mime_attr)
    url = block.url
    by_reference = getattr(block, data_attr) is None and block.path is None
    if url is not None and (kind == "image" or by_reference):
        part = media_part(kind, url=str(url), mime_type=mime)  # sent by reference
    elif kind == "file":
        data = block._get_b64_string(block.resolve_document())
        part = media_part(kind, data=data, mime_type=mime or block._guess_mimetype())
    else:
        data = getattr(block, resolve)(as_base64=True).read().decode()
        part = media_part(kind, data=data, mime_type=mime)
    if kind == "image" and getattr(block, "detail", None):
        part["image_url"]["detail"] = block.detail
    return part


def response_usage_counts(raw_response: Any) -> dict[str, Any]:
    """Normalised usage of an SDK response (object or dict) under OpenAI's count names.

    Vertex's completion count excludes thinking (`_messages.normalize_usage`).
    """
    usage = getattr(raw_response, "usage", None)
    if usage is None and isinstance(raw_response, Mapping):
        usage = raw_response.get("usage")
    return usage_counts(normalize_usage(usage))


class FinishingCall(SdkCall):
    """An `SdkCall` that says what its response held, for the framework to attach."""

    def response_extras(self) -> dict[str, Any]:
        """Keys for the response's own `additional_kwargs`: location, thoughts."""
        extras: dict[str, Any] = {}
        if self.location is not None:
            extras[LOCATION_KEY] = self.location
        if self.parsed is not None and self.parsed.thoughts:
            extras["thinking"] = self.parsed.thoughts
        return extras

    def message_extras(self) -> dict[str, Any]:
        """Signature keys for the message's `additional_kwargs` (response or chunk)."""
        if self.parsed is not None:
            parsed = self.parsed
            return signature_fields(parsed.tool_call_signatures, parsed.message_signature)
        if self.chunks is not None:
            acc = self.chunks.acc
            return signature_fields(acc.signatures, acc.message_signature)
        return {}

    @property
    def reasoning_tokens(self) -> int | None:
        """The thinking token count, when the response had thoughts and usage says it."""
        if self.parsed is None or not self.parsed.thoughts:
            return None
        return (self.usage or {}).get("reasoning_tokens")

    @property
    def images(self) -> list[dict[str, Any]]:
        """Images the response returned (`message.audio`), as {data, mime_type}."""
        return list(self.parsed.images) if self.parsed is not None else []
