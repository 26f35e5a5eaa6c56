"""LangChain chat model for Gemini and Model Garden on Vertex AI's OpenAI-compatible API."""

from langchain_vertex_openai.chat_models import ChatVertexOpenAI

__all__ = ["ChatVertexOpenAI"]
