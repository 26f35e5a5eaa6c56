"""Wire shapes that depend on who serves the model, and two model behaviours built on them.

Kept apart from ``_model`` / ``_wire`` so each rule is one function:

* ``tool_call_ids``: Gemini 3 ``function-call-<uuid>``; Gemini 2.x the function name
  (Google's ``chat_completions_function_calling_config.py`` sample prints
  ``Function: get_current_weather`` from ``tool_calls[0].id``; its Grok function-calling
  doc shows two calls both ``"id": "get_current_weather"``), so parallel calls to one
  function share an id; partner (MaaS) models UUID-like ids; self-deployed vLLM
  ``chatcmpl-tool-<hex>``.
* ``same_function_values``: "weather in Paris and London" gives two calls to the same
  function, one per value.
* ``react_step``: ReAct text mode. With no tools on the wire and a system prompt that
  asks for ``Thought:`` / ``Action:`` / ``Action Input:`` (LlamaIndex's ReActAgent), the
  model writes the next ReAct step as text.
* ``shape_body`` / ``shape_chunk``: partner models answer without Gemini extras
  (``tool_calls: null``, no ``extra_properties``); a self-deployed vLLM container answers
  in vLLM's shape (``chatcmpl-`` ids, ``stop_reason``, ``prompt_logprobs``).
* ``distinct_candidates``: ``n > 1`` gives different texts per choice.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

GEMINI3 = "gemini3"
GEMINI2 = "gemini2"
PARTNER = "partner"
SELF_DEPLOYED = "self_deployed"


def serving_kind(endpoint: str, model: str) -> str:
    """Who answers: Gemini 3, Gemini 2.x, a partner (MaaS) model, or a self-deployed one."""
    if endpoint != "openapi":
        return SELF_DEPLOYED
    if not model.startswith("google/"):
        return PARTNER
    return GEMINI3 if model.split("/")[-1].startswith("gemini-3") else GEMINI2


def tool_call_ids(kind: str, names: list[str], name_ids: bool) -> list[str]:
    """One tool-call id per call, in the serving kind's shape.

    Args:
        kind: A `serving_kind` value.
        names: The function name of each call.
        name_ids: Gemini 2.x uses the function name (``EmulatorConfig``'s switch).
    """
    if kind == GEMINI2 and name_ids:
        return list(names)
    if kind == PARTNER:
        return [str(uuid.uuid4()) for _ in names]
    if kind == SELF_DEPLOYED:
        return [f"chatcmpl-tool-{uuid.uuid4().hex}" for _ in names]
    return [f"function-call-{uuid.uuid4()}" for _ in names]


# -- parallel calls to one function ---------------------------------------------------
_CAP = r"[A-Z][\w\-]*(?:\s[A-Z][\w\-]*)?"
_CAP_LIST = re.compile(rf"\b({_CAP})((?:,\s*{_CAP})*),?\s+and\s+({_CAP})\b")
_QUOTED_PAIR = re.compile(r"([\"'])([^\"']+)\1\s+and\s+([\"'])([^\"']+)\3")


def same_function_values(fn: dict[str, Any], text: str, exclude: set[str]) -> list[str]:
    """Values for parallel calls to `fn`: "in Paris and London" -> ["Paris", "London"].

    Only for a function with exactly one required parameter, a string; the values are
    quoted strings joined by "and", or capitalised words in a list ending "X and Y".

    Returns:
        Two or more values, or [] when the text asks for one call.
    """
    params = fn.get("parameters") or {}
    required = params.get("required") or []
    props = params.get("properties") or {}
    if len(required) != 1 or (props.get(required[0]) or {}).get("type") != "string":
        return []
    quoted = _QUOTED_PAIR.search(text)
    if quoted:
        return [quoted.group(2), quoted.group(4)]
    for match in _CAP_LIST.finditer(text):
        values = [match.group(1)]
        values += [v.strip() for v in match.group(2).split(",") if v.strip()]
        values.append(match.group(3))
        values = [v for v in values if v.lower() not in exclude]
        if len(values) >= 2:
            return values
    return []


# -- ReAct text mode -------------------------------------------------------------------
_REACT_TOOL = re.compile(
    r"> Tool Name: (?P<name>[^\n]+)\nTool Description: (?P<desc>.*?)\n"
    r"Tool Args: (?P<args>\{.*?\})\n",
    re.DOTALL,
)
_ACTION = re.compile(r"^Action:\s*(?P<name>[^\n]+)$", re.MULTILINE)


def _react_tools(system: str) -> list[dict[str, Any]]:
    tools = []
    for m in _REACT_TOOL.finditer(system):
        try:
            schema = json.loads(m.group("args"))
        except ValueError:
            schema = {"type": "object", "properties": {}}
        tools.append({"name": m.group("name").strip(), "parameters": schema})
    return tools


def is_react_prompt(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]], text_of: Any
) -> bool:
    """A ReAct prompt: no tools on the wire, a system prompt with the ReAct format."""
    if tools:
        return False
    system = "\n".join(text_of(m.get("content")) for m in messages if m.get("role") == "system")
    return all(key in system for key in ("Thought:", "Action:", "Action Input:"))


def react_step(
    messages: list[dict[str, Any]],
    text_of: Any,
    mentioned: Any,
    make_args: Any,
    answer: Any,
) -> str:
    """The next ReAct step as text.

    The question is the latest user message that is not an ``Observation:``. Tools the
    question names (``mentioned``) are called in order of mention, one per step; once
    every one has an observation, the step is the answer quoting them.

    Args:
        messages: The wire messages.
        text_of: Text of a content field.
        mentioned: ``(functions, text) -> functions named in text``.
        make_args: ``(function, question) -> dict`` of arguments.
        answer: ``question -> str``, the answer when no tool is needed.
    """
    system = "\n".join(text_of(m.get("content")) for m in messages if m.get("role") == "system")
    tools = _react_tools(system)
    question, start = "", 0
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        text = text_of(m.get("content")).strip()
        if m.get("role") == "user" and not text.startswith("Observation:"):
            question, start = text, i
            break
    called: list[str] = []
    observations: list[tuple[str, str]] = []
    for m in messages[start + 1 :]:
        text = text_of(m.get("content")).strip()
        if m.get("role") == "assistant":
            action = _ACTION.search(text)
            if action:
                called.append(action.group("name").strip())
        elif text.startswith("Observation:") and called:
            observations.append((called[-1], text[len("Observation:") :].strip()))
    wanted = mentioned(tools, question)
    pending = [fn for fn in wanted if fn["name"] not in called]
    if pending:
        fn = pending[0]
        args = json.dumps(make_args(fn, question), ensure_ascii=False)
        return (
            "Thought: The current language of the user is: English. I need to use a tool to "
            f"help me answer the question.\nAction: {fn['name']}\nAction Input: {args}"
        )
    if observations:
        quoted = " ".join(f"Tool {name} returned: {obs}." for name, obs in observations)
        return (
            "Thought: I can answer without using any more tools. I'll use the user's language "
            f"to answer\nAnswer: {quoted}"
        )
    return (
        "Thought: I can answer without using any more tools. I'll use the user's language "
        f"to answer\nAnswer: {answer(question)}"
    )


# -- response shapes -------------------------------------------------------------------
def _vllm_message(message: dict[str, Any]) -> dict[str, Any]:
    out = {
        "content": message.get("content"),
        "reasoning_content": message.get("reasoning_content"),
        "role": "assistant",
        "tool_calls": message.get("tool_calls") or [],
    }
    return out


def shape_body(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """A completion body in the shape of who serves the model (Gemini bodies unchanged)."""
    if kind == PARTNER:
        for choice in body["choices"]:
            message = choice["message"]
            message.pop("extra_content", None)
            message.setdefault("tool_calls", None)
        body["usage"].pop("extra_properties", None)
        return body
    if kind == SELF_DEPLOYED:
        body["id"] = f"chatcmpl-{uuid.uuid4().hex}"
        body["system_fingerprint"] = None
        body["prompt_logprobs"] = None
        body["service_tier"] = None
        for choice in body["choices"]:
            choice["message"] = _vllm_message(choice["message"])
            choice["stop_reason"] = None
        usage = body["usage"]
        body["usage"] = {
            "completion_tokens": usage["completion_tokens"],
            "prompt_tokens": usage["prompt_tokens"],
            "prompt_tokens_details": None,
            "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"],
        }
    return body


def shape_chunks(kind: str, chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stream chunks in the shape of who serves the model (Gemini chunks unchanged)."""
    if kind == PARTNER:
        for chunk in chunks:
            for choice in chunk["choices"]:
                choice["delta"].pop("extra_content", None)
            if "usage" in chunk:
                chunk["usage"].pop("extra_properties", None)
        return chunks
    if kind == SELF_DEPLOYED:
        chunk_id = f"chatcmpl-{uuid.uuid4().hex}"
        for chunk in chunks:
            chunk["id"] = chunk_id
            chunk["system_fingerprint"] = None
            if "usage" in chunk:
                u = chunk["usage"]
                chunk["usage"] = {
                    "completion_tokens": u["completion_tokens"],
                    "prompt_tokens": u["prompt_tokens"],
                    "total_tokens": u["prompt_tokens"] + u["completion_tokens"],
                }
    return chunks


def distinct_candidates(body: dict[str, Any]) -> dict[str, Any]:
    """``n > 1``: each text choice after the first says which candidate it is."""
    choices = body["choices"]
    for i, choice in enumerate(choices):
        message = dict(choice["message"])
        if i and isinstance(message.get("content"), str) and not message.get("tool_calls"):
            message["content"] = f"{message['content']} (candidate {i + 1})"
        choice["message"] = message
    return body
