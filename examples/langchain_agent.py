"""A LangChain `create_agent` tool agent on Gemini 3, with two tools.

Gemini 3 requires the `thought_signature` of each function call back on the next step of
the loop; `ChatVertexOpenAI` keeps and replays it, so this is the plain LangChain agent
code with no workaround (with `ChatOpenAI` pointed at Vertex, step two fails with 400
"function call ... is missing a `thought_signature`").

Run against Vertex AI:

    gcloud auth application-default login
    export GOOGLE_CLOUD_PROJECT=my-project
    python examples/langchain_agent.py

Run against the local emulator (no Google account), in another shell first
`vertex-openai emulator --port 8765 --write-credentials emu.json`, then:

    export GOOGLE_APPLICATION_CREDENTIALS=$PWD/emu.json GOOGLE_CLOUD_PROJECT=emulator-project
    export CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM=http://127.0.0.1:8765
    python examples/langchain_agent.py

(The emulator's deterministic model calls a tool when the request names it, which the
prompt below does.) `VERTEX_MODEL` overrides the model (default
`google/gemini-3-flash-preview`; Gemini 3 is served on the `global` location).
"""

from __future__ import annotations

import os

from langchain.agents import create_agent
from langchain_core.tools import tool

from langchain_vertex_openai import ChatVertexOpenAI

MODEL = os.environ.get("VERTEX_MODEL", "google/gemini-3-flash-preview")


@tool
def get_weather(city: str) -> str:
    """Current weather for a city, in Celsius."""
    return f"It is 18 C and sunny in {city}."


@tool
def convert_to_fahrenheit(celsius: float) -> str:
    """Convert a temperature from Celsius to Fahrenheit."""
    return f"{celsius * 9 / 5 + 32:.1f} F"


def main() -> None:
    llm = ChatVertexOpenAI(model=MODEL)
    agent = create_agent(
        llm,
        tools=[get_weather, convert_to_fahrenheit],
        system_prompt="You are a concise weather assistant. Use the tools.",
    )
    result = agent.invoke(
        {
            "messages": [
                (
                    "user",
                    "Use get_weather for 'Paris', then use convert_to_fahrenheit on the "
                    "temperature.",
                )
            ]
        }
    )
    for message in result["messages"]:
        for call in getattr(message, "tool_calls", []) or []:
            signed = call["id"] in message.additional_kwargs.get(
                "__vertex_thought_signatures__", {}
            )
            print(f"tool call: {call['name']}({call['args']}) signed={signed}")
        if message.type == "tool":
            print(f"tool result: {message.text}")
    print(f"answer: {result['messages'][-1].text}")


if __name__ == "__main__":
    main()
