"""LangChain's standard chat-model suites: unit (no network) and integration (emulator)."""

from __future__ import annotations

import io
import pathlib
import struct
import wave
import zlib
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.integration_tests import chat_models as lc_integration
from langchain_tests.unit_tests import ChatModelUnitTests
from lc_support import PARENT_STREAM_WARNING, PARENT_V1_SCHEMA_WARNING, emulator_params

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


class _LocalInputs:
    """Stands in for the `httpx` module *inside langchain-tests' suite module* only.

    The suite's image / audio / PDF tests download fixed files from the internet (no hook
    to supply inputs); tests run on 127.0.0.1 only, so those downloads get local files of
    the same kinds instead. Nothing of the code under test is replaced.
    """

    def __init__(self) -> None:
        self._by_suffix = {".png": _png(), ".wav": _wav(), ".pdf": _pdf()}

    def get(self, url: str, **_: Any) -> SimpleNamespace:
        for suffix, data in self._by_suffix.items():
            if url.endswith(suffix):
                return SimpleNamespace(content=data)
        msg = f"langchain-tests asked for {url!r}, which has no local stand-in"
        raise AssertionError(msg)


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)  # 2x2 RGB
    pixels = zlib.compress(b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 800)
    return buffer.getvalue()


def _pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


class TestChatVertexOpenAIIntegration(ChatModelIntegrationTests):
    """The integration suite over real HTTP against the local Vertex emulator.

    The image / audio / PDF input tests run on local files (`_LocalInputs`). Images and
    PDFs inside tool messages stay off: nothing documents that Vertex's OpenAI layer
    accepts them there.
    """

    _params: dict[str, Any] = {}

    @pytest.fixture(autouse=True)
    def _point_at_emulator(
        self, emulator: Emulator, sa_file: pathlib.Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        type(self)._params = emulator_params(emulator, sa_file)
        monkeypatch.setattr(lc_integration, "httpx", _LocalInputs())
        monkeypatch.setenv("LANGCHAIN_TESTS_USER_AGENT", "vertex-openai-tests (local data)")

    # Standard tests that provoke a warning of langchain-openai's own, which plain ChatOpenAI
    # prints the same (tests/langchain/test_lc_differential.py): each is asserted where it
    # arises, so any other warning still fails the test. Asserted by a fixture, not by
    # overriding the tests (langchain-tests' test_no_overrides_DO_NOT_OVERRIDE refuses that).
    _PARENT_WARNINGS: ClassVar[dict[str, str]] = {
        # Streaming json_schema output: the parent's _stream dumps the SDK's parsed events.
        "test_structured_output[pydantic]": PARENT_STREAM_WARNING,
        "test_structured_output_async[pydantic]": PARENT_STREAM_WARNING,
        # json_schema (the default method) cannot take a pydantic v1 model: function_calling.
        "test_structured_output_pydantic_2_v1": PARENT_V1_SCHEMA_WARNING,
    }

    @pytest.fixture(autouse=True)
    def _expect_parent_warning(self, request: pytest.FixtureRequest) -> Iterator[None]:
        match = self._PARENT_WARNINGS.get(request.node.name)
        if match is None:
            yield
            return
        # pytest's warning capture spans setup, call and teardown, so this sees the test's.
        with pytest.warns(UserWarning, match=match):
            yield

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_pdf_inputs(self) -> bool:
        return True

    @property
    def supports_audio_inputs(self) -> bool:
        return True

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
