"""Configuration of the local Vertex AI emulator (mutable at run time)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from vertex_openai._endpoint import KNOWN_LOCATIONS

DEFAULT_MODELS: tuple[str, ...] = (
    "google/gemini-2.0-flash-001",
    "google/gemini-2.0-flash-lite-001",
    "google/gemini-2.5-flash",
    "google/gemini-2.5-pro",
    "google/gemini-2.5-flash-lite",
    "google/gemini-3-pro-preview",
    "google/gemini-3-flash-preview",
    "google/gemini-3.1-pro-preview",
    "google/gemini-3.1-flash-lite-preview",
    "google/gemini-3-pro-image-preview",
    "google/gemini-3.5-flash",
    "google/gemini-3.5-flash-lite",
    "google/gemini-3.6-flash",
    "google/gemini-3.7-flash",
    "meta/llama-3.3-70b-instruct-maas",
    "meta/llama-3.1-405b-instruct-maas",
    "deepseek-ai/deepseek-r1-0528-maas",
    "openai/gpt-oss-120b-maas",
    "openai/gpt-oss-20b-maas",
    "qwen/qwen3-coder-480b-a35b-instruct-maas",
)


def _default_dedicated() -> dict[str, str]:
    return {"9876543210": "localhost"}


def _default_self_deployed() -> dict[str, str]:
    return {
        "1234567890": "google/gemma-3-12b-it",
        "mg-endpoint-4f8c2a7e-1b3d-4e5f-9a6b-7c8d9e0f1a2b": "meta/llama-3.3-70b",
        "9876543210": "google/gemma-3-27b-it",
    }


@dataclass
class EmulatorConfig:
    """Everything the emulator lets a test switch.

    Behaviours no public capture confirms (marked [INF], inferred) are switches here so a test
    can model either possibility.
    """

    token_lifetime: float = 3600.0
    """Lifetime (seconds) of access tokens issued by /token, metadata and impersonation."""
    project: str = "emulator-project"
    project_number: str = "123456789012"
    service_account_email: str = ""
    """Empty: ``emulator@{project}.iam.gserviceaccount.com``."""
    strict_tool_schema: bool = False
    """Reject $ref/$defs/additionalProperties/const/... in tool schemas (native wording)."""
    thought_extra_content: bool = False
    """Set ``extra_content.google.thought = true`` on thought deltas/messages."""
    stream_tool_index_quirk: bool = True
    """With stream_function_call_arguments: the documented inconsistent ``index`` values."""
    dedicated_endpoints: dict[str, str] = field(default_factory=_default_dedicated)
    """endpoint_id -> host name (without port) that serves it; the shared host refuses it."""
    self_deployed_endpoints: dict[str, str] = field(default_factory=_default_self_deployed)
    """endpoint_id -> served model name echoed in responses."""
    shared_host: str = "127.0.0.1"
    check_project: bool = True
    """Reject paths whose project is neither ``project`` nor ``project_number`` (403)."""
    seed: int = 0
    """Seed of the stream chunker (and of ids): same seed + same request -> same chunks."""
    chunk_size_min: int = 1
    chunk_size_max: int = 12
    models: tuple[str, ...] = DEFAULT_MODELS
    stall_seconds: float = 30.0
    """How long the ``stall`` fault sleeps before answering."""
    traffic_type: str = "ON_DEMAND"
    default_prompt_tokens_floor: int = 1
    llama_guard_default: bool = True
    """[INF] Llama Guard screens MaaS Llama requests unless
    ``extra_body.google.model_safety_settings.enabled`` is false."""
    gemini25_tool_call_id_is_name: bool = True
    """Gemini 2.x tool-call ids are the function name (Google's function-calling sample
    prints ``Function: get_current_weather`` from ``tool_calls[0].id``), so parallel
    calls to one function share an id; False: ``function-call-<uuid>`` as on Gemini 3."""
    minimal_unsupported_on: tuple[str, ...] = ("-pro",)
    """[INF] Gemini 3 models (name parts) that answer "Thinking level is unsupported:
    THINKING_LEVEL_MINIMAL"; () accepts minimal everywhere."""
    reject_thinking_off_on_25_pro: bool = True
    """[INF for the OpenAI endpoint] ``thinking_budget: 0`` on Gemini 2.5 Pro gives the
    native API's 400 "Budget 0 is invalid. This model only works in thinking mode."."""
    stream_tool_call_index: bool = True
    """[INF for Vertex] Streamed tool-call deltas carry ``index``; False: no ``index``
    at all, as seen on Google's Gemini API compat layer."""
    api_key_header: bool = True
    """Accept an express key in the ``x-goog-api-key`` header as well as ``?key=`` (Google's
    Gen AI SDK sends the header to aiplatform.googleapis.com; one third-party report says
    the openapi route refuses it: set False to model that report)."""

    locations: tuple[str, ...] = KNOWN_LOCATIONS
    """Locations the emulated Vertex serves; a request for any other answers 404 (Vertex has
    no such location). Add one to model a new region."""
    medium_unsupported_on: tuple[str, ...] = ("gemini-3-pro-preview",)
    """[INF for Vertex] Models that answer "Thinking level MEDIUM is not supported for this
    model" (observed on Google's Gemini API compat layer for Gemini 3 Pro preview,
    discuss.ai.google.dev/t/112648); () accepts medium everywhere."""
    fixed_sampling_refusal: bool = False
    """[INF] Gemini 3.6 Flash / 3.5 Flash-Lite and later: 400 for ``temperature`` /
    ``top_p`` / ``top_k`` (one public report); False: accepted and ignored (deprecated)."""
    context_windows: dict[str, int] = field(default_factory=dict)
    """model -> input token limit, overriding the model's documented window (to reach
    Vertex's context-overflow 400 without a million-token prompt)."""
    model_locations: dict[str, list[str]] = field(
        default_factory=lambda: {
            "google/gemini-3.6-flash": ["global", "us", "eu"],
            "google/gemini-3.7-flash": ["global", "us", "eu"],
        }
    )
    """model -> the only locations that serve it (3.6/3.7 Flash: global, us, eu per their
    model pages, BerriAI/litellm#37989); others: everywhere. Add a preview here (e.g.
    ``{"google/gemini-3-pro-preview": ["global"]}``) to model a global-only launch."""
    location_behaviour: dict[str, Any] = field(default_factory=dict)
    """How each location (the path's ``locations/L``) answers chat and embedding requests,
    to test failover offline (docs/testing-offline.md). ``{location: kind}`` or
    ``{location: {"kind": kind, ...}}``, kind one of:

    * ``"quota"``: 429 RESOURCE_EXHAUSTED with Vertex's text;
    * ``"unavailable"``: 503 UNAVAILABLE;
    * ``"stream_cut"``: the answer starts (200) and its connection closes midway
      (``"after_chunks"``: streamed chunks sent first; default half);
    * ``"ok"``: answer normally.

    ``"retry_after"`` (seconds) adds a ``Retry-After`` header to quota / unavailable; without
    it none is sent (no Vertex 429 with one has been observed). ``"share"`` (0 to 1, default
    1) applies the behaviour to that share of the location's requests, spread evenly (0.3:
    requests 3, 6, 9 ... of every 10 in order). Locations not listed answer normally."""

    def update(self, values: dict[str, Any]) -> None:
        """Set fields from a dict (admin route); unknown names raise KeyError."""
        names = {f.name for f in dataclasses.fields(self)}
        for key, value in values.items():
            if key not in names:
                raise KeyError(key)
            if key in ("models", "minimal_unsupported_on", "locations", "medium_unsupported_on"):
                value = tuple(value)
            if key == "location_behaviour":
                value = normalize_location_behaviour(value)
            setattr(self, key, value)

    def __post_init__(self) -> None:
        self.location_behaviour = normalize_location_behaviour(self.location_behaviour)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["models"] = list(self.models)
        data["minimal_unsupported_on"] = list(self.minimal_unsupported_on)
        data["locations"] = list(self.locations)
        data["medium_unsupported_on"] = list(self.medium_unsupported_on)
        return data

    @property
    def sa_email(self) -> str:
        return self.service_account_email or f"emulator@{self.project}.iam.gserviceaccount.com"


LOCATION_KINDS = ("quota", "unavailable", "stream_cut", "ok")


def normalize_location_behaviour(value: Any) -> dict[str, dict[str, Any]]:
    """``{location: kind | {"kind": ..., "retry_after": ..., "share": ..., ...}}`` checked.

    Raises:
        ValueError: naming the location and what is wrong.
    """
    if not isinstance(value, dict):
        raise ValueError(f"location_behaviour must be a dict of location -> kind, got {value!r}")
    out: dict[str, dict[str, Any]] = {}
    for location, spec in value.items():
        entry = {"kind": spec} if isinstance(spec, str) else dict(spec)
        kind = entry.get("kind")
        if kind not in LOCATION_KINDS:
            raise ValueError(
                f"location_behaviour[{location!r}]: kind {kind!r} is not one of "
                f"{', '.join(LOCATION_KINDS)}"
            )
        unknown = set(entry) - {"kind", "retry_after", "share", "after_chunks"}
        if unknown:
            raise ValueError(f"location_behaviour[{location!r}]: unknown keys {sorted(unknown)}")
        share = float(entry.get("share", 1.0))
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"location_behaviour[{location!r}]: share must be within 0..1")
        entry["share"] = share
        out[str(location)] = entry
    return out
