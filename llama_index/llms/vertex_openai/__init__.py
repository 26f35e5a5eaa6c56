"""LlamaIndex's own import path for this package's LLM.

Every LlamaIndex LLM integration lives under `llama_index.llms.*`, so
`from llama_index.llms.vertex_openai import VertexOpenAI` works as users expect. This
directory is a portion of the `llama_index` namespace package: it ships no
`llama_index/__init__.py` or `llama_index/llms/__init__.py`.
"""

from llama_index_vertex_openai import ChatVertexOpenAI, VertexOpenAI, __version__

__all__ = ["ChatVertexOpenAI", "VertexOpenAI", "__version__"]
