"""8. A model object per request: build a new model and call it once, ours vs the parent.

Web handlers, LangGraph nodes and agents that pick a model per call build a model object
for every request. Each iteration builds a new model of each variant and calls it once
(interleaved, shuffled) against the fast local server. All our models use ONE credentials
object; the parents use a static key. The figure is the median process CPU time per
request (construction + call); wall-clock medians are in the notes. Token grants are the
``refresh()`` calls of that one credential over the whole section.
"""

from __future__ import annotations

import datetime
from typing import Any

from _common import Row, Section, Timings, ainterleaved, fmt_time, interleaved, log, median
from _common import run_async as _run_async
from _models import lc_messages, lc_openai, lc_vertex, li_messages, li_openai_like, li_vertex

GOAL_LANGCHAIN = 1.5
GOAL_LLAMA_INDEX = 1.0
BENCH = "8 model per request"


class _CountingCredentials:
    """One credential for every model of the section; counts its token grants."""

    def __init__(self) -> None:
        import google.auth.credentials

        counter = self

        class Credentials(google.auth.credentials.Credentials):
            def refresh(self, request: Any) -> None:
                counter.grants += 1
                self.token = "ya29.bench-per-request"
                self.expiry = datetime.datetime(2100, 1, 1)

        self.grants = 0
        self.credentials = Credentials()


def _row(label: str, times: dict[str, Timings], ours: str, base: str, goal: float) -> Row:
    m_ours, m_base = median(times[ours].cpu), median(times[base].cpu)
    w_ours, w_base = median(times[ours].wall), median(times[base].wall)
    return Row(
        bench=BENCH,
        name=label,
        ours=m_ours,
        baseline=m_base,
        unit="s/request",
        ratio=m_ours / m_base,
        goal=goal,
        ours_label=ours,
        baseline_label=base,
        note=(
            f"wall {fmt_time(w_ours)} vs {fmt_time(w_base)} ({w_ours / w_base:.2f}x); "
            f"n={len(times[ours])}"
        ),
    )


def run(origin: str, n: int, warmup: int = 5) -> Section:
    section = Section("8. A model object per request (new model + one call, interleaved)")
    cred = _CountingCredentials()
    creds = cred.credentials
    msgs_lc, msgs_li = lc_messages(), li_messages()

    log(f"  [8] LangChain sync x{n}")
    times = interleaved(
        {
            "new ChatVertexOpenAI + invoke": lambda: lc_vertex(origin, creds).invoke(msgs_lc),
            "new ChatOpenAI + invoke": lambda: lc_openai(origin).invoke(msgs_lc),
        },
        n,
        warmup,
    )
    section.rows.append(
        _row(
            "LangChain, sync",
            times,
            "new ChatVertexOpenAI + invoke",
            "new ChatOpenAI + invoke",
            GOAL_LANGCHAIN,
        )
    )

    log(f"  [8] LangChain async x{n}")

    async def lc_async() -> dict[str, Timings]:
        async def ours() -> Any:
            return await lc_vertex(origin, creds).ainvoke(msgs_lc)

        async def parent() -> Any:
            return await lc_openai(origin).ainvoke(msgs_lc)

        return await ainterleaved(
            {"new ChatVertexOpenAI + ainvoke": ours, "new ChatOpenAI + ainvoke": parent},
            n,
            warmup,
        )

    times = _run_async(lc_async())
    section.rows.append(
        _row(
            "LangChain, async",
            times,
            "new ChatVertexOpenAI + ainvoke",
            "new ChatOpenAI + ainvoke",
            GOAL_LANGCHAIN,
        )
    )

    log(f"  [8] LlamaIndex sync x{n}")
    times = interleaved(
        {
            "new ChatVertexOpenAI + chat": lambda: li_vertex(origin, creds).chat(msgs_li),
            "new OpenAILike + chat": lambda: li_openai_like(origin).chat(msgs_li),
        },
        n,
        warmup,
    )
    section.rows.append(
        _row(
            "LlamaIndex, sync",
            times,
            "new ChatVertexOpenAI + chat",
            "new OpenAILike + chat",
            GOAL_LLAMA_INDEX,
        )
    )

    log(f"  [8] LlamaIndex async x{n}")

    async def li_async() -> dict[str, Timings]:
        async def ours() -> Any:
            return await li_vertex(origin, creds).achat(msgs_li)

        async def parent() -> Any:
            return await li_openai_like(origin).achat(msgs_li)

        return await ainterleaved(
            {"new ChatVertexOpenAI + achat": ours, "new OpenAILike + achat": parent},
            n,
            warmup,
        )

    times = _run_async(li_async())
    section.rows.append(
        _row(
            "LlamaIndex, async",
            times,
            "new ChatVertexOpenAI + achat",
            "new OpenAILike + achat",
            GOAL_LLAMA_INDEX,
        )
    )

    models = 4 * (n + warmup)
    section.rows.append(
        Row(
            bench=BENCH,
            name="token grants for all per-request models on one credential",
            ours=float(cred.grants),
            baseline=1.0,
            unit="grants",
            ratio=float(cred.grants),
            goal=1.0,
            ours_label=f"{models} models",
            baseline_label="1 per credential per token lifetime",
            note="the credential's refresh() calls over the whole section",
            guard=False,
        )
    )
    section.details.append(
        f"{models} model objects on one credentials object fetched {cred.grants} token(s): "
        "model objects share one token source per credential (and one connection pool per "
        "set of connection options), so a model built per request costs a construction, "
        "not a token round trip and a TLS handshake."
    )
    return section
