"""A LangChain RAG chain moved from OpenAI to Vertex AI by changing its imports.

The chain below is the classic LangChain RAG recipe written for `ChatOpenAI` and
`OpenAIEmbeddings`. The only changes are the two imports marked `<- the swap` (plus
Google model ids): Gemini answers, and Vertex's `text-embedding-005` embeds the
documents (as `RETRIEVAL_DOCUMENT`) and the question (as `RETRIEVAL_QUERY`).

Run against Vertex AI:

    gcloud auth application-default login
    export GOOGLE_CLOUD_PROJECT=my-project
    python examples/langchain_rag_swap.py

Run against the local emulator (no Google account), in another shell first
`vertex-openai emulator --port 8765 --write-credentials emu.json`, then:

    export GOOGLE_APPLICATION_CREDENTIALS=$PWD/emu.json GOOGLE_CLOUD_PROJECT=emulator-project
    export CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM=http://127.0.0.1:8765
    python examples/langchain_rag_swap.py

`VERTEX_MODEL` overrides the model (default `google/gemini-2.5-flash`),
`VERTEX_EMBEDDING_MODEL` the embedding model (default `text-embedding-005`).
"""

from __future__ import annotations

import os
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore

# from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from langchain_vertex_openai import ChatVertexOpenAI as ChatOpenAI  # <- the swap
from langchain_vertex_openai import VertexOpenAIEmbeddings as OpenAIEmbeddings  # <- the swap
from vertex_openai._demo import SAMPLE_DOCS

MODEL = os.environ.get("VERTEX_MODEL", "google/gemini-2.5-flash")
EMBEDDING_MODEL = os.environ.get("VERTEX_EMBEDDING_MODEL", "text-embedding-005")


def load_documents(folder: Path) -> list[Document]:
    """One document per paragraph of every Markdown file in `folder`."""
    docs = []
    for path in sorted(folder.glob("*.md")):
        for paragraph in path.read_text(encoding="utf-8").split("\n\n"):
            if paragraph.strip():
                docs.append(Document(paragraph.strip(), metadata={"source": path.name}))
    return docs


def format_docs(docs: list[Document]) -> str:
    return "\n\n".join(f"[{d.metadata['source']}] {d.page_content}" for d in docs)


def main() -> None:
    store = InMemoryVectorStore.from_documents(
        load_documents(SAMPLE_DOCS), OpenAIEmbeddings(model=EMBEDDING_MODEL)
    )
    retriever = store.as_retriever(search_kwargs={"k": 3})
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "Answer from the context only, and cite the [source].\n\n{context}"),
            ("human", "{question}"),
        ]
    )
    llm = ChatOpenAI(model=MODEL, temperature=0)
    chain = (
        {"context": retriever | format_docs, "question": RunnablePassthrough()}
        | prompt
        | llm
        | StrOutputParser()
    )
    question = "Which host does the global endpoint use?"
    print(f"Q: {question}")
    print(f"A: {chain.invoke(question)}")
    print(f"(model: {MODEL}, embeddings: {EMBEDDING_MODEL}; both subclass OpenAI's classes)")


if __name__ == "__main__":
    main()
