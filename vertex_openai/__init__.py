"""Shared core of vertex-openai: Google auth, endpoint resolution and Gemini extras.

The framework classes (``langchain_vertex_openai.ChatVertexOpenAI`` and
``llama_index_vertex_openai.ChatVertexOpenAI``) are thin layers over this package; it
never imports LangChain or LlamaIndex.
"""

from __future__ import annotations

from vertex_openai._auth import CredentialsSource, EndpointRouter, TokenProvider, VertexAuth
from vertex_openai._clients import VertexConnection
from vertex_openai._constants import (
    CLOUD_PLATFORM_SCOPE,
    DEFAULT_API_VERSION,
    DEFAULT_ENDPOINT_ID,
    DEFAULT_LOCATION,
)
from vertex_openai._embeddings import VertexEmbeddingClient, VertexEmbeddingInputError
from vertex_openai._endpoint import VertexEndpoint
from vertex_openai._errors import VertexAuthError, VertexConfigError

__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "DEFAULT_API_VERSION",
    "DEFAULT_ENDPOINT_ID",
    "DEFAULT_LOCATION",
    "CredentialsSource",
    "EndpointRouter",
    "TokenProvider",
    "VertexAuth",
    "VertexAuthError",
    "VertexConfigError",
    "VertexConnection",
    "VertexEmbeddingClient",
    "VertexEmbeddingInputError",
    "VertexEndpoint",
]

__version__ = "0.1.0"
