"""LangChain chat model for Gemini and Model Garden on Vertex AI's OpenAI-compatible API."""

from vertex_openai import __version__
from vertex_openai._extras import raise_for_missing_extra

try:
    from langchain_vertex_openai.chat_models import ChatVertexOpenAI
except ModuleNotFoundError as err:
    raise_for_missing_extra(err, feature="langchain_vertex_openai", extra="langchain")
    raise

__all__ = ["ChatVertexOpenAI", "__version__"]
