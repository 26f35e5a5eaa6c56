"""Vertex AI text embeddings as a LangChain `Embeddings` (a drop-in `OpenAIEmbeddings`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from langchain_openai import OpenAIEmbeddings
from pydantic import Field, PrivateAttr, SecretStr, model_validator
from typing_extensions import Self

from langchain_vertex_openai._connection_fields import VertexConnectionFields
from vertex_openai._credential_policy import refuse_manifest_credentials
from vertex_openai._embeddings import (
    DEFAULT_EMBEDDING_MODEL,
    DEFAULT_MAX_CONCURRENCY,
    VertexEmbeddingClient,
    embedding_location,
    per_call_embedding_args,
)
from vertex_openai._options import ConnectionOptions

__all__ = ["VertexOpenAIEmbeddings"]


class VertexOpenAIEmbeddings(VertexConnectionFields, OpenAIEmbeddings):
    """Google's and partner embedding models on Vertex AI, as an `OpenAIEmbeddings`.

    ``isinstance(emb, OpenAIEmbeddings)`` holds, so an app written for OpenAI swaps its
    embedder by class name. Nothing is tokenized locally (no tiktoken download); inputs are
    split by the model's real per-request limits (``gemini-embedding-001``: one text per
    request; ``text-embedding-005``: 250 texts and 20,000 tokens), sent concurrently
    (``max_concurrency``) and returned in order, as unit vectors.

    Setup:
        ```bash
        pip install "vertex-openai[langchain]"
        gcloud auth application-default login
        export GOOGLE_CLOUD_PROJECT="my-project"
        ```

    Key init args:
        model:
            `"gemini-embedding-001"` (default), `"text-embedding-005"`,
            `"text-multilingual-embedding-002"` or a partner model such as
            `"intfloat/multilingual-e5-small-maas"`.
        output_dimensionality (alias `dimensions`):
            Smaller vectors, e.g. 768 for `gemini-embedding-001`.
        task_type, query_task_type:
            Documents are embedded as `RETRIEVAL_DOCUMENT` and queries as
            `RETRIEVAL_QUERY` unless set (`SEMANTIC_SIMILARITY`, `CODE_RETRIEVAL_QUERY` ...).
        title:
            Title sent with every document (`RETRIEVAL_DOCUMENT` only).
        batch_size (alias `chunk_size`):
            Texts per request; default and maximum: the model's limit.
        normalize:
            Unit vectors (default `True`); Vertex normalizes only full-size vectors.
        auto_truncate:
            Let Vertex cut inputs longer than the model's limit (default `True`).
        project, location, credentials, api_key, api_endpoint, base_url, quota_project:
            As for `ChatVertexOpenAI`; the default location is `us-central1`.

    Instantiate:
        ```python
        from langchain_vertex_openai import VertexOpenAIEmbeddings

        embeddings = VertexOpenAIEmbeddings(model="gemini-embedding-001")
        vectors = embeddings.embed_documents(["Vertex AI serves Gemini."])
        query = embeddings.embed_query("Who serves Gemini?")
        ```
    """

    model: str = DEFAULT_EMBEDDING_MODEL
    """Embedding model id."""

    openai_api_key: (  # type: ignore[assignment]
        SecretStr | Callable[[], str] | Callable[[], Awaitable[str]] | None
    ) = Field(default=None, alias="api_key")
    """A Vertex express-mode API key, or a sync / async callable returning an OAuth access
    token, called per request (never read from `OPENAI_API_KEY`)."""

    openai_api_base: str | None = Field(default=None, alias="base_url")
    """Full base URL (`.../locations/L` or `.../endpoints/openapi`); never from env."""

    openai_organization: str | None = Field(default=None, alias="organization")
    openai_api_version: str | None = Field(default=None, alias="api_version_openai")
    openai_api_type: str | None = None
    openai_proxy: str | None = None
    """Proxy URL (`HTTPS_PROXY` is honoured without it); never read from `OPENAI_PROXY`."""

    output_dimensionality: int | None = None
    """Output size (also accepted as `dimensions`, OpenAIEmbeddings' name)."""

    task_type: str | None = None
    """Task type for documents and queries; default: the retrieval pair."""

    query_task_type: str | None = None
    """Task type for `embed_query` only (e.g. `CODE_RETRIEVAL_QUERY`)."""

    title: str | None = None
    """Title sent with every document (models that take one, `RETRIEVAL_DOCUMENT`)."""

    batch_size: int | None = None
    """Texts per request (default and maximum: the model's own limit)."""

    chunk_size: int | None = None  # type: ignore[assignment]
    """OpenAIEmbeddings' name for `batch_size`."""

    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    """Requests in flight at once per call."""

    normalize: bool = True
    """Return unit vectors at every `output_dimensionality`."""

    auto_truncate: bool = True
    """Let Vertex truncate too-long inputs; off: a clear error naming the input."""

    _embedder: VertexEmbeddingClient | None = PrivateAttr(default=None)
    _unpickled_private = ("_connection", "_embedder")

    @model_validator(mode="before")
    @classmethod
    def _no_credentials_from_manifests(cls, values: Any) -> Any:
        refuse_manifest_credentials(values, cls.__name__)
        return values

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Not serializable with `dumpd` / `load` (credentials must never be serialized)."""
        return False

    @model_validator(mode="after")
    def validate_environment(self) -> Self:
        """Check Vertex options and build the embedding client (no I/O, no OpenAI client)."""
        if self.model_kwargs:
            msg = (
                f"model_kwargs {sorted(self.model_kwargs)} are not sent to Vertex AI; use "
                "task_type, title, output_dimensionality or auto_truncate."
            )
            raise ValueError(msg)
        if (
            self.batch_size is not None
            and self.chunk_size is not None
            and self.batch_size != self.chunk_size
        ):
            msg = "Pass batch_size or chunk_size (its alias), not both with different values."
            raise ValueError(msg)
        if (
            self.dimensions is not None
            and self.output_dimensionality is not None
            and self.dimensions != self.output_dimensionality
        ):
            msg = "Pass output_dimensionality or dimensions (its alias), not both."
            raise ValueError(msg)
        self._connect()
        return self

    def _connect(self) -> None:
        location = embedding_location(self.location)
        connection = ConnectionOptions.build(
            project=self.project,
            location=location,
            api_version=self.api_version,
            api_endpoint=self.api_endpoint,
            base_url=self.openai_api_base,
            credentials=self.credentials,
            api_key=self.openai_api_key,
            quota_project=self.quota_project,
            timeout=self.request_timeout,
            fallback_locations=self.fallback_locations,
            allow_non_google_token_urls=self.allow_non_google_token_urls,
        ).connect()
        self._connection = connection
        self.project = self.project or connection.endpoint_at_start.project
        self.location = self.location or location
        headers = dict(self.default_headers or {})
        self._embedder = VertexEmbeddingClient(
            connection,
            self.model,
            batch_size=self.batch_size or self.chunk_size,
            max_concurrency=self.max_concurrency,
            output_dimensionality=self.output_dimensionality or self.dimensions,
            auto_truncate=self.auto_truncate,
            normalize=self.normalize,
            timeout=self.request_timeout,
            max_retries=self.max_retries,
            default_headers=headers or None,
            proxy=self.openai_proxy,
            http_client=self.http_client,
            async_http_client=self.http_async_client,
        )
        # The parent's OpenAI clients are never built: requests go through the embedder.
        self.client = None
        self.async_client = None

    @property
    def embedder(self) -> VertexEmbeddingClient:
        """The core client (limits, URL, batching plan)."""
        assert self._embedder is not None
        return self._embedder

    # ------------------------------------------------------------------ embedding

    def _document_task(self) -> str | None:
        if not self.embedder.spec.supports_task_type:
            return None
        return self.task_type or "RETRIEVAL_DOCUMENT"

    def _query_task(self) -> str | None:
        if not self.embedder.spec.supports_task_type:
            return None
        return self.query_task_type or self.task_type or "RETRIEVAL_QUERY"

    def _doc_args(self, titles: Sequence[str] | None) -> dict[str, Any]:
        task = self._document_task()
        title: Any = titles if titles is not None else self.title
        if task != "RETRIEVAL_DOCUMENT":
            title = None
        return {"task_type": task, "title": title}

    def _client_for(self, chunk_size: int | None) -> VertexEmbeddingClient:
        if chunk_size is None:
            return self.embedder
        client = VertexEmbeddingClient.__new__(VertexEmbeddingClient)
        client.__dict__.update(self.embedder.__dict__)
        client.batch_size = max(1, min(chunk_size, self.embedder.spec.max_batch))
        return client

    def embed_documents(
        self,
        texts: list[str],
        chunk_size: int | None = None,
        *,
        titles: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> list[list[float]]:
        """Embed documents (`RETRIEVAL_DOCUMENT` unless `task_type` says otherwise).

        Args:
            texts: The texts.
            chunk_size: Texts per request for this call (capped at the model's limit).
            titles: One title per text (`RETRIEVAL_DOCUMENT` only).
            **kwargs: `dimensions` (smaller vectors, Vertex `outputDimensionality`); any
                other key raises `VertexConfigError` (Vertex takes no other option).
        """
        args = per_call_embedding_args(kwargs)
        client = self._client_for(chunk_size)
        with _progress(self.show_progress_bar, len(texts)) as progress:
            return client.embed(texts, **self._doc_args(titles), **args, progress=progress).vectors

    async def aembed_documents(
        self,
        texts: list[str],
        chunk_size: int | None = None,
        *,
        titles: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> list[list[float]]:
        """Async `embed_documents`."""
        args = per_call_embedding_args(kwargs)
        client = self._client_for(chunk_size)
        with _progress(self.show_progress_bar, len(texts)) as progress:
            result = await client.aembed(texts, **self._doc_args(titles), **args, progress=progress)
        return result.vectors

    def embed_query(self, text: str, **kwargs: Any) -> list[float]:
        """Embed a query (`RETRIEVAL_QUERY` unless `query_task_type` / `task_type` is set).

        `dimensions=` is honoured as in `embed_documents`; other keywords are refused.
        """
        args = per_call_embedding_args(kwargs)
        return self.embedder.embed([text], task_type=self._query_task(), **args).vectors[0]

    async def aembed_query(self, text: str, **kwargs: Any) -> list[float]:
        """Async `embed_query`."""
        args = per_call_embedding_args(kwargs)
        result = await self.embedder.aembed([text], task_type=self._query_task(), **args)
        return result.vectors[0]


@contextmanager
def _progress(show: bool, total: int) -> Iterator[Callable[[int], Any] | None]:
    """A tqdm bar counting texts, as the parent shows for `show_progress_bar=True`."""
    if not show:
        yield None
        return
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:  # the parent's own message for the same setting
        msg = "Package tqdm must be installed if show_progress_bar=True. Run `pip install tqdm`."
        raise ImportError(msg) from exc
    bar = tqdm(total=total, unit="text")
    try:
        yield bar.update
    finally:
        bar.close()
