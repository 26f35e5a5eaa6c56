"""9. Failover: 2,000 chat requests while the primary location runs out of quota.

The Vertex emulator runs in its own process. Its primary location (``us-central1``)
answers 429 RESOURCE_EXHAUSTED (Vertex's body, ``Retry-After: 1``) to 30 % of the
requests it receives for the first 75 % of the run, then to every request for a window
(the last 25 %); ``europe-west4`` always answers. Three clients send the same requests,
20 in flight, each with the openai SDK's default ``max_retries=2``:

* ``ChatVertexOpenAI(fallback_locations=["europe-west4"])``;
* ``ChatVertexOpenAI`` without it (requests stay in ``us-central1``);
* plain ``ChatOpenAI`` pointed at ``us-central1`` with a static token.

Reported per client: the share of requests that got an answer, and the p50 / p99 latency
of every request (failed ones included, at the time they failed). Run alone:
``python benchmarks/bench_failover.py [N]``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from typing import Any

import httpx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import MODEL, Row, Section, log, run_async

PRIMARY = "us-central1"
FALLBACK = "europe-west4"
SHARE = 0.3
WINDOW = 0.25
"""Share of the run (its end) during which the primary refuses every request."""
CONCURRENCY = 20
RETRY_AFTER = 1


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _behave(url: str, share: float) -> None:
    spec = {"kind": "quota", "share": share, "retry_after": RETRY_AFTER}
    answer = httpx.post(
        f"{url}/_emulator/config", json={"location_behaviour": {PRIMARY: spec}}, timeout=30
    )
    answer.raise_for_status()


async def _phase(model: Any, n: int, start: int) -> list[tuple[bool, float]]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> tuple[bool, float]:
        async with gate:
            t0 = time.perf_counter()
            try:
                await model.ainvoke(f"request {i}")
                ok = True
            except Exception:  # a failed request is a data point here
                ok = False
            return ok, time.perf_counter() - t0

    return list(await asyncio.gather(*(one(start + i) for i in range(n))))


def _locations(emu: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    for r in emu.requests:
        if r.path.endswith("/chat/completions"):
            counts[f"{r.path.split('/locations/')[1].split('/')[0]} {r.status}"] += 1
    return counts


def _variants(emu: Any) -> dict[str, Any]:
    from langchain_openai import ChatOpenAI

    from langchain_vertex_openai import ChatVertexOpenAI

    common = {
        "model": MODEL,
        "project": emu.project,
        "location": PRIMARY,
        "api_endpoint": emu.url,
        "credentials": str(emu.credentials_path),
        "max_retries": 2,
        "timeout": 60,
    }
    token = httpx.post(f"{emu.url}/_emulator/token", timeout=30).json()["access_token"]
    return {
        "with fallback_locations": ChatVertexOpenAI(**common, fallback_locations=[FALLBACK]),
        "without fallback_locations": ChatVertexOpenAI(**common),
        "plain ChatOpenAI": ChatOpenAI(
            model=MODEL,
            api_key=token,
            max_retries=2,
            timeout=60,
            base_url=f"{emu.url}/v1/projects/{emu.project}/locations/{PRIMARY}/endpoints/openapi",
        ),
    }


def run(total: int = 2000) -> Section:
    from vertex_openai._failover import COOLING
    from vertex_openai.emulator._process import EmulatorProcess

    section = Section(f"9. Failover: {total:,} requests, primary location out of quota")
    window = int(total * WINDOW)
    results: dict[str, dict[str, Any]] = {}
    with EmulatorProcess() as emu:
        for name, model in _variants(emu).items():
            _behave(emu.url, 0.0)
            run_async(model.ainvoke("warm-up"))  # token, pools, imports: not measured
            emu.reset()
            COOLING.clear()
            log(f"  [8] {name}")
            started = time.perf_counter()
            _behave(emu.url, SHARE)
            first = run_async(_phase(model, total - window, 0))
            _behave(emu.url, 1.0)
            second = run_async(_phase(model, window, total - window))
            _behave(emu.url, 0.0)
            outcomes = first + second
            ok = sum(1 for good, _ in outcomes if good)
            latencies = [t for _, t in outcomes]
            results[name] = {
                "success": 100.0 * ok / len(outcomes),
                "window_success": 100.0 * sum(1 for g, _ in second if g) / max(1, len(second)),
                "p50": _percentile(latencies, 0.5),
                "p99": _percentile(latencies, 0.99),
                "wall": time.perf_counter() - started,
                "sent": _locations(emu),
            }
    ours, without, plain = (
        results[k]
        for k in ("with fallback_locations", "without fallback_locations", "plain ChatOpenAI")
    )
    for label, key, unit, direction in (
        ("success rate", "success", "%", "ge"),
        ("success rate in the 100 % window", "window_success", "%", "ge"),
        ("p50 latency", "p50", "s", "le"),
        ("p99 latency", "p99", "s", "le"),
    ):
        base = plain[key]
        section.rows.append(
            Row(
                bench="9 failover",
                name=label,
                ours=ours[key],
                baseline=base,
                unit=unit,
                ratio=ours[key] / base if base else float("nan"),
                goal=None,
                direction=direction,
                ours_label="ChatVertexOpenAI + fallback_locations",
                baseline_label="ChatOpenAI, max_retries=2",
                guard=False,
                note=f"without fallback_locations: {_fmt(without[key], unit)}",
            )
        )
    section.details += [
        f"The primary answers 429 (with `Retry-After: {RETRY_AFTER}`) to {SHARE:.0%} of "
        f"the requests it receives for the first {total - window:,} requests, then to all "
        f"of them for the last {window:,} (the window); `{FALLBACK}` always answers. "
        f"{CONCURRENCY} requests in flight, `max_retries=2` everywhere.",
        "",
        "| Client | Success | In the window | p50 | p99 | Run time | Requests seen by "
        "the emulator |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in results.items():
        sent = ", ".join(f"{k}: {v}" for k, v in sorted(r["sent"].items()))
        section.details.append(
            f"| {name} | {r['success']:.1f} % | {r['window_success']:.1f} % | "
            f"{_fmt(r['p50'], 's')} | {_fmt(r['p99'], 's')} | {r['wall']:.1f} s | {sent} |"
        )
    section.details += [
        "",
        "With `fallback_locations` a 429 costs one extra round trip on the spot, and the "
        "primary then cools for its `Retry-After` (30 s without one), so later requests go "
        "straight to the fallback. Without it, the SDK's retries wait out `Retry-After` "
        "and try the same location again: they ride out a 30 % refusal rate but not a "
        "window in which the location refuses everything.",
        "",
        "Latency includes queueing: with 20 requests in flight, a request waits while others "
        "back off, so the two clients without failover differ in p50 by when their retries "
        "happen to land; success rates and p99 are the stable figures.",
    ]
    return section


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.1f} %"
    if value != value:
        return "n/a"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


if __name__ == "__main__":
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
    for row in result.rows:
        print(f"{row.name}: ours {row.ours:.4g} {row.unit}, plain {row.baseline:.4g}, {row.note}")
    print("\n".join(result.details))
