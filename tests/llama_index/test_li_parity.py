"""Differential tests: the same LlamaIndex program through plain OpenAILike and through ours.

The parent points at the emulator with a static token (what users do before switching);
ours signs with a service account. Ours must be at least as right: the same tool calls,
the same parsed objects, and fixes where the parent breaks on Vertex's shapes (issue 12).
"""

from __future__ import annotations

import gc
import json
import warnings
from typing import Any

import pytest

pytestmark = pytest.mark.llama_index
pytest.importorskip("llama_index.core")

from llama_index.core.agent.workflow import FunctionAgent, ReActAgent  # noqa: E402
from llama_index.core.base.llms.types import ChatMessage, ToolCallBlock  # noqa: E402
from llama_index.core.chat_engine import SimpleChatEngine  # noqa: E402
from llama_index.core.prompts import PromptTemplate  # noqa: E402
from llama_index.core.tools import FunctionTool  # noqa: E402
from llama_index.llms.openai_like import OpenAILike  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from vertex_openai._errors import VertexConfigError  # noqa: E402
from vertex_openai.emulator import Emulator  # noqa: E402

PARIS_LONDON = "What is the weather in Paris and London? Use get_current_weather."


def get_current_weather(location: str) -> str:
    """Current weather at a location."""
    return f"sunny in {location}"


def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"sunny, 21C in {city}"


WEATHER = FunctionTool.from_defaults(get_current_weather)


class Person(BaseModel):
    """A person mentioned in a text."""

    name: str
    age: int


def plain(emulator: Emulator, model: str = "google/gemini-2.5-flash", **kwargs: Any) -> OpenAILike:
    """The parent as users configure it before switching: a static token."""
    kwargs.setdefault("max_retries", 0)
    return OpenAILike(
        model=model,
        api_base=emulator.base_url("us-central1"),
        api_key=emulator.issue_token(),
        is_chat_model=True,
        is_function_calling_model=True,
        **kwargs,
    )


def calls_of(llm: Any, response: Any) -> list[tuple[str, dict[str, Any]]]:
    selections = llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    return [(s.tool_name, s.tool_kwargs) for s in selections]


def ids_of(response: Any) -> list[str]:
    return [b.tool_call_id for b in response.message.blocks if isinstance(b, ToolCallBlock)]


def last(gen: Any) -> Any:
    out = None
    for out in gen:
        pass
    return out


EXPECTED = [
    ("get_current_weather", {"location": "Paris"}),
    ("get_current_weather", {"location": "London"}),
]


# -- item 1: parallel calls that share an id ------------------------------------------------


@pytest.mark.parametrize(
    "wire",
    ["whole", "fragments", "no_index"],
)
def test_same_function_parallel_calls(make_llm, emulator: Emulator, wire: str) -> None:
    """Gemini 2.x ids are the function name, so two calls share an id (issue 12 #1)."""
    google = {}
    if wire == "fragments":
        google = {"stream_function_call_arguments": True}
    if wire == "no_index":
        emulator.config.stream_tool_call_index = False
    ours = make_llm("google/gemini-2.5-flash", additional_kwargs={"extra_body": {"google": google}})
    parent = plain(emulator, additional_kwargs={"extra_body": {"extra_body": {"google": google}}})
    results = {}
    for name, llm in (("ours", ours), ("parent", parent)):
        sync = llm.chat_with_tools([WEATHER], user_msg=PARIS_LONDON, allow_parallel_tool_calls=True)
        stream = last(
            llm.stream_chat_with_tools(
                [WEATHER], user_msg=PARIS_LONDON, allow_parallel_tool_calls=True
            )
        )
        results[name] = (calls_of(llm, sync), calls_of(llm, stream), ids_of(sync), ids_of(stream))
    sync_calls, stream_calls, sync_ids, stream_ids = results["ours"]
    assert sync_calls == EXPECTED
    assert stream_calls == EXPECTED
    for ids in (sync_ids, stream_ids):
        assert len(ids) == 2
        assert all(ids)
        assert len(set(ids)) == 2
    # At least as right as the parent: it parses the non-stream calls, ours match them;
    # its stream merge (update_tool_calls reads one call per delta, by index) mixes these
    # shapes up, ours does not.
    assert results["parent"][0] == EXPECTED


async def test_same_function_calls_async_stream(make_llm) -> None:
    llm = make_llm("google/gemini-2.5-flash")
    gen = await llm.astream_chat_with_tools(
        [WEATHER], user_msg=PARIS_LONDON, allow_parallel_tool_calls=True
    )
    response = None
    async for response in gen:
        pass
    assert calls_of(llm, response) == EXPECTED
    assert len(set(ids_of(response))) == 2


@pytest.mark.parametrize("streaming", [False, True])
async def test_function_agent_same_function_results_pair_with_calls(
    make_llm, emulator: Emulator, bodies, streaming: bool
) -> None:
    """Both results reach the model, each replayed with the id Vertex sent."""
    for name, llm in (("parent", plain(emulator)), ("ours", make_llm("google/gemini-2.5-flash"))):
        emulator.reset()
        agent = FunctionAgent(tools=[WEATHER], llm=llm, streaming=streaming)
        result = await agent.run(user_msg=PARIS_LONDON)
        text = str(result.response.content)
        assert "sunny in Paris" in text, name
    assert "sunny in London" in text
    second = bodies()[1]["messages"]
    assistant = next(m for m in second if m.get("tool_calls"))
    assert [tc["id"] for tc in assistant["tool_calls"]] == ["get_current_weather"] * 2
    tools = [m for m in second if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tools] == ["get_current_weather"] * 2
    assert [m["content"] for m in tools] == ["sunny in Paris", "sunny in London"]


# -- item 3: additional_kwargs["tool_calls"] and streaming structured output ---------------


def test_tool_calls_in_additional_kwargs(make_llm) -> None:
    llm = make_llm("google/gemini-2.5-flash")
    sync = llm.chat_with_tools([WEATHER], user_msg=PARIS_LONDON, allow_parallel_tool_calls=True)
    stream = last(
        llm.stream_chat_with_tools([WEATHER], user_msg=PARIS_LONDON, allow_parallel_tool_calls=True)
    )
    for response in (sync, stream):
        calls = response.message.additional_kwargs["tool_calls"]
        assert [c.function.name for c in calls] == ["get_current_weather"] * 2
        assert [json.loads(c.function.arguments)["location"] for c in calls] == ["Paris", "London"]
        assert len({c.id for c in calls}) == 2


PROMPT = PromptTemplate("Extract the person from: {text}")
TEXT = "'Ada' is 36 years old."


def _filled(obj: Any) -> bool:
    return isinstance(obj, Person) and obj.name == "Ada" and obj.age == 36


def test_stream_structured_predict_is_filled(make_llm, emulator: Emulator) -> None:
    for llm in (make_llm("google/gemini-2.5-flash"), plain(emulator)):
        assert _filled(llm.structured_predict(Person, PROMPT, text=TEXT))
        assert _filled(last(llm.stream_structured_predict(Person, PROMPT, text=TEXT)))
        structured = llm.as_structured_llm(Person)
        # tool_choice is "auto" here: name the tool, as a model would need no telling.
        message = ChatMessage(role="user", content=f"Person: {TEXT}")
        final = last(structured.stream_chat([message]))
        assert _filled(final.raw), type(llm).__name__


async def test_astream_structured_predict_is_filled(make_llm, emulator: Emulator) -> None:
    for llm in (make_llm("google/gemini-2.5-flash"), plain(emulator)):
        gen = await llm.astream_structured_predict(Person, PROMPT, text=TEXT)
        obj = None
        async for obj in gen:
            pass
        assert _filled(obj), type(llm).__name__
        assert _filled(await llm.astructured_predict(Person, PROMPT, text=TEXT))


# -- item 6: no default temperature ----------------------------------------------------------


def test_no_temperature_unless_set(make_llm, emulator: Emulator, bodies) -> None:
    make_llm("google/gemini-3-pro-preview").chat([ChatMessage(role="user", content="hi")])
    last(make_llm("google/gemini-2.5-flash").stream_chat([ChatMessage(role="user", content="hi")]))
    make_llm("google/gemini-2.5-flash", temperature=0.7).chat(
        [ChatMessage(role="user", content="hi")]
    )
    sent = bodies()
    assert "temperature" not in sent[0]
    assert "temperature" not in sent[1]
    assert sent[2]["temperature"] == 0.7
    # The parent sends its own default on every request, Gemini 3 included.
    plain(emulator).chat([ChatMessage(role="user", content="hi")])
    assert bodies()[3]["temperature"] == 0.1


# -- item 8: thinking off, one rule ------------------------------------------------------------


def test_thinking_off_same_rule_for_both_knobs(make_llm, bodies) -> None:
    msg = [ChatMessage(role="user", content="hi")]
    for kwargs in ({"reasoning_effort": "none"}, {"thinking_config": {"thinking_budget": 0}}):
        response = make_llm("google/gemini-3-pro-preview", **kwargs).chat(msg)
        assert response.additional_kwargs["reasoning_tokens"] == 0
    assert [b["extra_body"]["google"]["thinking_config"] for b in bodies()] == [
        {"thinking_budget": 0}
    ] * 2
    assert all("reasoning_effort" not in b for b in bodies())
    for kwargs in ({"reasoning_effort": "none"}, {"thinking_config": {"thinking_budget": 0}}):
        with pytest.raises(VertexConfigError, match="cannot be turned off on Gemini 2.5 Pro"):
            make_llm("google/gemini-2.5-pro", **kwargs).chat(msg)
    with pytest.raises(VertexConfigError, match="accepts low, high"):
        make_llm("google/gemini-3-pro-preview", reasoning_effort="minimal").chat(msg)
    assert len(bodies()) == 2  # the errors came before anything was sent


def test_plain_parent_gets_vertex_errors_for_the_same_settings(emulator: Emulator) -> None:
    import openai

    msg = [ChatMessage(role="user", content="hi")]
    with pytest.raises(openai.BadRequestError, match="Expected 'reasoning_effort'"):
        plain(
            emulator, "google/gemini-3-pro-preview", additional_kwargs={"reasoning_effort": "none"}
        ).chat(msg)
    with pytest.raises(openai.BadRequestError, match="THINKING_LEVEL_MINIMAL"):
        plain(
            emulator,
            "google/gemini-3-pro-preview",
            additional_kwargs={"reasoning_effort": "minimal"},
        ).chat(msg)


# -- agents and chat engines: the parent and ours agree ---------------------------------------


REACT_TASK = "Use get_weather for 'Paris', please."


@pytest.mark.parametrize("streaming", [False, True])
async def test_react_agent_matches_parent(make_llm, emulator: Emulator, streaming: bool) -> None:
    answers = []
    for llm in (plain(emulator), make_llm("google/gemini-2.5-flash")):
        emulator.reset()
        agent = ReActAgent(
            tools=[FunctionTool.from_defaults(get_weather)], llm=llm, streaming=streaming
        )
        result = await agent.run(user_msg=REACT_TASK)
        answers.append(str(result.response.content))
        sent = [r.json for r in emulator.requests if r.json]
        assert len(sent) == 2
        assert all("tools" not in b for b in sent)  # ReAct: tools are in the prompt
        assert "Observation: sunny, 21C in Paris" in json.dumps(sent[1])
    assert answers[0] == answers[1]
    assert "Tool get_weather returned: sunny, 21C in Paris." in answers[1]


async def test_function_agent_matches_parent(make_llm, emulator: Emulator) -> None:
    answers = []
    for llm in (plain(emulator), make_llm("google/gemini-2.5-flash")):
        agent = FunctionAgent(tools=[FunctionTool.from_defaults(get_weather)], llm=llm)
        result = await agent.run(user_msg=REACT_TASK)
        answers.append(str(result.response.content))
    assert answers[0] == answers[1] == "Tool get_weather returned: sunny, 21C in Paris."


def test_chat_engine_matches_parent(make_llm, emulator: Emulator) -> None:
    outputs = []
    for llm in (plain(emulator), make_llm("google/gemini-2.5-flash")):
        engine = SimpleChatEngine.from_defaults(llm=llm)
        first = str(engine.chat("Hello there"))
        streamed = engine.stream_chat("And again")
        text = "".join(streamed.response_gen)
        outputs.append((first, text, len(engine.chat_history)))
    assert outputs[0] == outputs[1]
    assert outputs[1][2] == 4


def test_no_new_warnings(make_llm, emulator: Emulator) -> None:
    def run(llm: Any) -> list[str]:
        gc.collect()  # other tests' garbage (unclosed aiosqlite connections) warns on collection
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("ignore", ResourceWarning)
            llm.chat([ChatMessage(role="user", content="hi")])
            last(llm.stream_chat([ChatMessage(role="user", content="hi")]))
            llm.structured_predict(Person, PROMPT, text=TEXT)
            last(llm.stream_structured_predict(Person, PROMPT, text=TEXT))
        return sorted({str(w.message) for w in caught})

    assert set(run(make_llm("google/gemini-2.5-flash"))) <= set(run(plain(emulator)))


@pytest.mark.parametrize("mode", ["context", "condense_plus_context", "condense_question"])
def test_rag_chat_engines_match_parent(make_llm, emulator: Emulator, mode: str) -> None:
    from llama_index.core import Document, Settings, VectorStoreIndex
    from test_li_rag import DOCS, HashEmbedding

    previous_llm, previous_embed = Settings._llm, Settings._embed_model
    outputs = []
    try:
        Settings.embed_model = HashEmbedding()
        for llm in (plain(emulator), make_llm("google/gemini-2.5-flash")):
            Settings.llm = llm
            index = VectorStoreIndex.from_documents([Document(text=t) for t in DOCS])
            engine = index.as_chat_engine(chat_mode=mode, similarity_top_k=1, llm=llm)
            first = str(engine.chat("Where do quokkas live?"))
            second = "".join(engine.stream_chat("And what colour is the bridge?").response_gen)
            outputs.append((first, second))
    finally:
        Settings._llm, Settings._embed_model = previous_llm, previous_embed
    assert outputs[0] == outputs[1]
    assert "Rottnest" in outputs[1][0]


def test_parent_retry_decorator_is_kept(make_llm, emulator: Emulator) -> None:
    """Three 429s outlast the SDK's own retries (max_retries=2: three tries); the parent's
    retry decorator (tenacity, max_retries attempts of the whole call) then succeeds."""
    for llm in (plain(emulator, max_retries=2), make_llm(max_retries=2)):
        emulator.reset()
        emulator.inject_fault("rate_limit", count=3)
        response = llm.chat([ChatMessage(role="user", content="hi")])
        assert "Emulated answer" in str(response.message.content), type(llm).__name__
        assert [r.status for r in emulator.requests if r.path.endswith("/completions")] == [
            429,
            429,
            429,
            200,
        ]


def test_instrumentation_events_match_parent(make_llm, emulator: Emulator) -> None:
    """The same LlamaIndex instrumentation events, in the same order, with the same text."""
    from llama_index.core.instrumentation import get_dispatcher
    from llama_index.core.instrumentation.event_handlers import BaseEventHandler

    class Recorder(BaseEventHandler):
        events: list[Any] = []

        def handle(self, event: Any, **kwargs: Any) -> None:
            self.events.append(event)

    dispatcher = get_dispatcher()
    runs = []
    for llm in (plain(emulator), make_llm("google/gemini-2.5-flash")):
        recorder = Recorder(events=[])
        dispatcher.add_event_handler(recorder)
        try:
            llm.chat([ChatMessage(role="user", content="hi")])
            last(llm.stream_chat([ChatMessage(role="user", content="hi")]))
        finally:
            dispatcher.event_handlers.remove(recorder)
        names: list[str] = []
        for e in recorder.events:  # chunk counts differ with the body (the emulator's seed)
            name = type(e).__name__
            if not (name == "LLMChatInProgressEvent" and names and names[-1] == name):
                names.append(name)
        ends = [
            str(e.response.message.content)
            for e in recorder.events
            if type(e).__name__ == "LLMChatEndEvent" and e.response is not None
        ]
        runs.append((names, ends))
    assert runs[0] == runs[1]
    assert "LLMChatStartEvent" in runs[1][0]
    assert "LLMChatInProgressEvent" in runs[1][0]
