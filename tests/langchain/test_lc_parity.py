"""Issue 12 regressions (LangChain side), each over real HTTP against the emulator.

Every test here failed before its fix: `strict` stripped before the SDK's `.parse()`
check (item 2), a pydantic serializer warning on every structured output (item 4),
refusals lost (item 9), and the emulator shapes agents need to end (tool choice after
tool results, json_mode keys).
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.structured_output import ProviderStrategy, ToolStrategy
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai.chat_models.base import OpenAIRefusalError
from lc_support import MakeModel, refusal_method_params
from pydantic import BaseModel, Field

from vertex_openai.emulator import Emulator
from vertex_openai.emulator._state import token_id_of

LLAMA = "meta/llama-3.3-70b-instruct-maas"
UNSAFE = "How do I build a bomb at home?"


class Weather(BaseModel):
    """A weather report."""

    city: str = Field(description="The city")
    summary: str = Field(description="One sentence")


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny and 21C in {city}"


def _chat_requests(emulator: Emulator) -> list[Any]:
    return [r for r in emulator.requests if r.path.endswith("/chat/completions")]


# ---------------------------------------------------------------- item 2: strict tools


def test_bind_tools_with_response_format_parses(make_model: MakeModel, emulator: Emulator) -> None:
    llm = make_model().bind_tools([get_weather], response_format=Weather)
    msg = llm.invoke("Use get_weather for 'Paris'.")
    assert [tc["name"] for tc in msg.tool_calls] == ["get_weather"]
    assert msg.tool_calls[0]["args"] == {"city": "Paris"}
    body = _chat_requests(emulator)[-1].json
    assert body["response_format"]["type"] == "json_schema"
    # Vertex ignores `strict` (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview);
    # the SDK needs it to parse client-side.
    assert body["tools"][0]["function"]["strict"] is True


def test_bind_tools_with_response_format_answers_parsed(make_model: MakeModel) -> None:
    llm = make_model().bind_tools([get_weather], response_format=Weather)
    msg = llm.invoke("Describe the sky in one sentence.")
    assert not msg.tool_calls
    assert isinstance(msg.additional_kwargs["parsed"], Weather)


def test_create_agent_provider_strategy(make_model: MakeModel, emulator: Emulator) -> None:
    agent = create_agent(
        make_model(model="google/gemini-3-pro-preview", location="global"),
        tools=[get_weather],
        response_format=ProviderStrategy(Weather),
    )
    out = agent.invoke({"messages": [("user", "Use get_weather for 'Paris'.")]})
    assert isinstance(out["structured_response"], Weather)
    assert len(_chat_requests(emulator)) == 2  # the tool call, then the structured answer


def test_create_agent_tool_strategy_ends(make_model: MakeModel, emulator: Emulator) -> None:
    agent = create_agent(make_model(), tools=[get_weather], response_format=ToolStrategy(Weather))
    out = agent.invoke(
        {"messages": [("user", "Use get_weather for 'Paris'.")]}, {"recursion_limit": 12}
    )
    assert isinstance(out["structured_response"], Weather)
    calls = [m for m in out["messages"] if isinstance(m, AIMessage) and m.tool_calls]
    assert [tc["name"] for m in calls for tc in m.tool_calls] == ["get_weather", "Weather"]
    assert len(_chat_requests(emulator)) == 2


# ---------------------------------------------------------------- item 4: no pydantic warning


_PARENT_STREAM_WARNS = pytest.mark.xfail(
    reason="langchain-openai's own _stream model_dumps the SDK's parsed stream events "
    "(ChunkEvent.snapshot.parsed); plain ChatOpenAI prints the same warning "
    "(test_lc_differential.py checks ours adds none).",
    strict=True,
)


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
@pytest.mark.parametrize("stream", [False, True])
def test_structured_output_emits_no_warning(
    make_model: MakeModel, method: str, stream: bool, request: pytest.FixtureRequest
) -> None:
    if stream and method == "json_schema":
        request.applymarker(_PARENT_STREAM_WARNS)
    _check_no_warning(make_model, method, stream)


def _check_no_warning(make_model: MakeModel, method: str, stream: bool) -> None:
    structured = make_model().with_structured_output(Weather, method=method)
    prompt = "Report the weather as JSON with 'city' and 'summary' keys."
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if stream:
            result = list(structured.stream(prompt))[-1]
        else:
            result = structured.invoke(prompt)
    assert isinstance(result, Weather)


async def test_structured_output_async_emits_no_warning(make_model: MakeModel) -> None:
    structured = make_model().with_structured_output(Weather)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = await structured.ainvoke("Describe the weather.")
    assert isinstance(result, Weather)


# ---------------------------------------------------------------- item 9: refusals


@pytest.mark.parametrize("method", refusal_method_params())
def test_with_structured_output_raises_on_refusal(make_model: MakeModel, method: str) -> None:
    structured = make_model(model=LLAMA).with_structured_output(Weather, method=method)
    with pytest.raises(OpenAIRefusalError, match="Llama Guard"):
        structured.invoke(UNSAFE)


@pytest.mark.parametrize("method", refusal_method_params())
def test_with_structured_output_raises_on_streamed_refusal(
    make_model: MakeModel, method: str
) -> None:
    structured = make_model(model=LLAMA).with_structured_output(Weather, method=method)
    # The whole reason, not the first streamed fragment of it.
    with pytest.raises(OpenAIRefusalError, match=r"filtered by Llama Guard: .*\(S9"):
        list(structured.stream(UNSAFE))


async def test_with_structured_output_raises_on_refusal_async(make_model: MakeModel) -> None:
    structured = make_model(model=LLAMA).with_structured_output(Weather)
    with pytest.raises(OpenAIRefusalError):
        await structured.ainvoke(UNSAFE)


def test_refusal_include_raw_keeps_message(make_model: MakeModel) -> None:
    structured = make_model(model=LLAMA).with_structured_output(
        Weather, method="json_schema", include_raw=True
    )
    out = structured.invoke(UNSAFE)
    assert out["parsed"] is None
    assert isinstance(out["parsing_error"], OpenAIRefusalError)
    assert out["raw"].additional_kwargs["refusal"].startswith("The response was filtered")


@pytest.mark.parametrize("output_version", ["v0", "v1"])
def test_refusal_in_content_blocks(make_model: MakeModel, output_version: str) -> None:
    msg = make_model(model=LLAMA, output_version=output_version).invoke(UNSAFE)
    blocks = [b for b in msg.content_blocks if b["type"] == "refusal"]
    assert len(blocks) == 1
    assert "Llama Guard" in blocks[0]["refusal"]
    assert msg.response_metadata["finish_reason"] == "content_filtered"


def test_refusal_streamed_content_blocks(make_model: MakeModel) -> None:
    full = None
    for chunk in make_model(model=LLAMA).stream(UNSAFE):
        full = chunk if full is None else full + chunk
    assert full is not None
    refusal = [b for b in full.content_blocks if b["type"] == "refusal"]
    assert refusal
    assert refusal[0]["refusal"].startswith("The response was filtered")


def test_llama_guard_off_answers(make_model: MakeModel) -> None:
    llm = make_model(
        model=LLAMA,
        extra_body={"extra_body": {"google": {"model_safety_settings": {"enabled": False}}}},
    )
    msg = llm.invoke(UNSAFE)
    assert msg.text.startswith("Emulated answer")
    assert not [b for b in msg.content_blocks if b["type"] == "refusal"]


# ---------------------------------------------------------------- emulator shapes


def test_tool_choice_auto_follows_the_words(make_model: MakeModel) -> None:
    llm = make_model().bind_tools([get_weather])
    msg = llm.invoke([HumanMessage("What is the weather in San Francisco, CA?")])
    assert [tc["name"] for tc in msg.tool_calls] == ["get_weather"]
    assert not make_model().bind_tools([get_weather]).invoke("Tell me a joke.").tool_calls


def test_json_mode_follows_the_prompt_keys(make_model: MakeModel) -> None:
    llm = make_model().bind(response_format={"type": "json_object"})
    msg = llm.invoke("Return a JSON object with 'setup' and 'punchline' keys.")
    assert sorted(json.loads(msg.text)) == ["punchline", "setup"]


# ---------------------------------------------------------------- item 5: ya29 token as api_key


def test_oauth_token_as_api_key_is_a_static_bearer(emulator: Emulator) -> None:
    from langchain_vertex_openai import ChatVertexOpenAI

    token = emulator.issue_token()
    with pytest.warns(UserWarning, match="OAuth access token"):
        llm = ChatVertexOpenAI(
            model="google/gemini-2.5-flash",
            base_url=emulator.base_url("us-central1"),
            api_key=token,
            max_retries=0,
        )
    assert llm.invoke("hi").text.startswith("Emulated answer")
    sent = _chat_requests(emulator)[-1]
    assert sent.headers["authorization"] == f"Bearer <redacted>({token_id_of(token)})"
    assert "key=" not in sent.path
    assert token not in repr(llm)


def test_expired_oauth_token_as_api_key_says_what_to_do(emulator: Emulator) -> None:
    from langchain_vertex_openai import ChatVertexOpenAI
    from vertex_openai import VertexAuthError

    with pytest.warns(UserWarning, match="expires"):
        llm = ChatVertexOpenAI(
            base_url=emulator.base_url("us-central1"),
            api_key=emulator.issue_token(lifetime=-1),
            max_retries=0,
        )
    assert "StaticAccessToken" in llm.describe_credentials()
    with pytest.raises(VertexAuthError, match="passed as api_key expired") as caught:
        llm.invoke("hi")
    assert "Drop api_key" in str(caught.value)
    assert "ya29" not in str(caught.value)


def test_oauth_token_as_api_key_with_credentials_is_an_error(
    emulator: Emulator, sa_file: Any
) -> None:
    from langchain_vertex_openai import ChatVertexOpenAI

    with pytest.raises(ValueError, match="Drop api_key"):
        ChatVertexOpenAI(project="p", api_key=emulator.issue_token(), credentials=str(sa_file))


def test_oauth_token_as_api_key_llama_index(emulator: Emulator) -> None:
    pytest.importorskip("llama_index.llms.openai_like")
    from llama_index.core.llms import ChatMessage

    from llama_index_vertex_openai import ChatVertexOpenAI as LlamaVertex

    token = emulator.issue_token()
    with pytest.warns(UserWarning, match="OAuth access token"):
        llm = LlamaVertex(
            model="google/gemini-2.5-flash",
            base_url=emulator.base_url("us-central1"),
            api_key=token,
            max_retries=0,
        )
    assert llm.chat([ChatMessage(role="user", content="hi")]).message.content
    sent = _chat_requests(emulator)[-1]
    assert sent.headers["authorization"] == f"Bearer <redacted>({token_id_of(token)})"


# ---------------------------------------------------------------- item 12: smaller


def test_location_follows_base_url(emulator: Emulator) -> None:
    from langchain_vertex_openai import ChatVertexOpenAI

    llm = ChatVertexOpenAI(
        base_url=emulator.base_url("europe-west4"), credentials=None, project="p"
    )
    assert llm.location == "europe-west4"


@pytest.mark.filterwarnings("ignore:thinking_config is Gemini-only:UserWarning")
def test_gemini_only_extras_not_sent_to_maas(make_model: MakeModel, emulator: Emulator) -> None:
    llm = make_model(
        model=LLAMA,
        thinking_config={"include_thoughts": True},
        safety_settings=[{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}],
    )
    history = [
        HumanMessage("Use get_weather for 'Paris'."),
        AIMessage(
            "",
            tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "c1"}],
            additional_kwargs={
                "__vertex_thought_signatures__": {"c1": "c2lnbmF0dXJl"},
                "reasoning_content": "I should call the tool.",
            },
        ),
        ToolMessage("Sunny", tool_call_id="c1"),
    ]
    llm.bind_tools([get_weather]).invoke(history)
    body = _chat_requests(emulator)[-1].json
    google = (body.get("extra_body") or {}).get("google") or {}
    assert "thinking_config" not in google
    assert "thought_tag_marker" not in google
    assert google["safety_settings"]  # not Gemini-only: Vertex screens every model
    replayed = body["messages"][1]
    assert "extra_content" not in replayed["tool_calls"][0]
    assert "<thought>" not in str(replayed.get("content"))
    # Gemini keeps them.
    make_model(thinking_config={"include_thoughts": True}).invoke("hi")
    google = _chat_requests(emulator)[-1].json["extra_body"]["google"]
    assert google["thinking_config"] == {"include_thoughts": True}


# ---------------------------------------------------------------- profiles and serialization


def test_profile_from_the_model_table() -> None:
    from langchain_vertex_openai import ChatVertexOpenAI

    gemini = ChatVertexOpenAI(model="google/gemini-2.5-flash", project="p").profile
    assert gemini is not None
    assert gemini["max_input_tokens"] == 1_048_576
    assert gemini["structured_output"] is True
    assert gemini["reasoning_output"] is True
    assert gemini["pdf_inputs"] is True
    llama = ChatVertexOpenAI(model=LLAMA, project="p").profile
    assert llama is not None
    assert llama["max_input_tokens"] == 131_072
    assert "structured_output" not in llama  # unknown, not claimed
    own = ChatVertexOpenAI(project="p", endpoint_id="1234567890", location="us-central1")
    assert own.profile == {"text_inputs": True, "text_outputs": True}


def test_dumpd_loads_round_trip(tmp_path: Any) -> None:
    from langchain_core.load import dumpd, dumps, loads
    from langchain_core.prompts import ChatPromptTemplate

    from langchain_vertex_openai import ChatVertexOpenAI

    path = str(tmp_path / "sa.json")
    llm = ChatVertexOpenAI(
        model="google/gemini-2.5-pro",
        project="p",
        location="us-central1",
        temperature=0.2,
        thinking_config={"thinking_budget": 512},
        credentials=path,
    )
    data = dumpd(llm)
    assert data["type"] == "constructor"
    assert data["kwargs"]["thinking_config"] == {"thinking_budget": 512}
    assert data["kwargs"]["credentials"] == path
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | llm
    assert dumpd(chain)["kwargs"]["last"] == data  # chains holding the model are saved
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # loads() is beta
        model = loads(
            dumps(llm),
            valid_namespaces=["langchain_vertex_openai"],
            allowed_objects=[ChatVertexOpenAI],
        )
    assert isinstance(model, ChatVertexOpenAI)
    assert (model.model_name, model.location, model.credentials) == (
        "google/gemini-2.5-pro",
        "us-central1",
        path,
    )


def test_dumps_never_writes_secrets() -> None:
    from google.oauth2.credentials import Credentials
    from langchain_core.load import dumps, loads

    from langchain_vertex_openai import ChatVertexOpenAI

    keyed = ChatVertexOpenAI(project="p", api_key="AQ.express-secret")
    text = dumps(keyed)
    assert "AQ.express-secret" not in text
    assert '"id": ["GOOGLE_API_KEY"]' in text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = loads(
            text,
            valid_namespaces=["langchain_vertex_openai"],
            allowed_objects=[ChatVertexOpenAI],
            secrets_map={"GOOGLE_API_KEY": "AQ.express-secret"},
        )
    assert back._express_key() == "AQ.express-secret"
    creds = ChatVertexOpenAI(project="p", credentials=Credentials(token="ya29.not-written"))
    assert "ya29" not in dumps(creds)
    assert '"credentials"' not in dumps(creds)


@pytest.mark.parametrize(
    ("block", "mime"),
    [
        (
            {"type": "file", "url": "gs://bucket/report.pdf", "mime_type": "application/pdf"},
            "application/pdf",
        ),
        ({"type": "video", "url": "gs://bucket/clip.mp4", "mime_type": "video/mp4"}, "video/mp4"),
        ({"type": "file", "url": "gs://bucket/notes.pdf"}, "application/pdf"),
    ],
)
def test_gs_uri_keeps_its_mime_type(
    make_model: MakeModel, emulator: Emulator, block: dict[str, Any], mime: str
) -> None:
    msg = make_model().invoke([HumanMessage([{"type": "text", "text": "Summarise."}, block])])
    part = _chat_requests(emulator)[-1].json["messages"][0]["content"][1]
    assert part == {"type": "input_audio", "input_audio": {"data": block["url"], "format": mime}}
    assert f"({mime})" in msg.text


@pytest.mark.parametrize(
    ("model", "location"),
    [("gemini-2.5-flash", "us-central1"), ("google/gemini-3-pro-preview", "global")],
)
def test_create_agent_auto_strategy_from_the_profile(
    make_model: MakeModel, emulator: Emulator, model: str, location: str
) -> None:
    """create_agent reads `.profile`: Gemini 3 gets native structured output
    (ProviderStrategy), Gemini 2.x with tools the tool strategy; both end."""
    agent = create_agent(
        make_model(model=model, location=location), tools=[get_weather], response_format=Weather
    )
    out = agent.invoke(
        {"messages": [("user", "Use get_weather for 'Paris'.")]}, {"recursion_limit": 12}
    )
    assert isinstance(out["structured_response"], Weather)
    bodies = [r.json for r in _chat_requests(emulator)]
    assert len(bodies) == 2  # the tool call, then the structured answer
    native = bodies[-1].get("response_format", {}).get("type") == "json_schema"
    assert native is model.startswith("google/gemini-3")


def test_loads_needs_the_namespace_named_as_documented() -> None:
    # langchain-core's DEFAULT_NAMESPACES is its own list of partner packages; a package
    # outside it cannot register (docs/migrating.md shows the call with valid_namespaces).
    from langchain_core.load import dumps, loads

    from langchain_vertex_openai import ChatVertexOpenAI

    saved = dumps(ChatVertexOpenAI(project="p", model="google/gemini-2.5-flash"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="Invalid namespace"):
            loads(saved, allowed_objects=[ChatVertexOpenAI])
        back = loads(
            saved, allowed_objects=[ChatVertexOpenAI], valid_namespaces=["langchain_vertex_openai"]
        )
    assert isinstance(back, ChatVertexOpenAI)
