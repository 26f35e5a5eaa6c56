"""``POST .../publishers/google/models/{model}:countTokens`` (Vertex REST, native shape).

Request: ``{"contents": [...], "systemInstruction": {...}, "tools": [...]}`` in Gemini's
native form; response ``{"totalTokens": N, "totalBillableCharacters": M}``
(https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/count-tokens).
Gemini models only: any other publisher's model is "not found" on this method.

The count uses the emulator's own tokenizer (one token per four characters, the same
rule as chat ``prompt_tokens``); an image counts 258 tokens (Gemini's documented cost of
an image up to 384 pixels).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from vertex_openai.emulator._errors import google_error, json_response
from vertex_openai.emulator._model import count_tokens
from vertex_openai.emulator._state import EmulatorState

IMAGE_TOKENS = 258


def _part_cost(part: Any) -> tuple[str, int]:
    """(text to tokenize, fixed tokens) of one native part."""
    if not isinstance(part, dict):
        raise ValueError("part")
    if isinstance(part.get("text"), str):
        return part["text"], 0
    for key in ("inlineData", "inline_data", "fileData", "file_data"):
        if isinstance(part.get(key), dict):
            return "", IMAGE_TOKENS
    for key in ("functionCall", "function_call", "functionResponse", "function_response"):
        if isinstance(part.get(key), dict):
            return json.dumps(part[key], ensure_ascii=False, sort_keys=True), 0
    raise ValueError("part")


def count_tokens_response(
    state: EmulatorState, request: Request, model: str, body: Any
) -> Response:
    p = request.path_params
    cfg = state.config
    full = f"{p['publisher']}/{model}"
    if p["publisher"] != "google" or full not in cfg.models or not model.startswith("gemini-"):
        return google_error(
            404,
            f"Publisher Model `projects/{p['project']}/locations/{p['location']}/publishers/"
            f"{p['publisher']}/models/{model}` was not found or your project does not have "
            "access to it. Please ensure you are using a valid model version.",
            "NOT_FOUND",
        )
    if not isinstance(body, dict):
        return google_error(400, "Invalid JSON payload received. Unexpected token.")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return google_error(400, "Unable to submit request because it has an empty contents field.")
    texts: list[str] = []
    fixed = 0
    try:
        blocks: list[Any] = list(contents)
        system = body.get("systemInstruction", body.get("system_instruction"))
        if system is not None:
            blocks.append(system)
        for content in blocks:
            if not isinstance(content, dict) or not isinstance(content.get("parts"), list):
                raise ValueError("content")
            if content.get("role") not in (None, "user", "model", "function", "system"):
                return google_error(
                    400, f"Please use a valid role: user, model. Got {content.get('role')!r}."
                )
            for part in content["parts"]:
                text, tokens = _part_cost(part)
                texts.append(text)
                fixed += tokens
    except ValueError as exc:
        return google_error(
            400, f"Invalid JSON payload received. Unknown or malformed {exc.args[0]}."
        )
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        texts.append(json.dumps(tools, ensure_ascii=False, sort_keys=True))
    text = " ".join(t for t in texts if t)
    return json_response(
        {
            "totalTokens": count_tokens(text) + fixed,
            "totalBillableCharacters": len("".join(t for t in texts if t).replace(" ", "")),
        }
    )
