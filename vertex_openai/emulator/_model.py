"""The deterministic "model" inside the emulator.

Nothing here is random: the same request always gets the same answer (only stream
chunk boundaries depend on ``EmulatorConfig.seed``). The rules:

* **Tool calls.** When tools are offered and ``tool_choice`` is not ``"none"``, the model
  calls tools if ``tool_choice`` is ``"required"``/``"any"``/``"validated"`` or names a
  function, or if the latest user message names a tool (its exact name, or the name with
  ``_`` read as spaces). Several named tools give parallel calls, in order of mention.
  A message that names no tool still calls the one it is about: a word of the tool's
  name (``get``/``fetch``/... aside) or two words of its description ("What is the
  weather" -> ``get_weather``).
  Arguments are built from the tool's JSON schema (``$ref``/``$defs``, ``anyOf``, nested
  objects and arrays resolved): required properties always, optional ones when a value
  is found. Values come from literals in the latest user message, in order: numbers for
  ``integer``/``number``, quoted strings (``"..."``, ``'...'``, ``“...”``, ``«...»``)
  and then capitalised or non-ASCII words for ``string``, ``true``/``false`` for
  ``boolean``, an enum member the message mentions (else the first member).
  Otherwise ``default``/``const``/``example`` or a placeholder such as ``"example city"``.
  A single function with one required string parameter asked about "Paris and London" (or
  ``'a' and 'b'``) is called once per value, in parallel (``_shapes``).
* **ReAct text mode.** No tools on the wire and a system prompt asking for ``Thought:`` /
  ``Action:`` / ``Action Input:`` (LlamaIndex ``ReActAgent``): the answer is the next
  ReAct step as text, calling the tools the question names one per step, then
  ``Answer:`` quoting the observations (``_shapes.react_step``).
* **After tool results.** With ``tool_choice`` auto, a turn that already holds tool
  results is answered in text quoting each result: ``"Tool get_weather returned:
  {...}."``. With ``tool_choice`` required, a tool not yet called in the turn is
  called (the structured-output tool of an agent), never the same one again.
* **Llama Guard.** MaaS Llama requests (Llama Guard on unless
  ``model_safety_settings.enabled`` is false) that plainly ask for violent crimes or
  weapons get ``refusal`` and ``finish_reason: "content_filtered"``, no content.
* **response_format.** ``json_schema``: a JSON document valid against the schema (all
  properties filled, ``$defs``/``$ref`` honoured, recursion cut at depth 4).
  ``json_object``: the keys the prompt names ("... with 'setup' and 'punchline'
  keys"), else ``{"answer": ...}``.
* **Text.** ``"Emulated answer from <model>: " + <echo of the latest user text>``, or,
  when the prompt carries context (RAG: system messages or long user text), the context
  sentence that shares the most words with the question; plus a
  note on multimodal parts received (``"Received parts: image (image/png), ..."``).
  ``web_search_options`` adds a grounded-looking ``"According to Google Search ..."``
  paragraph with source URLs. ``stop`` cuts the text; ``max_tokens`` /
  ``max_completion_tokens`` truncates it (``finish_reason: "length"``).
* **Thinking.** Gemini 2.5 and 3 think by default; reasoning tokens =
  ``min(budget, 64 + 2 * prompt_tokens)`` where the budget comes from
  ``thinking_config.thinking_budget`` (0 turns it off, -1 is dynamic), the
  ``thinking_level`` / ``reasoning_effort`` (minimal 128, low 1024, medium 8192,
  high 24576). ``include_thoughts`` adds a short thought summary before the answer
  (tagged with ``thought_tag_marker`` when one is given). Gemini 2.0 and MaaS models do
  not think, except ``deepseek-ai/deepseek-r1*`` (inline ``<think>...</think>``) and
  ``openai/gpt-oss*`` (``reasoning_content``).
* **Tokens.** ``ceil(characters / 4)`` of the text (prompt: every message and tool
  schema), at least 1.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from vertex_openai.emulator._shapes import is_react_prompt, react_step, same_function_values

EFFORT_BUDGETS = {"none": 0, "minimal": 128, "low": 1024, "medium": 8192, "high": 24576}
MAX_DEPTH = 4
# A valid example for each string format a schema may ask for.
_FORMAT_EXAMPLES = {
    "date-time": "2025-01-01T12:00:00Z",
    "date": "2025-01-01",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def count_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


@dataclass
class ToolCall:
    name: str
    arguments: str


@dataclass
class ModelOutput:
    content: str | None = None
    thoughts: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    refusal: str | None = None
    finish_reason: str = "stop"
    prompt_tokens: int = 1
    completion_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass
class ModelInput:
    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    tool_choice: Any
    response_format: dict[str, Any] | None
    web_search: bool
    thinking_budget: int | None  # None: model default; -1 dynamic; 0 off
    include_thoughts: bool
    max_tokens: int | None
    stop: list[str]
    parts_seen: list[str]
    llama_guard: bool = False  # Llama Guard screens this request (MaaS Llama models)

    @property
    def context_text(self) -> str:
        """System messages: where RAG apps put retrieved context."""
        return "\n".join(
            text_of(m.get("content")) for m in self.messages if m.get("role") == "system"
        )


# -- helpers on messages ------------------------------------------------------------------
def text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                out.append(str(part.get("text", "")))
            elif isinstance(part, str):
                out.append(part)
        return "\n".join(out)
    return json.dumps(content)


def current_turn(messages: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """Index of the latest user message and the messages from there on."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user":
            return i, messages[i:]
    return 0, messages


def is_thinking_model(model: str) -> bool:
    m = model.split("/")[-1]
    return m.startswith(("gemini-2.5", "gemini-3"))


def is_gemini3(model: str) -> bool:
    return model.split("/")[-1].startswith("gemini-3")


# -- literal extraction -------------------------------------------------------------------
_QUOTED = re.compile(r"\"([^\"]+)\"|'([^']+)'|\u201c([^\u201d]+)\u201d|\u00ab([^\u00bb]+)\u00bb")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_WORD = re.compile(r"[^\W\d_][\w\-]*", re.UNICODE)


class Literals:
    """Literal values found in a user message, consumed in order."""

    def __init__(self, text: str, exclude: set[str]) -> None:
        self.text = text
        quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)]
        unquoted = _QUOTED.sub(" ", text)
        self.numbers = [n for n in _NUMBER.findall(_strip_tool_words(unquoted, exclude))]
        words = []
        for i, m in enumerate(_WORD.finditer(unquoted)):
            w = m.group(0)
            if w.lower() in exclude or w in exclude:
                continue
            non_ascii = any(ord(c) > 127 for c in w)
            if non_ascii or (w[0].isupper() and i > 0 and w.lower() not in _STOPWORDS):
                words.append(w)
        self.strings = quoted + words
        self.lower = text.lower()

    def number(self, integer: bool) -> float | int | None:
        for i, n in enumerate(self.numbers):
            if integer and "." in n:
                continue
            del self.numbers[i]
            return int(n) if integer else (float(n) if "." in n else int(n))
        return None

    def string(self) -> str | None:
        return self.strings.pop(0) if self.strings else None

    def boolean(self) -> bool | None:
        if re.search(r"\b(true|yes)\b", self.lower):
            return True
        if re.search(r"\b(false|no)\b", self.lower):
            return False
        return None


_STOPWORDS = {"i", "what", "use", "the", "please", "call", "tell", "can", "how", "is", "a"}


def _strip_tool_words(text: str, exclude: set[str]) -> str:
    for word in exclude:
        if "_" in word or any(c.isdigit() for c in word):
            text = re.sub(re.escape(word), " ", text, flags=re.IGNORECASE)
    return text


# -- JSON schema instance generation ------------------------------------------------------------
class SchemaFiller:
    def __init__(self, root: dict[str, Any], literals: Literals | None, fill_all: bool) -> None:
        self.root = root
        self.literals = literals
        self.fill_all = fill_all

    def resolve(self, schema: Any) -> dict[str, Any]:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 32:
            ref = str(schema["$ref"])
            target: Any = self.root
            if ref.startswith("#"):
                for part in ref.lstrip("#").strip("/").split("/"):
                    if not part:
                        continue
                    part = part.replace("~1", "/").replace("~0", "~")
                    target = target.get(part, {}) if isinstance(target, dict) else {}
            else:
                target = {}
            extra = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **extra} if isinstance(target, dict) else extra
            seen += 1
        return schema if isinstance(schema, dict) else {}

    def value(self, schema: Any, name: str = "value", depth: int = 0) -> Any:
        s = self.resolve(schema)
        if "const" in s:
            return s["const"]
        if s.get("enum"):
            options = list(s["enum"])
            if self.literals is not None:
                for opt in options:
                    if isinstance(opt, str) and opt.lower() in self.literals.lower:
                        return opt
            return options[0]
        for key in ("anyOf", "oneOf"):
            if s.get(key):
                options = [self.resolve(o) for o in s[key]]
                non_null = [o for o in options if o.get("type") != "null"]
                return self.value(non_null[0] if non_null else options[0], name, depth)
        if s.get("allOf"):
            merged: dict[str, Any] = {}
            for o in s["allOf"]:
                merged.update(self.resolve(o))
            return self.value(merged, name, depth)
        typ = s.get("type")
        if isinstance(typ, list):
            non_null = [t for t in typ if t != "null"]
            typ = non_null[0] if non_null else "null"
        if typ is None:
            typ = "object" if "properties" in s else ("array" if "items" in s else "string")
        typ = str(typ).lower()
        lit = self.literals
        if typ == "object":
            return self._object(s, depth)
        if typ == "array":
            if depth >= MAX_DEPTH:
                return []
            count = max(1, int(s.get("minItems", 1)))
            if "maxItems" in s:
                count = min(count, int(s["maxItems"]))
            return [self.value(s.get("items", {}), name, depth + 1) for _ in range(count)]
        if typ in ("integer", "number"):
            found = lit.number(typ == "integer") if lit is not None else None
            if found is None:
                found = s.get("default", s.get("example"))
            if not isinstance(found, (int, float)) or isinstance(found, bool):
                found = 1 if typ == "integer" else 1.5
            if "minimum" in s and found < s["minimum"]:
                found = s["minimum"]
            if "maximum" in s and found > s["maximum"]:
                found = s["maximum"]
            return int(found) if typ == "integer" else found
        if typ == "boolean":
            b = lit.boolean() if lit is not None else None
            if b is None:
                b = bool(s.get("default", True))
            return b
        if typ == "null":
            return None
        return self._string(s, name)

    def _object(self, s: dict[str, Any], depth: int) -> dict[str, Any]:
        props = s.get("properties") or {}
        required = set(s.get("required") or [])
        out: dict[str, Any] = {}
        for key, sub in props.items():
            if key in required or (self.fill_all and depth < MAX_DEPTH):
                out[key] = self.value(sub, key, depth + 1)
            elif self.literals is not None and depth < MAX_DEPTH:
                snap = (list(self.literals.numbers), list(self.literals.strings))
                candidate = self.value(sub, key, depth + 1)
                used = (self.literals.numbers, self.literals.strings) != snap
                if used:
                    out[key] = candidate
        return out

    def _string(self, s: dict[str, Any], name: str) -> str:
        fmt = s.get("format")
        if isinstance(fmt, str) and fmt in _FORMAT_EXAMPLES:
            return _FORMAT_EXAMPLES[fmt]
        found = self.literals.string() if self.literals is not None else None
        if found is None:
            default = s.get("default", s.get("example"))
            found = default if isinstance(default, str) else f"example {name.replace('_', ' ')}"
        if "maxLength" in s:
            found = found[: int(s["maxLength"])]
        if "minLength" in s and len(found) < int(s["minLength"]):
            found = found + "x" * (int(s["minLength"]) - len(found))
        return found


# -- the model ---------------------------------------------------------------------------------
def _tool_functions(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        if isinstance(tool, dict) and tool.get("type", "function") == "function":
            fn = tool.get("function")
            if isinstance(fn, dict) and fn.get("name"):
                out.append(fn)
    return out


def _mentioned(functions: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    low = text.lower()
    hits: list[tuple[int, dict[str, Any]]] = []
    for fn in functions:
        name = str(fn["name"]).lower()
        pos = -1
        for variant in (name, name.replace("_", " ")):
            m = re.search(r"(?<![\w])" + re.escape(variant) + r"(?![\w])", low)
            if m:
                pos = m.start()
                break
        if pos >= 0:
            hits.append((pos, fn))
    hits.sort(key=lambda h: h[0])
    return [fn for _, fn in hits]


def _choose_tools(inp: ModelInput, turn: list[dict[str, Any]]) -> list[dict[str, Any]]:
    functions = _tool_functions(inp.tools)
    choice = inp.tool_choice
    if not functions or choice == "none":
        return []
    user_text = text_of(turn[0].get("content")) if turn else ""
    has_results = any(m.get("role") in ("tool", "function") for m in turn)
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        forced = [fn for fn in functions if fn["name"] == name]
        return forced[:1] or functions[:1]
    if choice in ("required", "any", "validated"):
        if has_results:
            return _required_after_results(functions, turn, user_text)
        return (
            _mentioned(functions, user_text)
            or _matched_by_words(functions, user_text)
            or (functions[:1])
        )
    if has_results:
        return []
    return _mentioned(functions, user_text) or _matched_by_words(functions, user_text)


# Words of a tool name that say what it does rather than what it is about.
_GENERIC_NAME_WORDS = frozenset(
    (
        "get",
        "set",
        "fetch",
        "find",
        "search",
        "lookup",
        "look",
        "up",
        "query",
        "retrieve",
        "call",
        "run",
        "do",
        "make",
        "list",
        "check",
        "tool",
        "function",
        "compute",
        "calculate",
        "return",
        "show",
        "read",
        "load",
        "add",
        "create",
    )
)
# Words that name no topic, in a tool description and a RAG question alike.
_TOPICLESS_WORDS = frozenset(
    (
        "a",
        "an",
        "and",
        "are",
        "at",
        "be",
        "by",
        "for",
        "from",
        "given",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "the",
        "this",
        "that",
        "to",
        "with",
        "your",
        "you",
        "what",
        "which",
        "who",
        "how",
    )
)
_DESCRIPTION_STOPWORDS = _TOPICLESS_WORDS | {
    "when",
    "where",
    "get",
    "gets",
    "returns",
    "return",
    "current",
}


def _content_words(text: str, stop: frozenset[str]) -> set[str]:
    words = set()
    for w in re.findall(r"[a-z][a-z0-9]+", text.lower()):
        if w not in stop and len(w) >= 3:
            words.add(w[:-1] if w.endswith("s") and len(w) > 3 else w)
    return words


def _matched_by_words(functions: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Tools whose name or description the user's words are about (one call: the best).

    "What is the weather in San Francisco?" is about ``get_weather`` although it does not
    name it: a word of the tool name (``get``/``fetch``/... aside) or two words of its
    description appear in the message. The best-scoring tool wins; ties go to the first
    offered, as a model picks one tool for one question.
    """
    said = _content_words(text, _DESCRIPTION_STOPWORDS)
    if not said:
        return []
    best: tuple[int, dict[str, Any]] | None = None
    for fn in functions:
        name_words = _content_words(
            re.sub(r"([a-z])([A-Z])", r"\1 \2", str(fn["name"])).replace("_", " "),
            _GENERIC_NAME_WORDS,
        )
        desc_words = _content_words(str(fn.get("description") or ""), _DESCRIPTION_STOPWORDS)
        by_name = len(name_words & said)
        by_desc = len(desc_words & said)
        score = 2 * by_name + by_desc if (by_name or by_desc >= 2) else 0
        if score and (best is None or score > best[0]):
            best = (score, fn)
    return [best[1]] if best else []


def _required_after_results(
    functions: list[dict[str, Any]], turn: list[dict[str, Any]], user_text: str
) -> list[dict[str, Any]]:
    """``tool_choice`` required once tool results are in: move on, never repeat a call.

    A model forced to call a tool after its tools answered calls one it has not called
    in this turn: in agents that is the structured-output tool (LangChain
    ``ToolStrategy`` appends it after the user's tools), so the loop ends. Among the
    uncalled tools one the user names or talks about wins, else the last offered.
    """
    called = {
        str((tc.get("function") or {}).get("name"))
        for m in turn
        for tc in m.get("tool_calls") or []
        if isinstance(tc, dict)
    }
    fresh = [fn for fn in functions if fn["name"] not in called]
    if not fresh:
        return functions[-1:]
    return _mentioned(fresh, user_text)[:1] or fresh[-1:]


def _tool_words(functions: list[dict[str, Any]]) -> set[str]:
    """Words of tool names, never taken as argument values."""
    words = {str(fn["name"]).lower() for fn in functions}
    return words | {p for fn in functions for p in str(fn["name"]).split("_")}


def _call_args(fn: dict[str, Any], text: str, exclude: set[str]) -> dict[str, Any]:
    params = fn.get("parameters") or {"type": "object", "properties": {}}
    args = SchemaFiller(params, Literals(text, exclude), fill_all=False).value(params, "args")
    return args if isinstance(args, dict) else {}


def _tool_results(turn: list[dict[str, Any]]) -> list[tuple[str, str]]:
    names: dict[str, str] = {}
    results: list[tuple[str, str]] = []
    for m in turn:
        for tc in m.get("tool_calls") or []:
            if isinstance(tc, dict):
                names[str(tc.get("id"))] = str((tc.get("function") or {}).get("name", "tool"))
        if m.get("role") in ("tool", "function"):
            name = m.get("name") or names.get(str(m.get("tool_call_id")), "tool")
            results.append((str(name), text_of(m.get("content"))))
    return results


def run_model(inp: ModelInput, prompt_text: str) -> ModelOutput:
    out = ModelOutput(prompt_tokens=max(1, count_tokens(prompt_text)))
    _, turn = current_turn(inp.messages)
    user_text = text_of(turn[0].get("content")) if turn and turn[0].get("role") == "user" else ""
    if not user_text:
        for m in reversed(inp.messages):
            if m.get("role") in ("user", "system", "developer"):
                user_text = text_of(m.get("content"))
                break

    # thinking
    budget = inp.thinking_budget
    if budget is None:
        budget = -1 if is_thinking_model(inp.model) else 0
    if budget != 0 and (is_thinking_model(inp.model) or inp.thinking_budget not in (None, 0)):
        natural = 64 + 2 * out.prompt_tokens
        out.reasoning_tokens = natural if budget < 0 else min(budget, natural)
    short = user_text.strip().replace("\n", " ")[:160]
    thought_summary = (
        f"**Understanding the request**\n\nThe user wrote: {short!r}. "
        "I will work out what is being asked.\n\n**Planning the answer**\n\n"
        "I will answer directly and deterministically."
    )
    if out.reasoning_tokens and inp.include_thoughts:
        out.thoughts = thought_summary

    refusal = llama_guard_refusal(inp, user_text)
    if refusal is not None:
        out.refusal = refusal
        out.finish_reason = "content_filtered"
        out.completion_tokens = 0
        return out

    chosen = _choose_tools(inp, turn)
    if chosen:
        exclude = _tool_words(_tool_functions(inp.tools))
        for fn in chosen:
            # One function asked about several values: one call per value.
            values = same_function_values(fn, user_text, exclude) if len(chosen) == 1 else []
            for text in [f'"{v}"' for v in values] or [user_text]:
                args = _call_args(fn, text, exclude)
                out.tool_calls.append(
                    ToolCall(str(fn["name"]), json.dumps(args, ensure_ascii=False))
                )
        out.finish_reason = "tool_calls"
        out.completion_tokens = sum(count_tokens(tc.name + tc.arguments) for tc in out.tool_calls)
        return out

    if is_react_prompt(inp.messages, inp.tools, text_of):
        text = react_step(
            inp.messages,
            text_of,
            _mentioned,
            lambda fn, question: _call_args(fn, question, _tool_words([fn])),
            lambda question: (
                f"Emulated answer from {inp.model or 'the endpoint'}: " + _echo(question)
            ),
        )
    else:
        text = _answer_text(inp, turn, user_text)
    model_short = inp.model.split("/")[-1]
    if model_short.startswith("deepseek-r1"):
        text = f"<think>\n{thought_summary}\n</think>\n\n{text}"
    elif model_short.startswith("gpt-oss"):
        out.reasoning_content = thought_summary
    for s in inp.stop:
        if s and s in text:
            text = text[: text.index(s)]
    if inp.max_tokens is not None and count_tokens(text) > inp.max_tokens:
        text = text[: max(0, inp.max_tokens * 4)]
        out.finish_reason = "length"
    out.content = text
    out.completion_tokens = count_tokens(text) if text else 0
    return out


def _answer_text(inp: ModelInput, turn: list[dict[str, Any]], user_text: str) -> str:
    rf = inp.response_format or {}
    rf_type = rf.get("type")
    if rf_type == "json_schema":
        js = rf.get("json_schema") or {}
        schema = js.get("schema") if isinstance(js, dict) else None
        schema = schema if isinstance(schema, dict) else {"type": "object"}
        literals = Literals(user_text, set())
        literals.strings = [s for s in literals.strings if len(s) > 0]
        value = SchemaFiller(schema, None, fill_all=True).value(schema, "value")
        return json.dumps(value, ensure_ascii=False)
    if rf_type == "json_object":
        return json.dumps(json_object_answer(user_text), ensure_ascii=False)

    results = _tool_results(turn)
    if results:
        parts = [f"Tool {name} returned: {content}." for name, content in results]
        return " ".join(parts)
    grounded = _best_sentence(inp.context_text, user_text)
    if grounded:
        text = f"Emulated answer from {inp.model or 'the endpoint'}: {grounded}"
    else:
        text = f"Emulated answer from {inp.model or 'the endpoint'}: {_echo(user_text)}"
    if inp.parts_seen:
        text += " Received parts: " + ", ".join(inp.parts_seen) + "."
    if inp.web_search:
        text += (
            "\n\nAccording to Google Search, here is what recent sources say about "
            f"{_echo(user_text)!r} [1][2].\n\nSources:\n"
            "[1] https://www.example.com/search-result-1\n"
            "[2] https://www.example.org/search-result-2"
        )
    return text


_RAG_STOPWORDS = _TOPICLESS_WORDS | {
    "as",
    "does",
    "do",
    "why",
    "information",
    "context",
    "query",
    "answer",
    "below",
    "above",
    "prior",
    "knowledge",
    "not",
}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _RAG_STOPWORDS}


def _best_sentence(context: str, user_text: str) -> str | None:
    """RAG prompts: the context sentence sharing the most words with the question."""
    lines = [line.strip() for line in user_text.splitlines() if line.strip()]
    if not lines:
        return None
    question = next((ln for ln in reversed(lines) if ln.endswith("?")), lines[-1])
    question = re.sub(r"^(query|question)\s*:\s*", "", question, flags=re.IGNORECASE)
    wanted = _words(question)
    source = f"{context}\n{user_text}".replace(question, " ")
    if len(wanted) < 2 or len(source) < 80:
        return None
    best: tuple[int, str] | None = None
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", source):
        sentence = sentence.strip(" -#*")
        score = len(wanted & _words(sentence))
        if score >= 2 and (best is None or score > best[0]):
            best = (score, sentence)
    return best[1] if best else None


def _echo(text: str) -> str:
    text = " ".join(text.split())
    return text[:300] if text else "(no text)"


# -- json_object: the keys the prompt asks for -------------------------------------------
_KEY_SENTENCE = re.compile(r"\b(keys?|fields?|properties|attributes)\b", re.IGNORECASE)
_KEY_NAME = re.compile(r"[\"'`\u201c\u00ab]([A-Za-z_][\w\-]{0,63})[\"'`\u201d\u00bb]")


def json_object_answer(user_text: str) -> dict[str, Any]:
    """``response_format: json_object``: a JSON object with the keys the prompt names.

    "Return the result as a JSON with 'setup' and 'punchline' keys" gives
    ``{"setup": ..., "punchline": ...}`` (quoted names in a sentence that speaks of keys,
    fields or properties); a prompt that names none gets ``{"answer": <echo>}``.
    """
    keys: list[str] = []
    for sentence in re.split(r"(?<=[.!?\n])\s+", user_text):
        if _KEY_SENTENCE.search(sentence):
            for name in _KEY_NAME.findall(sentence):
                if name not in keys:
                    keys.append(name)
    if not keys:
        return {"answer": _echo(user_text)}
    topic = _echo(user_text)[:80]
    return {key: f"example {key.replace('_', ' ')} about {topic}" for key in keys}


# -- Llama Guard (MaaS Llama) ----------------------------------------------------------------
# A small deterministic stand-in for Llama Guard's hazard categories: a prompt that
# plainly asks for one of these is filtered. Vertex documents the result shape only:
# `finish_reason: "content_filtered"` and a `refusal` "stating the filtering reason"
# (https://cloud.google.com/vertex-ai/generative-ai/docs/maas/llama/use-llama, MaaS Llama page); the
# reason's wording is [INF].
_LLAMA_GUARD_CATEGORIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("S1", "Violent Crimes", ("kill someone", "murder", "assassinate")),
    ("S2", "Non-Violent Crimes", ("launder money", "steal a car", "shoplift")),
    ("S9", "Indiscriminate Weapons", ("bomb", "nerve agent", "bioweapon", "explosive")),
)


def llama_guard_refusal(inp: ModelInput, user_text: str) -> str | None:
    """The refusal Llama Guard gives this request, or None when it passes."""
    if not inp.llama_guard:
        return None
    low = user_text.lower()
    for code, name, phrases in _LLAMA_GUARD_CATEGORIES:
        if any(re.search(r"(?<![\w])" + re.escape(p), low) for p in phrases):
            return f"The response was filtered by Llama Guard: unsafe content ({code}: {name})."
    return None
