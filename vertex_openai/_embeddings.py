"""Text embeddings on Vertex AI, written once for both framework classes.

Two wire routes (see docs/embeddings.md for the sources):

* Google's embedding models (``gemini-embedding-001``, ``text-embedding-005``,
  ``text-multilingual-embedding-002`` ...) on the native
  ``.../publishers/google/models/{model}:predict``: ``instances[].content/task_type/title``,
  ``parameters.outputDimensionality/autoTruncate``; the answer is
  ``predictions[].embeddings.values`` with ``statistics.token_count/truncated``.
* Partner (MaaS) embedding models (``intfloat/multilingual-e5-*-maas``) on the
  OpenAI-compatible ``.../endpoints/openapi/embeddings``.

Requests go through the openai SDK clients of a :class:`~vertex_openai.VertexConnection`
(the same Google auth, express keys, host checks and redaction as chat); the SDK retries
429 / 5xx with its own backoff, we never add a second retry loop. Inputs are split by the
model's real per-request limits, sent with bounded concurrency, and put back in order.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

import openai
from openai._constants import RAW_RESPONSE_HEADER

from vertex_openai._clients import VertexConnection
from vertex_openai._endpoint import resolve_location
from vertex_openai._errors import VertexConfigError, redact, require_match, translated_errors
from vertex_openai._fork import ForkSafeLock

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_EMBEDDING_LOCATION",
    "DEFAULT_EMBEDDING_MODEL",
    "TASK_TYPES",
    "EmbedOptions",
    "EmbeddingModelSpec",
    "EmbeddingResult",
    "VertexEmbeddingClient",
    "VertexEmbeddingInputError",
    "embedding_location",
    "embedding_model_spec",
    "per_call_embedding_args",
]

DEFAULT_EMBEDDING_MODEL = "gemini-embedding-001"
DEFAULT_EMBEDDING_LOCATION = "us-central1"
"""Google's embedding pages call the models on us-central1; the E5 partner models are only
in us-central1 / europe-west4. ``global`` (the chat default) is not documented for them."""

DEFAULT_MAX_CONCURRENCY = 8

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
"""The task types of the Text embeddings API reference."""

_PREDICT_REQUEST_TOKENS = 20_000
"""Text embeddings API: at most 20,000 input tokens per request (a 400 above)."""


@dataclass(frozen=True)
class EmbeddingModelSpec:
    """What the client must know about one embedding model (limits from Google's pages)."""

    model: str
    """The id as sent: ``gemini-embedding-001`` in the URL, or the MaaS id in the body."""
    route: str
    """``"predict"`` (publishers/google/models/{model}:predict) or ``"openapi"``."""
    max_batch: int
    """Inputs per request."""
    max_input_tokens: int
    max_request_tokens: int | None
    dimensions: int | None
    """Full output size (``None``: unknown model)."""
    supports_dimensionality: bool = True
    supports_task_type: bool = True
    known: bool = True


_GOOGLE_MODELS: dict[str, EmbeddingModelSpec] = {
    # "Note that gemini-embedding-001 supports one instance per request."
    "gemini-embedding-001": EmbeddingModelSpec(
        "gemini-embedding-001", "predict", 1, 2048, _PREDICT_REQUEST_TOKENS, 3072
    ),
    "text-embedding-005": EmbeddingModelSpec(
        "text-embedding-005", "predict", 250, 2048, _PREDICT_REQUEST_TOKENS, 768
    ),
    "text-embedding-004": EmbeddingModelSpec(
        "text-embedding-004", "predict", 250, 2048, _PREDICT_REQUEST_TOKENS, 768
    ),
    "text-multilingual-embedding-002": EmbeddingModelSpec(
        "text-multilingual-embedding-002", "predict", 250, 2048, _PREDICT_REQUEST_TOKENS, 768
    ),
}

# Partner models: 512-token sequences, fixed sizes (Google's E5 model pages). The number of
# inputs per request is not documented [INF]: a conservative batch.
_MAAS_BATCH = 64
_MAAS_MODELS: dict[str, EmbeddingModelSpec] = {
    "intfloat/multilingual-e5-small-maas": EmbeddingModelSpec(
        "intfloat/multilingual-e5-small-maas",
        "openapi",
        _MAAS_BATCH,
        512,
        None,
        384,
        supports_dimensionality=False,
        supports_task_type=False,
    ),
    "intfloat/multilingual-e5-large-instruct-maas": EmbeddingModelSpec(
        "intfloat/multilingual-e5-large-instruct-maas",
        "openapi",
        _MAAS_BATCH,
        512,
        None,
        1024,
        supports_dimensionality=False,
        supports_task_type=False,
    ),
}


_MODEL_ID_RE = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._@-]*/)?[A-Za-z0-9][A-Za-z0-9._@-]*\Z")
"""A model id (``name`` or ``publisher/name``) that is safe as a URL path segment."""


def embedding_model_spec(model: str) -> EmbeddingModelSpec:
    """The spec of an embedding ``model`` id.

    For example ``"gemini-embedding-001"``, ``"google/text-embedding-005"`` or
    ``"intfloat/multilingual-e5-small-maas"``.

    Raises:
        VertexConfigError: for an empty id or a model this client cannot call.
    """
    name = model.strip() if isinstance(model, str) else ""
    if not name:
        msg = f"model is empty; pass an embedding model id such as {DEFAULT_EMBEDDING_MODEL!r}."
        raise VertexConfigError(msg)
    if name.startswith("publishers/google/models/"):
        name = name.rsplit("/", 1)[1]
    if name.startswith("google/"):
        name = name[len("google/") :]
    # The id becomes a path segment of the `:predict` URL: `?`, `#`, `/`, `..` or a
    # control character would change where the request goes (or fail inside httpx).
    msg = (
        f"Malformed embedding model id {model!r}: use letters, digits, '.', '-', '_' "
        f"and '@' (e.g. {DEFAULT_EMBEDDING_MODEL!r}, or 'publisher/model' for a partner "
        "model such as 'intfloat/multilingual-e5-small-maas')."
    )
    require_match(_MODEL_ID_RE, name, msg)
    if name in _GOOGLE_MODELS:
        return _GOOGLE_MODELS[name]
    maas = name if "/" in name else f"intfloat/{name}"
    if maas in _MAAS_MODELS:
        return _MAAS_MODELS[maas]
    if name.startswith("multimodalembedding"):
        msg = (
            f"{name!r} takes images and video as well as text, in another request shape; "
            f"this client embeds text: use {DEFAULT_EMBEDDING_MODEL!r} or text-embedding-005."
        )
        raise VertexConfigError(msg)
    if name.startswith("gemini-embedding-2"):
        msg = (
            f"{name!r} is served by Vertex's embedContent API, which this client does not "
            f"call yet; use {DEFAULT_EMBEDDING_MODEL!r} or text-embedding-005."
        )
        raise VertexConfigError(msg)
    if name.startswith(("gemini-", "chat-")) and "embedding" not in name:
        msg = (
            f"{model!r} is not an embedding model. Use {DEFAULT_EMBEDDING_MODEL!r}, "
            "'text-embedding-005' or 'text-multilingual-embedding-002'."
        )
        raise VertexConfigError(msg)
    if "/" in name:
        # Another partner (MaaS) model: the OpenAI-compatible route, limits unknown.
        return EmbeddingModelSpec(
            name,
            "openapi",
            _MAAS_BATCH,
            512,
            None,
            None,
            supports_dimensionality=True,
            supports_task_type=False,
            known=False,
        )
    # A Google model we do not list (a newer version): predict, one input per request for
    # the gemini-embedding family (as 001), Google's documented 250 for the others.
    batch = 1 if name.startswith("gemini-embedding") else 250
    return EmbeddingModelSpec(
        name, "predict", batch, 2048, _PREDICT_REQUEST_TOKENS, None, known=False
    )


def embedding_location(location: str | None) -> str:
    """The location for embeddings: as for chat, except the default is us-central1.

    Raises:
        VertexConfigError: for a malformed location.
    """
    resolved, source = resolve_location(location)
    return DEFAULT_EMBEDDING_LOCATION if source == "default" else resolved


class EmbedOptions(TypedDict, total=False):
    """The per-call options of :meth:`VertexEmbeddingClient.embed` and ``aembed``.

    Attributes:
        task_type: One of ``TASK_TYPES`` (models that take one), or None.
        title: A title for every text, or one per text (``RETRIEVAL_DOCUMENT`` only).
        output_dimensionality: Overrides the client's for this call.
        progress: Called with the number of inputs each answered request covered (a
            progress bar).
    """

    task_type: str | None
    title: str | Sequence[str] | None
    output_dimensionality: int | None
    progress: Callable[[int], None] | None


@dataclass
class EmbeddingResult:
    """Vectors in input order, with what Vertex reported about them."""

    vectors: list[list[float]]
    token_count: int = 0
    truncated: list[int] = field(default_factory=list)
    """Indices of inputs Vertex truncated (``autoTruncate``)."""
    requests: int = 0
    slots: list[list[float] | None] = field(default_factory=list, repr=False)
    """Per-input vectors while a call runs (``None`` until its batch answered)."""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    """Batches of one call finish on several threads; the counters are shared."""
    dimensions: int | None = field(default=None, repr=False)
    """This call's output dimensionality (None: the client's)."""
    progress: Callable[[int], None] | None = field(default=None, repr=False, compare=False)
    """Called with the number of inputs each answered request covered."""


class VertexEmbeddingInputError(openai.BadRequestError):
    """One input is longer than the model accepts and ``auto_truncate`` is off.

    Attributes:
        index: Position of the offending text in the list passed in.
        partial: The vectors computed before the failure (``None`` where missing), so the
            work already paid for is not lost.
    """

    index: int
    partial: list[list[float] | None]


def _check_dimensionality(spec: EmbeddingModelSpec, value: int | None) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        msg = f"output_dimensionality (dimensions) must be a positive integer, got {value!r}."
        raise VertexConfigError(msg)
    if not spec.supports_dimensionality and value != spec.dimensions:
        msg = (
            f"{spec.model} returns {spec.dimensions}-dimensional vectors only; "
            "remove output_dimensionality (dimensions)."
        )
        raise VertexConfigError(msg)
    if spec.dimensions is not None and value > spec.dimensions:
        msg = (
            f"output_dimensionality={value} is larger than {spec.model}'s "
            f"{spec.dimensions} dimensions; use 1..{spec.dimensions} "
            "(e.g. 768 or 1536 for gemini-embedding-001)."
        )
        raise VertexConfigError(msg)


def per_call_embedding_args(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Per-call keyword arguments of a framework's embed call, as `embed()` takes them.

    `dimensions` (OpenAI's name) is Vertex's `outputDimensionality`. Nothing else can be
    sent per call; an unknown key raises rather than being dropped.

    Raises:
        VertexConfigError: For any other keyword.
    """
    rest = sorted(k for k in kwargs if k != "dimensions")
    if rest:
        msg = (
            f"Unsupported embedding argument(s) {', '.join(map(repr, rest))}: Vertex AI "
            "takes only `dimensions` per call (set task_type, title, auto_truncate and "
            "normalize on the embeddings object)."
        )
        raise VertexConfigError(msg)
    dims = kwargs.get("dimensions")
    return {} if dims is None else {"output_dimensionality": dims}


def _estimate_tokens(text: str) -> int:
    # An upper-ish bound without a tokenizer: ~3 UTF-8 bytes per token (English averages
    # about 4 characters per token). Only used to keep a request under 20,000 tokens.
    return len(text.encode("utf-8")) // 3 + 1


_TOKEN_RE = re.compile(r"token", re.IGNORECASE)
_BATCH_SIZE_RE = re.compile(r"batchSize must be (\d+)")


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, list) and body:
        body = body[0]
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return str(exc.message)


class VertexEmbeddingClient:
    """Embeds lists of texts with one Vertex embedding model.

    Construction does no I/O. Thread- and event-loop-safe: one client serves concurrent
    calls (each call keeps its own state).

    Args:
        connection: Endpoint and credentials (its location should come from
            :func:`embedding_location`).
        model: Embedding model id.
        batch_size: Inputs per request; default and maximum: the model's own limit.
        max_concurrency: Requests in flight at once per call.
        output_dimensionality: Smaller vectors (Matryoshka truncation by Vertex).
        auto_truncate: Let Vertex cut inputs longer than the model's limit; when off, a
            too-long input raises :class:`VertexEmbeddingInputError` naming it.
        normalize: Return unit vectors. Vertex normalizes only full-size vectors of
            ``gemini-embedding-001``; truncated ones must be normalized for cosine search.
        timeout, max_retries, default_headers: For the openai SDK clients (its retries
            cover 408 / 409 / 429 / 5xx with exponential backoff).
        proxy: Proxy URL for both clients (``HTTPS_PROXY`` is honoured without it).
        http_client, async_http_client: Your own httpx clients; requests are signed by an outer
            client and sent through yours, which is never modified.
    """

    def __init__(
        self,
        connection: VertexConnection,
        model: str = DEFAULT_EMBEDDING_MODEL,
        *,
        batch_size: int | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        output_dimensionality: int | None = None,
        auto_truncate: bool = True,
        normalize: bool = True,
        timeout: Any = None,
        max_retries: int | None = None,
        default_headers: dict[str, str] | None = None,
        proxy: str | None = None,
        http_client: Any = None,
        async_http_client: Any = None,
    ) -> None:
        spec = embedding_model_spec(model)
        if batch_size is not None and (
            not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1
        ):
            msg = f"batch_size must be a positive integer, got {batch_size!r}."
            raise VertexConfigError(msg)
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            msg = f"max_concurrency must be a positive integer, got {max_concurrency!r}."
            raise VertexConfigError(msg)
        _check_dimensionality(spec, output_dimensionality)
        self.connection = connection
        self.spec = spec
        self.batch_size = min(batch_size or spec.max_batch, spec.max_batch)
        self.max_concurrency = max_concurrency
        self.output_dimensionality = output_dimensionality
        self.auto_truncate = auto_truncate
        self.normalize = normalize
        sdk: dict[str, Any] = {}
        if timeout is not None:
            sdk["timeout"] = timeout
        if max_retries is not None:
            sdk["max_retries"] = max_retries
        if default_headers:
            sdk["default_headers"] = dict(default_headers)
        self._sdk_kwargs = sdk
        self._proxy = proxy
        self._http_client = http_client
        self._async_http_client = async_http_client
        # Built on first use and shared with the per-call copies (`chunk_size=`), so a
        # copy reuses the client and its connections instead of opening its own.
        self._lazy = _LazyClients()
        # One gate per event loop, shared by every call (and per-call copy) of this client:
        # LlamaIndex gathers all batches of aget_text_embedding_batch at once.
        self._gates: weakref.WeakKeyDictionary[Any, asyncio.Semaphore] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return (
            f"VertexEmbeddingClient(model={self.spec.model!r}, batch_size={self.batch_size}, "
            f"connection={self.connection!r})"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_lazy"] = _LazyClients()
        state["_http_client"] = state["_async_http_client"] = None
        state["_gates"] = weakref.WeakKeyDictionary()
        return state

    # -- clients and URLs -------------------------------------------------------------

    def _sdk(self, async_: bool) -> Any:
        """The (sync or async) SDK client, made once for this client and its copies."""
        lazy = self._lazy
        client = lazy.clients[async_]
        if client is None:
            with lazy.lock:
                client = lazy.clients[async_]
                if client is None:
                    # A user's client is wrapped, never modified: it must not sign other
                    # traffic.
                    user = self._async_http_client if async_ else self._http_client
                    client = lazy.clients[async_] = self.connection.sdk_client(
                        async_, http_client=user, proxy=self._proxy or None, **self._sdk_kwargs
                    )
        return client

    @property
    def sync_client(self) -> openai.OpenAI:
        """The openai SDK client requests go through (built on first use)."""
        return self._sdk(False)  # type: ignore[no-any-return]

    @property
    def async_client(self) -> openai.AsyncOpenAI:
        """The async openai SDK client (its pool is kept per event loop)."""
        return self._sdk(True)  # type: ignore[no-any-return]

    def url(self) -> str:
        """Where a request for this model goes (project may still be the placeholder)."""
        return self.connection.endpoint.embedding_url(self.spec.model, self.spec.route)

    # -- planning -----------------------------------------------------------------------

    def _check(self, texts: Sequence[str], task_type: str | None, titles: Any) -> list[str]:
        if isinstance(texts, str):
            msg = "Pass a list of texts, not a single string (use embed_query for one text)."
            raise VertexConfigError(msg)
        items = list(texts)
        for i, text in enumerate(items):
            if not isinstance(text, str):
                msg = f"Text {i} is a {type(text).__name__}, not a string."
                raise VertexConfigError(msg)
        if task_type is not None and task_type not in TASK_TYPES:
            upper = str(task_type).upper()
            hint = f" Did you mean {upper!r}?" if upper in TASK_TYPES else ""
            msg = f"Unknown task_type {task_type!r}; use one of {', '.join(TASK_TYPES)}.{hint}"
            raise VertexConfigError(msg)
        if titles is not None:
            if task_type != "RETRIEVAL_DOCUMENT":
                msg = "title is only valid with task_type='RETRIEVAL_DOCUMENT' (Vertex)."
                raise VertexConfigError(msg)
            if not self.spec.supports_task_type:
                msg = f"{self.spec.model} takes no title; remove it."
                raise VertexConfigError(msg)
            if not isinstance(titles, str) and len(titles) != len(items):
                msg = f"Got {len(titles)} titles for {len(items)} texts; pass one per text."
                raise VertexConfigError(msg)
        return items

    def plan(self, texts: Sequence[str]) -> list[tuple[int, int]]:
        """Contiguous ``(start, end)`` slices within the per-request limits."""
        limit = self.spec.max_request_tokens
        batches: list[tuple[int, int]] = []
        start = 0
        tokens = 0
        for i, text in enumerate(texts):
            cost = _estimate_tokens(text) if limit else 0
            if limit and self.auto_truncate:
                cost = min(cost, self.spec.max_input_tokens)
            if i > start and (i - start >= self.batch_size or (limit and tokens + cost > limit)):
                batches.append((start, i))
                start, tokens = i, 0
            tokens += cost
        if start < len(texts):
            batches.append((start, len(texts)))
        return batches

    def _body(
        self,
        texts: Sequence[str],
        task_type: str | None,
        titles: Sequence[str] | None,
        dimensions: int | None = None,
    ) -> dict[str, Any]:
        dims = self.output_dimensionality if dimensions is None else dimensions
        if self.spec.route == "openapi":
            body: dict[str, Any] = {
                "model": self.spec.model,
                "input": list(texts),
                "encoding_format": "float",
            }
            if dims is not None:
                body["dimensions"] = dims
            return body
        instances = []
        for i, text in enumerate(texts):
            instance: dict[str, Any] = {"content": text}
            if task_type is not None:
                instance["task_type"] = task_type
            if titles is not None:
                instance["title"] = titles[i]
            instances.append(instance)
        parameters: dict[str, Any] = {"autoTruncate": self.auto_truncate}
        if dims is not None:
            parameters["outputDimensionality"] = dims
        return {"instances": instances, "parameters": parameters}

    def _request(self) -> Any:
        import httpx

        return httpx.Request("POST", self.url())

    def _invalid(self, response: Any, data: Any, problem: str) -> openai.APIError:
        """The SDK's invalid-response error for a 200 that is not usable embeddings."""
        head = data if isinstance(data, str) else None
        msg = (
            f"Vertex AI answered {response.status_code} for {self.spec.model} embeddings "
            f"with {problem}; no vector is returned for this batch. Retry the request; if it "
            "persists, something other than Vertex AI's embedding API is answering (a proxy, "
            "or `base_url` / `api_endpoint` pointing elsewhere)."
        )
        return openai.APIResponseValidationError(response=response, body=head, message=msg)

    def _decode(self, raw: Any) -> tuple[Any, Any]:
        """``(httpx response, decoded JSON)`` of a raw SDK answer, or the SDK's error."""
        response = raw.http_response
        content_type = response.headers.get("content-type", "")
        try:
            data = _loads(response.content)
        except ValueError:
            head = redact(response.text[:160])
            kind = content_type.split(";")[0].strip() or "no content type"
            raise self._invalid(
                response, head, f"{kind}, not JSON (first bytes: {head!r})"
            ) from None
        return response, data

    def _vector(
        self, response: Any, value: Any, where: str, n: int, dims: int | None
    ) -> list[float]:
        """The checked (and, with ``normalize``, unit) vector at ``where.format(n)``."""
        if not isinstance(value, list) or not value:
            at = where.format(n)
            raise self._invalid(response, None, f"no vector at {at} (got {_kind(value)})")
        # One C-level pass checks the numbers: hypot() (the norm, when normalizing) or
        # sum() raises TypeError on a string, null, list or object, and a NaN or infinity
        # makes the result non-finite. A Python loop per number cost more than the
        # request itself (benchmarks/bench_embeddings.py).
        try:
            total = math.hypot(*value) if self.normalize else sum(value)
        except (TypeError, OverflowError):
            bad = next((x for x in value if type(x) not in _NUMBER_TYPES), None)
            raise self._invalid(
                response, None, f"a non-numeric value in {where.format(n)} ({_kind(bad)})"
            ) from None
        if not math.isfinite(total):
            raise self._invalid(response, None, f"a non-finite value in {where.format(n)}")
        vector: list[float] = value
        if dims is not None and len(vector) != dims:
            raise self._invalid(
                response,
                None,
                f"a {len(vector)}-dimensional vector at {where.format(n)}, not {dims}",
            )
        if self.normalize and total != 0.0 and abs(total - 1.0) >= 1e-9:
            return [x / total for x in vector]
        return vector

    def _parse(self, raw: Any, count: int, start: int, out: EmbeddingResult) -> None:
        # Every field is checked: a 200 from a proxy or a changed API must raise the
        # SDK's invalid-response error naming what is missing, never yield a wrong vector.
        response, data = self._decode(raw)
        dims = out.dimensions or self.output_dimensionality or self.spec.dimensions
        vectors: list[list[float]] = []
        tokens = 0
        truncated: list[int] = []
        if not isinstance(data, dict):
            raise self._invalid(response, None, f"a JSON {_kind(data)}, not an object")
        if self.spec.route == "openapi":
            items = data.get("data")
            if not isinstance(items, list):
                raise self._invalid(response, None, f"no `data` list (got {_kind(items)})")
            if len(items) != count:
                raise self._invalid(response, None, f"{len(items)} embeddings for {count} inputs")
            by_index: dict[int, list[float]] = {}
            for n, item in enumerate(items):
                if not isinstance(item, dict):
                    raise self._invalid(response, None, f"data[{n}] a {_kind(item)}")
                index = item.get("index", n)
                if (
                    not isinstance(index, int)
                    or isinstance(index, bool)
                    or not (0 <= index < count)
                    or index in by_index
                ):
                    raise self._invalid(response, None, f"a bad data[{n}].index ({index!r})")
                by_index[index] = self._vector(
                    response, item.get("embedding"), "data[{}].embedding", n, dims
                )
            vectors = [by_index[i] for i in range(count)]
            usage = data.get("usage")
            if isinstance(usage, dict):
                tokens = _count(usage.get("prompt_tokens"))
        else:
            predictions = data.get("predictions")
            if not isinstance(predictions, list):
                raise self._invalid(
                    response, None, f"no `predictions` list (got {_kind(predictions)})"
                )
            if len(predictions) != count:
                raise self._invalid(
                    response, None, f"{len(predictions)} predictions for {count} inputs"
                )
            for i, prediction in enumerate(predictions):
                embeddings = prediction.get("embeddings") if isinstance(prediction, dict) else None
                if not isinstance(embeddings, dict):
                    raise self._invalid(
                        response,
                        None,
                        f"no `predictions[{i}].embeddings` object (got {_kind(embeddings)})",
                    )
                values = embeddings.get("values")
                vectors.append(
                    self._vector(response, values, "predictions[{}].embeddings.values", i, dims)
                )
                stats = embeddings.get("statistics")
                if isinstance(stats, dict):
                    tokens += _count(stats.get("token_count"))
                    if stats.get("truncated") is True:
                        truncated.append(start + i)
        out.slots[start : start + count] = vectors
        with out.lock:
            out.token_count += tokens
            out.truncated += truncated
        if out.progress is not None:
            out.progress(count)

    # -- errors: re-split or name the input --------------------------------------------------

    def _on_bad_request(
        self, exc: openai.BadRequestError, start: int, count: int, total: int
    ) -> int | None:
        """Return the size to re-split a failed batch into, or raise the final error."""
        message = _error_message(exc)
        lowered = message.lower()
        if "too many instances" in lowered and count > 1:
            match = _BATCH_SIZE_RE.search(message)
            size = int(match.group(1)) if match else 0
            return size if 0 < size < count else max(1, count // 2)
        if _TOKEN_RE.search(message) and ("exceed" in lowered or "supports up to" in lowered):
            if count > 1:
                return max(1, count // 2)  # localize the offending input, or fit the total
            if not self.auto_truncate:
                err = VertexEmbeddingInputError(
                    f"Text {start} (of {total}) is longer than {self.spec.model} accepts "
                    f"({self.spec.max_input_tokens} tokens per input) and auto_truncate is off. "
                    f"Split it into smaller chunks or set auto_truncate=True. Vertex AI said: "
                    f"{message}",
                    response=exc.response,
                    body=exc.body,
                )
                err.index = start
                raise err from exc
        return None

    def _batch_body(self, batch: _Batch, call: _Call) -> dict[str, Any]:
        """The body of one batch's request, counted in ``out.requests``."""
        body = self._body(batch.texts, call.task_type, batch.titles, call.out.dimensions)
        with call.out.lock:
            call.out.requests += 1
        return body

    def _parts(self, exc: openai.BadRequestError, batch: _Batch, call: _Call) -> list[_Batch]:
        """The smaller batches to send instead of a refused one, or raise ``exc``."""
        texts, start, titles = batch
        size = self._on_bad_request(exc, start, len(texts), call.total)
        if size is None:
            raise exc
        return [
            _Batch(texts[j : j + size], start + j, _part(titles, j, j + size))
            for j in range(0, len(texts), size)
        ]

    def _prepare(
        self,
        texts: Sequence[str],
        *,
        task_type: str | None = None,
        title: str | Sequence[str] | None = None,
        output_dimensionality: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[_Call, list[_Batch]]:
        """Check the input (before anything is sent); the call and its planned batches."""
        items = self._check(texts, task_type, title)
        titles = [title] * len(items) if isinstance(title, str) else title
        _check_dimensionality(self.spec, output_dimensionality)
        out = EmbeddingResult(vectors=[], dimensions=output_dimensionality, progress=progress)
        out.slots = [None] * len(items)
        batches = [
            _Batch(items[s:e], s, _part(titles, s, e))
            for s, e in (self.plan(items) if items else [])
        ]
        return _Call(len(items), task_type, out), batches

    # -- sync ---------------------------------------------------------------------------------

    def _send(self, batch: _Batch, call: _Call) -> None:
        body = self._batch_body(batch, call)
        try:
            with translated_errors(self.url):
                raw = self.sync_client.post(self.url(), body=body, cast_to=object, options=_RAW)
        except openai.BadRequestError as exc:
            for part in self._parts(exc, batch, call):
                self._send(part, call)
        else:
            self._parse(raw, len(batch.texts), batch.start, call.out)

    def embed(self, texts: Sequence[str], **options: Unpack[EmbedOptions]) -> EmbeddingResult:
        """Embed ``texts`` (order kept), splitting them by the model's limits.

        ``options`` (:class:`EmbedOptions`): the task type and titles, an
        ``output_dimensionality`` that overrides the client's for this call, and a
        ``progress`` callback.

        Raises:
            VertexConfigError: for bad input, before anything is sent.
            VertexEmbeddingInputError: an input is too long and ``auto_truncate`` is off.
            openai.APIError: what Vertex answered, readable (after the SDK's retries).
        """
        call, batches = self._prepare(texts, **options)
        out = call.out

        def run(k: int) -> None:
            self._send(batches[k], call)

        try:
            if len(batches) <= 1 or self.max_concurrency == 1:
                for k in range(len(batches)):
                    run(k)
            else:
                workers = min(self.max_concurrency, len(batches))
                pool = ThreadPoolExecutor(workers, thread_name_prefix="vertex-embed")
                futures = [pool.submit(run, k) for k in range(len(batches))]
                try:
                    wait(futures, return_when=FIRST_EXCEPTION)
                except BaseException:
                    # Ctrl-C, Celery's SoftTimeLimitExceeded, or any exception a signal
                    # handler raises lands here in the calling thread: drop the queued
                    # batches and return now. The requests in flight finish on their
                    # threads (a socket read cannot be interrupted) and are discarded.
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
                for f in futures:
                    f.cancel()  # nothing new starts once one batch failed
                pool.shutdown(wait=True)
                for f in futures:
                    if not f.cancelled() and f.exception() is not None:
                        raise f.exception()  # type: ignore[misc]
        except VertexEmbeddingInputError as err:
            err.partial = list(out.slots)
            raise
        return _finish(out)

    # -- async --------------------------------------------------------------------------------

    def _loop_gate(self) -> asyncio.Semaphore:
        """This client's `max_concurrency` gate on the running loop (across its calls)."""
        gates = self.__dict__.setdefault("_gates", weakref.WeakKeyDictionary())
        loop = asyncio.get_running_loop()
        gate = gates.get(loop)
        if gate is None:
            gate = gates[loop] = asyncio.Semaphore(self.max_concurrency)
        return gate

    async def _asend(self, batch: _Batch, call: _Call) -> None:
        body = self._batch_body(batch, call)
        try:
            with translated_errors(self.url):
                raw = await self.async_client.post(
                    self.url(), body=body, cast_to=object, options=_RAW
                )
        except openai.BadRequestError as exc:
            for part in self._parts(exc, batch, call):
                await self._asend(part, call)
        else:
            self._parse(raw, len(batch.texts), batch.start, call.out)

    async def aembed(
        self, texts: Sequence[str], **options: Unpack[EmbedOptions]
    ) -> EmbeddingResult:
        """Async :meth:`embed`: batches run concurrently on the running loop."""
        call, batches = self._prepare(texts, **options)
        out = call.out
        gate = self._loop_gate()
        failed: list[BaseException] = []

        async def run(k: int) -> None:
            async with gate:
                # A failed batch releases the gate before gather() can cancel the waiting
                # ones: nothing new may start once one batch failed.
                if failed:
                    return
                try:
                    await self._asend(batches[k], call)
                except BaseException as err:
                    failed.append(err)
                    raise

        tasks = [asyncio.ensure_future(run(k)) for k in range(len(batches))]
        try:
            await asyncio.gather(*tasks)
        except BaseException as err:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if isinstance(err, VertexEmbeddingInputError):
                err.partial = list(out.slots)
            raise
        return _finish(out)


class _Batch(NamedTuple):
    """One request's inputs: texts from ``start`` on, with their titles."""

    texts: list[str]
    start: int
    titles: Sequence[str] | None


class _Call(NamedTuple):
    """What every batch of one ``embed`` / ``aembed`` call shares."""

    total: int
    task_type: str | None
    out: EmbeddingResult


_RAW: Any = {"headers": {RAW_RESPONSE_HEADER: "true"}}
"""Ask the SDK for the raw answer: both routes are decoded and checked by ``_parse``."""


@functools.cache
def _fast_loads() -> Callable[[bytes], Any] | None:
    """orjson's ``loads`` when it is installed (langsmith and our llama-index extra), else None.

    Imported on the first answer, not with this module: a LlamaIndex process that never
    embeds does not pay for the import.
    """
    try:
        from orjson import loads
    except ImportError:
        return None
    return loads  # type: ignore[no-any-return]


def _loads(content: bytes) -> Any:
    """The JSON of a response body, as ``json.loads`` (``httpx.Response.json()``) reads it.

    A ``:predict`` answer is ~250 x 768 numbers as text, and parsing them is most of an
    embedding call's CPU time: orjson does it about 9x faster than the standard library
    (benchmarks/bench_embeddings.py). Whatever orjson refuses (NaN and Infinity literals,
    a byte-order mark, lone surrogates, HTML) is handed to the standard library, so what
    is accepted and how a bad body is reported do not depend on orjson being installed.
    """
    fast = _fast_loads()
    if fast is not None:
        try:
            return fast(content)
        except ValueError:
            pass
    return json.loads(content)


def _part(titles: Sequence[str] | None, start: int, end: int) -> Sequence[str] | None:
    return titles[start:end] if titles is not None else None


# JSON numbers decode to these; bool (an int subclass) and strings are not vector values.
_NUMBER_TYPES = frozenset({float, int})


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _count(value: Any) -> int:
    # A usage / statistics count is informational: a malformed one counts as 0 rather
    # than failing a batch whose vectors are sound.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0
    return int(value)


def _finish(out: EmbeddingResult) -> EmbeddingResult:
    out.vectors = [v for v in out.slots if v is not None]
    out.slots = []
    out.truncated.sort()
    return out


class _LazyClients(ForkSafeLock):
    """The SDK clients of one embedding client and its per-call copies, made once."""

    def __init__(self) -> None:
        super().__init__()
        self.clients: dict[bool, Any] = {False: None, True: None}
        """By ``async_``: the ``openai.OpenAI`` and ``openai.AsyncOpenAI``."""
