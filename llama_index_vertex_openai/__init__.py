"""LlamaIndex LLM (Vertex AI's OpenAI-compatible Chat Completions) and embedding for Vertex AI."""

from llama_index_vertex_openai.base import ChatVertexOpenAI, VertexOpenAI
from llama_index_vertex_openai.embeddings import VertexOpenAIEmbedding

__all__ = ["ChatVertexOpenAI", "VertexOpenAI", "VertexOpenAIEmbedding"]
