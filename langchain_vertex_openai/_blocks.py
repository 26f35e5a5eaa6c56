"""LangChain v1 content blocks for Vertex responses (a registered block translator)."""

from __future__ import annotations

from typing import cast

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages import content as types
from langchain_core.messages.block_translators import register_translator

from vertex_openai._constants import SIGNATURES_KEY

MODEL_PROVIDER = "google_vertex_openai"
"""`response_metadata["model_provider"]`; our own name so our block translator is used
(the `openai` one drops `reasoning_content`, the `google_vertexai` one expects native
Gemini content)."""


def _translate_content(message: AIMessage) -> list[types.ContentBlock]:
    """LangChain v1 content blocks: reasoning, text/images, tool calls with signatures."""
    blocks: list[types.ContentBlock] = []
    refusal = message.additional_kwargs.get("refusal")
    if isinstance(refusal, str) and refusal:
        # MaaS Llama Guard (`finish_reason: "content_filtered"`): the block langchain-openai's
        # structured-output parsers look for to raise `OpenAIRefusalError`.
        blocks.append(cast("types.ContentBlock", {"type": "refusal", "refusal": refusal}))
    reasoning = message.additional_kwargs.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        blocks.append(types.ReasoningContentBlock(type="reasoning", reasoning=reasoning))
    parts = [message.content] if isinstance(message.content, str) else message.content
    for part in parts:
        if isinstance(part, str):
            if part:
                blocks.append(types.TextContentBlock(type="text", text=part))
        elif part.get("type") == "text":
            if part.get("text"):
                blocks.append(types.TextContentBlock(type="text", text=part["text"]))
        elif part.get("type") in types.KNOWN_BLOCK_TYPES:
            blocks.append(cast("types.ContentBlock", part))
    if (
        isinstance(message, AIMessageChunk)
        and message.tool_call_chunks
        and message.chunk_position != "last"
    ):
        for tcc in message.tool_call_chunks:
            block = types.ToolCallChunk(
                type="tool_call_chunk", id=tcc.get("id"), name=tcc.get("name"), args=tcc.get("args")
            )
            if tcc.get("index") is not None:
                # A string index: core's merge would otherwise fuse this block with a
                # text/reasoning block that has the same integer index (v1 streaming).
                block["index"] = f"lc_tc_{tcc['index']}"
            blocks.append(block)
        return blocks
    signatures = message.additional_kwargs.get(SIGNATURES_KEY) or {}
    for tc in message.tool_calls:
        call = types.ToolCall(type="tool_call", id=tc.get("id"), name=tc["name"], args=tc["args"])
        if (signature := signatures.get(tc.get("id") or "")) is not None:
            call["extras"] = {"extra_content": {"google": {"thought_signature": signature}}}
        blocks.append(call)
    for itc in message.invalid_tool_calls:
        blocks.append({**itc, "type": "invalid_tool_call"})  # type: ignore[typeddict-item]
    return blocks


def _translate_content_chunk(message: AIMessageChunk) -> list[types.ContentBlock]:
    return _translate_content(message)


register_translator(MODEL_PROVIDER, _translate_content, _translate_content_chunk)
