"""POST .../chat/completions: validation (Vertex's texts), signatures, faults, dispatch."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import random
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from vertex_openai.emulator._errors import (
    GOOGLE_HEADERS,
    JSON_CT,
    google_error,
    json_response,
    list_error,
)
from vertex_openai.emulator._model import (
    EFFORT_BUDGETS,
    ModelInput,
    ModelOutput,
    count_tokens,
    current_turn,
    is_gemini3,
    is_thinking_model,
    run_model,
    text_of,
)
from vertex_openai.emulator._shapes import (
    GEMINI2,
    distinct_candidates,
    serving_kind,
    shape_body,
    shape_chunks,
    tool_call_ids,
)
from vertex_openai.emulator._state import EmulatorState, Fault, RecordedRequest, canonical_fault
from vertex_openai.emulator._wire import DONE, Rendered, completion_body, dumps, sse, stream_chunks

# Vertex accepts only this bypass value; the Gemini API's other one
# ("context_engineering_is_the_way_to_go") is rejected (pydantic/pydantic-ai #3881, [OBS]).
SIGNATURE_SENTINELS = ("skip_thought_signature_validator",)
SIGNATURE_DOC = "https://docs.cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures"
FUNCTION_CALLING_DOC = (
    "https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/function-calling"
)
MODEL_VERSIONS_DOC = "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions"
SAFETY_CATEGORIES = {
    "HARM_CATEGORY_UNSPECIFIED",
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
}
SAFETY_THRESHOLDS = {
    "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
    "BLOCK_LOW_AND_ABOVE",
    "BLOCK_MEDIUM_AND_ABOVE",
    "BLOCK_ONLY_HIGH",
    "BLOCK_NONE",
    "OFF",
}
STRICT_SCHEMA_FORBIDDEN = (
    "$ref",
    "$defs",
    "definitions",
    "additionalProperties",
    "const",
    "propertyNames",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "examples",
    "$schema",
    "patternProperties",
    "unevaluatedProperties",
    "$id",
    "$comment",
)
ROLES = {"system", "developer", "user", "assistant", "model", "tool", "function"}
PART_TYPES = {"text", "image_url", "input_audio", "file", "refusal"}
_DATA_URI = re.compile(r"^data:([\w.+-]+/[\w.+-]+)(?:;[\w=.+-]+)*;base64,(.*)$", re.DOTALL)
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class VertexError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("vertex error")
        self.response = response


def _bad(message: str, code: int = 400, status: str | None = None) -> VertexError:
    return VertexError(list_error(code, message, status))


def _snake(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {_CAMEL.sub("_", str(k)).lower(): _snake(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_snake(v) for v in obj]
    return obj


# -- thought signatures ------------------------------------------------------------------
def _mac(state: EmulatorState, nonce: bytes, model: str) -> bytes:
    data = b"emu-sig" + model.encode() + b"\x00" + nonce
    return hmac.new(state.signature_secret, data, hashlib.sha256).digest()[:20]


def make_signature(state: EmulatorState, model: str = "") -> str:
    """An opaque signature bound to the model that produced it (as Gemini's are)."""
    nonce = uuid.uuid4().bytes
    return base64.b64encode(b"\x0a\x24" + nonce + _mac(state, nonce, model)).decode()


def signature_check(state: EmulatorState, sig: str, model: str = "") -> str:
    """``"ok"``, ``"foreign"`` (a real signature of another model) or ``"corrupt"``."""
    if sig in SIGNATURE_SENTINELS:
        return "ok"
    try:
        raw = base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        return "corrupt"
    if len(raw) != 2 + 16 + 20 or raw[:2] != b"\x0a\x24":
        return "corrupt"
    nonce, mac = raw[2:18], raw[18:]
    if hmac.compare_digest(mac, _mac(state, nonce, model)):
        return "ok"
    if any(hmac.compare_digest(mac, _mac(state, nonce, other)) for other in state.config.models):
        return "foreign"
    return "corrupt"


def signature_valid(state: EmulatorState, sig: str, model: str = "") -> bool:
    return signature_check(state, sig, model) == "ok"


def _sig_of(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return None
    google = (
        (obj.get("extra_content") or {}).get("google")
        if isinstance(obj.get("extra_content"), dict)
        else None
    )
    if isinstance(google, dict) and google.get("thought_signature"):
        return str(google["thought_signature"])
    return None


def check_signatures(state: EmulatorState, model: str, messages: list[dict[str, Any]]) -> None:
    if not is_gemini3(model) or "image" in model:
        return
    for m in messages:
        sigs = [_sig_of(m)] + [_sig_of(tc) for tc in m.get("tool_calls") or []]
        content = m.get("content")
        for part in content if isinstance(content, list) else []:
            sigs.append(_sig_of(part))
        for sig in sigs:
            if sig is None:
                continue
            verdict = signature_check(state, sig, model)
            if verdict == "foreign":
                # Replayed to another model than produced it: Roo-Code #11716,
                # langchain-google #1570 (also seen for a re-encoded bypass value).
                raise _bad("Unable to submit request because Thought signature is not valid.")
            if verdict == "corrupt":
                raise _bad("Corrupted thought signature.")
    start, _ = current_turn(messages)
    block = 0
    prev_role = None
    for i, m in enumerate(messages):
        role = m.get("role")
        if role in ("system", "developer"):
            continue
        if not (role in ("tool", "function") and prev_role in ("tool", "function")):
            block += 1
        prev_role = role
        if i <= start or role not in ("assistant", "model"):
            continue
        calls = [tc for tc in m.get("tool_calls") or [] if isinstance(tc, dict)]
        if calls and _sig_of(calls[0]) is None:
            name = (calls[0].get("function") or {}).get("name", "")
            raise _bad(
                f"Unable to submit request because function call `{name}` in the {block}. "
                f"content block is missing a `thought_signature`. Learn more: {SIGNATURE_DOC}"
            )


# -- request validation ------------------------------------------------------------------
def _google_extras(body: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    top = body.get("google")
    if isinstance(top, dict):
        merged.update(_snake(top))
    eb = body.get("extra_body")
    if isinstance(eb, dict) and isinstance(eb.get("google"), dict):
        merged.update(_snake(eb["google"]))  # extra_body.google wins [INF]
    return merged


def _check_safety(settings: Any) -> None:
    if settings is None:
        return
    if not isinstance(settings, list):
        raise _bad("Invalid value at 'safety_settings', expected a list.")
    for i, s in enumerate(settings):
        s = s if isinstance(s, dict) else {}
        cat, thr = s.get("category"), s.get("threshold")
        if cat not in SAFETY_CATEGORIES:
            raise _bad(
                f"Invalid value at 'safety_settings[{i}].category' "
                f"(type.googleapis.com/google.cloud.aiplatform.v1.HarmCategory), {json.dumps(cat)}"
            )
        if thr not in SAFETY_THRESHOLDS:
            raise _bad(
                f"Invalid value at 'safety_settings[{i}].threshold' (type.googleapis.com/"
                f"google.cloud.aiplatform.v1.SafetySetting.HarmBlockThreshold), {json.dumps(thr)}"
            )


def _strict_walk(schema: Any, path: str) -> None:
    if not isinstance(schema, dict):
        return
    for key in schema:
        if key in STRICT_SCHEMA_FORBIDDEN:
            raise _bad(
                f"Invalid JSON payload received. Unknown name {json.dumps(key)} at "
                f"'{path}': Cannot find field."
            )
    props = schema.get("properties")
    if isinstance(props, dict):
        for i, sub in enumerate(props.values()):
            _strict_walk(sub, f"{path}.properties[{i}].value")
    if "items" in schema:
        _strict_walk(schema["items"], f"{path}.items")
    for key in ("anyOf", "oneOf", "allOf"):
        for i, sub in enumerate(schema.get(key) or []):
            _strict_walk(sub, f"{path}.{key[0].lower()}{key[1:]}[{i}]")


def _check_tools(tools: Any, strict: bool) -> list[dict[str, Any]]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise _bad("Invalid value at 'tools', expected a list.")
    fns = [t for t in tools if isinstance(t, dict)]
    for i, tool in enumerate(fns):
        fn = tool.get("function")
        if tool.get("type", "function") != "function" or not isinstance(fn, dict):
            continue
        name = fn.get("name")
        if not name:
            raise _bad(f"Invalid function declaration at 'tools[{i}]': function name is required.")
        params = fn.get("parameters")
        if params is None:
            continue
        typ = params.get("type") if isinstance(params, dict) else None
        if isinstance(params, dict) and typ is None and "$ref" in params:
            typ = "object"
        if str(typ).lower() != "object":
            raise _bad(
                f"Unable to submit request because `{name}` functionDeclaration parameters "
                f"schema should be of type OBJECT. Learn more: {FUNCTION_CALLING_DOC}"
            )
        if strict:
            _strict_walk(params, f"tools[0].function_declarations[{i}].parameters")
    return fns


def _describe_url(url: str, what: str) -> str:
    m = _DATA_URI.match(url)
    if url.startswith("data:"):
        if not m:
            raise _bad(f"Invalid {what} data URI: expected data:<MIME>;base64,<DATA>.")
        try:
            base64.b64decode(m.group(2), validate=True)
        except (binascii.Error, ValueError):
            raise _bad(f"Invalid base64 data in the {what} data URI.") from None
        return m.group(1)
    if url.startswith("gs://") or url.startswith(("http://", "https://")):
        ext = url.rsplit(".", 1)[-1].lower() if "." in url.rsplit("/", 1)[-1] else ""
        mime = {
            "png": "image/png",
            "jpg": "image/jpeg",
            "jpeg": "image/jpeg",
            "gif": "image/gif",
            "webp": "image/webp",
            "pdf": "application/pdf",
            "mp4": "video/mp4",
            "mp3": "audio/mp3",
            "wav": "audio/wav",
        }.get(ext, "image/*")
        return f"{mime}, {url}"
    raise _bad(f"Invalid {what}: unsupported URL scheme in {url[:40]!r}.")


def _check_messages(messages: Any, gemini3: bool) -> list[str]:
    if not isinstance(messages, list) or not messages:
        raise _bad("Request contains an invalid argument.")
    parts_seen: list[str] = []
    details: set[str] = set()
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            role = m.get("role") if isinstance(m, dict) else None
            raise _bad(f"Invalid role {json.dumps(role)} in messages[{i}].")
        content = m.get("content")
        if isinstance(content, list):
            for part in content:
                if not isinstance(part, dict):
                    continue
                ptype = part.get("type")
                if ptype not in PART_TYPES:
                    raise _bad(f"Invalid content part type {json.dumps(ptype)} in messages[{i}].")
                if ptype == "image_url":
                    iu = part.get("image_url")
                    url = iu.get("url") if isinstance(iu, dict) else iu
                    if isinstance(iu, dict) and iu.get("detail"):
                        details.add(str(iu["detail"]))
                    if not isinstance(url, str) or not url:
                        raise _bad(f"Missing image_url.url in messages[{i}].")
                    desc = _describe_url(url, "image_url")
                    kind = "image" if desc.startswith("image") else desc.split("/")[0]
                    if desc.startswith("application/pdf"):
                        kind = "pdf"
                    parts_seen.append(f"{kind} ({desc.split(',')[0]})")
                elif ptype == "input_audio":
                    ia = part.get("input_audio")
                    if not isinstance(ia, dict) or not ia.get("data") or not ia.get("format"):
                        raise _bad(f"input_audio needs `data` and `format` in messages[{i}].")
                    fmt = str(ia["format"])
                    mime = fmt if "/" in fmt else f"audio/{fmt}"
                    kind = "pdf" if mime == "application/pdf" else mime.split("/")[0]
                    parts_seen.append(f"{kind} ({mime})")
                elif ptype == "file":
                    fobj = part.get("file")
                    f: dict[str, Any] = fobj if isinstance(fobj, dict) else {}
                    data = str(f.get("file_data") or f.get("file_id") or "")
                    mime = (
                        _describe_url(data, "file").split(",")[0]
                        if data.startswith("data:")
                        else "application/octet-stream"
                    )
                    parts_seen.append(f"file ({mime})")
    if len(details) > 1 and not gemini3:
        raise _bad("Passing multiple detail types in one request is not supported.")
    return parts_seen


def _version(model: str) -> tuple[int, int]:
    m = re.match(r"gemini-(\d+)(?:\.(\d+))?", model.split("/")[-1])
    return (int(m.group(1)), int(m.group(2) or 0)) if m else (0, 0)


def _levels(model: str) -> list[str]:
    """Thinking levels a Gemini model takes (as reasoning_effort or thinking_level)."""
    levels = ["high", "low", "medium", "minimal"]
    if _version(model) >= (3, 7):
        levels.insert(2, "max")  # newer error text: 'high', 'low', 'max', 'medium', 'minimal'
    return levels


def _minimal_unsupported(model: str, cfg: Any) -> bool:
    # "Thinking level is unsupported: THINKING_LEVEL_MINIMAL" on some models [OBS]; which
    # ones is [INF] (EmulatorConfig.minimal_unsupported_on): by default Gemini 3 Pro, where
    # the Gemini API maps minimal to low.
    name = model.split("/")[-1]
    return is_gemini3(model) and any(part in name for part in cfg.minimal_unsupported_on)


def _check_effort(model: str, effort: Any, cfg: Any) -> None:
    levels = _levels(model)
    flash25 = model.startswith("google/gemini-2.5-flash")
    if effort not in levels and not (effort == "none" and flash25):
        if _version(model) >= (3, 7):
            listed = ", ".join(f"'{a}'" for a in levels)
            raise _bad(f"Expected 'reasoning_effort' to be one of: {listed}; found '{effort}'.")
        listed = ",".join(f"'{a}'" for a in levels)
        raise _bad(f"Expected 'reasoning_effort' to be one of: {listed}")
    if effort == "minimal" and _minimal_unsupported(model, cfg):
        raise _bad("Thinking level is unsupported: THINKING_LEVEL_MINIMAL")
    if effort == "medium" and _medium_unsupported(model, cfg):
        raise _bad("Thinking level MEDIUM is not supported for this model")


def _medium_unsupported(model: str, cfg: Any) -> bool:
    return any(part in model.split("/")[-1] for part in cfg.medium_unsupported_on)


def new_gemini_rules(model: str) -> bool:
    """Gemini 3.6 Flash, 3.5 Flash-Lite and later: no prefill, fixed sampling."""
    name = model.split("/")[-1]
    version = _version(model)
    return version >= (3, 6) or ("-flash-lite" in name and version >= (3, 5))


# Inline (base64) image data per file: 7 MB on current Gemini models (Vertex "Image
# understanding"); from Cloud Storage 30 MB.
INLINE_IMAGE_LIMIT = 7 * 1024 * 1024


def _check_inline_sizes(messages: list[Any]) -> None:
    for m in messages:
        content = m.get("content") if isinstance(m, dict) else None
        for part in content if isinstance(content, list) else []:
            iu = part.get("image_url") if isinstance(part, dict) else None
            url = iu.get("url") if isinstance(iu, dict) else iu
            match = _DATA_URI.match(url) if isinstance(url, str) else None
            if match and match.group(1).startswith("image/"):
                size = len(match.group(2)) * 3 // 4
                if size > INLINE_IMAGE_LIMIT:
                    # [INF] wording; the limit is documented.
                    raise _bad(
                        f"The inline image data is {size} bytes, larger than the maximum of "
                        f"{INLINE_IMAGE_LIMIT} bytes. Use a Cloud Storage URI instead."
                    )


def _check_thinking(model: str, thinking: Any, cfg: Any) -> None:
    if not isinstance(thinking, dict):
        return
    level = str(thinking.get("thinking_level", "")).lower()
    if level == "minimal" and _minimal_unsupported(model, cfg):
        raise _bad("Thinking level is unsupported: THINKING_LEVEL_MINIMAL")
    if level == "medium" and _medium_unsupported(model, cfg):
        raise _bad("Thinking level MEDIUM is not supported for this model")
    pro25 = model.startswith("google/gemini-2.5-pro")
    if pro25 and cfg.reject_thinking_off_on_25_pro and thinking.get("thinking_budget") == 0:
        raise _bad("Budget 0 is invalid. This model only works in thinking mode.")


# usageMetadata.trafficType for the x-vertex-ai-llm-shared-request-type header's values.
_SHARED_TRAFFIC = {"priority": "ON_DEMAND_PRIORITY", "flex": "ON_DEMAND_FLEX"}


def _traffic_type(request: Request, default: str) -> str:
    if request.headers.get("x-vertex-ai-llm-request-type", "").lower() == "dedicated":
        return "PROVISIONED_THROUGHPUT"
    shared = request.headers.get("x-vertex-ai-llm-shared-request-type", "").lower()
    return _SHARED_TRAFFIC.get(shared, default)


def _prompt_text(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> str:
    text = " ".join(text_of(m.get("content")) for m in messages)
    text += " ".join(
        json.dumps((tc.get("function") or {}), ensure_ascii=False)
        for m in messages
        for tc in (m.get("tool_calls") or [])
        if isinstance(tc, dict)
    )
    if tools:
        text += json.dumps(tools, ensure_ascii=False)
    return text


def prepare(
    state: EmulatorState, request: Request, body: Any
) -> tuple[ModelInput, dict[str, Any], str]:
    """Validate the body; return (model input, google extras, echoed model)."""
    cfg = state.config
    if not isinstance(body, dict):
        raise _bad("Invalid JSON payload received. Expected an object.")
    p = request.path_params
    endpoint = p["endpoint"]
    location = p["location"]
    g = _google_extras(body)
    model = body.get("model")
    if endpoint == "openapi":
        if not isinstance(model, str) or not model:
            raise _bad("Model is required.")
        if "/" not in model:
            # [INF] Vertex wants the publisher prefix on the openapi endpoint.
            raise _bad(
                f"Invalid model `{model}`: use the `publisher/model` form, for example "
                f"`google/{model}`."
            )
        only = cfg.model_locations.get(model)
        # Previews and the newest models are served in few locations; elsewhere the
        # model "was not found" as an unknown one is (BerriAI/litellm#37989: 3.7 Flash in
        # us-central1).
        if model not in cfg.models or (only is not None and location not in only):
            publisher, _, name = model.partition("/")
            raise _bad(
                f"Publisher Model `projects/{cfg.project_number}/locations/{location}/"
                f"publishers/{publisher}/models/{name}` was not found or your project does not "
                "have access to it. Please ensure you are using a valid model version. For more "
                f"information, see: {MODEL_VERSIONS_DOC}",
                404,
                "NOT_FOUND",
            )
        echoed = model
    else:
        served = cfg.self_deployed_endpoints.get(endpoint)
        if served is None and endpoint not in cfg.dedicated_endpoints:
            raise VertexError(
                google_error(
                    404,
                    f"Endpoint `projects/{cfg.project_number}/locations/{location}/endpoints/"
                    f"{endpoint}` not found.",
                    "NOT_FOUND",
                )
            )
        echoed = served or "emulated-model"
    google_model = endpoint == "openapi" and echoed.startswith("google/")
    gemini3 = google_model and is_gemini3(echoed)

    # known params with bad values
    effort = body.get("reasoning_effort")
    thinking = g.get("thinking_config")
    if effort is not None and google_model:
        _check_effort(echoed, effort, state.config)
        if thinking is not None:
            raise _bad(
                "Only one of `reasoning_effort` or `extra_body.google.thinking_config` may be "
                "specified."
            )
    if thinking is not None and not isinstance(thinking, dict):
        raise _bad("Invalid value at 'thinking_config', expected an object.")
    thinking = thinking or {}
    if "thinking_level" in thinking and "thinking_budget" in thinking:
        raise _bad("You cannot use both thinking_level and thinking_budget in the same request.")
    if google_model:
        _check_thinking(echoed, thinking, state.config)
    _check_safety(g.get("safety_settings"))
    if g.get("cached_content") and location == "global":
        # [INF] wording; the fact: context caching is not available on global.
        raise _bad(
            "Cached content is not supported in the global location. Use a regional endpoint, "
            "for example us-central1."
        )
    n = body.get("n")
    if n is not None and (not isinstance(n, int) or n < 1):
        raise _bad("Invalid value for `n`: it must be a positive integer.")
    if gemini3 and isinstance(n, int) and n > 1:
        raise _bad("Multiple candidates is not enabled for this model.")
    tools = _check_tools(body.get("tools"), cfg.strict_tool_schema)
    if not tools and isinstance(body.get("functions"), list):
        tools = [
            {"type": "function", "function": f} for f in body["functions"] if isinstance(f, dict)
        ]
        _check_tools(tools, cfg.strict_tool_schema)
    messages = body.get("messages")
    parts_seen = _check_messages(messages, gemini3)
    assert isinstance(messages, list)
    if google_model and new_gemini_rules(echoed):
        last = messages[-1]
        if isinstance(last, dict) and last.get("role") in ("assistant", "model"):
            # Zoo-Code-Org/Zoo-Code#1052, anomalyco/opencode#38924 (Gemini 3.6 Flash).
            raise _bad("Requests ending with a model turn are not supported.")
        sent = [k for k in ("temperature", "top_p", "top_k") if body.get(k) is not None]
        if sent and cfg.fixed_sampling_refusal:
            raise _bad(f"`{sent[0]}` is not supported for this model.")
    _check_inline_sizes(messages)
    messages = [{**m, "role": "assistant"} if m.get("role") == "model" else m for m in messages]
    if google_model:
        check_signatures(state, echoed, messages)

    # thinking budget
    budget: int | None = None
    if not google_model:
        budget = 0
    elif "thinking_budget" in thinking:
        try:
            budget = int(thinking["thinking_budget"])
        except (TypeError, ValueError):
            raise _bad("Invalid value at 'thinking_config.thinking_budget'.") from None
    elif "thinking_level" in thinking:
        level = str(thinking["thinking_level"]).lower()
        if level not in EFFORT_BUDGETS or level == "none":
            raise _bad(f"Invalid value at 'thinking_config.thinking_level', {json.dumps(level)}")
        budget = EFFORT_BUDGETS[level]
    elif isinstance(effort, str):
        budget = EFFORT_BUDGETS.get(effort)
    if google_model and not is_thinking_model(echoed) and budget is None:
        budget = 0
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    stop = body.get("stop")
    stop_list = [stop] if isinstance(stop, str) else [str(s) for s in stop or []]
    rf = body.get("response_format")
    tool_choice = body.get("tool_choice", body.get("function_call"))
    inp = ModelInput(
        model=echoed,
        messages=messages,
        tools=tools,
        tool_choice=tool_choice,
        response_format=rf if isinstance(rf, dict) else None,
        web_search=body.get("web_search_options") is not None,
        thinking_budget=budget,
        include_thoughts=bool(thinking.get("include_thoughts")),
        max_tokens=int(max_tokens) if isinstance(max_tokens, int) else None,
        stop=stop_list,
        parts_seen=parts_seen,
        llama_guard=_llama_guard_on(endpoint, echoed, g, cfg.llama_guard_default),
    )
    return inp, g, echoed


def _llama_guard_on(endpoint: str, model: str, g: dict[str, Any], default: bool) -> bool:
    """Whether Llama Guard screens the request (MaaS Llama on ``openapi`` only)."""
    if endpoint != "openapi" or not model.startswith("meta/llama"):
        return False
    settings = g.get("model_safety_settings")
    if isinstance(settings, dict) and "enabled" in settings:
        return bool(settings["enabled"])
    return default


def context_window(state: EmulatorState, model: str) -> int | None:
    """The model's input token limit (a setting overrides the documented one)."""
    window = state.config.context_windows.get(model)
    if window is not None:
        return int(window)
    name = model.split("/")[-1]
    if not name.startswith("gemini-"):
        return None
    return 65_536 if "-image" in name and is_gemini3(model) else 1_048_576


def context_overflow(state: EmulatorState, model: str, tokens: int) -> Response | None:
    """Vertex's 400 for an input longer than the window (text: langchain-google #1952)."""
    window = context_window(state, model)
    if window is None or tokens <= window:
        return None
    return list_error(
        400,
        f"The input token count ({tokens}) exceeds the maximum number of tokens allowed "
        f"({window}).",
        "INVALID_ARGUMENT",
    )


# -- faults ------------------------------------------------------------------------------
def _header_fault(request: Request, state: EmulatorState) -> Fault | None:
    raw = request.headers.get("x-emulator-fault")
    if not raw:
        return None
    kind, *rest = [s.strip() for s in raw.split(";")]
    params: dict[str, Any] = {}
    for item in rest:
        if "=" in item:
            k, v = item.split("=", 1)
            params[k.strip()] = float(v) if re.fullmatch(r"-?\d+(\.\d+)?", v.strip()) else v
    try:
        return Fault(canonical_fault(kind), 1, params)
    except ValueError:
        return None


def _error_fault(kind: str) -> Response | None:
    if kind == "rate_limit":
        return list_error(
            429,
            "Resource exhausted. Please try again later. Please refer to "
            "https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more "
            "details.",
            "RESOURCE_EXHAUSTED",
        )
    if kind == "internal":
        return list_error(500, "Internal error encountered.", "INTERNAL")
    if kind == "unavailable":
        return list_error(503, "The service is currently unavailable.", "UNAVAILABLE")
    if kind == "permission_denied":
        return list_error(
            403,
            "Permission 'aiplatform.endpoints.predict' denied on resource "
            "'//aiplatform.googleapis.com/projects/-/locations/-/endpoints/openapi' (or it may "
            "not exist).",
            "PERMISSION_DENIED",
        )
    return None


def with_retry_after(response: Response, fault: Fault) -> Response:
    """Adds ``Retry-After`` when the fault asks for it (``location_behaviour``)."""
    seconds = fault.params.get("retry_after")
    if seconds is not None:
        response.headers["retry-after"] = str(seconds)
    return response


class _DroppedConnection(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside a response body to make uvicorn drop the connection."""


# -- handler -----------------------------------------------------------------------------
async def handle_chat(
    state: EmulatorState, request: Request, rec: RecordedRequest, body: Any, parse_error: bool
) -> Response:
    fault = (
        _header_fault(request, state)
        or state.location_fault(request.path_params["location"])
        or state.take_fault()
    )
    if fault is not None:
        rec.fault = fault.kind
        if fault.kind == "revoke":
            state.revoke_all_tokens()
            from vertex_openai.emulator._errors import unauthenticated_response

            return unauthenticated_response()
        if fault.kind == "token_outage":
            state.add_fault("token_outage", int(fault.params.get("count", 1)))
            fault = None
    if fault is not None:
        err = _error_fault(fault.kind)
        if err is not None:
            return with_retry_after(err, fault)
        if fault.kind == "stall" and "after_chunks" not in fault.params:
            await asyncio.sleep(float(fault.params.get("seconds", state.config.stall_seconds)))

    if parse_error:
        return list_error(400, "Invalid JSON payload received. Unexpected token.")
    try:
        inp, g, echoed = prepare(state, request, body)
    except VertexError as exc:
        return exc.response
    assert isinstance(body, dict)
    prompt_text = _prompt_text(inp.messages, inp.tools)
    overflow = context_overflow(state, echoed, count_tokens(prompt_text))
    if overflow is not None:
        return overflow
    out = run_model(inp, prompt_text)
    google_model = request.path_params["endpoint"] == "openapi" and echoed.startswith("google/")
    gemini3 = google_model and is_gemini3(echoed)
    cfg = state.config
    kind = serving_kind(request.path_params["endpoint"], echoed)
    rendered = Rendered(
        model=echoed,
        marker=str(g["thought_tag_marker"]) if g.get("thought_tag_marker") else None,
        thought_flag=cfg.thought_extra_content,
        tool_ids=tool_call_ids(
            kind, [tc.name for tc in out.tool_calls], cfg.gemini25_tool_call_id_is_name
        ),
        tool_signature=make_signature(state, echoed) if gemini3 and out.tool_calls else None,
        message_signature=(
            make_signature(state, echoed) if gemini3 and not out.tool_calls else None
        ),
        traffic_type=_traffic_type(request, cfg.traffic_type),
        n=int(body.get("n") or 1),
    )
    if not body.get("stream"):
        return _plain_response(out, rendered, fault, kind)
    rng = random.Random(f"{cfg.seed}:{dumps(body)}")
    chunks = list(
        stream_chunks(
            out,
            rendered,
            rng,
            cfg.chunk_size_min,
            cfg.chunk_size_max,
            fragment_tools=bool(g.get("stream_function_call_arguments")),
            index_quirk=cfg.stream_tool_index_quirk,
        )
    )
    if not cfg.stream_tool_call_index:
        chunks = _without_tool_index(chunks)
    chunks = shape_chunks(kind, chunks)
    return StreamingResponse(
        _stream_body(chunks, fault, state),
        media_type="text/event-stream",
        headers={**GOOGLE_HEADERS, "cache-control": "no-cache"},
    )


def _without_tool_index(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool-call deltas with no ``index`` (Google's Gemini API compat layer, [OBS-GAPI])."""
    for chunk in chunks:
        for choice in chunk["choices"]:
            for tc in choice["delta"].get("tool_calls") or []:
                tc.pop("index", None)
    return chunks


def _plain_response(
    out: ModelOutput, r: Rendered, fault: Fault | None, kind: str = GEMINI2
) -> Response:
    body = shape_body(kind, completion_body(out, r))
    if r.n > 1:
        body = distinct_candidates(body)
    if fault is None or fault.kind == "stall":
        return json_response(body)
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, indent=2).encode()
    if fault.kind == "malformed_json":
        return Response(text[: len(text) // 2] + b"\n", media_type=JSON_CT, headers=GOOGLE_HEADERS)
    if fault.kind in ("drop", "truncate"):

        async def partial() -> AsyncIterator[bytes]:
            yield text[: len(text) // 2]
            await asyncio.sleep(0.01)
            raise _DroppedConnection

        return StreamingResponse(
            partial(),
            media_type=JSON_CT,
            headers={**GOOGLE_HEADERS, "content-length": str(len(text))},
        )
    return json_response(body)


async def _stream_body(
    chunks: list[dict[str, Any]], fault: Fault | None, state: EmulatorState
) -> AsyncIterator[bytes]:
    kind = fault.kind if fault is not None else None
    params = fault.params if fault is not None else {}
    cut = int(params.get("after_chunks", max(1, len(chunks) // 2)))
    for i, chunk in enumerate(chunks):
        if kind is not None and i == cut:
            if kind == "drop":
                await asyncio.sleep(0.01)
                raise _DroppedConnection
            if kind == "truncate":
                return
            if kind == "stall":
                await asyncio.sleep(float(params.get("seconds", state.config.stall_seconds)))
            if kind == "malformed_json":
                yield b'data: {"choices": [{"delta": {"content": "broken\n\n'
        yield sse(chunk)
        await asyncio.sleep(0)
    if kind in ("drop", "truncate") and cut >= len(chunks):
        if kind == "drop":
            raise _DroppedConnection
        return
    yield DONE
