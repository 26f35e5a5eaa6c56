"""Bad input, table-driven, through both classes: the right error, a message naming the fix,
and nothing sent to Vertex."""

from __future__ import annotations

import asyncio
import json
import pathlib
from typing import Any

import pytest
from rel_support import PROMPT, chat_requests, li_messages

from vertex_openai import VertexAuthError, VertexConfigError
from vertex_openai.emulator import Emulator


def _deep_tool(levels: int) -> dict[str, Any]:
    """A tool whose parameters nest `levels` objects deep (issue 22: 250 levels)."""
    node: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        node = {"type": "object", "properties": {"x": node}}
    return {
        "type": "function",
        "function": {"name": "deep", "description": "d", "parameters": node},
    }


DEEP_TOOL = _deep_tool(250)

RECURSIVE_TOOL = {
    "type": "function",
    "function": {
        "name": "walk_tree",
        "description": "Walk a tree.",
        "parameters": {
            "$defs": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                    },
                }
            },
            "type": "object",
            "properties": {"root": {"$ref": "#/$defs/Node"}},
        },
    },
}


# name -> (constructor overrides, call-time extra, expected error, words the message must hold)
CASES: dict[str, tuple[dict[str, Any], str | None, type[BaseException], tuple[str, ...]]] = {
    "missing project": (
        {"project": None, "credentials": "<no-project-sa>"},
        None,
        VertexConfigError,
        ("project=", "GOOGLE_CLOUD_PROJECT"),
    ),
    "malformed location": (
        {"location": "us central1!"},
        None,
        ValueError,
        ("Malformed location", "us-central1"),
    ),
    "global + cached_content": (
        {
            "location": "global",
            "cached_content": "projects/p/locations/us-central1/cachedContents/1",
        },
        None,
        ValueError,
        ("global", "location='us-central1'"),
    ),
    "unknown model on openapi (no publisher)": (
        {"model": "llama-3.3-70b-instruct-maas"},
        None,
        ValueError,
        ("publisher", "google/gemini-2.5-flash"),
    ),
    "bare self-deployed endpoint id as model": (
        {"model": "1234567890"},
        None,
        ValueError,
        ("endpoint_id='1234567890'",),
    ),
    "reasoning_effort none where thinking cannot be off": (
        {"model": "gemini-2.5-pro", "reasoning_effort": "none"},
        None,
        ValueError,
        ("reasoning_effort='low'", "gemini-2.5-flash"),
    ),
    "reasoning_effort with thinking_config": (
        {"reasoning_effort": "low", "thinking_config": {"thinking_budget": 100}},
        None,
        ValueError,
        ("cannot be used together", "thinking_config"),
    ),
    "unknown safety category": (
        {"safety_settings": [{"category": "HARM_CATEGORY_NOPE", "threshold": "BLOCK_NONE"}]},
        None,
        ValueError,
        ("Allowed categories", "HARM_CATEGORY_HARASSMENT"),
    ),
    "unknown safety threshold": (
        {"safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_SOME"}]},
        None,
        ValueError,
        ("Allowed thresholds", "BLOCK_ONLY_HIGH"),
    ),
    "n > 1 on Gemini 3": (
        {"model": "gemini-3-pro-preview"},
        "n=2",
        VertexConfigError,
        ("n=1", "single candidate"),
    ),
    "recursive tool schema": ({}, "recursive_tool", VertexConfigError, ("recurs",)),
    "tool schema nested 250 levels": (
        {},
        "deep_tool",
        VertexConfigError,
        ("nested more than 200 levels", "Flatten"),
    ),
    "use_responses_api=True": (
        {"use_responses_api": True},
        None,
        ValueError,
        ("Chat Completions",),
    ),
    "unreadable credentials file": (
        {"credentials": "<missing-file>"},
        None,
        VertexAuthError,
        ("Cannot read credentials file", "GOOGLE_APPLICATION_CREDENTIALS"),
    ),
    "malformed credentials file": (
        {"credentials": "<bad-json>"},
        None,
        VertexAuthError,
        ("not valid JSON", "gcloud"),
    ),
    "express api_key together with credentials": (
        {"api_key": "<emu-key>"},
        None,
        ValueError,
        ("either `api_key`", "not both"),
    ),
}


def _resolve(value: Any, emu: Emulator, tmp: pathlib.Path) -> Any:
    if value == "<no-project-sa>":
        info = emu.service_account_info()
        info.pop("project_id")
        path = tmp / "no-project.json"
        path.write_text(json.dumps(info))
        return str(path)
    if value == "<missing-file>":
        return str(tmp / "does-not-exist.json")
    if value == "<bad-json>":
        path = tmp / "bad.json"
        path.write_text("{not json")
        return str(path)
    if value == "<emu-key>":
        return emu.api_key
    return value


def _run(
    framework: str,
    overrides: dict[str, Any],
    extra: str | None,
    emu: Emulator,
    sa: pathlib.Path,
    tmp: pathlib.Path,
) -> None:
    params: dict[str, Any] = {
        "model": "gemini-2.5-flash",
        "project": emu.project,
        "location": "us-central1",
        "api_endpoint": emu.url,
        "credentials": str(sa),
        "max_retries": 0,
        "timeout": 5,
    }
    params.update({k: _resolve(v, emu, tmp) for k, v in overrides.items()})
    params = {k: v for k, v in params.items() if v is not None}
    if framework == "langchain":
        from langchain_vertex_openai import ChatVertexOpenAI

        lc: Any = ChatVertexOpenAI(**params)
        if extra == "n=2":
            lc = lc.bind(n=2)
        elif extra == "recursive_tool":
            lc = lc.bind_tools([RECURSIVE_TOOL])
        elif extra == "deep_tool":
            lc = lc.bind_tools([DEEP_TOOL])
        lc.invoke(PROMPT)
        return
    from llama_index_vertex_openai import ChatVertexOpenAI as LIChat

    if extra == "n=2":
        params["additional_kwargs"] = {"n": 2}
    li = LIChat(**params)
    if extra in ("recursive_tool", "deep_tool"):
        tool = RECURSIVE_TOOL if extra == "recursive_tool" else DEEP_TOOL
        li.chat(li_messages(), tools=[tool])
        return
    asyncio.run(li.achat(li_messages()))


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(
    emulator: Emulator, sa_file: pathlib.Path, tmp_path: pathlib.Path, framework: str, case: str
) -> None:
    overrides, extra, expected, words = CASES[case]
    if framework == "llama_index":
        pytest.importorskip("llama_index.core")
        if case == "use_responses_api=True":
            pytest.skip("LlamaIndex's OpenAILike has no Responses API switch")
    with pytest.raises(expected) as info:
        _run(framework, overrides, extra, emulator, sa_file, tmp_path)
    message = str(info.value)
    for word in words:
        assert word in message, f"{case}: {word!r} not in {message!r}"
    assert chat_requests(emulator) == [], f"{case}: a request was sent"
    assert emulator.requests == []
