"""Typed Gemini extras and `prepare_chat_request()`, the one place a `create()` call is shaped.

Gemini-specific settings travel in the request JSON as `"extra_body": {"google": {...}}`
(https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview). The openai SDK
merges its `extra_body` argument into the top level of
the JSON, so the SDK argument must be double-wrapped:
`create(..., extra_body={"extra_body": {"google": {...}}})`. Vertex silently ignores
unknown top-level keys, so a `safety_settings` that ends up at the top level (LangChain
`model_kwargs`, LlamaIndex `additional_kwargs`) is lost without an error; this module
moves every such key to the one canonical place.

Precedence when the same Google key is given several times (lowest first):

1. `VertexRequestSettings` (the model object's typed fields);
2. the `extra_body` forms in the params, in this order: Google keys put directly in
   `extra_body`, `extra_body["google"]` (single-wrapped by mistake), Google keys put
   directly in `extra_body["extra_body"]`, `extra_body["extra_body"]["google"]` (the
   documented form);
3. a top-level `google` dict in the params (Vertex also accepts that form, docs/gemini-extras.md);
4. Google keys at the top level of the params (per-call kwargs / model_kwargs).

The framework classes pass params in which call values already override instance
values; `prepare_chat_request` only has to rank explicit params above `settings`.
Dict values merge deeply (e.g. `thinking_config` keys from different levels combine).
"""

from __future__ import annotations

import copy
import difflib
import re
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypedDict

from vertex_openai._constants import (
    DEFAULT_ENDPOINT_ID,
    DEFAULT_LOCATION,
    DEFAULT_THOUGHT_TAG_MARKER,
    THOUGHTS_WIRE_KEY,
)
from vertex_openai._errors import VertexConfigError
from vertex_openai._messages import _is_map, prepare_wire_messages, strip_signatures
from vertex_openai._models import ModelInfo, is_self_deployed, model_info, normalize_model_id
from vertex_openai._schema import (
    nesting_error,
    sanitize_response_schema,
    sanitize_tool_schema,
)
from vertex_openai._thoughts import validate_marker

__all__ = [
    "GOOGLE_FIELDS",
    "GOOGLE_KEYS",
    "HARM_CATEGORIES",
    "HARM_THRESHOLDS",
    "REASONING_EFFORTS",
    "SHARED_REQUEST_TYPES",
    "THINKING_LEVELS",
    "SafetySetting",
    "VertexRequestSettings",
    "check_chat_api_options",
    "deep_merge",
    "effective_thought_marker",
    "google_fields_from_model_kwargs",
    "normalize_reasoning_effort",
    "normalize_safety_settings",
    "normalize_thinking_config",
    "prepare_chat_request",
    "search_tool_options",
]

HARM_CATEGORIES = (
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_CIVIC_INTEGRITY",
    "HARM_CATEGORY_IMAGE_HATE",
    "HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT",
    "HARM_CATEGORY_IMAGE_HARASSMENT",
    "HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_JAILBREAK",
)
"""Accepted `safety_settings` categories (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview,
plus Vertex's image and jailbreak categories). `HARM_CATEGORY_UNSPECIFIED` is deliberately not
accepted."""

HARM_THRESHOLDS = (
    "BLOCK_LOW_AND_ABOVE",
    "BLOCK_MEDIUM_AND_ABOVE",
    "BLOCK_ONLY_HIGH",
    "BLOCK_NONE",
    "OFF",
)
"""Accepted `safety_settings` thresholds (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview)."""

HARM_BLOCK_METHODS = ("SEVERITY", "PROBABILITY")
"""Optional `method` of a Vertex safety setting."""

THINKING_LEVELS = ("minimal", "low", "medium", "high")
"""Gemini 3 `thinking_config.thinking_level` values (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview)."""

REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "max")
"""`reasoning_effort` values known at all; which a model takes is `ModelInfo.reasoning_efforts`
(`none` is turned into `thinking_budget: 0` where thinking can be off)."""

GOOGLE_KEYS = frozenset(
    {
        "safety_settings",
        "cached_content",
        "thinking_config",
        "thought_tag_marker",
        "stream_function_call_arguments",
        "media_resolution",
        "model_safety_settings",
    }
)
"""`extra_body.google` fields (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview)
that are moved there from wherever they were put. `google.tools` (native Gemini tools) is kept when
given inside a `google` dict
but never taken from the top level, where `tools` means OpenAI tools."""

_THINKING_KEYS = {
    "include_thoughts": "include_thoughts",
    "includeThoughts": "include_thoughts",
    "thinking_budget": "thinking_budget",
    "thinkingBudget": "thinking_budget",
    "thinking_level": "thinking_level",
    "thinkingLevel": "thinking_level",
}
_SAFETY_KEYS = {"category": "category", "threshold": "threshold", "method": "method"}


class SafetySetting(TypedDict, total=False):
    """One Gemini safety setting: `{"category": ..., "threshold": ...}` (`method` optional)."""

    category: str
    threshold: str
    method: str


# --------------------------------------------------------------------------- helpers


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge two mappings recursively; `override` wins, nested mappings are merged.

    Args:
        base: Lower-precedence values (not mutated).
        override: Higher-precedence values (not mutated).

    Returns:
        A new dict. Lists and other values from `override` replace those in `base`.
    """
    out: dict[str, Any] = {k: _copied(v) for k, v in base.items()}
    for key, value in override.items():
        current = out.get(key)
        if _is_map(current) and _is_map(value):
            out[key] = deep_merge(current, value)
        else:
            out[key] = _copied(value)
    return out


# Values shared rather than deep-copied (immutable; deepcopy of each costs ~0.5 µs, and
# request kwargs are mostly these).
_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


def _copied(value: Any) -> Any:
    if type(value) in _IMMUTABLE:
        return value
    try:
        return copy.deepcopy(value)
    except RecursionError:
        # A tool schema nested hundreds of levels (the schema check refuses it with the
        # same message when it gets there first).
        raise nesting_error() from None


def _enum_text(value: Any) -> Any:
    if isinstance(value, Enum):
        value = value.value if isinstance(value.value, str) else value.name
    return value


def _listing(values: Sequence[str]) -> str:
    return ", ".join(values)


def _normalize_category(value: Any) -> str:
    text = _enum_text(value)
    if isinstance(text, str):
        upper = text.strip().upper()
        candidate = upper if upper.startswith("HARM_CATEGORY_") else f"HARM_CATEGORY_{upper}"
        if candidate in HARM_CATEGORIES:
            return candidate
    msg = (
        f"Unknown safety category {value!r}. Allowed categories: {_listing(HARM_CATEGORIES)} "
        "(the 'HARM_CATEGORY_' prefix may be omitted)."
    )
    raise VertexConfigError(msg)


def _normalize_threshold(value: Any) -> str:
    text = _enum_text(value)
    if isinstance(text, str):
        upper = text.strip().upper()
        candidate = upper if upper in HARM_THRESHOLDS else f"BLOCK_{upper}"
        if candidate in HARM_THRESHOLDS:
            return candidate
    msg = f"Unknown safety threshold {value!r}. Allowed thresholds: {_listing(HARM_THRESHOLDS)}."
    raise VertexConfigError(msg)


def _normalize_method(value: Any) -> str:
    text = _enum_text(value)
    if isinstance(text, str) and text.strip().upper() in HARM_BLOCK_METHODS:
        return text.strip().upper()
    msg = f"Unknown safety method {value!r}. Allowed methods: {_listing(HARM_BLOCK_METHODS)}."
    raise VertexConfigError(msg)


def _setting_items(item: Any) -> Mapping[str, Any]:
    if isinstance(item, Mapping):
        return item
    # Objects with attributes (google-genai `SafetySetting`, dataclasses).
    found = {k: getattr(item, k) for k in _SAFETY_KEYS if getattr(item, k, None) is not None}
    if "category" in found:
        return found
    msg = (
        f"Invalid safety setting {item!r}: expected {{'category': ..., 'threshold': ...}}, "
        "e.g. {'category': 'HARM_CATEGORY_DANGEROUS_CONTENT', 'threshold': 'BLOCK_ONLY_HIGH'}."
    )
    raise VertexConfigError(msg)


def normalize_safety_settings(value: Any) -> list[dict[str, str]] | None:
    """Validate safety settings and return them in wire form.

    Args:
        value: None; a list of `{"category", "threshold"[, "method"]}` dicts (or objects
            with those attributes); or a `{category: threshold}` mapping. Case and the
            `HARM_CATEGORY_` / `BLOCK_` prefixes are forgiving.

    Returns:
        A list of `{"category": ..., "threshold": ...}` dicts, or None for None.

    Raises:
        VertexConfigError: For unknown categories, thresholds or keys; the message lists
            the allowed values.
    """
    if value is None:
        return None
    if isinstance(value, Mapping) and not ({"category", "threshold"} & set(value)):
        items: list[Any] = [{"category": k, "threshold": v} for k, v in value.items()]
    elif isinstance(value, Mapping):
        items = [value]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        msg = (
            f"safety_settings must be a list of {{'category', 'threshold'}} dicts or a "
            f"{{category: threshold}} mapping, got {type(value).__name__}."
        )
        raise VertexConfigError(msg)
    out: list[dict[str, str]] = []
    for item in items:
        setting = _setting_items(item)
        unknown = sorted(set(setting) - set(_SAFETY_KEYS))
        if unknown:
            msg = f"Unknown safety setting key(s) {unknown}; allowed: category, threshold, method."
            raise VertexConfigError(msg)
        if "threshold" not in setting:
            msg = (
                f"Safety setting {dict(setting)!r} has no threshold. Allowed thresholds: "
                f"{_listing(HARM_THRESHOLDS)}."
            )
            raise VertexConfigError(msg)
        entry = {
            "category": _normalize_category(setting.get("category")),
            "threshold": _normalize_threshold(setting["threshold"]),
        }
        if setting.get("method") is not None:
            entry["method"] = _normalize_method(setting["method"])
        out.append(entry)
    return out


def normalize_thinking_config(value: Any) -> dict[str, Any] | None:
    """Validate a Gemini `thinking_config` and return it with snake_case keys.

    Args:
        value: None or a mapping with `include_thoughts` (bool), `thinking_budget` (int,
            -1 = dynamic, 0 = off where allowed) and/or `thinking_level`
            (minimal|low|medium|high, Gemini 3); camelCase keys are accepted.

    Returns:
        A new dict, or None for None.

    Raises:
        VertexConfigError: For unknown keys, wrong types, or both budget and level.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        dump = getattr(value, "model_dump", None)
        if not callable(dump):
            msg = (
                f"thinking_config must be a dict such as {{'include_thoughts': True, "
                f"'thinking_budget': 1024}}, got {type(value).__name__}."
            )
            raise VertexConfigError(msg)
        value = {k: v for k, v in dump().items() if v is not None}
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = _THINKING_KEYS.get(key)
        if name is None:
            msg = (
                f"Unknown thinking_config key {key!r}; allowed: include_thoughts, "
                "thinking_budget, thinking_level."
            )
            raise VertexConfigError(msg)
        if item is None:
            continue
        out[name] = item
    if "include_thoughts" in out and not isinstance(out["include_thoughts"], bool):
        got = out["include_thoughts"]
        msg = f"thinking_config.include_thoughts must be True or False, got {got!r}."
        raise VertexConfigError(msg)
    budget = out.get("thinking_budget")
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, int) or budget < -1
    ):
        msg = (
            f"thinking_config.thinking_budget must be an integer >= -1 (-1 = dynamic, 0 = off "
            f"where the model allows it), got {budget!r}."
        )
        raise VertexConfigError(msg)
    level = out.get("thinking_level")
    if level is not None:
        level_text = _enum_text(level)
        if not isinstance(level_text, str) or level_text.lower() not in THINKING_LEVELS:
            msg = (
                f"thinking_config.thinking_level must be one of {_listing(THINKING_LEVELS)}, "
                f"got {level!r}."
            )
            raise VertexConfigError(msg)
        out["thinking_level"] = level_text.lower()
    if budget is not None and level is not None:
        msg = (
            "thinking_config cannot set both thinking_budget and thinking_level (Vertex "
            "returns 400); use thinking_level for Gemini 3 and thinking_budget for Gemini 2.5."
        )
        raise VertexConfigError(msg)
    return out


def normalize_reasoning_effort(value: Any) -> str | None:
    """Validate a `reasoning_effort` value.

    Args:
        value: None or one of none|minimal|low|medium|high (case-insensitive).

    Returns:
        The lower-case value, or None.

    Raises:
        VertexConfigError: For any other value.
    """
    if value is None:
        return None
    text = _enum_text(value)
    if isinstance(text, str) and text.strip().lower() in REASONING_EFFORTS:
        return text.strip().lower()
    msg = (
        f"Invalid reasoning_effort {value!r}: use one of {_listing(REASONING_EFFORTS)} "
        "('none' turns thinking off where the model allows it)."
    )
    raise VertexConfigError(msg)


def _normalize_google(google: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(google)
    for key, normalize in (
        ("thinking_config", normalize_thinking_config),
        ("safety_settings", normalize_safety_settings),
    ):
        if key in out:
            value = normalize(out[key])
            if value is None:
                del out[key]  # nothing left to send
            else:
                out[key] = value
    marker = out.get("thought_tag_marker")
    if marker is None:
        out.pop("thought_tag_marker", None)
    else:
        validate_marker(marker)
    cached = out.get("cached_content")
    if cached is None:
        out.pop("cached_content", None)
    elif not isinstance(cached, str) or not cached:
        msg = (
            f"cached_content must be a cache resource name such as "
            f"'projects/P/locations/us-central1/cachedContents/123', got {cached!r}."
        )
        raise VertexConfigError(msg)
    return out


def _check_cached_content_location(
    google: Mapping[str, Any], location: str | None, fallback_locations: Sequence[str] = ()
) -> None:
    if google.get("cached_content") and fallback_locations:
        # A context cache lives in the location that created it
        # (https://cloud.google.com/vertex-ai/generative-ai/docs/context-cache/context-cache-overview):
        # a resend elsewhere would name a cache that does not exist there.
        msg = (
            f"cached_content={google['cached_content']!r} cannot be used with "
            f"fallback_locations={list(fallback_locations)!r}: a context cache exists only in "
            "its own location. Use a model object without fallback_locations for cached "
            "requests, or drop cached_content."
        )
        raise VertexConfigError(msg)
    # Context caching is regional only (https://github.com/GoogleCloudPlatform/generative-ai/blob/main/gemini/chat-completions/intro_chat_completions_api.ipynb).
    if google.get("cached_content") and (location or "").lower() == "global":
        msg = (
            "context caching is not available on the global endpoint; use a region such as "
            "us-central1 (location='us-central1') for requests with cached_content="
            f"{google['cached_content']!r}."
        )
        raise VertexConfigError(msg)


def _apply_reasoning_effort(
    effort: str | None, google: dict[str, Any], info: ModelInfo | None
) -> str | None:
    """Map `reasoning_effort` for Gemini; returns the value to send (or None).

    `none` is not accepted by Vertex ("Expected 'reasoning_effort' to be one of
    'high','low','medium','minimal'", https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview);
    it becomes `thinking_config.thinking_budget = 0` where the model can turn thinking off.
    """
    if effort is None or info is None or not info.is_gemini:
        return effort
    if effort == "none":
        if info.can_disable_thinking:
            thinking = google.get("thinking_config", {})
            google["thinking_config"] = {**thinking, "thinking_budget": 0}
            return None
        if not info.supports_thinking:
            return None  # the model does not think at all; nothing to turn off
        raise VertexConfigError(_thinking_off_error(info, "reasoning_effort='none'"))
    if info.reasoning_efforts and effort not in info.reasoning_efforts:
        msg = (
            f"reasoning_effort={effort!r} is not supported by {info.model_id!r}; it accepts "
            f"{_listing(info.reasoning_efforts)}"
            + (" (or 'none')." if info.can_disable_thinking else ".")
        )
        raise VertexConfigError(msg)
    return effort


def _thinking_off_error(info: ModelInfo, knob: str) -> str:
    return (
        f"{knob} is not possible for {info.model_id!r}: thinking cannot be turned off on "
        "Gemini 2.5 Pro. Use reasoning_effort='low' (or a small thinking_budget), or a "
        "model that can switch thinking off such as 'google/gemini-2.5-flash'."
    )


def _check_thinking_config(thinking: Any, info: ModelInfo | None) -> None:
    """The model table's rule for `thinking_config` (the same as for reasoning_effort)."""
    if not _is_map(thinking) or info is None or not info.is_gemini:
        return
    budget = thinking.get("thinking_budget")
    if budget == 0 and info.supports_thinking and not info.can_disable_thinking:
        raise VertexConfigError(_thinking_off_error(info, "thinking_budget=0"))
    level = thinking.get("thinking_level")
    if isinstance(level, str) and info.reasoning_efforts and level not in info.reasoning_efforts:
        msg = (
            f"thinking_level={level!r} is not supported by {info.model_id!r} (Vertex: "
            f"'Thinking level is unsupported: THINKING_LEVEL_{level.upper()}'); use one of "
            f"{_listing([e for e in info.reasoning_efforts if e in THINKING_LEVELS])}."
        )
        raise VertexConfigError(msg)


SHARED_REQUEST_TYPES = ("priority",)
"""Documented values of `X-Vertex-AI-LLM-Shared-Request-Type` (Priority pay-as-you-go,
https://cloud.google.com/vertex-ai/generative-ai/docs/priority-paygo)."""

SHARED_REQUEST_TYPE_HEADER = "X-Vertex-AI-LLM-Shared-Request-Type"


def check_shared_request_type(value: Any, location: str | None) -> str | None:
    """Validate `shared_request_type` (Priority pay-as-you-go) for a location.

    Raises:
        VertexConfigError: for an undocumented value, or a location other than `global`
            (Google serves Priority PayGo on the global endpoint only).
    """
    if value is None:
        return None
    if value not in SHARED_REQUEST_TYPES:
        msg = (
            f"shared_request_type must be one of {_listing(SHARED_REQUEST_TYPES)} "
            f"(or None), got {value!r}."
        )
        raise VertexConfigError(msg)
    if (location or DEFAULT_LOCATION) != "global":
        msg = (
            f"shared_request_type={value!r} (Priority pay-as-you-go) is served on the global "
            f"endpoint only, not location={location!r}; use location='global' "
            "(https://cloud.google.com/vertex-ai/generative-ai/docs/priority-paygo)."
        )
        raise VertexConfigError(msg)
    return str(value)


# ChatVertexAI / ChatGoogleGenerativeAI keywords users bring along; they belong in
# `thinking_config` (the openai SDK refuses them as unexpected keyword arguments).
_THINKING_SHORTHANDS = ("include_thoughts", "thinking_budget", "thinking_level")
_FIXED_SAMPLING = ("temperature", "top_p", "top_k")
_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def _warn_once(key: tuple[str, str], message: str) -> None:
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(message, UserWarning, stacklevel=4)


def _thinking_shorthands(out: dict[str, Any]) -> dict[str, Any]:
    """Pop `include_thoughts=` / `thinking_budget=` / `thinking_level=` into a thinking_config.

    Anything else that looks like a misspelt `thinking_config` is an error naming it.
    """
    found = {key: out.pop(key) for key in _THINKING_SHORTHANDS if key in out}
    for key in list(out):
        lowered = key.lower().replace("-", "_")
        if key in ("thinking_config", "reasoning_effort") or key in GOOGLE_KEYS:
            continue
        if lowered.startswith(("thinking", "thinkng", "include_thought")) or (
            difflib.get_close_matches(lowered, ["thinking_config"], n=1, cutoff=0.8)
        ):
            msg = (
                f"Unknown argument {key!r}. Gemini thinking settings go in "
                "thinking_config={'include_thoughts': True, 'thinking_budget': 1024} (or "
                "'thinking_level' on Gemini 3); include_thoughts=, thinking_budget= and "
                "thinking_level= are also accepted on their own."
            )
            raise VertexConfigError(msg)
    return {k: v for k, v in found.items() if v is not None}


def _check_model_turn_last(messages: Any, info: ModelInfo | None) -> None:
    if info is None or not info.refuses_model_turn_last or not isinstance(messages, list):
        return
    last = messages[-1] if messages else None
    role = last.get("role") if _is_map(last) else getattr(last, "role", None)
    if role in ("assistant", "model"):
        # Vertex: 400 "Requests ending with a model turn are not supported."
        # (Zoo-Code-Org/Zoo-Code#1052, anomalyco/opencode#38924).
        msg = (
            f"{info.model_id!r} does not take a prefilled answer: Vertex refuses it with "
            "'Requests ending with a model turn are not supported.' End the messages with "
            "the user's message (or a tool result): drop the trailing assistant message or "
            "move its text into the user's message as an instruction."
        )
        raise VertexConfigError(msg)


def _drop_fixed_sampling(out: dict[str, Any], info: ModelInfo | None) -> None:
    if info is None or not info.fixed_sampling:
        return
    for key in _FIXED_SAMPLING:
        if out.pop(key, None) is not None:
            _warn_once(
                (info.model_id, key),
                f"{key} is not sent to {info.model_id!r}: its sampling is fixed and Google "
                f"deprecated {key} for it (Gemini 3.6 Flash, 3.5 Flash-Lite and later; "
                "https://ai.google.dev/gemini-api/docs/changelog). Remove it to silence this "
                "warning.",
            )


def _check_model_extras(google: Mapping[str, Any], info: ModelInfo | None) -> None:
    """Flag extras the model cannot take (per the model table)."""
    if info is None:
        return
    if not info.is_gemini:
        present = [key for key in GEMINI_ONLY_KEYS if key in google]
        if present:
            _warn_once(
                (info.model_id or "", ",".join(present)),
                f"{', '.join(present)} {'is' if len(present) == 1 else 'are'} Gemini-only and "
                f"not sent to {info.model_id!r} (a partner or self-deployed model). Its "
                "thinking comes its own way (reasoning_content, <think> text); use "
                "reasoning_effort where the model documents it.",
            )
        return
    thinking = google.get("thinking_config")
    if not _is_map(thinking):
        return
    if "thinking_level" in thinking and not info.is_gemini3:
        msg = (
            f"thinking_config.thinking_level is for Gemini 3 models; {info.model_id!r} takes "
            "thinking_budget instead (e.g. {'thinking_budget': 1024})."
        )
        raise VertexConfigError(msg)
    if not info.supports_thinking and (
        thinking.get("include_thoughts") or thinking.get("thinking_budget")
    ):
        msg = (
            f"{info.model_id!r} does not think, so thinking_config "
            f"{dict(thinking)!r} has no effect; drop it or use a thinking model such as "
            "'google/gemini-2.5-flash'."
        )
        raise VertexConfigError(msg)


_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)(?:;[\w=.+-]+)*;base64,", re.ASCII)


def _check_inline_media(messages: Any, info: ModelInfo | None) -> None:
    if info is None or not info.max_inline_image_bytes or not isinstance(messages, list):
        return
    limit = info.max_inline_image_bytes
    for i, message in enumerate(messages):
        content = message.get("content") if _is_map(message) else None
        for part in content if isinstance(content, list) else ():
            image = part.get("image_url") if _is_map(part) else None
            url = image.get("url") if _is_map(image) else image
            if not isinstance(url, str) or not url.startswith("data:image/"):
                continue
            head = _DATA_URL.match(url)
            if head is None:
                continue
            size = (len(url) - head.end()) * 3 // 4
            if size > limit:
                msg = (
                    f"messages[{i}] has an inline image of about {size / 1_048_576:.1f} MB; "
                    f"{info.model_id!r} takes at most {limit // 1_048_576} MB per inline "
                    "image (https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/"
                    "image-understanding). Upload it to Cloud Storage and pass its gs:// URI "
                    "(up to 30 MB), or make it smaller."
                )
                raise VertexConfigError(msg)


GEMINI_ONLY_KEYS = ("thinking_config", "thought_tag_marker")
"""`extra_body.google` fields sent only to Gemini models (per the model table)."""

_BOTH_THINKING_KNOBS = (
    "reasoning_effort and thinking_config cannot be used together (Vertex accepts only one of "
    "them); drop reasoning_effort and set thinking_config={{'thinking_budget': ...}} or "
    "thinking_level, or drop thinking_config. Got reasoning_effort={effort!r} and "
    "thinking_config={config!r}."
)


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class VertexRequestSettings:
    """Instance-level Gemini settings of a framework model object, validated on creation.

    Construction normalises and validates everything that can be checked without a
    request (unknown safety category/threshold, thinking_config keys, reasoning_effort
    value, reasoning_effort together with thinking_config, cached_content on `global`,
    `reasoning_effort="none"` on a model that cannot turn thinking off, model id
    spelling), so framework classes fail at construction time.

    Attributes:
        model: The model id (normalised on `openapi`); None if not known yet.
        endpoint_id: `openapi` or a self-deployed endpoint id.
        location: The Vertex location (`global`, `us-central1`, ...).
        thought_tag_marker: Tag name for thoughts in `content`.
        thinking_config: Gemini `ThinkingConfig` dict (snake_case).
        safety_settings: Safety settings (any form `normalize_safety_settings` accepts;
            stored as the wire list).
        cached_content: Context cache resource name (regional locations only).
        reasoning_effort: none|minimal|low|medium|high.
        extra_google: Other `extra_body.google` fields (e.g. `media_resolution`).
        shared_request_type: `"priority"` for Priority pay-as-you-go (sent as the
            `X-Vertex-AI-LLM-Shared-Request-Type` header; global endpoint only).
        fallback_locations: The connection's failover locations (none by default); with
            them, `cached_content` is refused (a cache is regional).
    """

    model: str | None = None
    endpoint_id: str = DEFAULT_ENDPOINT_ID
    location: str = DEFAULT_LOCATION
    thought_tag_marker: str | None = None
    thinking_config: Mapping[str, Any] | None = None
    safety_settings: Any = None
    cached_content: str | None = None
    reasoning_effort: str | None = None
    extra_google: Mapping[str, Any] = field(default_factory=dict)
    shared_request_type: str | None = None
    fallback_locations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Normalise the fields, then `validate()`."""
        setter = object.__setattr__
        if self.model:
            setter(self, "model", normalize_model_id(self.model, self.endpoint_id))
        setter(self, "thinking_config", normalize_thinking_config(self.thinking_config))
        setter(self, "safety_settings", normalize_safety_settings(self.safety_settings))
        setter(self, "reasoning_effort", normalize_reasoning_effort(self.reasoning_effort))
        if not isinstance(self.extra_google, Mapping):
            msg = (
                "extra_google must be a dict of extra_body.google fields, "
                f"got {self.extra_google!r}."
            )
            raise VertexConfigError(msg)
        setter(self, "extra_google", _normalize_google(self.extra_google))
        self.validate()

    @property
    def model_info(self) -> ModelInfo:
        """`model_info(self.model)`."""
        return model_info(self.model)

    def validate(self) -> None:
        """Check cross-field rules.

        Raises:
            VertexConfigError: If the settings cannot produce a valid request.
        """
        if self.thought_tag_marker is not None:
            validate_marker(self.thought_tag_marker)
        thinking = self.thinking_config or self.extra_google.get("thinking_config")
        if self.reasoning_effort is not None and thinking:
            msg = _BOTH_THINKING_KNOBS.format(effort=self.reasoning_effort, config=dict(thinking))
            raise VertexConfigError(msg)
        _check_cached_content_location(self.google_body(), self.location, self.fallback_locations)
        check_shared_request_type(self.shared_request_type, self.location)
        regional = [loc for loc in self.fallback_locations if loc != "global"]
        if self.shared_request_type is not None and regional:
            msg = (
                f"shared_request_type={self.shared_request_type!r} is served on the global "
                f"endpoint only, but fallback_locations includes {regional!r}; drop those "
                "fallback locations or shared_request_type."
            )
            raise VertexConfigError(msg)
        if self.model and is_self_deployed(self.endpoint_id):
            check_self_deployed_model(self.model, self.endpoint_id)
        elif self.model:
            normalize_model_id(self.model, self.endpoint_id)
            _apply_reasoning_effort(self.reasoning_effort, {}, self.model_info)
            _check_thinking_config(self.google_body().get("thinking_config"), self.model_info)
            if self.model_info.is_gemini:
                _check_model_extras(self.google_body(), self.model_info)

    def google_body(self) -> dict[str, Any]:
        """The `extra_body.google` fields these settings contribute.

        Returns:
            A new dict (typed fields override `extra_google`); `reasoning_effort` is not
            included (it is a top-level field).
        """
        body = dict(self.extra_google)
        if self.thinking_config:
            body["thinking_config"] = deep_merge(
                body.get("thinking_config", {}), self.thinking_config
            )
        if self.safety_settings:
            body["safety_settings"] = list(self.safety_settings)
        if self.cached_content:
            body["cached_content"] = self.cached_content
        if self.thought_tag_marker:
            body["thought_tag_marker"] = self.thought_tag_marker
        return body


# --------------------------------------------------------------------------- request


def _pop_google_keys(container: dict[str, Any]) -> dict[str, Any]:
    """Remove and return the Google keys found directly in `container`."""
    found: dict[str, Any] = {}
    for key in list(container):
        if key in GOOGLE_KEYS:
            found[key] = container.pop(key)
    return found


def _as_mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        msg = f"{where} must be a dict, got {type(value).__name__}."
        raise VertexConfigError(msg)
    return dict(value)


_SEARCH_TOOL_TYPES = ("google_search", "web_search")
_SEARCH_TOOL_KEYS = ("google_search", "googleSearch", "web_search_options")


GOOGLE_FIELDS = ("safety_settings", "thinking_config", "thought_tag_marker", "cached_content")
"""Gemini extras that the framework classes also declare as fields."""


def google_fields_from_model_kwargs(values: Any) -> Any:
    """Constructor values with Gemini extras in `model_kwargs` moved to their fields.

    `model_kwargs={"safety_settings": ...}` is how existing LangChain apps pass extras;
    LangChain would move them with a "should be specified explicitly" warning. The rest of
    `model_kwargs` stays (`prepare_chat_request` moves Google keys out of the top level).

    Raises:
        ValueError: An extra given both as an argument and in `model_kwargs`.
    """
    if not isinstance(values, dict) or not isinstance(values.get("model_kwargs"), dict):
        return values
    extras = dict(values["model_kwargs"])
    moved = False
    for name in GOOGLE_FIELDS:
        if name not in extras:
            continue
        if values.get(name) is not None:
            msg = (
                f"{name} was given both as an argument and in model_kwargs; pass it once "
                f"(as {name}=...)."
            )
            raise ValueError(msg)
        values = {**values, name: extras.pop(name)}
        moved = True
    return {**values, "model_kwargs": extras} if moved else values


def check_chat_api_options(
    *, use_responses_api: Any, output_version: Any, n: int | None, streaming: bool
) -> None:
    """Options a Chat Completions parent allows that Vertex cannot serve.

    Raises:
        ValueError: The Responses API asked for, or `n` out of range.
    """
    if use_responses_api:
        msg = (
            "use_responses_api=True is not supported: Vertex AI serves only the Chat "
            "Completions API. Remove it (reasoning=... maps to reasoning_effort)."
        )
        raise ValueError(msg)
    if output_version == "responses/v1":
        msg = (
            "output_version='responses/v1' is not supported: Vertex AI serves only the "
            "Chat Completions API. Use output_version='v0' or 'v1'."
        )
        raise ValueError(msg)
    if n is not None and n < 1:
        msg = "n must be at least 1."
        raise ValueError(msg)
    if n is not None and n > 1 and streaming:
        msg = "n must be 1 when streaming."
        raise ValueError(msg)


def search_tool_options(tool: Any) -> dict[str, Any] | None:
    """The `web_search_options` a Google Search grounding tool stands for, else None.

    Grounding with Google Search is `web_search_options` on Vertex's Chat Completions API
    (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview). Accepted as
    tools: `{"google_search": {}}` (Gemini's own spelling, also `googleSearch`), `{"type":
    "google_search"}`, OpenAI's `{"type": "web_search"}`,
    and `{"web_search_options": {...}}`, whose options are kept. A function tool never is.
    """
    if not _is_map(tool) or "function" in tool:
        return None
    kind = tool.get("type")
    if kind in _SEARCH_TOOL_TYPES or (kind is None and any(k in tool for k in _SEARCH_TOOL_KEYS)):
        options = tool.get("web_search_options")
        return dict(options) if _is_map(options) else {}
    return None


def _prepare_tools(params: dict[str, Any]) -> None:
    tools = params.get("tools")
    if tools is None:
        return
    if not isinstance(tools, (list, tuple)):
        msg = f"tools must be a list, got {type(tools).__name__}."
        raise VertexConfigError(msg)
    kept: list[Any] = []
    search: dict[str, Any] | None = None
    for tool in tools:
        options = search_tool_options(tool)
        if options is not None:
            search = options
            continue
        if isinstance(tool, Mapping) and isinstance(tool.get("function"), Mapping):
            function = dict(tool["function"])
            parameters = function.get("parameters")
            if isinstance(parameters, Mapping):
                parameters = sanitize_tool_schema(parameters)
                # Vertex: "functionDeclaration parameters schema should be of type OBJECT" (https://github.com/BerriAI/litellm/issues/14330).
                if "type" not in parameters:
                    parameters = {"type": "object", "properties": {}, **parameters}
                function["parameters"] = parameters
            # `strict` stays: Vertex ignores it (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview),
            # and the openai SDK's `.parse()` (LangChain `bind_tools(..., response_format=...)`)
            # refuses
            # tools without `strict: true` before sending anything.
            kept.append({**tool, "function": function})
        else:
            kept.append(tool)
    if search is not None:
        given = params.get("web_search_options")  # the call's own options win
        params["web_search_options"] = dict(given) if _is_map(given) else search
    if kept:
        params["tools"] = kept
    else:
        params.pop("tools", None)
        params.pop("tool_choice", None)
        params.pop("parallel_tool_calls", None)


def _prepare_response_format(params: dict[str, Any]) -> None:
    fmt = params.get("response_format")
    if not _is_map(fmt) or fmt.get("type") != "json_schema":
        return
    spec = fmt.get("json_schema")
    if isinstance(spec, Mapping) and isinstance(spec.get("schema"), Mapping):
        params["response_format"] = {
            **fmt,
            "json_schema": {**spec, "schema": sanitize_response_schema(spec["schema"])},
        }


_MERGE_KEYS = frozenset({"extra_body", "google", *GOOGLE_KEYS})
_KNOWN_CREATE_ARGS = frozenset(
    {
        "messages",
        "model",
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "metadata",
        "modalities",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_retention",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
        "extra_headers",
        "extra_query",
        "extra_body",
        "timeout",
        "reasoning",
        "google",
        "top_k",
    }
)


def prepare_chat_request(
    params: Mapping[str, Any], settings: VertexRequestSettings | None = None
) -> dict[str, Any]:
    """Shape the kwargs of `client.chat.completions.create(**params)` for Vertex.

    Steps (the input is not mutated):

    1. Collect Google keys from the top level, a top-level `google` dict,
       `extra_body["google"]`, `extra_body["extra_body"]["google"]` and bare Google keys
       inside `extra_body` / `extra_body["extra_body"]`, and deep-merge them (see the
       module docstring for precedence) into `extra_body["extra_body"]["google"]`;
       other `extra_body` keys are kept.
    2. `reasoning={"effort": ...}` (LangChain Responses style) becomes `reasoning_effort`.
       A value validated against none|minimal|low|medium|high; `none` on Gemini becomes
       `thinking_config.thinking_budget = 0` where allowed, else an error. Both
       `reasoning_effort` and `thinking_config` given explicitly in params -> error; if one
       is in params and the other only in `settings`, the params one wins.
    3. `include_thoughts` without a marker -> `thought_tag_marker = "thought"`.
    4. `response_format` given as a class (pydantic; parsed inside the SDK) ->
       `include_thoughts` off and no marker, so the SDK parses plain JSON.
    5. Model id normalised; `n > 1` on Gemini 3 and `cached_content` on `global` rejected.
    6. Tool `parameters` and `response_format` json schemas sanitised.
    7. Messages converted by `prepare_wire_messages` (multimodal parts, sentinel
       signatures on Gemini 3).
    8. `{"google_search": {}}` / `{"type": "google_search"}` tools become
       `web_search_options: {}`; a given `web_search_options` passes through.
    9. `extra_body` is present in the result only when non-empty.

    Args:
        params: The create() kwargs the framework built (`model`, `messages`, `tools`,
            `tool_choice`, `response_format`, `stream`, `n`, `reasoning_effort`,
            `extra_body`, plus stray Google keys).
        settings: Instance-level settings (lowest precedence); None for defaults.

    Returns:
        New params for `create()`.

    Raises:
        VertexConfigError: For any input Vertex would reject or silently ignore; the
            message names the value and the fix.
    """
    settings = settings if settings is not None else VertexRequestSettings()
    out: dict[str, Any] = dict(params)
    messages_in = out.get("messages")
    if isinstance(messages_in, (list, tuple)) and not messages_in:
        msg = (
            "No messages to send: the message list is empty. Pass at least one message, "
            "e.g. [('user', 'Hello')] (Vertex answers an empty list with a generic 400)."
        )
        raise VertexConfigError(msg)
    shorthand: dict[str, Any] = {}
    if not _KNOWN_CREATE_ARGS.issuperset(out):
        shorthand = _thinking_shorthands(out)
        if shorthand:
            # ChatVertexAI-style keywords: the same fields, lowest precedence of the call.
            out["thinking_config"] = deep_merge(shorthand, out.get("thinking_config") or {})

    # 1. Collect Google keys, lowest precedence first (nothing to collect in the common
    #    request: skip the merges).
    explicit: dict[str, Any] = {}
    outer: dict[str, Any] = {}
    inner: dict[str, Any] = {}
    if not _MERGE_KEYS.isdisjoint(out):
        outer = _as_mapping(out.pop("extra_body", None), "extra_body")
        explicit = deep_merge(explicit, _pop_google_keys(outer))
        explicit = deep_merge(
            explicit, _as_mapping(outer.pop("google", None), "extra_body['google']")
        )
        inner = _as_mapping(outer.pop("extra_body", None), "extra_body['extra_body']")
        explicit = deep_merge(explicit, _pop_google_keys(inner))
        explicit = deep_merge(
            explicit, _as_mapping(inner.pop("google", None), "extra_body['extra_body']['google']")
        )
        explicit = deep_merge(explicit, _as_mapping(out.pop("google", None), "google"))
        explicit = deep_merge(explicit, _pop_google_keys(out))
        explicit = _normalize_google(explicit)

    # 2. reasoning_effort (params win over settings; both knobs in params is an error).
    reasoning = out.pop("reasoning", None)
    effort = normalize_reasoning_effort(out.pop("reasoning_effort", None))
    if effort is None and _is_map(reasoning):
        effort = normalize_reasoning_effort(reasoning.get("effort"))
    elif effort is None and isinstance(reasoning, str):
        effort = normalize_reasoning_effort(reasoning)
    if effort is not None and explicit.get("thinking_config"):
        msg = _BOTH_THINKING_KNOBS.format(effort=effort, config=explicit["thinking_config"])
        raise VertexConfigError(msg)
    base = settings.google_body()
    if effort is not None:
        base.pop("thinking_config", None)  # call-level effort replaces instance thinking_config
    elif explicit.get("thinking_config"):
        pass  # call-level thinking_config replaces the instance reasoning_effort
    else:
        effort = settings.reasoning_effort
    google = deep_merge(base, explicit)

    # 5. Model.
    endpoint_id = settings.endpoint_id
    model = out.get("model") or settings.model
    if is_self_deployed(endpoint_id):
        check_self_deployed_model(model, endpoint_id)
        out["model"] = model if model is not None else ""
        info: ModelInfo | None = model_info(model) if model else None
    else:
        normalized = normalize_model_id(model, endpoint_id)
        out["model"] = normalized
        info = model_info(normalized)
    effort = _apply_reasoning_effort(effort, google, info)
    if effort is not None:
        out["reasoning_effort"] = effort
    _check_thinking_config(google.get("thinking_config"), info)
    n = out.get("n")
    if info is not None and isinstance(n, int) and n > 1 and not info.supports_multiple_candidates:
        msg = (
            f"n={n} is not supported by {info.model_id!r}: Gemini 3 models return a single "
            "candidate ('Multiple candidates is not enabled for this model'). Use n=1 and "
            "send several requests instead."
        )
        raise VertexConfigError(msg)
    _check_cached_content_location(google, settings.location, settings.fallback_locations)
    _check_model_extras(google, info)
    _check_model_turn_last(out.get("messages"), info)
    _drop_fixed_sampling(out, info)
    _check_inline_media(out.get("messages"), info)
    shared = check_shared_request_type(settings.shared_request_type, settings.location)
    if shared is not None:
        headers = out.get("extra_headers")
        out["extra_headers"] = {
            **(dict(headers) if _is_map(headers) else {}),
            SHARED_REQUEST_TYPE_HEADER: shared,
        }

    gemini = info is not None and info.is_gemini
    if not gemini:
        # Gemini-only extras: nothing says partner (MaaS) or self-deployed models read them,
        # and their thoughts come their own way (reasoning_content, inline <think>).
        for key in GEMINI_ONLY_KEYS:
            google.pop(key, None)

    # 3./4. Thoughts and the SDK-side parser.
    thinking = google.get("thinking_config")
    if isinstance(out.get("response_format"), type):
        # The SDK's .parse() validates message.content as JSON itself; thought text (tagged
        # or not) would break it. Thinking still happens, the text is just not returned.
        if _is_map(thinking) and thinking.get("include_thoughts"):
            google["thinking_config"] = {**thinking, "include_thoughts": False}
        google.pop("thought_tag_marker", None)
    elif _is_map(thinking) and thinking.get("include_thoughts"):
        google.setdefault("thought_tag_marker", DEFAULT_THOUGHT_TAG_MARKER)

    # 6./8. Tools and schemas.
    _prepare_tools(out)
    _prepare_response_format(out)

    # 7. Messages.
    messages = out.get("messages")
    if isinstance(messages, (list, tuple)):
        marker = google.get("thought_tag_marker")
        out["messages"] = prepare_wire_messages(
            replay_thoughts(messages, marker if isinstance(marker, str) else None), info
        )
        if not gemini:
            out["messages"] = strip_signatures(out["messages"])

    # 9. Assemble extra_body.
    if google:
        inner["google"] = google
    if inner:
        outer["extra_body"] = inner
    if outer:
        out["extra_body"] = outer
    return out


_MANAGED_MODEL = re.compile(r"^(publishers/google/models/|models/)?(google/)?gemini-|-maas\Z")


def check_self_deployed_model(model: str | None, endpoint_id: str) -> None:
    """Reject a Google-managed model id on a self-deployed endpoint.

    Gemini and partner (MaaS) models are served only on the ``openapi`` endpoint; a
    self-deployed endpoint serves its own model and (vLLM) rejects other names.

    Raises:
        VertexConfigError: naming both fixes.
    """
    if model and _MANAGED_MODEL.search(model):
        msg = (
            f"Model {model!r} is a Google-managed model, served on the 'openapi' endpoint, not "
            f"on self-deployed endpoint {endpoint_id!r}. Drop `endpoint_id` to call {model!r}, "
            "or pass the model your endpoint serves (or no model at all)."
        )
        raise VertexConfigError(msg)


def replay_thoughts(messages: Sequence[Any], marker: str | None) -> list[Any]:
    """Fold earlier thoughts (``THOUGHTS_WIRE_KEY``) back into assistant content.

    Vertex documents the tagged form for history: with a ``thought_tag_marker`` on the
    request, "subsequent queries will strip the thought tags and mark the thoughts
    appropriately for context" (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview).
    Without a marker the thoughts would be read as answer text, so they are dropped. The private key
    never reaches the wire.
    """
    out: list[Any] = []
    for message in messages:
        if not _is_map(message) or THOUGHTS_WIRE_KEY not in message:
            out.append(message)
            continue
        wire = dict(message)
        thoughts = wire.pop(THOUGHTS_WIRE_KEY)
        if marker and isinstance(thoughts, str) and thoughts:
            tagged = f"<{marker}>{thoughts}</{marker}>"
            content = wire.get("content")
            if content is None or isinstance(content, str):
                wire["content"] = tagged + (content or "")
            elif isinstance(content, list):
                wire["content"] = [{"type": "text", "text": tagged}, *content]
        out.append(wire)
    return out


def effective_thought_marker(params: Mapping[str, Any]) -> str | None:
    """The `thought_tag_marker` a prepared request asked for (to parse its response).

    Args:
        params: The result of `prepare_chat_request`.

    Returns:
        The marker, or None when thoughts are not tagged.
    """
    outer = params.get("extra_body")
    inner = outer.get("extra_body") if _is_map(outer) else None
    google = inner.get("google") if _is_map(inner) else None
    marker = google.get("thought_tag_marker") if _is_map(google) else None
    return marker if isinstance(marker, str) and marker else None
