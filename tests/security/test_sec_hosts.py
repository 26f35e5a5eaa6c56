"""Credentials go only to the configured Vertex origin, through both classes."""

from __future__ import annotations

import pathlib
from typing import Any

import openai
import pytest

from vertex_openai.emulator import Emulator

pytest.importorskip("langchain_openai")

PROMPT = "hello there"


def _chat(framework: str, **params: Any) -> Any:
    if framework == "langchain":
        from langchain_vertex_openai import ChatVertexOpenAI

        return ChatVertexOpenAI(**params).invoke(PROMPT)
    pytest.importorskip("llama_index.core")
    from llama_index.core.llms import ChatMessage

    from llama_index_vertex_openai import ChatVertexOpenAI as LIChat

    return LIChat(**params).chat([ChatMessage(role="user", content=PROMPT)])


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
@pytest.mark.parametrize("host", ["evil.example.com", "10.1.2.3", "vertexai.goog.evil.example"])
def test_untrusted_dedicated_dns_from_an_error_is_not_followed(
    emulator: Emulator, sa_file: pathlib.Path, framework: str, host: str
) -> None:
    emulator.config.dedicated_endpoints = {"9876543210": host}
    with pytest.raises(openai.BadRequestError) as info:
        _chat(
            framework,
            model="",
            endpoint_id="9876543210",
            project=emulator.project,
            location="us-central1",
            api_endpoint=emulator.url,
            credentials=str(sa_file),
            max_retries=0,
            timeout=5,
        )
    assert "dedicated" in str(info.value)
    # exactly one request, to the configured origin; no resend anywhere else
    requests = [r for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert len(requests) == 1
    assert requests[0].host == f"127.0.0.1:{emulator.port}"


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
def test_trusted_dedicated_dns_is_learned(
    emulator: Emulator, sa_file: pathlib.Path, framework: str
) -> None:
    # the emulator serves endpoint 9876543210 on "localhost" (loopback, like the configured host)
    _chat(
        framework,
        model="",
        endpoint_id="9876543210",
        project=emulator.project,
        location="us-central1",
        api_endpoint=emulator.url,
        credentials=str(sa_file),
        max_retries=0,
        timeout=5,
    )
    hosts = [r.host for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert hosts == [f"127.0.0.1:{emulator.port}", f"localhost:{emulator.port}"]
