"""VectorStoreIndex query and chat engines with Settings.llm = ChatVertexOpenAI(...)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.llama_index
pytest.importorskip("llama_index.core")

from llama_index.core import Document, Settings, VectorStoreIndex  # noqa: E402
from llama_index.core.embeddings import BaseEmbedding  # noqa: E402
from llama_index.core.llms import ChatMessage  # noqa: E402

DOCS = [
    "The Zorblat bridge in Lyon was finished in 1907 and is painted teal.",
    "Quokkas live on Rottnest Island and are known for smiling.",
    "The emulator answers deterministically and never calls Google.",
]


class HashEmbedding(BaseEmbedding):
    """Offline, deterministic bag-of-words embedding (hashed words; no downloads)."""

    dim: int = 64

    @classmethod
    def class_name(cls) -> str:
        return "HashEmbedding"

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            vec[int(hashlib.sha256(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norm = sum(v * v for v in vec) ** 0.5 or 1.0
        return [v / norm for v in vec]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)


@pytest.fixture
def settings_llm(make_llm) -> Iterator[None]:  # type: ignore[no-untyped-def]
    # The one-line swap: Settings.llm = OpenAILike(model=..., api_base=..., api_key=...)
    # becomes Settings.llm = ChatVertexOpenAI(model=..., project=...).
    previous_llm, previous_embed = Settings._llm, Settings._embed_model
    Settings.llm = make_llm("google/gemini-2.5-flash", thinking_config={"include_thoughts": True})
    Settings.embed_model = HashEmbedding()
    try:
        yield
    finally:
        Settings._llm, Settings._embed_model = previous_llm, previous_embed


@pytest.fixture
def index(settings_llm: None) -> VectorStoreIndex:
    return VectorStoreIndex.from_documents([Document(text=t) for t in DOCS])


def test_query_engine_answers_from_the_documents(index: VectorStoreIndex, bodies) -> None:
    engine = index.as_query_engine(similarity_top_k=1)
    response = engine.query("When was the Zorblat bridge finished?")
    assert response.source_nodes[0].node.get_content().startswith("The Zorblat bridge")
    assert "Emulated answer" in str(response)
    assert "<thought>" not in str(response)
    prompt = bodies()[0]["messages"][-1]["content"]
    assert "1907" in prompt  # the retrieved context went to Vertex


async def test_async_streaming_query_engine(index: VectorStoreIndex) -> None:
    engine = index.as_query_engine(similarity_top_k=1, streaming=True, use_async=True)
    response = await engine.aquery("Where do quokkas live?")
    text = "".join([t async for t in response.async_response_gen()])
    assert text.startswith("Emulated answer")
    assert "<thought>" not in text


@pytest.mark.parametrize("mode", ["context", "condense_plus_context"])
def test_chat_engine_multi_turn(index: VectorStoreIndex, bodies, mode: str) -> None:
    engine = index.as_chat_engine(chat_mode=mode, similarity_top_k=1)
    first = engine.chat("Tell me about quokkas.")
    assert "Emulated answer" in str(first)
    second = engine.chat("And the bridge in Lyon?")
    assert str(second)
    history = engine.chat_history
    assert [m.role.value for m in history] == ["user", "assistant", "user", "assistant"]
    # Stored assistant turns hold the answer only; thoughts stay in ThinkingBlocks.
    assert all("<thought>" not in (m.content or "") for m in history)
    assert any("Rottnest" in str(b["messages"]) for b in bodies())


def test_chat_engine_streaming(index: VectorStoreIndex) -> None:
    engine = index.as_chat_engine(chat_mode="context", similarity_top_k=1)
    streaming = engine.stream_chat("Tell me about quokkas.")
    text = "".join(streaming.response_gen)
    assert text.startswith("Emulated answer")
    assert isinstance(engine.chat_history[-1], ChatMessage)


def test_one_line_swap_from_openai_like(emulator, sa_file) -> None:  # type: ignore[no-untyped-def]
    """The same RAG code runs with OpenAILike (static token) and with ChatVertexOpenAI."""
    from llama_index.llms.openai_like import OpenAILike

    from llama_index_vertex_openai import ChatVertexOpenAI

    def answer() -> str:
        Settings.embed_model = HashEmbedding()
        index = VectorStoreIndex.from_documents([Document(text=t) for t in DOCS])
        return str(index.as_query_engine(similarity_top_k=1).query("Where do quokkas live?"))

    previous_llm, previous_embed = Settings._llm, Settings._embed_model
    try:
        # Before: a token pasted in by hand (expires within the hour).
        Settings.llm = OpenAILike(
            model="google/gemini-2.5-flash",
            api_base=emulator.base_url("us-central1"),
            api_key=emulator.issue_token(),
            is_chat_model=True,
        )
        before = answer()
        # After: one line, and the credentials refresh themselves.
        Settings.llm = ChatVertexOpenAI(
            model="google/gemini-2.5-flash",
            project=emulator.project,
            location="us-central1",
            api_endpoint=emulator.url,
            credentials=str(sa_file),
        )
        after = answer()
    finally:
        Settings._llm, Settings._embed_model = previous_llm, previous_embed
    assert before == after
    assert "Rottnest" in after
    assert {r.path for r in emulator.requests if r.json} == {
        "/v1/projects/emulator-project/locations/us-central1/endpoints/openapi/chat/completions"
    }
