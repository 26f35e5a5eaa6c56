"""LangChain chat model and embeddings for Gemini, Google and partner models on Vertex AI."""

from langchain_vertex_openai.chat_models import ChatVertexOpenAI
from langchain_vertex_openai.embeddings import VertexOpenAIEmbeddings

__all__ = ["ChatVertexOpenAI", "VertexOpenAIEmbeddings"]
