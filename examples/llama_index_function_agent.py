"""A LlamaIndex `FunctionAgent` with two tools on Gemini 3, plus a RAG tool over local docs.

Gemini 3 requires each function call's `thought_signature` back on the next step;
`ChatVertexOpenAI` replays it, so the agent is the plain LlamaIndex code. The retrieval
tool embeds with `VertexOpenAIEmbedding` (`text-embedding-005`).

Run against Vertex AI:

    gcloud auth application-default login
    export GOOGLE_CLOUD_PROJECT=my-project
    python examples/llama_index_function_agent.py

Run against the local emulator (no Google account), in another shell first
`vertex-openai emulator --port 8765 --write-credentials emu.json`, then:

    export GOOGLE_APPLICATION_CREDENTIALS=$PWD/emu.json GOOGLE_CLOUD_PROJECT=emulator-project
    export CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM=http://127.0.0.1:8765
    python examples/llama_index_function_agent.py

(The emulator's deterministic model calls the tools the request names, which the prompt
does.) `VERTEX_MODEL` overrides the model (default `google/gemini-3-flash-preview`).
"""

from __future__ import annotations

import asyncio
import os

from llama_index.core import Settings, SimpleDirectoryReader, VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent, ToolCall, ToolCallResult

from llama_index_vertex_openai import ChatVertexOpenAI, VertexOpenAIEmbedding
from vertex_openai._demo import SAMPLE_DOCS

MODEL = os.environ.get("VERTEX_MODEL", "google/gemini-3-flash-preview")


def multiply(a: float, b: float) -> float:
    """Multiply two numbers."""
    return a * b


def build_search_docs():
    Settings.embed_model = VertexOpenAIEmbedding(model="text-embedding-005")
    index = VectorStoreIndex.from_documents(SimpleDirectoryReader(str(SAMPLE_DOCS)).load_data())
    engine = index.as_query_engine(similarity_top_k=2, llm=Settings.llm)

    def search_docs(query: str) -> str:
        """Search the Vertex AI notes for an answer."""
        return str(engine.query(query))

    return search_docs


async def main() -> None:
    llm = ChatVertexOpenAI(model=MODEL)
    Settings.llm = llm
    agent = FunctionAgent(
        tools=[multiply, build_search_docs()],
        llm=llm,
        system_prompt="You are a helpful assistant. Use the tools.",
    )
    handler = agent.run(
        "Use multiply to compute 6 times 7, and use search_docs to find which host the "
        "global endpoint uses."
    )
    async for event in handler.stream_events():
        if isinstance(event, ToolCallResult):
            print(f"tool result: {event.tool_name} -> {str(event.tool_output)[:120]}")
        elif isinstance(event, ToolCall):
            print(f"tool call: {event.tool_name}({event.tool_kwargs})")
    response = await handler
    print(f"answer: {response}")


if __name__ == "__main__":
    asyncio.run(main())
