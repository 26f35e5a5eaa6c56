"""ChatVertexOpenAI inside LangChain v1 agents and a small RAG chain (emulator, real HTTP)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough
from langchain_core.tools import tool
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_openai import ChatOpenAI
from lc_support import MakeModel

from vertex_openai._constants import SIGNATURE_SENTINEL, SIGNATURES_KEY
from vertex_openai.emulator import Emulator

QUESTION = "Use get_weather and get_time for 'Paris', then summarise."


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny and 21C in {city}"


@tool
def get_time(city: str) -> str:
    """Get the local time in a city."""
    return f"It is noon in {city}"


def _check_run(messages: list[Any], emulator: Emulator, model: str) -> None:
    calls = [m for m in messages if isinstance(m, AIMessage) and m.tool_calls]
    results = [m for m in messages if isinstance(m, ToolMessage)]
    assert [tc["name"] for tc in calls[0].tool_calls] == ["get_weather", "get_time"]
    assert [r.content for r in results] == ["Sunny and 21C in Paris", "It is noon in Paris"]
    final = messages[-1]
    assert isinstance(final, AIMessage)
    assert "Sunny and 21C in Paris" in final.text
    assert "It is noon in Paris" in final.text
    chat = [r for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert len(chat) == 2
    assert all(r.status == 200 for r in chat)
    replayed = [m for m in chat[1].json["messages"] if m.get("tool_calls")][0]
    sig = replayed["tool_calls"][0].get("extra_content", {}).get("google", {})
    if model.startswith("google/gemini-3"):
        # The real signature went back (not the sentinel), once, on the first call.
        assert (
            sig["thought_signature"]
            == calls[0].additional_kwargs[SIGNATURES_KEY][calls[0].tool_calls[0]["id"]]
        )
        assert sig["thought_signature"] != SIGNATURE_SENTINEL
        assert "extra_content" not in replayed["tool_calls"][1]


MODELS = [("google/gemini-3-pro-preview", "global"), ("gemini-2.5-flash", "us-central1")]


@pytest.mark.parametrize(("model", "location"), MODELS)
def test_agent_invoke(make_model: MakeModel, emulator: Emulator, model: str, location: str) -> None:
    agent = create_agent(make_model(model=model, location=location), [get_weather, get_time])
    out = agent.invoke({"messages": [("user", QUESTION)]})
    _check_run(out["messages"], emulator, model)


@pytest.mark.parametrize(("model", "location"), MODELS)
async def test_agent_ainvoke(
    make_model: MakeModel, emulator: Emulator, model: str, location: str
) -> None:
    agent = create_agent(make_model(model=model, location=location), [get_weather, get_time])
    out = await agent.ainvoke({"messages": [("user", QUESTION)]})
    _check_run(out["messages"], emulator, model)


@pytest.mark.parametrize(("model", "location"), MODELS)
@pytest.mark.parametrize("output_version", ["v0", "v1"])
def test_agent_stream(
    make_model: MakeModel, emulator: Emulator, model: str, location: str, output_version: str
) -> None:
    llm = make_model(
        model=model,
        location=location,
        output_version=output_version,
        thinking_config={"include_thoughts": True},
    )
    agent = create_agent(llm, [get_weather, get_time])
    tokens: list[Any] = []
    state: dict[str, Any] = {}
    for mode, data in agent.stream(
        {"messages": [("user", QUESTION)]}, stream_mode=["messages", "values"]
    ):
        if mode == "messages":
            tokens.append(data[0])
        else:
            state = data
    assert tokens  # token-level streaming happened
    _check_run(state["messages"], emulator, model)
    reasoning = [
        b
        for m in state["messages"]
        if isinstance(m, AIMessage)
        for b in m.content_blocks
        if b["type"] == "reasoning"
    ]
    assert reasoning


async def test_agent_astream_gemini3(make_model: MakeModel, emulator: Emulator) -> None:
    agent = create_agent(
        make_model(model="google/gemini-3-pro-preview", location="global"),
        [get_weather, get_time],
    )
    state: dict[str, Any] = {}
    async for data in agent.astream({"messages": [("user", QUESTION)]}, stream_mode="values"):
        state = data
    _check_run(state["messages"], emulator, "google/gemini-3-pro-preview")


# ---------------------------------------------------------------- RAG

DOCS = [
    "The Eiffel Tower is 330 metres tall and stands in Paris.",
    "Mount Fuji is the highest mountain in Japan at 3776 metres.",
    "The Nile is one of the longest rivers in the world.",
    "Basalt is a volcanic rock formed from rapidly cooled lava.",
]


def _rag_chain(llm: ChatOpenAI) -> Any:
    store = InMemoryVectorStore.from_documents(
        [Document(page_content=text) for text in DOCS], DeterministicFakeEmbedding(size=64)
    )
    retriever = store.as_retriever(search_kwargs={"k": 2})
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "Answer from the context only.\n\nContext:\n{context}"),
            ("human", "{question}"),
        ]
    )

    def format_docs(docs: list[Document]) -> str:
        return "\n".join(d.page_content for d in docs)

    return (
        {"context": retriever | format_docs, "question": RunnablePassthrough()}
        | prompt
        | llm
        | StrOutputParser()
    )


def test_rag_chain_swaps_chat_openai_in_one_line(make_model: MakeModel, emulator: Emulator) -> None:
    # An existing app builds its chain around a ChatOpenAI ...
    chain_factory = _rag_chain
    # ... and switching to Vertex is this one line:
    llm: ChatOpenAI = make_model(model="google/gemini-2.5-flash")
    chain = chain_factory(llm)
    answer = chain.invoke("How tall is the Eiffel Tower?")
    assert answer.startswith("Emulated answer from google/gemini-2.5-flash")
    sent = emulator.requests[-1].json["messages"]
    assert sent[0]["role"] == "system"
    assert "Context:" in sent[0]["content"]
    assert sum(text in sent[0]["content"] for text in DOCS) == 2
    streamed = "".join(chain.stream("How tall is the Eiffel Tower?"))
    assert streamed == answer
