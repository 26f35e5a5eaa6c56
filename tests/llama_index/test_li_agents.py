"""FunctionAgent / AgentWorkflow tool loops on Gemini 3 (signatures enforced) and 2.5."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.llama_index
pytest.importorskip("llama_index.core")

from llama_index.core.agent.workflow import (  # noqa: E402
    AgentStream,
    AgentWorkflow,
    FunctionAgent,
    ToolCallResult,
)
from llama_index.core.tools import FunctionTool  # noqa: E402

from vertex_openai._constants import SIGNATURE_SENTINEL  # noqa: E402

TASK = "Use get_weather for 'Paris' and add 2 and 3, then summarise."


def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"sunny, 21C in {city}"


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


TOOLS = [FunctionTool.from_defaults(get_weather), FunctionTool.from_defaults(add)]
MODELS = ["google/gemini-3-pro-preview", "google/gemini-2.5-flash"]


def _agent(llm, streaming: bool = True) -> FunctionAgent:  # type: ignore[no-untyped-def]
    return FunctionAgent(
        tools=TOOLS,
        llm=llm,
        system_prompt="You are a helpful assistant.",
        streaming=streaming,
    )


async def _run(agent, events: list | None = None):  # type: ignore[no-untyped-def]
    handler = agent.run(user_msg=TASK)
    async for event in handler.stream_events():
        if events is not None:
            events.append(event)
    return await handler


def _check_answer(result) -> None:  # type: ignore[no-untyped-def]
    text = str(result.response.content)
    assert "Tool get_weather returned" in text
    assert "sunny, 21C in Paris" in text
    assert "5" in text


def _check_signatures(bodies: list) -> None:
    # Step 2 replays step 1's assistant message with its real signature (not the sentinel).
    assert len(bodies) == 2
    assistant = next(m for m in bodies[1]["messages"] if m.get("tool_calls"))
    signature = assistant["tool_calls"][0]["extra_content"]["google"]["thought_signature"]
    assert signature
    assert signature != SIGNATURE_SENTINEL


@pytest.mark.parametrize("model", MODELS)
def test_function_agent_sync_entry_point(make_llm, bodies, model: str) -> None:
    """asyncio.run from synchronous code, non-streaming LLM calls."""
    result = asyncio.run(_run(_agent(make_llm(model), streaming=False)))
    _check_answer(result)
    if "gemini-3" in model:
        _check_signatures(bodies())


@pytest.mark.parametrize("model", MODELS)
async def test_function_agent_async_streaming_events(make_llm, bodies, model: str) -> None:
    events: list = []
    result = await _run(_agent(make_llm(model, thinking_config={"include_thoughts": True})), events)
    _check_answer(result)
    streams = [e for e in events if isinstance(e, AgentStream)]
    assert "".join(e.delta for e in streams).strip()
    assert any(e.thinking_delta for e in streams)  # thoughts surface as thinking_delta
    assert all("<thought>" not in e.delta for e in streams)
    tool_results = [e for e in events if isinstance(e, ToolCallResult)]
    assert {e.tool_name for e in tool_results} == {"get_weather", "add"}
    assert {str(e.tool_output) for e in tool_results} == {"sunny, 21C in Paris", "5"}
    assert all(b.get("stream") for b in bodies())
    if "gemini-3" in model:
        _check_signatures(bodies())


async def test_agent_workflow_on_gemini3(make_llm, bodies) -> None:
    llm = make_llm("google/gemini-3-pro-preview")
    agent = FunctionAgent(
        name="helper",
        description="Weather and sums.",
        tools=TOOLS,
        llm=llm,
        system_prompt="You are a helpful assistant.",
    )
    workflow = AgentWorkflow(agents=[agent], root_agent="helper")
    result = await workflow.run(user_msg=TASK)
    _check_answer(result)
    _check_signatures(bodies())
