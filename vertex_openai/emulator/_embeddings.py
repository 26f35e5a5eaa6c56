"""Embedding routes of the emulator: native ``:predict`` and OpenAI-compatible ``/embeddings``.

* ``POST /{v}/projects/P/locations/L/publishers/google/models/{model}:predict`` for
  Google's embedding models, with their documented limits (instances per request,
  20,000 tokens per request, 2,048 tokens per input, output sizes) and plain-object
  errors (a captured ``:predict`` error is not list-wrapped).
* ``POST /{v}/projects/P/locations/L/endpoints/openapi/embeddings`` for the partner E5
  models (OpenAI's request and response shapes; list-wrapped errors as the compat handler).

Vectors are deterministic and make retrieval meaningful offline: a signed, hashed bag of
words (each word lands in the first 64, 256, 768 and full dimensions, so truncated vectors
still retrieve), normalized at full size and truncated from the end for
``outputDimensionality`` without re-normalizing, as Vertex does for ``gemini-embedding-001``.
A text shares words with its question -> high cosine. Token counts are words plus
punctuation. Auth, project checks, token refresh and faults are the chat routes' own.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import re
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from vertex_openai.emulator._chat import API_VERSIONS, ChatRoutes
from vertex_openai.emulator._errors import google_error, html_404, json_response, list_error
from vertex_openai.emulator._state import EmulatorState, Fault

__all__ = ["EmbeddingConfig", "EmbeddingRoutes", "count_tokens", "embed_text"]

_TOO_MANY = (
    "Unable to submit request because it included too many instances. Reduce the number of "
    "instances and try again. Learn more: "
    "https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings"
)
TASK_TYPES = (
    "RETRIEVAL_QUERY",
    "RETRIEVAL_DOCUMENT",
    "SEMANTIC_SIMILARITY",
    "CLASSIFICATION",
    "CLUSTERING",
    "QUESTION_ANSWERING",
    "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
)


@dataclass(frozen=True)
class EmulatedEmbeddingModel:
    max_instances: int
    max_input_tokens: int
    dimensions: int
    regions: tuple[str, ...] = ()
    """Empty: every location."""


def _default_predict_models() -> dict[str, EmulatedEmbeddingModel]:
    return {
        "gemini-embedding-001": EmulatedEmbeddingModel(1, 2048, 3072),
        "text-embedding-005": EmulatedEmbeddingModel(250, 2048, 768),
        "text-embedding-004": EmulatedEmbeddingModel(250, 2048, 768),
        "text-multilingual-embedding-002": EmulatedEmbeddingModel(250, 2048, 768),
    }


def _default_openapi_models() -> dict[str, EmulatedEmbeddingModel]:
    regions = ("us-central1", "europe-west4")
    # Inputs per request are not documented for E5 [INF]; 250 as Google's own models.
    return {
        "intfloat/multilingual-e5-small-maas": EmulatedEmbeddingModel(250, 512, 384, regions),
        "intfloat/multilingual-e5-large-instruct-maas": EmulatedEmbeddingModel(
            250, 512, 1024, regions
        ),
    }


@dataclass
class EmbeddingConfig:
    """Switches of the embedding routes (``emu.embeddings.config``)."""

    predict_models: dict[str, EmulatedEmbeddingModel] = field(
        default_factory=_default_predict_models
    )
    openapi_models: dict[str, EmulatedEmbeddingModel] = field(
        default_factory=_default_openapi_models
    )
    max_request_tokens: int = 20_000
    delay: float = 0.0
    """Seconds each embedding request takes (makes concurrency observable)."""
    openapi_base64: bool = True
    """Accept ``encoding_format="base64"`` on the compatible route [INF]."""


_STOPWORDS_TEXT = (
    "a an and are as at be by do does for from how in is it of on or the this that to "
    "what when where which who why with"
)
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split(" "))
_WORD = re.compile(r"\w+")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_TIERS = (64, 256, 768)


def count_tokens(text: str) -> int:
    """The emulator's token count: words and punctuation marks."""
    return len(_TOKEN.findall(text))


def _truncate_tokens(text: str, limit: int) -> str:
    matches = list(_TOKEN.finditer(text))
    return text if len(matches) <= limit else text[: matches[limit - 1].end()]


def embed_text(text: str, dimensions: int, title: str | None = None) -> list[float]:
    """The deterministic unit vector of ``text`` (plus its title's words)."""
    vec = [0.0] * dimensions
    words = _WORD.findall((text + " " + (title or "")).lower())
    for word in words:
        if word in _STOPWORDS:
            continue
        digest = hashlib.blake2b(word.encode("utf-8"), digest_size=16).digest()
        for k, tier in enumerate((*_TIERS, dimensions)):
            size = min(tier, dimensions)
            chunk = int.from_bytes(digest[4 * k : 4 * k + 4], "big")
            sign = 1.0 if chunk & 1 else -1.0
            vec[(chunk >> 1) % size] += sign
    norm = math.hypot(*vec)
    if norm == 0.0:
        vec[0] = 1.0  # a text without content words still gets a unit vector
        return vec
    return [round(v / norm, 8) for v in vec]


class EmbeddingRoutes:
    """The two embedding routes; counters for tests (``max_in_flight``, ``request_sizes``)."""

    def __init__(self, state: EmulatorState, chat: ChatRoutes) -> None:
        self.state = state
        self.chat = chat
        self.config = EmbeddingConfig()
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.request_sizes: list[int] = []

    def reset(self) -> None:
        """Default config and zeroed counters."""
        with self._lock:
            self.config = EmbeddingConfig()
            self.in_flight = self.max_in_flight = 0
            self.request_sizes = []

    def routes(self) -> list[BaseRoute]:
        loc = "/{version}/projects/{project}/locations/{location}"
        return [
            Route(
                loc + "/publishers/{publisher}/models/{model_action}",
                self.predict,
                methods=["POST"],
            ),
            Route(loc + "/endpoints/{endpoint}/embeddings", self.openapi, methods=["POST"]),
        ]

    # -- shared prologue ---------------------------------------------------------------
    async def _prologue(self, request: Request) -> tuple[Any, Any, Response | None]:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = ValueError
        rec = self.chat._record(request, None if body is ValueError else body)
        resp = self.chat._authenticate(request, rec) or self.chat.location_error(request)
        if resp is None:
            p = request.path_params
            cfg = self.state.config
            if cfg.check_project and p["project"] not in (cfg.project, cfg.project_number):
                resp = google_error(
                    403,
                    f"Permission 'aiplatform.endpoints.predict' denied on resource "
                    f"'//aiplatform.googleapis.com{request.url.path.split(':')[0][3:]}' (or "
                    "it may not exist).",
                    "PERMISSION_DENIED",
                )
        if resp is None:
            fault = _take_fault(request, self.state)
            if fault is not None:
                rec.fault = fault.kind
                resp = _fault_response(fault)
                if resp is not None:
                    from vertex_openai.emulator._completion import with_retry_after

                    resp = with_retry_after(resp, fault)
        return body, rec, resp

    async def _timed(self, coro: Any) -> Response:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.config.delay:
                await asyncio.sleep(self.config.delay)
            return await coro
        finally:
            with self._lock:
                self.in_flight -= 1

    # -- :predict ----------------------------------------------------------------------
    async def predict(self, request: Request) -> Response:
        p = request.path_params
        model, _, action = p["model_action"].partition(":")
        if p["version"] not in API_VERSIONS or action not in ("predict", "countTokens"):
            return html_404(request.url.path)
        body, rec, resp = await self._prologue(request)
        if resp is None and action == "countTokens":
            from vertex_openai.emulator._count import count_tokens_response

            resp = count_tokens_response(self.state, request, model, body)
        elif resp is None:
            resp = await self._timed(self._predict(request, model, body))
        rec.status = resp.status_code
        return resp

    async def _predict(self, request: Request, model: str, body: Any) -> Response:
        p = request.path_params
        name = (
            f"projects/{p['project']}/locations/{p['location']}/publishers/{p['publisher']}"
            f"/models/{model}"
        )
        spec = self.config.predict_models.get(model) if p["publisher"] == "google" else None
        if spec is None or (spec.regions and p["location"] not in spec.regions):
            return google_error(
                404,
                f"Publisher Model `{name}` was not found or your project does not have access "
                "to it. Please ensure you are using a valid model version.",
                "NOT_FOUND",
            )
        if body is ValueError or not isinstance(body, dict):
            return google_error(400, "Invalid JSON payload received. Unexpected token.")
        instances = body.get("instances")
        if not isinstance(instances, list) or not instances:
            return google_error(400, "Unable to submit request because `instances` is empty.")
        params = body.get("parameters") or {}
        if not isinstance(params, dict):
            return google_error(400, "Invalid JSON payload received. `parameters` is no object.")
        unknown = set(params) - {"autoTruncate", "outputDimensionality"}
        if unknown:
            return google_error(
                400,
                f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}" at '
                "'parameters': Cannot find field.",
            )
        if len(instances) > spec.max_instances:
            message = _TOO_MANY
            if spec.max_instances == 1:
                # Captured wording (RooCodeInc/Roo-Code#5123).
                message += (
                    ": Unable to submit request because batchSize must be 1 but the entered "
                    f"value was {len(instances)}. Update the batchSize value and try again."
                )
            return google_error(400, message)
        dims = params.get("outputDimensionality")
        if dims is not None and (
            not isinstance(dims, int) or isinstance(dims, bool) or not 1 <= dims <= spec.dimensions
        ):
            return google_error(
                400,
                f"Unable to submit request because outputDimensionality must be between 1 and "
                f"{spec.dimensions} but the entered value was {dims}.",
            )
        if not isinstance(params.get("autoTruncate", True), bool):
            return google_error(
                400,
                "Invalid value at 'parameters.autoTruncate' (type.googleapis.com/"
                "google.protobuf.BoolValue).",
            )
        auto_truncate = params.get("autoTruncate", True) is not False
        texts: list[tuple[str, str | None]] = []
        total = 0
        for i, inst in enumerate(instances):
            if not isinstance(inst, dict) or not isinstance(inst.get("content"), str):
                return google_error(
                    400, f"Unable to submit request because instances[{i}].content is missing."
                )
            task = inst.get("task_type")
            if task is not None and task not in TASK_TYPES:
                return google_error(400, f"Invalid task type {task!r} in instances[{i}].")
            title = inst.get("title")
            if title is not None and task != "RETRIEVAL_DOCUMENT":
                return google_error(
                    400,
                    "Unable to submit request because title is only valid with task_type "
                    "RETRIEVAL_DOCUMENT.",
                )
            text = inst["content"]
            n = count_tokens(text)
            if n > spec.max_input_tokens and not auto_truncate:
                return google_error(
                    400,
                    f"Unable to submit request because the input token count is {n} but model "
                    f"{model} supports up to {spec.max_input_tokens}. Reduce the input token "
                    "count and try again.",
                )
            total += min(n, spec.max_input_tokens)
            texts.append((text, title))
        if total > self.config.max_request_tokens:
            return google_error(
                400,
                f"Unable to submit request because the total input token count is {total} but "
                f"a request supports up to {self.config.max_request_tokens}. Reduce the number "
                "of instances and try again.",
            )
        with self._lock:
            self.request_sizes.append(len(instances))
        predictions = []
        billable = 0
        for text, title in texts:
            n = count_tokens(text)
            truncated = n > spec.max_input_tokens
            used = _truncate_tokens(text, spec.max_input_tokens) if truncated else text
            billable += len(used)
            vec = embed_text(used, spec.dimensions, title)
            if dims is not None:
                vec = vec[:dims]  # truncated from the end, not re-normalized
            predictions.append(
                {
                    "embeddings": {
                        "statistics": {
                            "token_count": min(n, spec.max_input_tokens),
                            "truncated": truncated,
                        },
                        "values": vec,
                    }
                }
            )
        return json_response(
            {"metadata": {"billableCharacterCount": billable}, "predictions": predictions}
        )

    # -- endpoints/openapi/embeddings ------------------------------------------------------
    async def openapi(self, request: Request) -> Response:
        if request.path_params["version"] not in API_VERSIONS:
            return html_404(request.url.path)
        body, rec, resp = await self._prologue(request)
        if resp is None:
            resp = await self._timed(self._openapi(request, body))
        rec.status = resp.status_code
        return resp

    async def _openapi(self, request: Request, body: Any) -> Response:
        p = request.path_params
        if p["endpoint"] != "openapi":
            return list_error(
                400, "Embeddings are served on the 'openapi' endpoint only in this emulator."
            )
        if body is ValueError or not isinstance(body, dict):
            return list_error(400, "Invalid JSON payload received. Unexpected token.")
        model = body.get("model")
        spec = self.config.openapi_models.get(model) if isinstance(model, str) else None
        if spec is None or (spec.regions and p["location"] not in spec.regions):
            where = f"projects/{p['project']}/locations/{p['location']}"
            return list_error(
                404,
                f"Publisher Model `{where}/publishers/{model}` was not found or your project "
                "does not have access to it. Embedding models on this endpoint: "
                f"{', '.join(sorted(self.config.openapi_models))}.",
                "NOT_FOUND",
            )
        raw = body.get("input")
        inputs = [raw] if isinstance(raw, str) else raw
        if (
            not isinstance(inputs, list)
            or not inputs
            or not all(isinstance(x, str) for x in inputs)
        ):
            return list_error(400, "`input` must be a string or a non-empty list of strings.")
        if len(inputs) > spec.max_instances:
            return list_error(400, _TOO_MANY)
        encoding = body.get("encoding_format") or "float"
        if encoding not in ("float", "base64") or (
            encoding == "base64" and not self.config.openapi_base64
        ):
            return list_error(400, f"Unsupported encoding_format {encoding!r}; use 'float'.")
        dims = body.get("dimensions")
        if dims is not None and dims != spec.dimensions:
            return list_error(
                400,
                f"{model} returns {spec.dimensions} dimensions; `dimensions` must be "
                f"{spec.dimensions} or omitted.",
            )
        with self._lock:
            self.request_sizes.append(len(inputs))
        data = []
        tokens = 0
        for i, text in enumerate(inputs):
            n = count_tokens(text)
            tokens += min(n, spec.max_input_tokens)
            # E5 truncates inputs past 512 tokens silently [INF].
            vec = embed_text(_truncate_tokens(text, spec.max_input_tokens), spec.dimensions)
            embedding: Any = vec
            if encoding == "base64":
                embedding = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()
            data.append({"embedding": embedding, "index": i, "object": "embedding"})
        return json_response(
            {
                "data": data,
                "model": model,
                "object": "list",
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


def _take_fault(request: Request, state: EmulatorState) -> Fault | None:
    from vertex_openai.emulator._completion import _header_fault

    fault = (
        _header_fault(request, state)
        or state.location_fault(request.path_params["location"])
        or state.take_fault()
    )
    if fault is not None and fault.kind in ("revoke", "token_outage"):
        state.add_fault(fault.kind, int(fault.params.get("count", 1)))
        return None
    return fault


def _fault_response(fault: Fault) -> Response | None:
    if fault.kind == "rate_limit":
        return google_error(
            429,
            "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model"
            " with base model: textembedding-gecko. Please submit a quota increase request. "
            "https://cloud.google.com/vertex-ai/docs/generative-ai/quotas-genai.",
            "RESOURCE_EXHAUSTED",
        )
    if fault.kind == "unavailable":
        return google_error(503, "The service is currently unavailable.", "UNAVAILABLE")
    if fault.kind == "internal":
        return google_error(500, "Internal error encountered.", "INTERNAL")
    if fault.kind == "permission_denied":
        return google_error(
            403, "Permission 'aiplatform.endpoints.predict' denied.", "PERMISSION_DENIED"
        )
    return None
