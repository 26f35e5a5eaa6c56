"""Vertex AI text embeddings as a LlamaIndex `BaseEmbedding`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from pydantic import Field, PrivateAttr

from vertex_openai._constants import EXPRESS_KEY_DROPPED
from vertex_openai._credential_policy import warn_principal_switch
from vertex_openai._embeddings import (
    DEFAULT_EMBEDDING_MODEL,
    DEFAULT_MAX_CONCURRENCY,
    VertexEmbeddingClient,
    embedding_location,
    embedding_model_spec,
)
from vertex_openai._errors import VertexConfigError
from vertex_openai._options import ConnectionOptions
from vertex_openai._pickling import picklable_state

__all__ = ["VertexOpenAIEmbedding"]


class VertexOpenAIEmbedding(BaseEmbedding):
    """Google's and partner embedding models on Vertex AI, for LlamaIndex.

    Swap it in for `OpenAIEmbedding` by class name: `model`, `embed_batch_size`,
    `dimensions`, `api_key`, `api_base`, `max_retries`, `timeout` mean what they mean
    there. Requests are signed with Google credentials refreshed per request; texts are
    embedded as `RETRIEVAL_DOCUMENT` and queries as `RETRIEVAL_QUERY`, as unit vectors.

    `embed_batch_size` is the number of texts per request and defaults to the model's own
    limit (1 for `gemini-embedding-001`, 250 for `text-embedding-005`); a larger value is
    split into requests of the model's limit sent `max_concurrency` at a time.

    Examples:
        ```python
        from llama_index_vertex_openai import VertexOpenAIEmbedding

        embed_model = VertexOpenAIEmbedding(model="text-embedding-005")
        vector = embed_model.get_query_embedding("Which host serves Gemini?")
        ```
    """

    project: str | None = Field(
        default=None, description="Google Cloud project. Env: GOOGLE_CLOUD_PROJECT."
    )
    location: str | None = Field(
        default=None, description="Region. Env: GOOGLE_CLOUD_LOCATION; default 'us-central1'."
    )
    api_version: str | None = Field(default=None, description="'v1' (default) or 'v1beta1'.")
    api_endpoint: str | None = Field(
        default=None, description="Host or scheme://host:port override (PSC, the emulator)."
    )
    base_url: str | None = Field(
        default=None, description="Full base URL ('.../locations/L' or '.../endpoints/openapi')."
    )
    credentials: Any = Field(
        default=None,
        exclude=True,
        repr=False,
        description="google.auth Credentials, a key file path or an info dict; ADC if omitted.",
    )
    quota_project: str | None = Field(default=None, description="Project billed for quota.")
    allow_non_google_token_urls: bool = Field(
        default=False,
        description="Accept external_account credentials whose token / impersonation URL is "
        "not a Google STS / IAM Credentials host (refused by default).",
    )
    fallback_locations: list[str] | None = Field(
        default=None,
        description="Locations that get the same request, in order, when the one in use "
        "answers 429 RESOURCE_EXHAUSTED or 503 UNAVAILABLE. Default None: requests never "
        "leave `location` (data residency). See docs/failover.md.",
    )
    output_dimensionality: int | None = Field(
        default=None, description="Output size (also accepted as `dimensions`)."
    )
    task_type: str | None = Field(
        default=None,
        description="Task type for texts and queries; default RETRIEVAL_DOCUMENT / "
        "RETRIEVAL_QUERY.",
    )
    query_task_type: str | None = Field(
        default=None, description="Task type for queries only (e.g. CODE_RETRIEVAL_QUERY)."
    )
    title: str | None = Field(default=None, description="Title sent with every text.")
    max_concurrency: int = Field(
        default=DEFAULT_MAX_CONCURRENCY, description="Requests in flight at once per call."
    )
    normalize: bool = Field(default=True, description="Return unit vectors.")
    auto_truncate: bool = Field(
        default=True, description="Let Vertex cut too-long texts; off: an error naming it."
    )
    max_retries: int = Field(default=10, description="Retries of 429 / 5xx (the SDK's).")
    timeout: float = Field(default=60.0, description="Seconds per request.")

    _embedder: VertexEmbeddingClient = PrivateAttr()
    _api_key: Any = PrivateAttr(default=None)
    _express_key_dropped: bool = PrivateAttr(default=False)

    def __init__(
        self,
        model: str | None = None,
        *,
        project: str | None = None,
        location: str | None = None,
        api_key: str | Callable[[], Any] | None = None,
        credentials: Any = None,
        api_base: str | None = None,
        base_url: str | None = None,
        dimensions: int | None = None,
        embed_batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        model = model or kwargs.pop("model_name", None) or DEFAULT_EMBEDDING_MODEL
        spec = embedding_model_spec(model)
        output = kwargs.pop("output_dimensionality", None)
        if dimensions is not None and output is not None and dimensions != output:
            msg = "Pass output_dimensionality or dimensions (its alias), not both."
            raise ValueError(msg)
        fields: dict[str, Any] = {
            "model_name": model,
            "project": project,
            "location": location,
            "credentials": credentials,
            "base_url": base_url or api_base,
            "output_dimensionality": output if output is not None else dimensions,
            "embed_batch_size": embed_batch_size or spec.max_batch,
            **kwargs,
        }
        super().__init__(**fields)
        if api_key == EXPRESS_KEY_DROPPED:
            api_key = None  # a to_dict() copy of an express model: refused on use
            self._express_key_dropped = True
        self._api_key = api_key
        self._build()

    def _build(self) -> None:
        location = embedding_location(self.location)
        options = ConnectionOptions.build(
            project=self.project,
            location=location,
            api_version=self.api_version,
            api_endpoint=self.api_endpoint,
            base_url=self.base_url,
            credentials=self.credentials,
            api_key=self._api_key,
            quota_project=self.quota_project,
            fallback_locations=self.fallback_locations,
            timeout=self.timeout,
            allow_non_google_token_urls=self.allow_non_google_token_urls,
        )
        if self._api_key is not None and options.credentials is not None:
            # An OAuth token given as api_key: it is now the (static) credentials.
            self._api_key = None
            self.credentials = options.credentials
        connection = options.connect()
        self._embedder = VertexEmbeddingClient(
            connection,
            self.model_name,
            batch_size=None,
            max_concurrency=self.max_concurrency,
            output_dimensionality=self.output_dimensionality,
            auto_truncate=self.auto_truncate,
            normalize=self.normalize,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serializes this class under."""
        return "VertexOpenAIEmbedding"

    @property
    def embedder(self) -> VertexEmbeddingClient:
        """The core client (limits, URL, batching plan)."""
        return self._embedder

    def describe_credentials(self) -> str:
        """What signs the requests (never a secret)."""
        return self._embedder.connection.describe_credentials()

    def __getstate__(self) -> dict[str, Any]:
        if self._api_key is not None:
            msg = (
                "A VertexOpenAIEmbedding using an express-mode api_key cannot be pickled (the "
                "key would be written out). Build it in the worker instead."
            )
            raise TypeError(msg)
        return picklable_state(super().__getstate__(), clear_private=("_embedder",))

    def to_dict(self, **kwargs: Any) -> dict[str, Any]:
        """LlamaIndex's dict form; an express-mode key is written as a marker only.

        A ``from_dict`` copy then asks for the key instead of signing with the machine's
        Application Default Credentials (another principal).
        """
        data = super().to_dict(**kwargs)
        if self._api_key is not None or self._express_key_dropped:
            data["api_key"] = EXPRESS_KEY_DROPPED
        return data

    def _client(self) -> VertexEmbeddingClient:
        if self._express_key_dropped:
            msg = (
                "This VertexOpenAIEmbedding was rebuilt by from_dict() from an express-mode "
                "instance; API keys are never written out. Create it again with api_key=..."
            )
            raise VertexConfigError(msg)
        return self._embedder

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        warn_principal_switch(state, type(self).__name__)
        self._build()

    # -- embedding ----------------------------------------------------------------------

    def _text_args(self) -> dict[str, Any]:
        if not self._embedder.spec.supports_task_type:
            return {"task_type": None, "title": None}
        task = self.task_type or "RETRIEVAL_DOCUMENT"
        return {"task_type": task, "title": self.title if task == "RETRIEVAL_DOCUMENT" else None}

    def _query_task(self) -> str | None:
        if not self._embedder.spec.supports_task_type:
            return None
        return self.query_task_type or self.task_type or "RETRIEVAL_QUERY"

    def _batch_client(self) -> VertexEmbeddingClient:
        # embed_batch_size is the per-request size (capped at the model's limit).
        client = self._client()
        size = max(1, min(self.embed_batch_size, client.spec.max_batch))
        if size == client.batch_size:
            return client
        copy = VertexEmbeddingClient.__new__(VertexEmbeddingClient)
        copy.__dict__.update(client.__dict__)
        copy.batch_size = size
        return copy

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._client().embed([query], task_type=self._query_task()).vectors[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        client = self._client()
        return (await client.aembed([query], task_type=self._query_task())).vectors[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self._aget_text_embeddings([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._batch_client().embed(texts, **self._text_args()).vectors

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return (await self._batch_client().aembed(texts, **self._text_args())).vectors
