"""LlamaIndex LLM (Vertex AI's OpenAI-compatible Chat Completions) and embedding for Vertex AI."""

from vertex_openai import __version__
from vertex_openai._extras import raise_for_missing_extra

try:
    from llama_index_vertex_openai.base import ChatVertexOpenAI, VertexOpenAI
    from llama_index_vertex_openai.embeddings import VertexOpenAIEmbedding
except ModuleNotFoundError as err:
    raise_for_missing_extra(err, feature="llama_index_vertex_openai", extra="llama-index")
    raise

__all__ = ["ChatVertexOpenAI", "VertexOpenAI", "VertexOpenAIEmbedding", "__version__"]
