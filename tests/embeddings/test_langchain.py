"""VertexOpenAIEmbeddings: LangChain's standard suites, the OpenAI swap, construction rules."""

from __future__ import annotations

import asyncio
import math
import pathlib
import pickle
from typing import Any

import pytest

pytest.importorskip("langchain_openai")

from emb_support import lc_params  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from langchain_core.embeddings import Embeddings  # noqa: E402
from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402
from langchain_core.runnables import RunnablePassthrough  # noqa: E402
from langchain_core.vectorstores import InMemoryVectorStore  # noqa: E402
from langchain_openai import ChatOpenAI, OpenAIEmbeddings  # noqa: E402
from langchain_tests.integration_tests import EmbeddingsIntegrationTests  # noqa: E402
from langchain_tests.unit_tests import EmbeddingsUnitTests  # noqa: E402

from langchain_vertex_openai import ChatVertexOpenAI, VertexOpenAIEmbeddings  # noqa: E402
from vertex_openai.emulator import Emulator  # noqa: E402

DOCS = [
    "The global endpoint uses the host aiplatform.googleapis.com without a region prefix.",
    "Express mode sends the API key as a key query parameter instead of a bearer token.",
    "Gemini 3 tool loops must replay every thought signature they received.",
]
QUESTION = "Which host does the global endpoint use?"


class TestVertexOpenAIEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return VertexOpenAIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "text-embedding-005", "project": "test-project"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"GOOGLE_CLOUD_PROJECT": "env-project", "GOOGLE_CLOUD_LOCATION": "europe-west4"},
            {"model": "gemini-embedding-001"},
            {"project": "env-project", "location": "europe-west4"},
        )


class TestVertexOpenAIEmbeddingsIntegration(EmbeddingsIntegrationTests):
    _params: dict[str, Any] = {}

    @pytest.fixture(autouse=True)
    def _point_at_emulator(self, emu: Emulator, sa_file: pathlib.Path) -> None:
        type(self)._params = lc_params(emu, sa_file, output_dimensionality=256)

    @property
    def embeddings_class(self) -> type[Embeddings]:
        return VertexOpenAIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return dict(self._params)


def _rag_app(embeddings: Embeddings, llm: Any) -> tuple[str, list[Document]]:
    """The classic LangChain RAG recipe, unchanged between providers."""
    store = InMemoryVectorStore.from_documents([Document(d) for d in DOCS], embeddings)
    retriever = store.as_retriever(search_kwargs={"k": 1})
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from this context only:\n{context}"), ("human", "{question}")]
    )
    chain = (
        {
            "context": retriever | (lambda docs: "\n".join(d.page_content for d in docs)),
            "question": RunnablePassthrough(),
        }
        | prompt
        | llm
        | StrOutputParser()
    )
    return chain.invoke(QUESTION), retriever.invoke(QUESTION)


def test_retriever_chain_swapped_from_openai_by_class_names(
    emu: Emulator, sa_file: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Baseline: OpenAI's classes at the emulator's OpenAI-compatible routes, static token.
    token = emu.issue_token()
    base = emu.base_url(location="us-central1")
    answer, docs = _rag_app(
        OpenAIEmbeddings(
            model="intfloat/multilingual-e5-small-maas",
            base_url=base,
            api_key=token,
            check_embedding_ctx_length=False,
        ),
        ChatOpenAI(model="google/gemini-2.5-flash", base_url=base, api_key=token),
    )
    assert docs[0].page_content == DOCS[0]
    assert answer
    baseline_chat = [r for r in emu.requests if r.path.endswith("/chat/completions")][-1]
    assert DOCS[0] in str(baseline_chat.json["messages"])
    # Ours: the same app, class names changed, configured by Google's environment variables.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(sa_file))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", emu.project)
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "us-central1")
    monkeypatch.setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM", emu.url)
    emu.reset()
    answer, docs = _rag_app(
        VertexOpenAIEmbeddings(model="text-embedding-005", check_embedding_ctx_length=False),
        ChatVertexOpenAI(model="google/gemini-2.5-flash"),
    )
    assert docs[0].page_content == DOCS[0]
    assert answer
    ours_chat = [r for r in emu.requests if r.path.endswith("/chat/completions")][-1]
    assert DOCS[0] in str(ours_chat.json["messages"])
    tasks = [
        i["task_type"]
        for r in emu.requests
        if r.path.endswith(":predict")
        for i in r.json["instances"]
    ]
    assert tasks == ["RETRIEVAL_DOCUMENT"] * 3 + ["RETRIEVAL_QUERY"] * 2


def test_is_an_openai_embeddings_with_its_parameter_names(
    emu: Emulator, sa_file: pathlib.Path
) -> None:
    emb = VertexOpenAIEmbeddings(**lc_params(emu, sa_file, chunk_size=1000, dimensions=128))
    assert isinstance(emb, OpenAIEmbeddings)
    assert emb.embedder.batch_size == 250  # OpenAI's 1000 capped at the model's real limit
    vectors = emb.embed_documents(["a", "b", "c"])
    assert [len(v) for v in vectors] == [128] * 3
    assert all(math.hypot(*v) == pytest.approx(1.0) for v in vectors)
    assert emu.requests[-1].json["parameters"]["outputDimensionality"] == 128
    assert len(asyncio.run(emb.aembed_query("q"))) == 128


def test_task_types_and_titles(emu: Emulator, sa_file: pathlib.Path) -> None:
    emb = VertexOpenAIEmbeddings(
        **lc_params(emu, sa_file, query_task_type="CODE_RETRIEVAL_QUERY", title="Handbook")
    )
    emb.embed_documents(["doc"])
    emb.embed_query("q")
    emb.embed_documents(["x", "y"], titles=["X", "Y"])
    sent = [r.json["instances"] for r in emu.requests]
    assert sent[0] == [{"content": "doc", "task_type": "RETRIEVAL_DOCUMENT", "title": "Handbook"}]
    assert sent[1] == [{"content": "q", "task_type": "CODE_RETRIEVAL_QUERY"}]
    assert [i["title"] for i in sent[2]] == ["X", "Y"]
    sim = VertexOpenAIEmbeddings(**lc_params(emu, sa_file, task_type="SEMANTIC_SIMILARITY"))
    sim.embed_documents(["a"])
    sim.embed_query("b")
    assert [r.json["instances"][0]["task_type"] for r in emu.requests[3:]] == [
        "SEMANTIC_SIMILARITY"
    ] * 2


def test_construction_does_no_io_and_never_reads_openai_env(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-secret-value")
    monkeypatch.setenv("OPENAI_API_BASE", "https://api.openai.com/v1")
    emb = VertexOpenAIEmbeddings(project="p", credentials="/does/not/exist.json")
    assert emb.openai_api_key is None
    assert emb.openai_api_base is None
    assert "sk-openai-secret-value" not in repr(emb)
    assert emb.embedder.url().startswith("https://us-central1-aiplatform.googleapis.com/v1/")
    assert emu.requests == []


def test_bad_options_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="batch_size or chunk_size"):
        VertexOpenAIEmbeddings(project="p", batch_size=5, chunk_size=6)
    with pytest.raises(ValueError, match="larger than"):
        VertexOpenAIEmbeddings(project="p", model="text-embedding-005", dimensions=4096)
    with pytest.raises(ValueError, match="not sent to Vertex"):
        VertexOpenAIEmbeddings(project="p", model_kwargs={"user": "x"})


def test_secrets_stay_out_of_repr_dump_and_pickle(emu: Emulator, sa_file: pathlib.Path) -> None:
    info = emu.service_account_info()
    emb = VertexOpenAIEmbeddings(**lc_params(emu, sa_file, credentials=info))
    assert info["private_key"] not in repr(emb)
    assert info["private_key"] not in str(emb.model_dump())
    restored = pickle.loads(pickle.dumps(emb))
    assert restored.credentials is None  # re-resolved through ADC, never pickled
    express = VertexOpenAIEmbeddings(
        project=emu.project, api_endpoint=emu.url, api_key=emu.api_key, model="text-embedding-005"
    )
    assert emu.api_key not in repr(express)
    assert len(express.embed_query("x")) == 768
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(express)


def test_a_given_http_client_carries_google_auth(emu: Emulator, sa_file: pathlib.Path) -> None:
    import openai

    # The installed SDK's own client classes (httpx on openai 2.x, httpx2 on 3.x).
    emb = VertexOpenAIEmbeddings(
        **lc_params(
            emu,
            sa_file,
            http_client=openai.DefaultHttpxClient(),
            http_async_client=openai.DefaultAsyncHttpxClient(),
        )
    )
    assert len(emb.embed_query("x")) == 768
    assert len(asyncio.run(emb.aembed_query("y"))) == 768
    assert [r.auth_kind for r in emu.requests] == ["bearer", "bearer"]


def test_per_call_chunk_size(emu: Emulator, sa_file: pathlib.Path) -> None:
    emb = VertexOpenAIEmbeddings(**lc_params(emu, sa_file))
    assert len(emb.embed_documents([f"t{i}" for i in range(30)], chunk_size=10)) == 30
    assert sorted(emu.embeddings.request_sizes) == [10, 10, 10]
    assert emb.embedder.batch_size == 250  # the instance's own setting is unchanged


def test_too_long_text_error_reaches_the_app(emu: Emulator, sa_file: pathlib.Path) -> None:
    from vertex_openai import VertexEmbeddingInputError

    emb = VertexOpenAIEmbeddings(**lc_params(emu, sa_file, auto_truncate=False))
    with pytest.raises(VertexEmbeddingInputError, match=r"Text 1 \(of 3\)") as info:
        emb.embed_documents(["short", "word " * 2500, "short too"])
    assert info.value.index == 1


def test_per_call_dimensions_are_sent_and_other_arguments_refused(
    emu: Emulator, sa_file: pathlib.Path
) -> None:
    from vertex_openai import VertexConfigError

    emb = VertexOpenAIEmbeddings(**lc_params(emu, sa_file))
    assert [len(v) for v in emb.embed_documents(["a", "b"], dimensions=3)] == [3, 3]
    assert len(emb.embed_query("q", dimensions=5)) == 5
    assert [len(v) for v in asyncio.run(emb.aembed_documents(["a"], dimensions=4))] == [4]
    assert len(asyncio.run(emb.aembed_query("q", dimensions=6))) == 6
    assert len(emb.embed_query("q")) == 768  # the instance's size again
    sent = [
        r.json["parameters"].get("outputDimensionality")
        for r in emu.requests
        if r.path.endswith(":predict")
    ]
    assert sent == [3, 5, 4, 6, None]
    before = len(emu.requests)
    with pytest.raises(VertexConfigError, match="'user'"):
        emb.embed_documents(["a"], user="me")
    with pytest.raises(VertexConfigError, match="'encoding_format'"):
        emb.embed_query("q", encoding_format="base64")
    with pytest.raises(VertexConfigError, match="larger than"):
        emb.embed_documents(["a"], dimensions=10_000)
    assert len(emu.requests) == before  # refused before anything was sent


@pytest.mark.parametrize("async_", [False, True])
def test_show_progress_bar_shows_one(
    emu: Emulator, sa_file: pathlib.Path, capsys: pytest.CaptureFixture[str], async_: bool
) -> None:
    # tqdm is optional, as for the parent (llama-index brings it; openai 3.x envs lack it).
    pytest.importorskip("tqdm")
    emb = VertexOpenAIEmbeddings(**lc_params(emu, sa_file, show_progress_bar=True, chunk_size=10))
    texts = [f"text {i}" for i in range(100)]
    if async_:
        vectors = asyncio.run(emb.aembed_documents(texts))
    else:
        vectors = emb.embed_documents(texts)
    assert len(vectors) == 100
    err = capsys.readouterr().err
    assert "100/100" in err
