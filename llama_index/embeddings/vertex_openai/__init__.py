"""``from llama_index.embeddings.vertex_openai import VertexOpenAIEmbedding`` (namespace path)."""

from llama_index_vertex_openai.embeddings import VertexOpenAIEmbedding

__all__ = ["VertexOpenAIEmbedding"]
