"""The same image, audio, PDF and video (inline and gs://) through both frameworks: the
emulator must receive identical content parts (one rule, `vertex_openai._messages.media_part`)."""

from __future__ import annotations

import base64
import pathlib
from typing import Any

import pytest

pytest.importorskip("langchain_openai")
pytest.importorskip("llama_index.core")

from langchain_core.messages import HumanMessage  # noqa: E402
from llama_index.core.base.llms.types import (  # noqa: E402
    AudioBlock,
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    TextBlock,
    VideoBlock,
)

from langchain_vertex_openai import ChatVertexOpenAI as LangChainChat  # noqa: E402
from llama_index_vertex_openai import ChatVertexOpenAI as LlamaIndexChat  # noqa: E402
from vertex_openai.emulator import Emulator  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "
PDF = b"%PDF-1.4\n%fake\n"
MP4 = b"\x00\x00\x00\x18ftypmp42"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# (name, LangChain standard block, LlamaIndex block)
CASES: list[tuple[str, dict[str, Any], Any]] = [
    (
        "image inline",
        {"type": "image", "base64": b64(PNG), "mime_type": "image/png"},
        ImageBlock(image=PNG, image_mimetype="image/png"),
    ),
    (
        "image gs://",
        {"type": "image", "url": "gs://bucket/cat.png"},
        ImageBlock(url="gs://bucket/cat.png"),
    ),
    (
        "audio inline",
        {"type": "audio", "base64": b64(WAV), "mime_type": "audio/wav"},
        AudioBlock(audio=WAV, format="wav"),
    ),
    (
        "audio gs://",
        {"type": "audio", "url": "gs://bucket/talk.mp3", "mime_type": "audio/mpeg"},
        AudioBlock(url="gs://bucket/talk.mp3", format="mp3"),
    ),
    (
        "pdf inline",
        {"type": "file", "base64": b64(PDF), "mime_type": "application/pdf"},
        DocumentBlock(data=PDF, document_mimetype="application/pdf"),
    ),
    (
        "pdf gs://",
        {"type": "file", "url": "gs://bucket/doc.pdf"},
        DocumentBlock(url="gs://bucket/doc.pdf"),
    ),
    (
        "video inline",
        {"type": "video", "base64": b64(MP4), "mime_type": "video/mp4"},
        VideoBlock(video=MP4, video_mimetype="video/mp4"),
    ),
    (
        "video gs://",
        {"type": "video", "url": "gs://bucket/clip.mp4"},
        VideoBlock(url="gs://bucket/clip.mp4"),
    ),
]


@pytest.mark.parametrize(("name", "lc_block", "li_block"), CASES, ids=[c[0] for c in CASES])
def test_both_frameworks_send_identical_parts(
    emulator: Emulator, sa_file: pathlib.Path, name: str, lc_block: dict[str, Any], li_block: Any
) -> None:
    common: dict[str, Any] = {
        "project": emulator.project,
        "location": "us-central1",
        "api_endpoint": emulator.url,
        "credentials": str(sa_file),
        "max_retries": 0,
    }
    LangChainChat(model="gemini-2.5-flash", **common).invoke(
        [HumanMessage(content=[{"type": "text", "text": "Describe"}, lc_block])]
    )
    LlamaIndexChat(model="gemini-2.5-flash", **common).chat(
        [ChatMessage(role="user", blocks=[TextBlock(text="Describe"), li_block])]
    )
    sent = [r.json for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert len(sent) == 2
    lc_parts, li_parts = (body["messages"][0]["content"] for body in sent)
    assert lc_parts == li_parts
    part = lc_parts[1]
    if name.endswith("gs://"):
        # By reference: images as image_url, everything else with its MIME type.
        expected_type = "image_url" if name.startswith("image") else "input_audio"
        assert part["type"] == expected_type
        if expected_type == "input_audio":
            assert part["input_audio"]["format"].split("/")[0] in ("audio", "application", "video")
