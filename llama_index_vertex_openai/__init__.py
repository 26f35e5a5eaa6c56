"""LlamaIndex LLM for Vertex AI's OpenAI-compatible Chat Completions API."""

from llama_index_vertex_openai.base import ChatVertexOpenAI, VertexOpenAI

__all__ = ["ChatVertexOpenAI", "VertexOpenAI"]
