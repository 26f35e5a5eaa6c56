"""Shared core of vertex-openai: Google auth, endpoint resolution and Gemini extras.

The framework classes (``langchain_vertex_openai.ChatVertexOpenAI`` and
``llama_index_vertex_openai.ChatVertexOpenAI``) are thin layers over this package; it
never imports LangChain or LlamaIndex.

The public names below are loaded on first access (PEP 562): ``import vertex_openai``
alone imports neither the openai SDK nor google-auth, and google-auth's transport
(``requests``) and the emulator are imported only when they are first used.

``__all__`` is the public API. The building blocks behind it (the token provider, the
auth flow, routing) live in private modules and are imported from there by the
framework packages; their names and places may change between releases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vertex_openai._extras import lazy_attributes

if TYPE_CHECKING:
    from vertex_openai._clients import VertexConnection
    from vertex_openai._constants import (
        CLOUD_PLATFORM_SCOPE,
        DEFAULT_API_VERSION,
        DEFAULT_ENDPOINT_ID,
        DEFAULT_LOCATION,
    )
    from vertex_openai._embeddings import VertexEmbeddingClient, VertexEmbeddingInputError
    from vertex_openai._endpoint import VertexEndpoint
    from vertex_openai._errors import (
        VertexAuthError,
        VertexConfigError,
        VertexContextOverflowError,
    )
    from vertex_openai._failover import clear_failover_cooling

_LAZY = {
    "CLOUD_PLATFORM_SCOPE": "vertex_openai._constants",
    "DEFAULT_API_VERSION": "vertex_openai._constants",
    "DEFAULT_ENDPOINT_ID": "vertex_openai._constants",
    "DEFAULT_LOCATION": "vertex_openai._constants",
    "VertexAuthError": "vertex_openai._errors",
    "VertexConfigError": "vertex_openai._errors",
    "VertexContextOverflowError": "vertex_openai._errors",
    "VertexConnection": "vertex_openai._clients",
    "VertexEmbeddingClient": "vertex_openai._embeddings",
    "VertexEmbeddingInputError": "vertex_openai._embeddings",
    "VertexEndpoint": "vertex_openai._endpoint",
    "clear_failover_cooling": "vertex_openai._failover",
}

__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "DEFAULT_API_VERSION",
    "DEFAULT_ENDPOINT_ID",
    "DEFAULT_LOCATION",
    "VertexAuthError",
    "VertexConfigError",
    "VertexConnection",
    "VertexContextOverflowError",
    "VertexEmbeddingClient",
    "VertexEmbeddingInputError",
    "VertexEndpoint",
    "clear_failover_cooling",
]

__version__ = "0.1.0"


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
