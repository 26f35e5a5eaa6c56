"""Tool calls, Gemini 3 thought signatures and structured output."""

from __future__ import annotations

import asyncio

import openai
import pytest

pytestmark = pytest.mark.llama_index
pytest.importorskip("llama_index.core")

from llama_index.core.base.llms.types import (  # noqa: E402
    ChatMessage,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import BaseModel  # noqa: E402
from llama_index.core.prompts import PromptTemplate  # noqa: E402
from llama_index.core.tools import FunctionTool  # noqa: E402

from vertex_openai._constants import (  # noqa: E402
    MESSAGE_SIGNATURE_KEY,
    SIGNATURE_SENTINEL,
    SIGNATURES_KEY,
)

G3 = "google/gemini-3-pro-preview"
ASK = "Use get_weather for 'Paris' and add 2 and 3"


def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"sunny in {city}"


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


TOOLS = [FunctionTool.from_defaults(get_weather), FunctionTool.from_defaults(add)]
BY_NAME = {t.metadata.name: t for t in TOOLS}


class City(BaseModel):
    """A city and its country."""

    name: str
    country: str
    population: int


def _tool_messages(llm, response) -> list[ChatMessage]:  # type: ignore[no-untyped-def]
    out = []
    for call in llm.get_tool_calls_from_response(response, error_on_no_tool_call=False):
        result = BY_NAME[call.tool_name](**call.tool_kwargs)
        out.append(
            ChatMessage(
                role="tool",
                content=str(result),
                additional_kwargs={"tool_call_id": call.tool_id, "name": call.tool_name},
            )
        )
    return out


def test_chat_with_tools_and_get_tool_calls(make_llm) -> None:
    llm = make_llm(G3)
    response = llm.chat_with_tools(TOOLS, user_msg=ASK, allow_parallel_tool_calls=True)
    calls = llm.get_tool_calls_from_response(response)
    assert [(c.tool_name, c.tool_kwargs) for c in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("add", {"a": 2, "b": 3}),
    ]
    # Gemini 3 signs the first call of a step; it is kept on the message.
    signatures = response.message.additional_kwargs[SIGNATURES_KEY]
    assert list(signatures) == [calls[0].tool_id]


def test_signatures_replayed_so_gemini3_accepts_the_next_step(make_llm, bodies) -> None:
    llm = make_llm(G3)
    history = [ChatMessage(role="user", content=ASK)]
    first = llm.chat_with_tools(TOOLS, chat_history=list(history), allow_parallel_tool_calls=True)
    # The message survives a JSON round trip (chat stores, memory).
    assistant = ChatMessage.model_validate_json(first.message.model_dump_json())
    history += [assistant, *_tool_messages(llm, first)]
    second = llm.chat_with_tools(TOOLS, chat_history=list(history))
    assert "Tool get_weather returned" in second.message.content
    replayed = bodies()[1]["messages"][1]
    sig = first.message.additional_kwargs[SIGNATURES_KEY]
    call_id = next(iter(sig))
    assert replayed["tool_calls"][0]["id"] == call_id
    assert replayed["tool_calls"][0]["extra_content"] == {
        "google": {"thought_signature": sig[call_id]}
    }
    assert SIGNATURES_KEY not in replayed
    assert "__vertex" not in str(bodies())


def test_missing_signature_is_rejected_by_gemini3(make_llm, emulator) -> None:
    # Guard for the test above: without our replay the emulator enforces signatures.
    llm = make_llm(G3)
    first = llm.chat_with_tools(TOOLS, user_msg=ASK)
    stripped = first.message.model_copy(update={"additional_kwargs": {}})
    forged = first.message.model_copy(
        update={
            "additional_kwargs": {
                SIGNATURES_KEY: dict.fromkeys(
                    first.message.additional_kwargs[SIGNATURES_KEY], "Zm9yZ2Vk"
                )
            }
        }
    )
    history = [ChatMessage(role="user", content=ASK)]
    # Stripped: the sentinel is added for us (hand-built history), so it still works.
    ok = llm.chat([*history, stripped, *_tool_messages(llm, first)])
    assert ok.message.content
    with pytest.raises(openai.BadRequestError, match="Corrupted thought signature"):
        llm.chat([*history, forged, *_tool_messages(llm, first)])


def test_hand_built_history_gets_the_sentinel(make_llm, bodies) -> None:
    llm = make_llm(G3)
    history = [
        ChatMessage(role="user", content="What is the weather in Paris?"),
        ChatMessage(
            role="assistant",
            blocks=[
                ToolCallBlock(
                    tool_call_id="call-1", tool_name="get_weather", tool_kwargs={"city": "Paris"}
                )
            ],
        ),
        ChatMessage(role="tool", content="sunny", additional_kwargs={"tool_call_id": "call-1"}),
    ]
    response = llm.chat_with_tools(TOOLS, chat_history=history)
    assert "sunny" in response.message.content
    sent = bodies()[0]["messages"][1]["tool_calls"][0]
    assert sent["extra_content"]["google"]["thought_signature"] == SIGNATURE_SENTINEL


def test_text_answer_signature_is_replayed(make_llm, bodies) -> None:
    llm = make_llm(G3)
    first = llm.chat([ChatMessage(role="user", content="Hello")])
    sig = first.message.additional_kwargs[MESSAGE_SIGNATURE_KEY]
    llm.chat(
        [
            ChatMessage(role="user", content="Hello"),
            first.message,
            ChatMessage(role="user", content="And again"),
        ]
    )
    assert bodies()[1]["messages"][1]["extra_content"] == {"google": {"thought_signature": sig}}


@pytest.mark.parametrize("fragments", [False, True])
def test_streaming_tool_calls_merged_by_id(make_llm, fragments: bool) -> None:
    kwargs = {"additional_kwargs": {"stream_function_call_arguments": True}} if fragments else {}
    llm = make_llm(G3, thinking_config={"include_thoughts": True}, **kwargs)
    chunks = list(llm.stream_chat_with_tools(TOOLS, user_msg=ASK, allow_parallel_tool_calls=True))
    final = chunks[-1]
    calls = llm.get_tool_calls_from_response(final)
    assert [(c.tool_name, c.tool_kwargs) for c in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("add", {"a": 2, "b": 3}),
    ]
    assert len({c.tool_id for c in calls}) == 2
    assert list(final.message.additional_kwargs[SIGNATURES_KEY]) == [calls[0].tool_id]
    assert any(isinstance(b, ThinkingBlock) for b in final.message.blocks)


def test_async_streaming_tool_loop_on_gemini3(make_llm) -> None:
    llm = make_llm(G3)

    async def run() -> str:
        history = [ChatMessage(role="user", content=ASK)]
        last = None
        async for last in await llm.astream_chat_with_tools(
            TOOLS, chat_history=list(history), allow_parallel_tool_calls=True
        ):
            pass
        assert last is not None
        history += [last.message, *_tool_messages(llm, last)]
        answer = await llm.achat_with_tools(TOOLS, chat_history=history)
        return answer.message.content or ""

    assert "returned" in asyncio.run(run())


def test_predict_and_call(make_llm) -> None:
    llm = make_llm(G3)
    output = llm.predict_and_call(TOOLS, user_msg="Please add 40 and 2")
    assert output.response == "42"


PROMPT = PromptTemplate("Extract the city from: {text}")


@pytest.mark.parametrize("json_schema", [False, True])
def test_structured_predict_with_thinking_on(make_llm, json_schema: bool) -> None:
    llm = make_llm(
        thinking_config={"include_thoughts": True},
        should_use_structured_outputs=json_schema,
    )
    city = llm.structured_predict(City, PROMPT, text="Paris, France")
    assert isinstance(city, City)
    city2 = asyncio.run(llm.astructured_predict(City, PROMPT, text="Paris, France"))
    assert isinstance(city2, City)
    sllm = llm.as_structured_llm(City)
    response = sllm.chat([ChatMessage(role="user", content="Paris, France")])
    assert isinstance(response.raw, City)
