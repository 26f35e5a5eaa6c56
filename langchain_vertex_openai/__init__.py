"""LangChain chat model for Gemini and Model Garden on Vertex AI's OpenAI-compatible API."""

from langchain_vertex_openai.chat_models import ChatVertexOpenAI
from langchain_vertex_openai.embeddings import VertexOpenAIEmbeddings

__all__ = ["ChatVertexOpenAI", "VertexOpenAIEmbeddings"]
