"""LlamaIndex LLM (Vertex AI's OpenAI-compatible Chat Completions) and embedding for Vertex AI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vertex_openai import __version__
from vertex_openai._extras import lazy_attributes, raise_for_missing_extra

try:
    from llama_index_vertex_openai.base import ChatVertexOpenAI, VertexOpenAI
except ModuleNotFoundError as err:
    raise_for_missing_extra(err, feature="llama_index_vertex_openai", extra="llama-index")
    raise

if TYPE_CHECKING:
    from llama_index_vertex_openai.embeddings import VertexOpenAIEmbedding

# Loaded on first use: an LLM-only app does not pay for the embedding class.
_LAZY = {"VertexOpenAIEmbedding": "llama_index_vertex_openai.embeddings"}

__all__ = ["ChatVertexOpenAI", "VertexOpenAI", "VertexOpenAIEmbedding", "__version__"]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals(), extra="llama-index")
