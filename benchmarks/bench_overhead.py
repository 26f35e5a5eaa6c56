"""1. Per-call overhead: our classes vs the plain framework classes vs the raw SDK.

Every iteration calls each variant once (order shuffled), against the fast local server
running in its own process. The reported figure is the median process CPU time per call
(the client's cost; wall-clock medians are in the notes): CPU time is not inflated when
other processes compete for the cores, so the ratio is stable on a busy machine.
"""

from __future__ import annotations

from typing import Any

from _common import (
    Row,
    Section,
    Timings,
    ainterleaved,
    fmt_time,
    interleaved,
    log,
    median,
    run_async,
)
from _models import (
    MODEL,
    lc_messages,
    lc_openai,
    lc_vertex,
    li_messages,
    li_openai_like,
    li_vertex,
    raw_messages,
    raw_sdk,
)

GOAL = 1.05


def _rows(
    label: str,
    times: dict[str, Timings],
    ours: str,
    base: str,
    sdk: str | None,
) -> list[Row]:
    t_ours, t_base = times[ours], times[base]
    m_ours, m_base = median(t_ours.cpu), median(t_base.cpu)
    w_ours, w_base = median(t_ours.wall), median(t_base.wall)
    rows = [
        Row(
            bench="1 per-call overhead",
            name=label,
            ours=m_ours,
            baseline=m_base,
            unit="s/call",
            ratio=m_ours / m_base,
            goal=GOAL,
            ours_label=ours,
            baseline_label=base,
            note=(
                f"CPU {(m_ours - m_base) * 1e6:+.0f} µs/call; wall {fmt_time(w_ours)} vs "
                f"{fmt_time(w_base)} ({w_ours / w_base:.3f}x); n={len(t_ours)}"
            ),
        )
    ]
    if sdk is not None:
        m_sdk = median(times[sdk].cpu)
        rows.append(
            Row(
                bench="1 per-call overhead",
                name=f"{label}, vs raw SDK",
                ours=m_ours,
                baseline=m_sdk,
                unit="s/call",
                ratio=m_ours / m_sdk,
                ours_label=ours,
                baseline_label=sdk,
                note=f"{base}: {m_base / m_sdk:.2f}x the raw SDK (framework cost, for context)",
                guard=False,
            )
        )
    return rows


def run(origin: str, n: int, warmup: int = 20) -> Section:
    section = Section("1. Per-call overhead (fast local server, interleaved)")
    msgs_lc, msgs_li, msgs_raw = lc_messages(), li_messages(), raw_messages()

    # -- LangChain, sync
    v, o, sdk = lc_vertex(origin), lc_openai(origin), raw_sdk(origin)
    log(f"  [1] LangChain sync x{n}")
    times = interleaved(
        {
            "ChatVertexOpenAI.invoke": lambda: v.invoke(msgs_lc),
            "ChatOpenAI.invoke": lambda: o.invoke(msgs_lc),
            "openai.OpenAI create": lambda: sdk.create(model=MODEL, messages=msgs_raw),
        },
        n,
        warmup,
    )
    assert v.invoke(msgs_lc).text, "empty answer"
    section.rows += _rows(
        "LangChain invoke (sync)",
        times,
        "ChatVertexOpenAI.invoke",
        "ChatOpenAI.invoke",
        "openai.OpenAI create",
    )

    # -- LangChain, async
    log(f"  [1] LangChain async x{n}")

    async def lc_async() -> dict[str, Timings]:
        av, ao, asdk = lc_vertex(origin), lc_openai(origin), raw_sdk(origin, is_async=True)

        async def sdk_call() -> Any:
            return await asdk.create(model=MODEL, messages=msgs_raw)

        return await ainterleaved(
            {
                "ChatVertexOpenAI.ainvoke": lambda: av.ainvoke(msgs_lc),
                "ChatOpenAI.ainvoke": lambda: ao.ainvoke(msgs_lc),
                "openai.AsyncOpenAI create": sdk_call,
            },
            n,
            warmup,
        )

    times = run_async(lc_async())
    section.rows += _rows(
        "LangChain ainvoke (async)",
        times,
        "ChatVertexOpenAI.ainvoke",
        "ChatOpenAI.ainvoke",
        "openai.AsyncOpenAI create",
    )

    # -- LlamaIndex, sync
    log(f"  [1] LlamaIndex sync x{n}")
    lv, lo = li_vertex(origin), li_openai_like(origin)
    times = interleaved(
        {
            "ChatVertexOpenAI.chat": lambda: lv.chat(msgs_li),
            "OpenAILike.chat": lambda: lo.chat(msgs_li),
            "openai.OpenAI create": lambda: sdk.create(model=MODEL, messages=msgs_raw),
        },
        n,
        warmup,
    )
    assert lv.chat(msgs_li).message.content, "empty answer"
    section.rows += _rows(
        "LlamaIndex chat (sync)",
        times,
        "ChatVertexOpenAI.chat",
        "OpenAILike.chat",
        "openai.OpenAI create",
    )

    # -- LlamaIndex, async
    log(f"  [1] LlamaIndex async x{n}")

    async def li_async() -> dict[str, Timings]:
        av, ao = li_vertex(origin), li_openai_like(origin)
        asdk = raw_sdk(origin, is_async=True)

        async def sdk_call() -> Any:
            return await asdk.create(model=MODEL, messages=msgs_raw)

        return await ainterleaved(
            {
                "ChatVertexOpenAI.achat": lambda: av.achat(msgs_li),
                "OpenAILike.achat": lambda: ao.achat(msgs_li),
                "openai.AsyncOpenAI create": sdk_call,
            },
            n,
            warmup,
        )

    times = run_async(li_async())
    section.rows += _rows(
        "LlamaIndex achat (async)",
        times,
        "ChatVertexOpenAI.achat",
        "OpenAILike.achat",
        "openai.AsyncOpenAI create",
    )
    sdk_sync = [r for r in section.rows if r.baseline_label == "openai.OpenAI create"]
    if sdk_sync:
        section.details.append(
            f"Raw openai SDK call against the same server: {fmt_time(sdk_sync[0].baseline)} "
            'CPU median; the framework classes add their own cost on top (rows "vs raw '
            'SDK"). Figures are client CPU time per call (see the module docstring).'
        )
    return section
