"""Where the per-call overhead goes: our pieces timed alone, against the parent's.

No network: each step of the request/response path is called directly on a model
instance, ours and the parent class's implementation on the same object, so the
difference is exactly what our override adds. CPU time, median of interleaved runs.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from _common import median
from _models import lc_messages, lc_vertex, li_messages, li_vertex
from _server import _COMPLETION

from vertex_openai._sdk_objects import SdkCall


def _time(fns: dict[str, Callable[[], Any]], n: int, inner: int = 20) -> dict[str, float]:
    """Median CPU µs per call of each function (blocks of ``inner`` calls, interleaved)."""
    out: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        for _ in range(inner):
            fn()
    cpu = time.process_time
    for _ in range(n):
        for name, fn in fns.items():
            c0 = cpu()
            for _ in range(inner):
                fn()
            out[name].append((cpu() - c0) / inner * 1e6)
    return {k: median(v) for k, v in out.items()}


def _auth_flow_cost(model_conn: Any, n: int) -> float:
    import httpx

    auth = model_conn.auth
    url = f"{model_conn.base_url}/chat/completions"
    body = {"model": "google/gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}
    # A real completion body: the auth flow checks that a 200 is one (portal pages are not).
    answer = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "google/gemini-2.5-flash",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}
        ],
    }

    def flow() -> None:
        request = httpx.Request("POST", url, json=body)
        gen = auth.sync_auth_flow(request)
        req = next(gen)
        with contextlib.suppress(StopIteration):
            gen.send(httpx.Response(200, request=req, json=answer))

    def bare() -> None:
        request = httpx.Request("POST", url, json=body)
        httpx.Response(200, request=request, json=answer)

    t = _time({"flow": flow, "bare": bare}, n)
    return t["flow"] - t["bare"]


def attribution(origin: str, n: int = 30) -> list[tuple[str, float, float]]:
    """Rows of (step, ours µs, parent µs) for the LangChain and LlamaIndex paths."""
    import openai
    from langchain_openai import ChatOpenAI
    from llama_index.llms.openai import OpenAI as LIOpenAI
    from llama_index.llms.openai.utils import from_openai_message, to_openai_message_dicts

    rows: list[tuple[str, float, float]] = []
    v = lc_vertex(origin)
    msgs = v._convert_input(lc_messages()).to_messages()  # as _generate passes them
    completion = openai.types.chat.ChatCompletion.model_validate(_COMPLETION)
    v.invoke(msgs)  # warm: lazy imports, first token
    t = _time(
        {
            "payload": lambda: v._get_request_payload(msgs),
            "payload_parent": lambda: ChatOpenAI._get_request_payload(v, msgs),
            "result": lambda: v._create_chat_result(completion),
            "result_parent": lambda: ChatOpenAI._create_chat_result(v, completion),
            "inv": lambda: v._get_invocation_params(),
            "inv_parent": lambda: ChatOpenAI._get_invocation_params(v),
            "ls": lambda: v._get_ls_params(),
            "ls_parent": lambda: ChatOpenAI._get_ls_params(v),
        },
        n,
    )
    rows += [
        (
            "LangChain `_get_request_payload` (incl. `prepare_chat_request`)",
            t["payload"],
            t["payload_parent"],
        ),
        (
            "LangChain `_create_chat_result` (incl. `parse_message`, usage)",
            t["result"],
            t["result_parent"],
        ),
        ("LangChain `_get_invocation_params` (called 2x per call)", t["inv"], t["inv_parent"]),
        ("LangChain `_get_ls_params`", t["ls"], t["ls_parent"]),
    ]
    assert v._connection is not None
    rows.append(
        ("`VertexAuth.sync_auth_flow` (per request)", _auth_flow_cost(v._connection, n), 0.0)
    )

    lv = li_vertex(origin)
    lmsgs = li_messages()
    lv.chat(lmsgs)
    t = _time(
        {
            "req": lambda: lv._shape(SdkCall(lmsgs), lv._get_model_kwargs(stream=False)),
            "req_parent": lambda: (
                to_openai_message_dicts(lmsgs, model=lv.model),
                LIOpenAI._get_model_kwargs(lv),
            ),
            "resp": lambda: (
                SdkCall(lmsgs).normalize(completion),
                from_openai_message(completion.choices[0].message, modalities=["text"]),
            ),
            "resp_parent": lambda: from_openai_message(
                completion.choices[0].message, modalities=["text"]
            ),
        },
        n,
    )
    rows += [
        (
            "LlamaIndex `_shape` (messages + kwargs + `prepare_chat_request`)",
            t["req"],
            t["req_parent"],
        ),
        ("LlamaIndex response (`SdkCall.normalize` + parent's parse)", t["resp"], t["resp_parent"]),
    ]
    return rows


def render(
    rows: list[tuple[str, float, float]], what: str = "CPU per call, no network"
) -> list[str]:
    lines = [
        f"| Step ({what}) | Ours | Parent | Added |",
        "|---|---:|---:|---:|",
    ]
    for name, ours, parent in rows:
        o = f"{ours:.1f} µs" if ours else "—"
        p = f"{parent:.1f} µs" if parent else "—"
        added = f"{ours - parent:+.1f} µs" if ours else "—"
        lines.append(f"| {name} | {o} | {p} | {added} |")
    return lines


def stream_attribution(origin: str, n: int = 6) -> list[tuple[str, float, float]]:
    """Per-chunk CPU µs of the LangChain streaming path, split into pieces."""
    import json

    from _common import interleaved
    from _models import lc_openai
    from _server import THOUGHT_MARKER, build_stream_body, stream_text
    from langchain_core.messages import AIMessageChunk
    from langchain_openai import ChatOpenAI

    from vertex_openai._messages import StreamAccumulator
    from vertex_openai._thoughts import ThoughtParser

    _, _, pieces = stream_text()
    body = build_stream_body(pieces).decode()
    dicts = [json.loads(b[6:]) for b in body.split("\n\n") if b.startswith("data: {")]
    n_chunks = len(pieces)
    v = lc_vertex(
        origin, thinking_config={"include_thoughts": True}, thought_tag_marker=THOUGHT_MARKER
    )
    o = lc_openai(origin, stream_usage=True)
    msgs = v._convert_input(lc_messages()).to_messages()

    def drain(model: Any) -> Callable[[], Any]:
        return lambda: [c for c in model._stream(msgs)]

    t = interleaved({"ours": drain(v), "base": drain(o)}, n, 1, collect_every=1)
    rows = [
        (
            "`ChatVertexOpenAI._stream` vs `ChatOpenAI._stream` (whole generator)",
            median(t["ours"].cpu) / n_chunks * 1e6,
            median(t["base"].cpu) / n_chunks * 1e6,
        )
    ]

    def rewrite_all() -> None:
        acc = StreamAccumulator(THOUGHT_MARKER)
        for d in dicts:
            acc.rewrite_chunk(d)

    def parser_all() -> None:
        p = ThoughtParser(THOUGHT_MARKER)
        for d in dicts:
            ch = d["choices"]
            if ch and ch[0]["delta"].get("content"):
                p.feed(ch[0]["delta"]["content"])

    acc = StreamAccumulator(THOUGHT_MARKER)
    rewritten = [acc.rewrite_chunk(d)[0] for d in dicts]

    def convert_raw() -> None:
        for d in dicts:
            ChatOpenAI._convert_chunk_to_generation_chunk(v, d, AIMessageChunk, {})

    def convert_rewritten() -> None:
        for d in rewritten:
            ChatOpenAI._convert_chunk_to_generation_chunk(v, d, AIMessageChunk, {})

    per = _time(
        {
            "rewrite": rewrite_all,
            "parser": parser_all,
            "conv_raw": convert_raw,
            "conv_rew": convert_rewritten,
        },
        max(n, 3),
        inner=1,
    )
    scale = 1 / len(dicts)
    rows += [
        ("`StreamAccumulator.rewrite_chunk` (incl. the parser)", per["rewrite"] * scale, 0.0),
        ("`ThoughtParser.feed` alone", per["parser"] * scale, 0.0),
        (
            "the parent's `_convert_chunk_to_generation_chunk` on our rewritten chunks "
            "(thoughts as `reasoning_content`) vs on the raw chunks",
            per["conv_rew"] * scale,
            per["conv_raw"] * scale,
        ),
    ]
    return rows
