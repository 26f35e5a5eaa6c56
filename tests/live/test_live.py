"""End-to-end tests against real Vertex AI: `pytest -m live tests/live`.

Skipped unless ``GOOGLE_CLOUD_PROJECT`` is set and Application Default Credentials are on
disk (``GOOGLE_APPLICATION_CREDENTIALS`` points at a file, or gcloud's ADC file exists;
checked without any network call). They cost a few cents of tokens.

Optional: ``GOOGLE_CLOUD_LOCATION`` (default ``global``), ``VERTEX_LIVE_MODEL`` (default
``google/gemini-2.5-flash``), ``VERTEX_LIVE_GEMINI3_MODEL`` (default
``google/gemini-3-flash-preview``, always on ``global``).

The suite's autouse ``clean_env`` fixture strips ``GOOGLE_*`` variables and points
``CLOUDSDK_CONFIG`` at an empty directory, so the real values are read here at import
time and put back inside each test.
"""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

_REAL = {
    name: os.environ.get(name)
    for name in (
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_CLOUD_LOCATION",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "CLOUDSDK_CONFIG",
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM",
        "GCE_METADATA_IP",
        "GCE_METADATA_HOST",
    )
}
MODEL = os.environ.get("VERTEX_LIVE_MODEL", "google/gemini-2.5-flash")
GEMINI3 = os.environ.get("VERTEX_LIVE_GEMINI3_MODEL", "google/gemini-3-flash-preview")


def _adc_file() -> pathlib.Path | None:
    explicit = _REAL["GOOGLE_APPLICATION_CREDENTIALS"]
    if explicit:
        path = pathlib.Path(explicit).expanduser()
        return path if path.is_file() else None
    if _REAL["CLOUDSDK_CONFIG"]:
        config = pathlib.Path(_REAL["CLOUDSDK_CONFIG"]).expanduser()
    elif sys.platform == "win32":
        config = pathlib.Path(os.environ.get("APPDATA", "~")) / "gcloud"
    else:
        config = pathlib.Path("~/.config/gcloud").expanduser()
    path = config / "application_default_credentials.json"
    return path if path.is_file() else None


_SKIP_REASON = (
    "live Vertex AI tests need GOOGLE_CLOUD_PROJECT and Application Default Credentials "
    "(gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS=key.json)"
)
LIVE = bool(_REAL["GOOGLE_CLOUD_PROJECT"]) and _adc_file() is not None

pytestmark = [pytest.mark.live, pytest.mark.skipif(not LIVE, reason=_SKIP_REASON)]


@pytest.fixture(autouse=True)
def live_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put the developer's real Google settings back (clean_env removed them)."""
    for name, value in _REAL.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


# ------------------------------------------------------------------ LangChain


def test_plain_invoke() -> None:
    from langchain_vertex_openai import ChatVertexOpenAI

    llm = ChatVertexOpenAI(model=MODEL, temperature=0, max_retries=3)
    msg = llm.invoke("Reply with exactly one word: pong")
    assert "pong" in msg.text.lower()
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["total_tokens"] > 0
    assert msg.response_metadata["model_name"]


async def test_async_invoke_and_stream() -> None:
    from langchain_vertex_openai import ChatVertexOpenAI

    llm = ChatVertexOpenAI(model=MODEL, temperature=0, max_retries=3)
    msg = await llm.ainvoke("Reply with exactly one word: pong")
    assert "pong" in msg.text.lower()
    chunks = [chunk async for chunk in llm.astream("Count from 1 to 5, digits only.")]
    text = "".join(c.text for c in chunks)
    assert "3" in text
    assert any(c.usage_metadata for c in chunks), "stream_usage: usage in the last chunk"


def test_stream_with_thoughts() -> None:
    from langchain_vertex_openai import ChatVertexOpenAI

    llm = ChatVertexOpenAI(
        model=MODEL,
        thinking_config={"include_thoughts": True, "thinking_budget": 2048},
        max_retries=3,
    )
    thoughts = answer = ""
    full = None
    for chunk in llm.stream(
        "A bat and a ball cost 1.10 in total. The bat costs 1.00 more than the ball. "
        "How much does the ball cost? Answer with the amount only."
    ):
        thoughts += chunk.additional_kwargs.get("reasoning_content") or ""
        answer += chunk.text
        full = chunk if full is None else full + chunk
    assert thoughts.strip(), "thought summaries were requested"
    assert answer.strip()
    assert "<thought" not in answer
    assert "</thought" not in answer
    assert "0.05" in answer or ".05" in answer
    assert full is not None
    assert [b["type"] for b in full.content_blocks][:1] == ["reasoning"]


def test_gemini3_tool_loop_replays_signatures() -> None:
    from langchain.agents import create_agent
    from langchain_core.tools import tool

    from langchain_vertex_openai import ChatVertexOpenAI

    calls: list[str] = []

    @tool
    def get_weather(city: str) -> str:
        """Current weather for a city, in Celsius."""
        calls.append(f"get_weather({city})")
        return f"It is 18 C and sunny in {city}."

    @tool
    def convert_to_fahrenheit(celsius: float) -> str:
        """Convert a temperature from Celsius to Fahrenheit."""
        calls.append(f"convert_to_fahrenheit({celsius})")
        return f"{celsius * 9 / 5 + 32:.1f} F"

    llm = ChatVertexOpenAI(model=GEMINI3, location="global", max_retries=3)
    agent = create_agent(llm, tools=[get_weather, convert_to_fahrenheit])
    result = agent.invoke(
        {
            "messages": [
                (
                    "user",
                    "What is the weather in Paris in Fahrenheit? First call get_weather, then call "
                    "convert_to_fahrenheit with the Celsius temperature.",
                )
            ]
        }
    )
    messages = result["messages"]
    assert any(c.startswith("get_weather") for c in calls)
    assert any(c.startswith("convert_to_fahrenheit") for c in calls)
    signed = [m for m in messages if m.additional_kwargs.get("__vertex_thought_signatures__")]
    assert signed, "Gemini 3 returned thought signatures and they were kept"
    assert "64.4" in messages[-1].text


def test_structured_output() -> None:
    from pydantic import BaseModel

    from langchain_vertex_openai import ChatVertexOpenAI

    class City(BaseModel):
        name: str
        country: str

    llm = ChatVertexOpenAI(model=MODEL, temperature=0, max_retries=3)
    city = llm.with_structured_output(City).invoke("The capital of France, as JSON.")
    assert isinstance(city, City)
    assert city.name.lower() == "paris"


# ------------------------------------------------------------------ LlamaIndex


def test_llama_index_chat_and_stream() -> None:
    from llama_index.core.base.llms.types import ThinkingBlock
    from llama_index.core.llms import ChatMessage

    from llama_index_vertex_openai import ChatVertexOpenAI

    llm = ChatVertexOpenAI(model=MODEL, thinking_config={"include_thoughts": True}, max_retries=3)
    reply = llm.chat([ChatMessage(role="user", content="Reply with exactly one word: pong")])
    assert "pong" in (reply.message.content or "").lower()
    assert any(isinstance(b, ThinkingBlock) for b in reply.message.blocks)
    assert reply.additional_kwargs.get("total_tokens", 0) > 0

    last = None
    for last in llm.stream_chat([ChatMessage(role="user", content="Count from 1 to 5.")]):
        pass
    assert last is not None
    assert "3" in (last.message.content or "")


async def test_llama_index_function_agent_on_gemini3() -> None:
    from llama_index.core.agent.workflow import FunctionAgent

    from llama_index_vertex_openai import ChatVertexOpenAI

    def multiply(a: float, b: float) -> float:
        """Multiply two numbers."""
        return a * b

    def add(a: float, b: float) -> float:
        """Add two numbers."""
        return a + b

    llm = ChatVertexOpenAI(model=GEMINI3, location="global", max_retries=3)
    agent = FunctionAgent(tools=[multiply, add], llm=llm, system_prompt="Use the tools.")
    response = await agent.run("Use the tools: multiply 6 by 7, then add 8 to the result.")
    assert "50" in str(response)
