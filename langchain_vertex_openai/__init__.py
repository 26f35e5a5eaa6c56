"""LangChain chat model and embeddings for Gemini, Google and partner models on Vertex AI."""

from vertex_openai import __version__
from vertex_openai._extras import raise_for_missing_extra

try:
    from langchain_vertex_openai.chat_models import ChatVertexOpenAI
    from langchain_vertex_openai.embeddings import VertexOpenAIEmbeddings
except ModuleNotFoundError as err:
    raise_for_missing_extra(err, feature="langchain_vertex_openai", extra="langchain")
    raise

__all__ = ["ChatVertexOpenAI", "VertexOpenAIEmbeddings", "__version__"]
