"""chat / stream / complete (sync and async) over real HTTP against the emulator."""

from __future__ import annotations

import asyncio
import base64

import openai
import pytest

pytestmark = pytest.mark.llama_index
pytest.importorskip("llama_index.core")

from llama_index.core.base.llms.types import (  # noqa: E402
    AudioBlock,
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
)

THINK = {"include_thoughts": True}
PATH = "/v1/projects/emulator-project/locations/us-central1/endpoints/openapi/chat/completions"


def _user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


def test_chat_reaches_vertex_path_with_a_fresh_bearer_token(make_llm, emulator) -> None:
    llm = make_llm("gemini-2.5-flash")  # bare Gemini id gets the google/ prefix
    response = llm.chat(_user("Hello there"))
    assert "Hello there" in response.message.content
    (req,) = emulator.requests
    assert req.path == PATH
    assert req.auth_kind == "bearer"
    assert req.status == 200
    assert req.json["model"] == "google/gemini-2.5-flash"
    assert "openai-organization" not in req.headers


def test_token_is_never_frozen_in_a_reused_client(make_llm, emulator) -> None:
    llm = make_llm()
    llm.complete("one")
    emulator.revoke_all_tokens()  # the cached client's token is now rejected (401)
    assert llm.complete("two").text
    first, rejected, retried = emulator.requests
    assert rejected.status == 401
    assert retried.status == 200
    assert retried.token_id != first.token_id


@pytest.mark.parametrize("reuse_client", [True, False])
def test_repeated_calls_sync_and_async(make_llm, reuse_client: bool) -> None:
    # reuse_client=False closes the SDK client (and its http client) after each call.
    llm = make_llm(reuse_client=reuse_client)
    for _ in range(2):
        assert llm.chat(_user("Hi")).message.content

    async def run() -> None:
        for _ in range(2):
            assert (await llm.achat(_user("Hi"))).message.content

    asyncio.run(run())


def test_express_mode_api_key(make_llm, emulator) -> None:
    llm = make_llm(api_key=emulator.api_key)
    assert llm.complete("Hello").text
    (req,) = emulator.requests
    assert req.auth_kind == "api_key"
    assert "authorization" not in req.headers


def test_extras_deep_merge_instance_additional_kwargs_call(make_llm, bodies) -> None:
    llm = make_llm(
        safety_settings={"HARASSMENT": "BLOCK_NONE"},
        thinking_config={"thinking_budget": 64},
        temperature=0.2,
        additional_kwargs={
            "temperature": 0.5,
            "top_p": 0.7,
            "extra_body": {
                "extra_body": {"google": {"thinking_config": {"include_thoughts": True}}}
            },
        },
    )
    llm.chat(
        _user("Hi"),
        temperature=0.9,
        extra_body={"extra_body": {"google": {"thinking_config": {"thinking_budget": 128}}}},
        safety_settings=[{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}],
    )
    (body,) = bodies()
    assert body["temperature"] == 0.9  # call > additional_kwargs > instance
    assert body["top_p"] == 0.7
    google = body["extra_body"]["google"]
    assert google["thinking_config"] == {"include_thoughts": True, "thinking_budget": 128}
    assert google["safety_settings"] == [
        {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}
    ]
    assert google["thought_tag_marker"] == "thought"
    assert "safety_settings" not in body
    assert "google" not in body


def test_instance_extras_on_the_wire(make_llm, bodies) -> None:
    llm = make_llm(
        "google/gemini-3-pro-preview",
        reasoning_effort="low",
        safety_settings=[{"category": "DANGEROUS_CONTENT", "threshold": "ONLY_HIGH"}],
        cached_content="projects/p/locations/us-central1/cachedContents/1",
        thought_tag_marker="think",
    )
    llm.complete("Hi")
    (body,) = bodies()
    assert body["reasoning_effort"] == "low"
    assert body["extra_body"]["google"] == {
        "safety_settings": [
            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_ONLY_HIGH"}
        ],
        "cached_content": "projects/p/locations/us-central1/cachedContents/1",
        "thought_tag_marker": "think",
    }


def _assert_split(message: ChatMessage) -> None:
    thinking = [b for b in message.blocks if isinstance(b, ThinkingBlock)]
    assert len(thinking) == 1
    assert thinking[0].content
    assert "<thought>" not in (message.content or "")
    assert message.content.startswith("Emulated answer")
    assert thinking[0].content not in message.content


def test_thoughts_split_chat_and_achat(make_llm) -> None:
    llm = make_llm(thinking_config=THINK)
    _assert_split(llm.chat(_user("Hello")).message)
    _assert_split(asyncio.run(llm.achat(_user("Hello"))).message)


def test_earlier_thoughts_replayed_tagged(make_llm, bodies) -> None:
    llm = make_llm(thinking_config=THINK)
    first = llm.chat(_user("Hello")).message
    thoughts = next(b.content for b in first.blocks if isinstance(b, ThinkingBlock))
    llm.chat([*_user("Hello"), first, *_user("Again")])
    replayed = bodies()[-1]["messages"][1]
    assert replayed["content"] == f"<thought>{thoughts}</thought>{first.content}"


def test_thoughts_split_streaming_sync_and_async(make_llm) -> None:
    llm = make_llm(thinking_config=THINK)

    def check(chunks: list) -> None:
        answer = "".join(c.delta or "" for c in chunks)
        thoughts = "".join(c.additional_kwargs.get("thinking_delta", "") for c in chunks)
        assert answer.startswith("Emulated answer")
        assert "<" not in answer
        assert thoughts
        assert "<" not in thoughts
        final = chunks[-1].message
        assert final.content == answer
        (block,) = [b for b in final.blocks if isinstance(b, ThinkingBlock)]
        assert block.content == thoughts

    check(list(llm.stream_chat(_user("Hello"))))

    async def collect() -> list:
        return [c async for c in await llm.astream_chat(_user("Hello"))]

    check(asyncio.run(collect()))


def test_thoughts_split_complete_variants(make_llm) -> None:
    llm = make_llm(thinking_config=THINK)
    done = llm.complete("Hello")
    assert done.text.startswith("Emulated answer")
    assert done.additional_kwargs["thinking"]
    streamed = list(llm.stream_complete("Hello"))
    assert "".join(c.delta or "" for c in streamed) == streamed[-1].text
    assert streamed[-1].text.startswith("Emulated answer")

    async def run() -> None:
        assert (await llm.acomplete("Hello")).text.startswith("Emulated answer")
        chunks = [c async for c in await llm.astream_complete("Hello")]
        assert chunks[-1].text.startswith("Emulated answer")

    asyncio.run(run())


def test_usage_with_reasoning_tokens(make_llm) -> None:
    llm = make_llm(thinking_config={"thinking_budget": 512})
    response = llm.chat(_user("How many tokens?"))
    usage = response.additional_kwargs
    assert usage["reasoning_tokens"] > 0
    assert usage["cached_tokens"] == 0
    raw = response.raw.usage
    assert usage["prompt_tokens"] == raw.prompt_tokens
    # completion_tokens here counts everything billed as output (answer + thoughts).
    assert usage["completion_tokens"] == raw.completion_tokens + usage["reasoning_tokens"]
    assert usage["total_tokens"] == raw.total_tokens
    streamed = list(llm.stream_chat(_user("How many tokens?")))
    assert streamed[-1].additional_kwargs["reasoning_tokens"] == usage["reasoning_tokens"]


def test_unknown_model_error_is_readable(make_llm) -> None:
    llm = make_llm("google/gemini-0.1-nonexistent")
    with pytest.raises(openai.NotFoundError) as info:
        llm.complete("Hi")
    text = str(info.value)
    assert "Vertex AI returned 404" in text
    assert "gemini-0.1-nonexistent" in text


def test_stream_error_is_readable(make_llm, emulator) -> None:
    emulator.inject_fault("rate_limit", 1)
    llm = make_llm()
    with pytest.raises(openai.RateLimitError, match="Vertex AI returned 429"):
        list(llm.stream_chat(_user("Hi")))


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
PDF = b"%PDF-1.4\n%fake\n"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "


def test_multimodal_blocks_become_vertex_parts(make_llm, bodies) -> None:
    llm = make_llm()
    message = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="Describe these"),
            ImageBlock(image=PNG, image_mimetype="image/png"),
            ImageBlock(url="gs://bucket/cat.jpg"),
            AudioBlock(audio=WAV, format="wav"),
            AudioBlock(url="gs://bucket/talk.mp3", format="mp3"),
            DocumentBlock(data=PDF, document_mimetype="application/pdf", title="doc.pdf"),
            DocumentBlock(url="gs://bucket/report.pdf"),
        ],
    )
    response = llm.chat([message])
    assert "Received parts" in response.message.content
    parts = bodies()[0]["messages"][0]["content"]
    assert [p["type"] for p in parts] == [
        "text",
        "image_url",
        "image_url",
        "input_audio",
        "input_audio",
        "image_url",
        "input_audio",
    ]
    assert parts[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert parts[2]["image_url"]["url"] == "gs://bucket/cat.jpg"
    assert parts[3]["input_audio"] == {
        "data": base64.b64encode(WAV).decode(),
        "format": "audio/wav",
    }
    assert parts[4]["input_audio"] == {"data": "gs://bucket/talk.mp3", "format": "audio/mpeg"}
    assert parts[5]["image_url"]["url"].startswith("data:application/pdf;base64,")
    # A URI in image_url would be read as image/* (issue 19, part 1): the core's rule keeps the
    # type.
    assert parts[6]["input_audio"] == {
        "data": "gs://bucket/report.pdf",
        "format": "application/pdf",
    }


def test_errors_never_echo_the_express_key(make_llm, emulator, caplog) -> None:
    bad_key = "AIzaSy-wrong-key-0123456789abcdef"
    llm = make_llm(api_key=bad_key)
    with caplog.at_level("DEBUG"), pytest.raises(openai.BadRequestError) as info:
        llm.complete("Hi")
    assert "Vertex AI returned 400" in str(info.value)
    assert bad_key not in str(info.value)
    assert bad_key not in repr(info.value.__cause__.request.url)
    assert bad_key not in caplog.text
