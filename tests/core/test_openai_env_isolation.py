"""OpenAI's environment variables never change how a Vertex model signs or where it sends.

langchain-openai 1.0-1.4 filled `api_key` from `OPENAI_API_KEY` through a field default;
inherited as-is, that default made `ChatVertexOpenAI` send the OpenAI key to Google as an
express-mode `?key=` and ignore the Google credentials. CI runs this file on the lowest
langchain-openai the package allows and on the newest.
"""

from __future__ import annotations

import pathlib

import pytest

from vertex_openai.emulator import Emulator

OPENAI_KEY = "sk-proj-openai-key-that-must-stay-home-0123456789"


@pytest.fixture
def openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-not-for-google")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-not-for-google")


def _assert_signed_with_google_credentials(emulator: Emulator) -> None:
    chats = [r for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert chats, "no chat request reached the emulator"
    for request in chats:
        assert request.auth_kind == "bearer", request.to_dict()
        assert "key" not in request.query
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert "openai-organization" not in headers
        assert "openai-project" not in headers
        assert OPENAI_KEY not in repr(request.to_dict())


@pytest.mark.usefixtures("openai_env")
def test_langchain_ignores_openai_api_key(emulator: Emulator, sa_file: pathlib.Path) -> None:
    pytest.importorskip("langchain_openai")
    from langchain_vertex_openai import ChatVertexOpenAI

    llm = ChatVertexOpenAI(
        model="gemini-2.5-flash",
        project=emulator.project,
        location="us-central1",
        api_endpoint=emulator.url,
        credentials=str(sa_file),
        max_retries=0,
    )
    assert llm.openai_api_key is None
    assert "express" not in llm.describe_credentials().lower()
    assert llm.invoke("hello").content
    _assert_signed_with_google_credentials(emulator)
    assert OPENAI_KEY not in repr(llm)


@pytest.mark.usefixtures("openai_env")
def test_llama_index_ignores_openai_api_key(emulator: Emulator, sa_file: pathlib.Path) -> None:
    pytest.importorskip("llama_index.llms.openai_like")
    from llama_index_vertex_openai import ChatVertexOpenAI

    llm = ChatVertexOpenAI(
        model="gemini-2.5-flash",
        project=emulator.project,
        location="us-central1",
        api_endpoint=emulator.url,
        credentials=str(sa_file),
        max_retries=0,
    )
    assert str(llm.complete("hello"))
    _assert_signed_with_google_credentials(emulator)
    assert OPENAI_KEY not in repr(llm)
