"""LangChain chat model and embeddings for Gemini, Google and partner models on Vertex AI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vertex_openai import __version__
from vertex_openai._extras import lazy_attributes, raise_for_missing_extra

try:
    from langchain_vertex_openai.chat_models import ChatVertexOpenAI
except ModuleNotFoundError as err:
    raise_for_missing_extra(err, feature="langchain_vertex_openai", extra="langchain")
    raise

if TYPE_CHECKING:
    from langchain_vertex_openai.embeddings import VertexOpenAIEmbeddings

# Loaded on first use: a chat-only app does not pay for the embeddings class (its
# pydantic model is built at import).
_LAZY = {"VertexOpenAIEmbeddings": "langchain_vertex_openai.embeddings"}

__all__ = ["ChatVertexOpenAI", "VertexOpenAIEmbeddings", "__version__"]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals(), extra="langchain")
