"""The emulator answers today's Vertex rules (issue 21) with Vertex's status and text."""

from __future__ import annotations

import httpx
import openai
import pytest

from vertex_openai.emulator import Emulator


def _said(raised: pytest.ExceptionInfo[BaseException]) -> str:
    """The error's message and its body: openai 3.x no longer copies the body into str()."""
    return f"{raised.value} {getattr(raised.value, 'body', '')}"


def _client(emu: Emulator, location: str = "global") -> openai.OpenAI:
    return openai.OpenAI(
        base_url=emu.base_url(location=location), api_key=emu.issue_token(), max_retries=0
    )


def test_unknown_location_is_404_until_added(emulator: Emulator) -> None:
    client = _client(emulator, "us-centrall1")
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="google/gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}]
        )
    emulator.config.locations = (*emulator.config.locations, "us-centrall1")
    assert client.chat.completions.create(
        model="google/gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}]
    ).choices


@pytest.mark.parametrize("location", ["us", "eu", "global"])
def test_multi_regions_are_served(emulator: Emulator, location: str) -> None:
    answer = _client(emulator, location).chat.completions.create(
        model="google/gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content


def test_newest_flash_only_where_it_is_served(emulator: Emulator) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        _client(emulator, "us-central1").chat.completions.create(
            model="google/gemini-3.7-flash", messages=[{"role": "user", "content": "hi"}]
        )
    assert "was not found" in _said(raised)


@pytest.mark.parametrize("model", ["google/gemini-3.6-flash", "google/gemini-3.5-flash-lite"])
def test_model_turn_last_refused(emulator: Emulator, model: str) -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Sure"}]
    with pytest.raises(openai.BadRequestError) as info:
        _client(emulator).chat.completions.create(model=model, messages=messages)
    assert "Requests ending with a model turn are not supported." in _said(info)
    # 3.5 Flash (not Lite) takes a prefill.
    assert (
        _client(emulator)
        .chat.completions.create(model="google/gemini-3.5-flash", messages=messages)
        .choices
    )


def test_fixed_sampling_refusal_is_a_switch(emulator: Emulator) -> None:
    body = {
        "model": "google/gemini-3.6-flash",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.3,
    }
    assert _client(emulator).chat.completions.create(**body).choices  # deprecated, ignored
    emulator.config.fixed_sampling_refusal = True
    with pytest.raises(openai.BadRequestError) as raised:
        _client(emulator).chat.completions.create(**body)
    assert "temperature" in _said(raised)


def test_medium_on_gemini_3_pro_preview(emulator: Emulator) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        _client(emulator).chat.completions.create(
            model="google/gemini-3-pro-preview",
            reasoning_effort="medium",
            messages=[{"role": "user", "content": "hi"}],
        )
    assert "Thinking level MEDIUM is not supported" in _said(raised)
    emulator.config.medium_unsupported_on = ()
    assert (
        _client(emulator)
        .chat.completions.create(
            model="google/gemini-3-pro-preview",
            reasoning_effort="medium",
            messages=[{"role": "user", "content": "hi"}],
        )
        .choices
    )


def test_context_overflow_text(emulator: Emulator) -> None:
    emulator.config.context_windows = {"google/gemini-2.5-flash": 10}
    with pytest.raises(openai.BadRequestError) as info:
        _client(emulator).chat.completions.create(
            model="google/gemini-2.5-flash",
            messages=[{"role": "user", "content": "word " * 100}],
        )
    assert "The input token count (" in _said(info)
    assert "exceeds the maximum number of tokens allowed (10)." in _said(info)


def _count(emu: Emulator, model: str, body: object, location: str = "global") -> httpx.Response:
    url = (
        f"{emu.url}/v1/projects/{emu.project}/locations/{location}/publishers/google/"
        f"models/{model}:countTokens"
    )
    return httpx.post(url, json=body, headers={"Authorization": f"Bearer {emu.issue_token()}"})


def test_count_tokens(emulator: Emulator) -> None:
    one = _count(
        emulator,
        "gemini-2.5-flash",
        {"contents": [{"role": "user", "parts": [{"text": "hello world"}]}]},
    )
    assert one.status_code == 200
    assert one.json()["totalTokens"] > 0
    more = _count(
        emulator,
        "gemini-2.5-flash",
        {
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"text": "hello world"},
                        {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
                    ],
                }
            ],
            "systemInstruction": {"parts": [{"text": "be brief"}]},
        },
    )
    assert more.json()["totalTokens"] > one.json()["totalTokens"] + 200
    assert _count(emulator, "gemini-2.5-flash", {"contents": []}).status_code == 400
    assert (
        _count(
            emulator,
            "llama-3.3-70b-instruct-maas",
            {"contents": [{"role": "user", "parts": [{"text": "x"}]}]},
        ).status_code
        == 404
    )
    unauthenticated = httpx.post(
        f"{emulator.url}/v1/projects/{emulator.project}/locations/global/publishers/google/"
        "models/gemini-2.5-flash:countTokens",
        json={"contents": []},
    )
    assert unauthenticated.status_code == 401


def test_oversize_inline_image(emulator: Emulator) -> None:
    import base64

    big = base64.b64encode(b"0" * (7 * 1024 * 1024 + 3)).decode()
    with pytest.raises(openai.BadRequestError) as raised:
        _client(emulator).chat.completions.create(
            model="google/gemini-2.5-flash",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{big}"}}
                    ],
                }
            ],
        )
    assert "Cloud Storage" in _said(raised)
