"""LlamaIndex LLM for Vertex AI's OpenAI-compatible Chat Completions API."""

from llama_index_vertex_openai.base import ChatVertexOpenAI, VertexOpenAI
from llama_index_vertex_openai.embeddings import VertexOpenAIEmbedding

__all__ = ["ChatVertexOpenAI", "VertexOpenAI", "VertexOpenAIEmbedding"]
