"""A LlamaIndex query engine over local documents, answered by Gemini on Vertex AI.

`ChatVertexOpenAI` is set as `Settings.llm` and `VertexOpenAIEmbedding` as
`Settings.embed_model`, like any LlamaIndex LLM and embedding: the whole provider is
Vertex AI (`text-embedding-005` here; `gemini-embedding-001` for the best quality).

Run against Vertex AI:

    gcloud auth application-default login
    export GOOGLE_CLOUD_PROJECT=my-project
    python examples/llama_index_query_engine.py [folder-with-docs]

Run against the local emulator (no Google account), in another shell first
`vertex-openai emulator --port 8765 --write-credentials emu.json`, then:

    export GOOGLE_APPLICATION_CREDENTIALS=$PWD/emu.json GOOGLE_CLOUD_PROJECT=emulator-project
    export CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM=http://127.0.0.1:8765
    python examples/llama_index_query_engine.py

Without a folder it indexes the sample docs bundled with the package.
`VERTEX_MODEL` overrides the model (default `google/gemini-2.5-flash`),
`VERTEX_EMBEDDING_MODEL` the embedding model (default `text-embedding-005`).
"""

from __future__ import annotations

import os
import sys

from llama_index.core import Settings, SimpleDirectoryReader, VectorStoreIndex

from llama_index_vertex_openai import ChatVertexOpenAI, VertexOpenAIEmbedding
from vertex_openai._demo import SAMPLE_DOCS

MODEL = os.environ.get("VERTEX_MODEL", "google/gemini-2.5-flash")
EMBEDDING_MODEL = os.environ.get("VERTEX_EMBEDDING_MODEL", "text-embedding-005")


def main() -> None:
    folder = sys.argv[1] if len(sys.argv) > 1 else str(SAMPLE_DOCS)
    Settings.llm = ChatVertexOpenAI(model=MODEL, temperature=0)
    Settings.embed_model = VertexOpenAIEmbedding(model=EMBEDDING_MODEL)

    documents = SimpleDirectoryReader(folder).load_data()
    index = VectorStoreIndex.from_documents(documents)
    engine = index.as_query_engine(similarity_top_k=2)

    for question in (
        "Which host does the global endpoint use?",
        "How long does an access token live?",
    ):
        response = engine.query(question)
        sources = ", ".join(n.node.metadata.get("file_name", "?") for n in response.source_nodes)
        print(f"Q: {question}")
        print(f"A: {str(response).strip()}")
        print(f"   sources: {sources}")


if __name__ == "__main__":
    main()
