"""LlamaIndex step of ``vertex-openai demo`` (see ``vertex_openai._demo``)."""

from __future__ import annotations

from typing import Any

from llama_index.core import Settings, SimpleDirectoryReader, VectorStoreIndex

from llama_index_vertex_openai import ChatVertexOpenAI, VertexOpenAIEmbedding


def query_engine(ctx: Any) -> str:
    from vertex_openai._demo import SAMPLE_DOCS

    Settings.llm = ChatVertexOpenAI(**ctx.model_kwargs())
    # The embedder is Vertex's too (the same project, credentials and endpoint).
    embed_kwargs = ctx.model_kwargs(model="text-embedding-005")
    if not ctx.location:
        embed_kwargs.pop("location")  # the embedding default, us-central1
    Settings.embed_model = VertexOpenAIEmbedding(**embed_kwargs)
    documents = SimpleDirectoryReader(str(SAMPLE_DOCS)).load_data()
    index = VectorStoreIndex.from_documents(documents)
    response = index.as_query_engine(similarity_top_k=2).query(
        "Which host does the global endpoint use?"
    )
    sources = [n.node.metadata.get("file_name", "?") for n in response.source_nodes]
    ctx.say(f"   {str(response).strip()[:300]}")
    ctx.say(f"   sources: {', '.join(sources)}")
    if not str(response).strip():
        msg = "empty answer"
        raise RuntimeError(msg)
    return f"answered from {len(documents)} documents, embedded with text-embedding-005"
