"""Vertex as it is today (issue 21), through ChatVertexOpenAI over real HTTP to the emulator.

Each test runs the real openai / google-auth / LangChain code against the emulator, which
answers as Vertex does; where it helps, the plain parent (ChatOpenAI with a static token)
is run side by side to show what happens without our checks.
"""

from __future__ import annotations

import asyncio
import base64
import pathlib
import warnings
from typing import Any

import pytest
from langchain_core.exceptions import ContextOverflowError
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage, trim_messages
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from lc_support import MakeModel

from vertex_openai._errors import VertexConfigError
from vertex_openai.emulator import Emulator


def _said(raised: pytest.ExceptionInfo[BaseException]) -> str:
    """The error's message and its body: openai 3.x no longer copies the body into str()."""
    return f"{raised.value} {getattr(raised.value, 'body', '')}"


@pytest.fixture(autouse=True)
def _fresh_warn_once() -> None:
    """Warnings are issued once per process; each test here checks its own."""
    from vertex_openai import _gemini

    _gemini._warned.clear()


def _chat_requests(emulator: Emulator) -> list[Any]:
    return [r for r in emulator.requests if r.path.endswith("/chat/completions")]


def _parent(emulator: Emulator, model: str, location: str = "us-central1") -> ChatOpenAI:
    """The plain parent, pointed at the emulator with a static token (what users had)."""
    return ChatOpenAI(
        model=model,
        api_key=emulator.issue_token(),  # type: ignore[arg-type]
        base_url=f"{emulator.url}/v1/projects/{emulator.project}/locations/{location}"
        "/endpoints/openapi",
        max_retries=0,
    )


# -- 1. hosts and locations --------------------------------------------------------------


def test_multi_region_location_reaches_its_path(make_model: MakeModel, emulator: Emulator) -> None:
    model = make_model(location="eu")
    assert model.invoke("hi").content
    assert "/locations/eu/endpoints/openapi/chat/completions" in _chat_requests(emulator)[-1].path
    # Without an api_endpoint override, the host is the eu multi-region host.
    plain = ChatOpenAI  # noqa: F841 (the parent has no notion of locations)
    from vertex_openai._endpoint import VertexEndpoint

    endpoint = VertexEndpoint.resolve(project="p", location="eu", environ={})
    assert endpoint.origin == "https://aiplatform.eu.rep.googleapis.com"


def test_unknown_location_warns_and_the_emulator_refuses_it(
    make_model: MakeModel, emulator: Emulator
) -> None:
    with pytest.warns(UserWarning, match="Did you mean 'us-central1'"):
        model = make_model(location="us-centrall1")
    with pytest.raises(Exception, match="404"):
        model.invoke("hi")
    # A new region added to the emulator is served (the client only warned).
    emulator.config.locations = (*emulator.config.locations, "us-centrall1")
    assert model.invoke("hi").content


def test_base_url_on_the_non_existent_global_prefixed_host(make_model: MakeModel) -> None:
    url = (
        "https://global-aiplatform.googleapis.com/v1/projects/p/locations/global/endpoints/openapi"
    )
    with pytest.raises(ValueError, match="'aiplatform.googleapis.com'"):
        make_model(base_url=url, api_endpoint=None)


# -- 2. Gemini 3.x rules -----------------------------------------------------------------


def test_model_turn_last_refused_before_sending(make_model: MakeModel, emulator: Emulator) -> None:
    history = [HumanMessage("Write a haiku"), AIMessage("Autumn")]
    # The parent sends it and gets Vertex's refusal.
    with pytest.raises(Exception) as raised:
        _parent(emulator, "google/gemini-3.6-flash", "global").invoke(history)
    assert "Requests ending with a model turn are not supported" in _said(raised)
    sent = len(_chat_requests(emulator))
    with pytest.raises(VertexConfigError, match="Requests ending with a model turn"):
        make_model(model="google/gemini-3.6-flash", location="global").invoke(history)
    assert len(_chat_requests(emulator)) == sent
    # An older model takes a prefill.
    assert make_model(model="google/gemini-2.5-flash").invoke(history) is not None


def test_fixed_sampling_not_sent_and_warned_once(make_model: MakeModel, emulator: Emulator) -> None:
    model = make_model(model="google/gemini-3.7-flash", location="global", temperature=0.2)
    with pytest.warns(UserWarning, match="temperature is not sent"):
        model.invoke("hi")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.invoke("hi again")
    bodies = [r.json for r in _chat_requests(emulator)]
    assert all("temperature" not in b for b in bodies)
    # Other models still get it.
    make_model(model="google/gemini-2.5-flash", temperature=0.2).invoke("hi")
    assert _chat_requests(emulator)[-1].json["temperature"] == 0.2


@tool
def get_weather(city: str) -> str:
    """Weather for a city."""
    return f"sunny in {city}"


def _tool_round(model: Any, question: str) -> list[Any]:
    history: list[Any] = [HumanMessage(question)]
    ai = model.bind_tools([get_weather]).invoke(history)
    assert ai.tool_calls
    history.append(ai)
    for call in ai.tool_calls:
        history.append(ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"]))
    return history


def test_signature_from_another_model_gets_the_bypass_value(
    make_model: MakeModel, emulator: Emulator
) -> None:
    flash = make_model(model="google/gemini-3-flash-preview")
    pro = make_model(model="google/gemini-3.1-pro-preview")
    history = _tool_round(flash, "What is the weather in Paris? Use get_weather.")
    produced = history[1].tool_calls[0]["id"]
    assert produced
    # Same model: the signature goes back unchanged.
    flash.bind_tools([get_weather]).invoke(history)
    same = _chat_requests(emulator)[-1].json["messages"][1]["tool_calls"][0]
    assert same["extra_content"]["google"]["thought_signature"] != (
        "skip_thought_signature_validator"
    )
    # Another model: Vertex would refuse the foreign signature; we send the bypass value.
    answer = pro.bind_tools([get_weather]).invoke(history)
    assert answer is not None
    other = _chat_requests(emulator)[-1].json["messages"][1]["tool_calls"][0]
    assert other["extra_content"]["google"]["thought_signature"] == (
        "skip_thought_signature_validator"
    )


def test_emulator_refuses_a_foreign_signature(make_model: MakeModel, emulator: Emulator) -> None:
    flash = make_model(model="google/gemini-3-flash-preview")
    history = _tool_round(flash, "What is the weather in Rome? Use get_weather.")
    sig = _chat_requests(emulator)[-1]
    assert sig.status == 200
    from openai import OpenAI

    client = OpenAI(
        api_key=emulator.issue_token(),
        base_url=f"{emulator.url}/v1/projects/{emulator.project}/locations/us-central1"
        "/endpoints/openapi",
        max_retries=0,
    )
    wire = flash._get_request_payload(history)["messages"]
    import openai

    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="google/gemini-3.1-pro-preview", messages=wire)
    assert "Thought signature is not valid" in _said(raised)


# -- 3. token counting -------------------------------------------------------------------


@pytest.fixture
def offline_tiktoken(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty tiktoken cache: a tiktoken download would be needed (and is not allowed)."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-tiktoken-cache"))
    monkeypatch.setenv("DATA_GYM_CACHE_DIR", str(tmp_path / "empty-tiktoken-cache"))
    # Any non-local host fails fast instead of reaching the internet.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def _count_requests(emulator: Emulator) -> list[Any]:
    return [r for r in emulator.requests if r.path.endswith(":countTokens")]


def test_gemini_tokens_counted_by_vertex(
    make_model: MakeModel, emulator: Emulator, offline_tiktoken: None
) -> None:
    model = make_model()
    messages = [HumanMessage("How many tokens is this sentence, roughly?")]
    count = model.get_num_tokens_from_messages(messages)
    requests = _count_requests(emulator)
    assert len(requests) == 1
    assert requests[0].path.endswith("/publishers/google/models/gemini-2.5-flash:countTokens")
    assert requests[0].json["contents"][0]["parts"][0]["text"].startswith("How many")
    assert count > 0
    longer = model.get_num_tokens_from_messages(messages * 3)
    assert longer > count
    assert model.get_num_tokens("How many tokens is this sentence, roughly?") == count
    # The parent needs tiktoken's download, which is not possible here.
    with pytest.raises(Exception):  # noqa: B017 (whatever the download failure is)
        _parent(emulator, "google/gemini-2.5-flash").get_num_tokens_from_messages(messages)


def test_images_tools_and_system_are_counted(
    make_model: MakeModel, emulator: Emulator, offline_tiktoken: None
) -> None:
    from langchain_core.messages import SystemMessage

    model = make_model()
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 64).decode()
    image = HumanMessage(
        content=[
            {"type": "text", "text": "what is this"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
        ]
    )
    plain = model.get_num_tokens_from_messages([HumanMessage("what is this")])
    with_image = model.get_num_tokens_from_messages([image])
    with_system = model.get_num_tokens_from_messages(
        [SystemMessage("You are terse."), HumanMessage("what is this")]
    )
    with_tools = model.get_num_tokens_from_messages(
        [HumanMessage("what is this")], tools=[get_weather]
    )
    assert with_image > plain
    assert with_system > plain
    assert with_tools > plain
    last = _count_requests(emulator)[-1].json
    assert last["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"


def test_trim_messages_with_the_model_as_counter(
    make_model: MakeModel, emulator: Emulator, offline_tiktoken: None
) -> None:
    model = make_model()
    history = [HumanMessage(f"message number {i} " + "word " * 20) for i in range(6)]
    trimmed = trim_messages(history, max_tokens=60, token_counter=model, strategy="last")
    assert 0 < len(trimmed) < len(history)
    assert trimmed[-1] is history[-1] or trimmed[-1].content == history[-1].content


def test_partner_model_estimated_offline(
    make_model: MakeModel, emulator: Emulator, offline_tiktoken: None
) -> None:
    model = make_model(model="meta/llama-3.3-70b-instruct-maas")
    assert model.get_num_tokens_from_messages([HumanMessage("hello there")]) > 0
    assert _count_requests(emulator) == []


def test_async_count(make_model: MakeModel, emulator: Emulator, offline_tiktoken: None) -> None:
    model = make_model()
    count = asyncio.run(model.aget_num_tokens_from_messages([HumanMessage("hello async")]))
    assert count > 0
    assert len(_count_requests(emulator)) == 1


# -- 4. context overflow -----------------------------------------------------------------


def test_context_overflow_is_langchain_context_overflow(
    make_model: MakeModel, emulator: Emulator
) -> None:
    from langchain_openai.chat_models.base import OpenAIContextOverflowError

    emulator.config.context_windows = {"google/gemini-2.5-flash": 20}
    model = make_model()
    long = "lorem ipsum dolor " * 40
    with pytest.raises(OpenAIContextOverflowError, match="exceeds the maximum number of tokens"):
        model.invoke(long)
    with pytest.raises(ContextOverflowError):
        list(model.stream(long))
    with pytest.raises(ContextOverflowError):
        asyncio.run(model.ainvoke(long))
    # The parent does not recognise Vertex's wording.
    with pytest.raises(Exception) as parent_error:
        _parent(emulator, "google/gemini-2.5-flash").invoke(long)
    assert not isinstance(parent_error.value, ContextOverflowError)
    assert model.invoke("short").content  # fits


# -- 5. checks before sending -----------------------------------------------------------


def test_empty_message_list_refused_before_sending(
    make_model: MakeModel, emulator: Emulator
) -> None:
    with pytest.raises(VertexConfigError, match="message list is empty"):
        make_model().invoke([])
    assert _chat_requests(emulator) == []


def test_chatvertexai_thinking_keywords_map_to_thinking_config(
    make_model: MakeModel, emulator: Emulator
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # taken as thinking_config, no parent warning
        model = make_model(include_thoughts=True, thinking_budget=512)
    model.invoke("hi")
    google = _chat_requests(emulator)[-1].json["extra_body"]["google"]
    assert google["thinking_config"] == {"include_thoughts": True, "thinking_budget": 512}
    make_model().invoke("hi", thinking_level="low", model="google/gemini-3-flash-preview")
    google = _chat_requests(emulator)[-1].json["extra_body"]["google"]
    assert google["thinking_config"] == {"thinking_level": "low"}
    sent = len(_chat_requests(emulator))
    with pytest.raises(VertexConfigError, match="thinking_config"):
        make_model().invoke("hi", thinking_cofig={"include_thoughts": True})
    assert len(_chat_requests(emulator)) == sent


def test_gemini_only_extras_on_a_partner_model_are_warned(
    make_model: MakeModel, emulator: Emulator
) -> None:
    model = make_model(
        model="meta/llama-3.3-70b-instruct-maas",
        thinking_config={"thinking_budget": 128},
    )
    with pytest.warns(UserWarning, match="thinking_config is Gemini-only"):
        model.invoke("hi")


def test_thinking_level_on_gemini_25_flagged(make_model: MakeModel, emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="thinking_level is for Gemini 3"):
        make_model(thinking_config={"thinking_level": "low"})
    with pytest.raises(VertexConfigError, match="thinking_level is for Gemini 3"):
        make_model().invoke("hi", thinking_config={"thinking_level": "low"})
    assert _chat_requests(emulator) == []


def test_oversize_inline_image_refused_with_gs_advice(
    make_model: MakeModel, emulator: Emulator
) -> None:
    big = base64.b64encode(b"\x89PNG" + b"0" * (7 * 1024 * 1024 + 16)).decode()
    message = HumanMessage(
        content=[
            {"type": "text", "text": "describe"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{big}"}},
        ]
    )
    with pytest.raises(VertexConfigError, match="gs://"):
        make_model().invoke([message])
    assert _chat_requests(emulator) == []
    # The emulator refuses it as well (what the parent gets).
    with pytest.raises(Exception) as raised:
        _parent(emulator, "google/gemini-2.5-flash").invoke([message])
    assert "Cloud Storage" in _said(raised)


# -- 6. priority pay-as-you-go -------------------------------------------------------------


def test_priority_paygo_header(make_model: MakeModel, emulator: Emulator) -> None:
    model = make_model(location="global", shared_request_type="priority")
    answer = model.invoke("hi")
    request = _chat_requests(emulator)[-1]
    assert request.headers["x-vertex-ai-llm-shared-request-type"] == "priority"
    assert answer.response_metadata is not None
    with pytest.raises(ValueError, match="global endpoint only"):
        make_model(location="us-central1", shared_request_type="priority")
    with pytest.raises(ValueError):
        make_model(location="global", shared_request_type="urgent")


@pytest.mark.xfail(
    tuple(int(p) for p in __import__("langchain").__version__.split(".")[:2]) < (1, 5),
    reason="older langchain's SummarizationMiddleware does not retry on a context overflow",
    strict=False,
)
def test_summarization_middleware_recovers_from_vertex_overflow(
    make_model: MakeModel, emulator: Emulator
) -> None:
    """LangChain's SummarizationMiddleware retries a summary that overflowed Vertex's window."""
    summarization = pytest.importorskip("langchain.agents.middleware.summarization")
    from langchain.agents import create_agent

    from vertex_openai.emulator._completion import _prompt_text
    from vertex_openai.emulator._model import count_tokens

    history = [
        HumanMessage(f"Turn {i}: " + " ".join(f"fact{i}-{j}" for j in range(60)))
        if i % 2 == 0
        else AIMessage(f"Noted turn {i}.")
        for i in range(8)
    ]
    history.append(HumanMessage("What did we discuss?"))

    def run() -> Any:
        middleware = summarization.SummarizationMiddleware(
            model=make_model(model="google/gemini-2.5-flash-lite"),
            trigger=("messages", 4),
            keep=("messages", 1),
        )
        agent = create_agent(model=make_model(), middleware=[middleware])
        return agent.invoke({"messages": list(history)})

    run()  # no window: measure the summary request Vertex would count
    summary_call = next(
        r
        for r in emulator.requests
        if r.path.endswith("/chat/completions") and r.json["model"].endswith("flash-lite")
    )
    tokens = count_tokens(_prompt_text(summary_call.json["messages"], []))
    emulator.reset()
    emulator.config.context_windows = {"google/gemini-2.5-flash-lite": tokens - 1}
    result = run()
    statuses = [
        r.status
        for r in emulator.requests
        if r.path.endswith("/chat/completions") and r.json["model"].endswith("flash-lite")
    ]
    assert statuses == [400, 200]  # overflow, then the shortened summary prompt
    assert result["messages"][-1].content
