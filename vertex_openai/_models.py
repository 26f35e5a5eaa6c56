"""Model table: what a model id on Vertex can do, and how its id must be spelled.

Pure lookups, no I/O. The table is deliberately small: Gemini is matched by version
pattern (`gemini-2.5-*`, `gemini-3*`, ...); partner (MaaS) and self-deployed models fall
back to conservative defaults (128k context, function calling on).

Sources: model ids, https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/examples;
signature enforcement, https://cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures;
which models can switch thinking off, https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview;
n>1 on Gemini 3, https://github.com/googleapis/python-genai/issues/1723.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from vertex_openai._constants import DEFAULT_ENDPOINT_ID
from vertex_openai._errors import VertexConfigError

__all__ = [
    "DEFAULT_CONTEXT_WINDOW",
    "DEFAULT_MAX_OUTPUT_TOKENS",
    "ModelInfo",
    "is_self_deployed",
    "model_info",
    "model_profile",
    "normalize_model_id",
    "split_publisher",
]

DEFAULT_CONTEXT_WINDOW = 131_072
"""Context window assumed for models the table does not know (128k)."""

DEFAULT_MAX_OUTPUT_TOKENS = 8_192
"""Output limit assumed for models the table does not know."""

_GEMINI_CONTEXT = 1_048_576
_GEMINI_25_OUTPUT = 65_536

_GEMINI_VERSION = re.compile(r"^gemini-(\d+)(?:\.(\d+))?")
_LISTING_ID = re.compile(r"(?:^|/)publishers/([^/]+)/models/([^/]+)\Z")
_ENDPOINT_LIKE = re.compile(r"^(?:\d+|mg-endpoint-[0-9a-f-]+)\Z")

_FIX_HINT = (
    "use 'publisher/model', e.g. 'google/gemini-2.5-flash' or 'meta/llama-3.3-70b-instruct-maas'"
)


@dataclass(frozen=True)
class ModelInfo:
    """Capabilities of one model id, as far as the request shaping needs them.

    Attributes:
        model_id: The id the info was computed for (as given).
        publisher: Publisher prefix (`google`, `meta`, ...), or None when the id has none.
        context_window: Input context size in tokens.
        max_output_tokens: Output limit in tokens.
        is_gemini: A Gemini model (any version).
        is_gemini3: Gemini 3 or later (3, 3.1, 3.5, ...).
        enforces_signatures: Vertex rejects a current-turn function call without a
            thought signature (Gemini 3 except the `*-image*` models; https://cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures).
        supports_thinking: The model thinks at all (Gemini 2.5 and later).
        can_disable_thinking: Thinking can be switched off, with `thinking_budget: 0` or
            `reasoning_effort="none"` (one rule for both): 2.5 Flash and Flash-Lite [DOC];
            Gemini 3 on Vertex's OpenAI endpoint, where `thinking_budget: 0` is accepted on
            3.1 Pro and 3.5 Flash (observed, docs/gemini-extras.md); not 2.5 Pro, which only works
            in thinking mode (documented, https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview).
        reasoning_efforts: `reasoning_effort` values the model accepts on the wire
            (`none` is sent as `thinking_budget: 0` instead): `minimal`, `low`, `medium`,
            `high` (Vertex's error text); `max` from Gemini 3.7 on (Vertex's newer error
            text lists it); no `minimal` on Gemini 3 Pro models ("Thinking level is
            unsupported: THINKING_LEVEL_MINIMAL"; Gemini API table maps it to `low`).
            Empty: the table does not know (partner and self-deployed models), anything
            goes through.
        supports_function_calling: Tools can be bound.
        supports_multiple_candidates: `n > 1` is accepted (not on Gemini 3).
        fixed_sampling: `temperature`, `top_p` and `top_k` are deprecated and not sent
            (Gemini 3.6 Flash, 3.5 Flash-Lite and, per Google, the releases after them:
            https://ai.google.dev/gemini-api/docs/changelog, "What's new in Gemini 3.6").
        refuses_model_turn_last: Vertex refuses a request whose last message is the
            model's ("Requests ending with a model turn are not supported."; the same
            models as `fixed_sampling`).
        max_inline_image_bytes: Largest inline (base64) image per file, or None where the
            table does not know: 7 MB on current Gemini models
            (https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/image-understanding).
    """

    model_id: str
    publisher: str | None
    context_window: int = DEFAULT_CONTEXT_WINDOW
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    is_gemini: bool = False
    is_gemini3: bool = False
    enforces_signatures: bool = False
    supports_thinking: bool = False
    can_disable_thinking: bool = False
    supports_function_calling: bool = True
    supports_multiple_candidates: bool = True
    reasoning_efforts: tuple[str, ...] = ()
    fixed_sampling: bool = False
    refuses_model_turn_last: bool = False
    max_inline_image_bytes: int | None = None


MAX_INLINE_IMAGE_BYTES = 7 * 1024 * 1024
"""7 MB per inline image file on current Gemini models (Vertex "Image understanding";
30 MB from Cloud Storage)."""


def split_publisher(model_id: str) -> tuple[str | None, str]:
    """Split `publisher/name` (also `publishers/p/models/name` and `models/name`).

    Args:
        model_id: Any spelling of a model id.

    Returns:
        `(publisher or None, bare model name)`.
    """
    model_id = model_id.strip()
    listing = _LISTING_ID.search(model_id)
    if listing:
        return listing.group(1), listing.group(2)
    if model_id.startswith("models/"):
        model_id = model_id[len("models/") :]
    if "/" in model_id:
        publisher, _, name = model_id.partition("/")
        return publisher, name
    if model_id.startswith("gemini-"):
        return "google", model_id
    return None, model_id


def _gemini_info(model_id: str, publisher: str | None, name: str) -> ModelInfo:
    match = _GEMINI_VERSION.match(name)
    major = int(match.group(1)) if match else 0
    minor = int(match.group(2) or 0) if match else 0
    is_image = "-image" in name
    is_gemini3 = major >= 3
    thinks = (major, minor) >= (2, 5) and not is_image
    is_pro = "-pro" in name
    is_lite = "-flash-lite" in name
    # Sampling fixed / no prefill: 3.6 Flash, 3.5 Flash-Lite and every later release.
    new_rules = (major, minor) >= (3, 6) or (is_lite and (major, minor) >= (3, 5))
    if is_image:
        # Image-output models: small context, no function calling (model cards).
        context, output = (65_536, 32_768) if is_gemini3 else (32_768, 32_768)
    elif (major, minor) >= (2, 5):
        context, output = _GEMINI_CONTEXT, _GEMINI_25_OUTPUT
    elif major == 1 and is_pro:
        context, output = 2_097_152, 8_192
    else:
        context, output = _GEMINI_CONTEXT, 8_192
    return ModelInfo(
        model_id=model_id,
        publisher=publisher,
        context_window=context,
        max_output_tokens=output,
        is_gemini=True,
        is_gemini3=is_gemini3,
        enforces_signatures=is_gemini3 and not is_image,
        supports_thinking=thinks,
        can_disable_thinking=thinks and (is_gemini3 or not is_pro),
        supports_function_calling=not is_image,
        supports_multiple_candidates=not is_gemini3,
        reasoning_efforts=_gemini_efforts(major, minor, is_pro) if thinks else (),
        fixed_sampling=new_rules,
        refuses_model_turn_last=new_rules,
        max_inline_image_bytes=MAX_INLINE_IMAGE_BYTES if (major, minor) >= (2, 0) else None,
    )


def _gemini_efforts(major: int, minor: int, is_pro: bool) -> tuple[str, ...]:
    efforts = ["minimal", "low", "medium", "high"]
    if major >= 3 and is_pro:
        efforts.remove("minimal")
    if (major, minor) == (3, 0) and is_pro:
        # Gemini 3 Pro (preview) has only low and high: "Thinking level MEDIUM is not
        # supported for this model" (discuss.ai.google.dev/t/112648; medium came with 3.1).
        efforts.remove("medium")
    if (major, minor) >= (3, 7):
        efforts.append("max")
    return tuple(efforts)


# Known partner models; anything else gets the defaults.
_PARTNER_TABLE: tuple[tuple[str, int, int], ...] = (
    # (bare-name prefix, context window, max output tokens)
    ("llama-4-maverick", 524_288, 8_192),
    ("llama-4-scout", 1_310_720, 8_192),
    ("llama-3", 131_072, 8_192),
    ("gpt-oss", 131_072, 32_768),
    ("deepseek-r1", 163_840, 32_768),
    ("deepseek-v3", 163_840, 32_768),
    ("qwen3", 262_144, 32_768),
    ("kimi-k2", 262_144, 32_768),
    ("minimax-m2", 196_608, 32_768),
)


@lru_cache(maxsize=256)
def model_info(model_id: str | None) -> ModelInfo:
    """Look up what a model can do.

    Args:
        model_id: Any spelling (`google/gemini-2.5-flash`, `gemini-2.5-flash`,
            `publishers/google/models/gemini-2.5-flash`, `meta/llama-...-maas`), or None /
            "" for a self-deployed endpoint whose model is not named.

    Returns:
        A `ModelInfo`; unknown models get defaults (128k context, function calling on).
    """
    if not model_id:
        return ModelInfo(model_id=model_id or "", publisher=None)
    publisher, name = split_publisher(model_id)
    name = name.lower()
    if name.startswith("gemini-") and publisher in (None, "google"):
        return _gemini_info(model_id, publisher or "google", name)
    for prefix, context, output in _PARTNER_TABLE:
        if name.startswith(prefix):
            return ModelInfo(
                model_id=model_id,
                publisher=publisher,
                context_window=context,
                max_output_tokens=output,
            )
    return ModelInfo(model_id=model_id, publisher=publisher)


def is_self_deployed(endpoint_id: str | None) -> bool:
    """Whether `endpoint_id` names a self-deployed endpoint rather than `openapi`.

    Args:
        endpoint_id: The endpoint id from the configuration (None means `openapi`).

    Returns:
        True for numeric ids, `mg-endpoint-*` and any other non-`openapi` id.
    """
    return bool(endpoint_id) and endpoint_id != DEFAULT_ENDPOINT_ID


@lru_cache(maxsize=256)
def normalize_model_id(model: str | None, endpoint_id: str | None) -> str | None:
    """Spell a model id the way the endpoint expects it.

    On `openapi` (Gemini and MaaS) the id must be publisher-prefixed (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/examples):
    a bare `gemini-...` gets `google/`, listing-style ids (`publishers/google/models/...`,
    `models/...`) are shortened. On a self-deployed
    endpoint the container decides, so the model is optional and passed through (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/examples).

    Args:
        model: The model id the user gave (may be None or "" on a self-deployed endpoint).
        endpoint_id: `openapi` (or None, meaning `openapi`) or a self-deployed endpoint id.

    Returns:
        The id to send; on a self-deployed endpoint, `model` unchanged.

    Raises:
        VertexConfigError: On `openapi`, for an empty model or one without a publisher.
    """
    if is_self_deployed(endpoint_id):
        return model
    if model is None or not model.strip():
        msg = f"A model is required on the 'openapi' endpoint; {_FIX_HINT}."
        raise VertexConfigError(msg)
    stripped = model.strip()
    if _ENDPOINT_LIKE.match(stripped):
        msg = (
            f"Model {model!r} looks like an endpoint id. For a self-deployed endpoint pass "
            f"endpoint_id={stripped!r} (the model is then optional); on 'openapi' {_FIX_HINT}."
        )
        raise VertexConfigError(msg)
    publisher, name = split_publisher(stripped)
    if publisher is None or not name or not publisher:
        msg = (
            f"Model {model!r} has no publisher prefix, which the 'openapi' endpoint "
            f"requires; {_FIX_HINT}."
        )
        raise VertexConfigError(msg)
    return f"{publisher}/{name}"


# Model profile keys: the media every Gemini model takes in, and what comes with tools.
_GEMINI_MEDIA_INPUTS = (
    "image_inputs",
    "image_url_inputs",
    "pdf_inputs",
    "audio_inputs",
    "video_inputs",
)
_TOOL_FEATURES = ("tool_choice", "tool_call_streaming", "structured_output")


def model_profile(model_id: str | None) -> dict[str, Any]:
    """What a framework's model profile should say about a model, from this table.

    Keys follow LangChain's `ModelProfile` (a plain dict here: the core imports no
    framework). Only what the table knows is filled; a key left out means unknown (a
    self-deployed endpoint's model, or an unlisted partner model, gets little more than
    text in / text out).

    Args:
        model_id: Any spelling of a model id; None or "" for an unnamed self-deployed model.

    Returns:
        A new dict.
    """
    profile: dict[str, Any] = {"text_inputs": True, "text_outputs": True}
    if not model_id:
        return profile
    info = model_info(model_id)
    name = split_publisher(model_id)[1].lower()
    if info.is_gemini:
        reasons = info.supports_thinking
    elif any(name.startswith(prefix) for prefix, _, _ in _PARTNER_TABLE):
        reasons = name.startswith(("deepseek-r1", "gpt-oss", "kimi-k2-thinking"))
    else:
        return profile
    profile.update(
        max_input_tokens=info.context_window,
        max_output_tokens=info.max_output_tokens,
        tool_calling=info.supports_function_calling,
        reasoning_output=reasons,
    )
    if info.is_gemini:
        # Every Gemini takes media in; the image-output models take no tools.
        image_model = not info.supports_function_calling
        profile.update(dict.fromkeys(_GEMINI_MEDIA_INPUTS, True))
        profile.update(dict.fromkeys(_TOOL_FEATURES, not image_model))
        profile.update(
            image_outputs=image_model, audio_outputs=False, video_outputs=False, temperature=True
        )
    return profile
