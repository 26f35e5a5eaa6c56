"""LangChain steps of ``vertex-openai demo`` (see ``vertex_openai._demo``)."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import tool

from langchain_vertex_openai import ChatVertexOpenAI


def plain_call(ctx: Any, *, quiet: bool = False) -> str:
    llm = ChatVertexOpenAI(**ctx.model_kwargs())
    reply = llm.invoke("In one sentence: what does Vertex AI's global endpoint do?")
    if not quiet:
        ctx.say(f"   {reply.text}")
    usage: dict[str, Any] = dict(reply.usage_metadata or {})
    return f"{usage.get('total_tokens', '?')} tokens"


def stream_with_thoughts(ctx: Any) -> str:
    llm = ChatVertexOpenAI(**ctx.model_kwargs(thinking_config={"include_thoughts": True}))
    thoughts = answer = ""
    ctx.write("   thinking: ", "dim")
    in_answer = False
    for chunk in llm.stream("Explain in two sentences why tokens must be refreshed."):
        thought = chunk.additional_kwargs.get("reasoning_content") or ""
        if thought:
            thoughts += thought
            ctx.write(thought, "dim italic")
        if chunk.text:
            if not in_answer:
                ctx.write("\n   answer:   ", "bold")
                in_answer = True
            answer += chunk.text
            ctx.write(chunk.text)
    ctx.write("\n")
    if not thoughts or not answer or "<" in answer:
        msg = "thoughts were not separated from the answer"
        raise RuntimeError(msg)
    return f"{len(thoughts)} chars of thoughts kept apart from a {len(answer)}-char answer"


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"It is 18 C and sunny in {city}."


@tool
def convert_to_fahrenheit(celsius: float) -> str:
    """Convert a temperature from Celsius to Fahrenheit."""
    return f"{celsius * 9 / 5 + 32:.1f} F"


def agent_loop(ctx: Any) -> str:
    from langchain.agents import create_agent

    llm = ChatVertexOpenAI(**ctx.model_kwargs(model=ctx.agent_model))
    agent = create_agent(llm, tools=[get_weather, convert_to_fahrenheit])
    prompt = "Use get_weather for 'Paris' and convert_to_fahrenheit for 18 degrees."
    result: Any = agent.invoke({"messages": [("user", prompt)]})  # type: ignore[call-overload]
    messages = result["messages"]
    calls = [c["name"] for m in messages for c in getattr(m, "tool_calls", [])]
    signed = sum(bool(m.additional_kwargs.get("__vertex_thought_signatures__")) for m in messages)
    for name in calls:
        ctx.say(f"   tool call: {name}")
    ctx.say(f"   final answer: {messages[-1].text}")
    if not calls:
        msg = "the agent called no tool"
        raise RuntimeError(msg)
    return f"{len(calls)} tool call(s), {signed} signed step(s) replayed to Gemini 3"
