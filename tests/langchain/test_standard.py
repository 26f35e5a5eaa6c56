"""LangChain's standard chat-model suites: unit (no network) and integration (emulator)."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests
from lc_support import emulator_params

from langchain_vertex_openai import ChatVertexOpenAI
from vertex_openai.emulator import Emulator


class TestChatVertexOpenAIUnit(ChatModelUnitTests):
    """Construction only: credentials load lazily, so nothing touches the network."""

    @property
    def chat_model_class(self) -> type[ChatVertexOpenAI]:
        return ChatVertexOpenAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "google/gemini-2.5-flash", "project": "test-project"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"GOOGLE_CLOUD_PROJECT": "env-project", "GOOGLE_CLOUD_LOCATION": "europe-west4"},
            {"model": "google/gemini-2.5-flash"},
            {"project": "env-project", "location": "europe-west4"},
        )

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "google/gemini-2.5-pro"

    @pytest.mark.xfail(
        reason="test_serdes loads with allowed_objects='all', which admits only the classes "
        "in langchain-core's own serialization mapping; a third-party class must be named in "
        "allowed_objects (dumpd/loads round trips: tests/langchain/test_lc_parity.py).",
        strict=True,
        raises=ValueError,
    )
    def test_serdes(self, model: Any, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)


class TestChatVertexOpenAIIntegration(ChatModelIntegrationTests):
    """The integration suite over real HTTP against the local Vertex emulator.

    The image / audio / PDF input tests download their inputs from the internet, so they
    stay off here; tests/langchain/test_chat_models.py covers those inputs with local data.
    """

    _params: dict[str, Any] = {}

    @pytest.fixture(autouse=True)
    def _point_at_emulator(self, emulator: Emulator, sa_file: pathlib.Path) -> None:
        type(self)._params = emulator_params(emulator, sa_file)

    @property
    def chat_model_class(self) -> type[ChatVertexOpenAI]:
        return ChatVertexOpenAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return dict(self._params)

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "google/gemini-2.5-pro"

    @property
    def supported_usage_metadata_details(self) -> dict[str, list[Any]]:
        return {
            "invoke": ["reasoning_output", "cache_read_input"],
            "stream": ["reasoning_output", "cache_read_input"],
        }

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        model = ChatVertexOpenAI(**self._params, reasoning_effort="low")
        return _invoke(model, "Explain why the sky is blue.", stream)

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        # The emulator reports no cache hits, so this checks the shape (cache_read: 0).
        model = ChatVertexOpenAI(**self._params)
        return _invoke(model, "Summarise the cached document.", stream)


def _invoke(model: ChatVertexOpenAI, prompt: str, stream: bool) -> AIMessage:
    if not stream:
        return model.invoke(prompt)
    full: AIMessageChunk | None = None
    for chunk in model.stream(prompt):
        full = chunk if full is None else full + chunk
    assert full is not None
    return full
