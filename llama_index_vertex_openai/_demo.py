"""LlamaIndex step of ``vertex-openai demo`` (see ``vertex_openai._demo``)."""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

from llama_index.core import Settings, SimpleDirectoryReader, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding

from llama_index_vertex_openai import ChatVertexOpenAI


class HashingEmbedding(BaseEmbedding):
    """A deterministic bag-of-words embedding: offline, no model download."""

    dimensions: int = 256

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dimensions
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            vec[int.from_bytes(digest, "big") % self.dimensions] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)


def query_engine(ctx: Any) -> str:
    from vertex_openai._demo import SAMPLE_DOCS

    Settings.llm = ChatVertexOpenAI(**ctx.model_kwargs())
    Settings.embed_model = HashingEmbedding()
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
    return f"answered from {len(documents)} documents"
