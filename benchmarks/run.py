"""Run every benchmark; write docs/benchmarks.md and docs/benchmarks.png.

    python benchmarks/run.py                 # full run (~15 min on 2 cores)
    python benchmarks/run.py --quick         # short run (~2 min), results in benchmarks/out/
    python benchmarks/run.py --quick --guard # CI: exit 1 only on gross regressions

Comparisons are interleaved in one process (or alternate fresh processes for imports)
so machine noise hits both sides alike; figures are medians and ratios. ``--guard``
fails only when a guarded ratio is worse than 1.5x (throughput below 1/1.5x, memory
growth above 1.5x its goal) twice in a row; it never looks at absolute times.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import ROOT, Row, Section, fmt_time, log
from _notes import NOTES

GROSS = 1.5
PACKAGES = (
    "vertex-openai",
    "openai",
    "httpx",
    "google-auth",
    "langchain-core",
    "langchain-openai",
    "llama-index-core",
    "llama-index-llms-openai-like",
    "llama-index-llms-openai",
    "pydantic",
)
BENCHES = (
    "parser",
    "overhead",
    "stream",
    "concurrency",
    "import",
    "memory",
    "embeddings",
    "per_request",
    "failover",
    "alternatives",
)
# Not part of --quick (and so never of the CI guard): needs its own virtualenv and minutes.
FULL_ONLY = ("alternatives",)


def _params(quick: bool) -> dict[str, Any]:
    if quick:
        return {
            "overhead_n": 100,
            "stream_n": 6,
            "conc_total": 400,
            "conc_rounds": 4,
            "import_n": 3,
            "memory_n": 2000,
            "parser_mb": 1.0,
            "emb_samples": 3,
            "per_request_n": 40,
            "failover_n": 400,
            "explain": False,
        }
    return {
        "overhead_n": 1000,
        "stream_n": 30,
        "conc_total": 2000,
        "conc_rounds": 16,
        "import_n": 15,
        "memory_n": 20000,
        "parser_mb": 10.0,
        "emb_samples": 9,
        "per_request_n": 200,
        "failover_n": 2000,
        "explain": True,
        "alt_calls_n": 300,
        "alt_stream_n": 12,
        "alt_cold_n": 7,
    }


# ------------------------------------------------------------------ running


def _runners(
    p: dict[str, Any],
    origin: Callable[[], str],
    vertexai_python: str | None,
    alternatives_python: str | None,
) -> dict[str, Callable[[], Section]]:
    import bench_alternatives
    import bench_concurrency
    import bench_embeddings
    import bench_failover
    import bench_import
    import bench_overhead
    import bench_parser
    import bench_per_request
    import bench_stream

    return {
        "parser": lambda: bench_parser.run(p["parser_mb"]),
        "overhead": lambda: bench_overhead.run(origin(), p["overhead_n"]),
        "stream": lambda: bench_stream.run(origin(), p["stream_n"]),
        "concurrency": lambda: bench_concurrency.run(p["conc_total"], p["conc_rounds"]),
        "import": lambda: bench_import.run_imports(
            p["import_n"], vertexai_python, explain=p["explain"]
        ),
        "memory": lambda: bench_import.run_memory(origin(), p["memory_n"]),
        "embeddings": lambda: bench_embeddings.run(p["emb_samples"]),
        "per_request": lambda: bench_per_request.run(origin(), p["per_request_n"]),
        "failover": lambda: bench_failover.run(p["failover_n"]),
        "alternatives": lambda: bench_alternatives.run(
            alternatives_python, p["alt_calls_n"], p["alt_stream_n"], p["alt_cold_n"]
        ),
    }


def gross_failures(rows: list[Row]) -> list[Row]:
    bad = []
    for r in rows:
        if not r.guard or r.goal is None or math.isnan(r.ratio):
            continue
        if (
            (r.direction == "le" and r.ratio > GROSS)
            or (r.direction == "ge" and r.ratio < 1 / GROSS)
            or (r.direction == "abs_le" and r.ratio > GROSS * r.goal)
        ):
            bad.append(r)
    return bad


# ------------------------------------------------------------------ reporting


def _versions() -> list[tuple[str, str]]:
    out = []
    for name in PACKAGES:
        try:
            out.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    return out


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _value(r: Row, v: float) -> str:
    if r.unit in ("s", "s/call", "s/chunk", "s/request"):
        text = fmt_time(v)
        return text + (r.unit[1:] if r.unit != "s" else "")
    if r.unit == "MB":
        return f"{v:.1f} MB"
    return f"{v:,.1f} {r.unit}"


def _ratio(r: Row) -> str:
    if math.isnan(r.ratio):
        return "—"
    if r.direction == "abs_le":
        return f"{r.ratio:.1f} MB"
    return f"{r.ratio:.3f}x"


def _goal(r: Row) -> str:
    if r.goal is None:
        return "—"
    if r.direction == "abs_le":
        return f"<= {r.goal:g} MB"
    return f"{'<=' if r.direction == 'le' else '>='} {r.goal:g}x"


def _met(r: Row) -> str:
    return {None: "", True: "met", False: "**missed**"}[r.met]


def write_markdown(path: str, sections: list[Section], meta: dict[str, Any]) -> None:
    rows = [r for s in sections for r in s.rows]
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `python benchmarks/run.py`; do not edit by hand. -->",
        "",
        f"Generated {meta['date']} by `{meta['command']}` "
        f"({'quick' if meta['quick'] else 'full'} mode, {meta['runtime']:.0f} s).",
        "",
        '**How to run:** `pip install -e ".[test]" matplotlib` then `python benchmarks/run.py` '
        "(full, about 15 minutes on 2 cores with section 6; writes this page and "
        "[benchmarks.png](benchmarks.png)); `python benchmarks/run.py --quick --guard` is "
        "the short CI version, which fails only on gross regressions (a ratio worse than "
        f"{GROSS}x).",
        "",
        "Method: a minimal OpenAI-compatible server in its own process answers instantly "
        "with fixed bytes, so client cost dominates; the concurrency test uses the Vertex "
        "emulator (own process). Each comparison is interleaved (A, B, C, then the three "
        "again in a new shuffled order ...) in one process, costs are process CPU time "
        "(wall time in the notes), the garbage collector runs between samples, and the "
        "figures are medians. Ratios are ours / plain (lower is better) except throughput "
        "(higher is better); in section 6 they are ours / theirs (the alternatives, each "
        "against a local fake of the API it speaks).",
        "",
        "The runs are made on a shared 2-core machine (other engineers' test suites run "
        "beside them): absolute times are noisy, which is why every figure that matters is "
        "a ratio of two things measured side by side in one run.",
        "",
        "## Machine",
        "",
        f"- {meta['platform']}; CPU: {meta['cpu']}; {meta['cpus']} logical CPUs",
        f"- Python {meta['python']}",
        f"- Load average at start / end: {meta['load_start']} / {meta['load_end']}"
        + (
            " (other work was running: absolute times are noisy, ratios less so)"
            if meta["busy"]
            else ""
        ),
        "- Versions: " + ", ".join(f"{n} {v}" for n, v in meta["versions"]),
        "",
        "![Ratios against goals](benchmarks.png)" if meta["png"] else "",
        "",
        "## Summary",
        "",
        "| Benchmark | Comparison | Ours | Plain / theirs | Ratio | Goal | |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.bench} | {r.name} | {_value(r, r.ours)} | {_value(r, r.baseline)} | "
            f"{_ratio(r)} | {_goal(r)} | {_met(r)} |"
        )
    for s in sections:
        lines += ["", f"## {s.title}", ""]
        other = "Theirs" if s.title.startswith("6.") else "Plain"
        if s.rows:
            lines += [f"| Comparison | Ours | {other} | Ratio | Notes |", "|---|---|---|---:|---|"]
        for r in s.rows:
            lines.append(
                f"| {r.name} | `{r.ours_label}` {_value(r, r.ours)} | `{r.baseline_label}` "
                f"{_value(r, r.baseline)} | {_ratio(r)} | {r.note} |"
            )
        if s.details:
            lines.append("")
            lines += s.details
        if s.errors:
            lines += ["", f"**Errors / mismatches in this section: {s.errors}.**"]
    missed = [r for r in rows if r.met is False]
    lines += ["", "## Goals not met", ""]
    if not missed:
        lines.append("All goals were met in this run.")
    for bench in dict.fromkeys(r.bench for r in missed):
        lines += [f"### {bench}", ""]
        lines += [f"- {r.name}: {_ratio(r)} (goal {_goal(r)})" for r in missed if r.bench == bench]
        lines += ["", NOTES.get(bench) or "No analysis recorded yet.", ""]
    for key, text in meta.get("profiles", {}).items():
        lines += [f"### Profile: {key}", "", "```", text.rstrip(), "```", ""]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines).rstrip() + "\n")


def write_chart(path: str, sections: list[Section]) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: no chart (pip install matplotlib)")
        return False
    rows = [
        r
        for s in sections
        for r in s.rows
        if r.goal is not None and r.direction in ("le", "ge") and not math.isnan(r.ratio)
    ]
    mem = [r for s in sections for r in s.rows if r.direction == "abs_le"]
    fig, axes = plt.subplots(
        1,
        2,
        figsize=(13, 0.45 * max(len(rows), 4) + 1.5),
        gridspec_kw={"width_ratios": [3, 1]},
    )
    ax = axes[0]
    labels = [f"{r.bench.split(' ', 1)[1]}: {r.name}" for r in rows]
    ys = list(range(len(rows)))[::-1]
    colors = ["#2e7d32" if r.met else "#c62828" for r in rows]
    ax.barh(ys, [r.ratio for r in rows], color=colors, height=0.6)
    for y, r in zip(ys, rows, strict=True):
        ax.plot([r.goal, r.goal], [y - 0.4, y + 0.4], color="black", lw=2)
        ax.text(r.ratio + 0.01, y, f"{r.ratio:.2f}", va="center", fontsize=8)
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=8)
    hi = max([r.ratio for r in rows] + [1.2])
    ax.set_xlim(0, hi * 1.12)
    ax.set_xlabel(
        "ours / plain, section 6: ours / theirs (black tick = goal; throughput: higher is better)"
    )
    ax.set_title("Ratios against goals (green = met)")
    ax2 = axes[1]
    if mem:
        my = list(range(len(mem)))[::-1]
        ax2.barh(
            my,
            [r.ratio for r in mem],
            color=["#2e7d32" if r.met else "#c62828" for r in mem],
            height=0.6,
        )
        for y, r in zip(my, mem, strict=True):
            ax2.text(r.ratio + 0.05, y, f"{r.ratio:.1f} MB", va="center", fontsize=8)
        ax2.axvline(mem[0].goal or 5.0, color="black", lw=2)
        ax2.set_yticks(my)
        ax2.set_yticklabels([r.name.split(":")[0] for r in mem], fontsize=8)
        ax2.set_xlim(0, max([r.ratio for r in mem] + [mem[0].goal or 5.0]) * 1.2)
        ax2.set_xlabel("MB")
        ax2.set_title("RSS growth (goal line)")
    else:
        ax2.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ------------------------------------------------------------------ profiles


def _attribute(name: str, section: Section, origin: Callable[[], str], quick: bool) -> None:
    """Add the "where does the time go" tables under sections 1 and 2."""
    import bench_attrib

    if name == "overhead":
        log("  [1] attribution")
        rows = bench_attrib.attribution(origin(), 10 if quick else 40)
        section.details += [
            "",
            "Where the extra time goes: each step of our request/response path timed alone "
            "(CPU, no network) against the parent class's implementation on the same "
            "object:",
            "",
            *bench_attrib.render(rows),
        ]
    elif name == "stream":
        log("  [2] attribution")
        rows = bench_attrib.stream_attribution(origin(), 3 if quick else 8)
        section.details += [
            "",
            "Where the extra per-chunk time goes (LangChain, CPU per chunk of the same "
            "1,000-chunk stream):",
            "",
            *bench_attrib.render(rows, "CPU per chunk"),
        ]


def profile_overhead(origin: str, calls: int = 300) -> str:
    """cProfile of ChatVertexOpenAI.invoke: our own functions, per call."""
    import cProfile
    import pstats

    from _models import lc_messages, lc_vertex

    model = lc_vertex(origin)
    msgs = lc_messages()
    for _ in range(20):
        model.invoke(msgs)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        model.invoke(msgs)
    prof.disable()
    stats = pstats.Stats(prof)
    ours = []
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if any(
            p in filename
            for p in ("vertex_openai", "langchain_vertex_openai", "llama_index_vertex_openai")
        ):
            short = filename.split("site-packages/")[-1].replace(ROOT + os.sep, "")
            ours.append((ct / calls * 1e6, tt / calls * 1e6, nc / calls, f"{short}:{line}({func})"))
    ours.sort(reverse=True)
    out = [
        f"ChatVertexOpenAI.invoke x{calls} under cProfile; our functions by cumulative "
        "time per call (profiler overhead inflates all figures):",
        f"{'cum µs/call':>12} {'self µs/call':>13} {'calls/call':>10}  function",
    ]
    for cum, tot, nc, name in ours[:15]:
        out.append(f"{cum:12.1f} {tot:13.1f} {nc:10.1f}  {name}")
    return "\n".join(out)


# ------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short version (CI)")
    ap.add_argument(
        "--guard",
        action="store_true",
        help=f"exit 1 when a guarded ratio is worse than {GROSS}x (twice)",
    )
    ap.add_argument(
        "--out",
        help="markdown path (default docs/benchmarks.md; with --quick "
        "benchmarks/out/benchmarks-quick.md); the PNG goes next to it",
    )
    ap.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHES)}")
    ap.add_argument(
        "--vertexai-python",
        default=os.environ.get("BENCH_VERTEXAI_PYTHON"),
        help="python of a virtualenv with langchain-google-vertexai, to compare "
        "its import time and RSS (env BENCH_VERTEXAI_PYTHON)",
    )
    ap.add_argument(
        "--alternatives-python",
        default=os.environ.get("BENCH_ALTERNATIVES_PYTHON"),
        help="python of the virtualenv made by benchmarks/alternatives_setup.py "
        "(default .venv-alternatives; env BENCH_ALTERNATIVES_PYTHON); section 6 "
        "is skipped with a message without it",
    )
    ap.add_argument(
        "--no-profile",
        action="store_true",
        help="skip the cProfile section written when an overhead goal is missed",
    )
    ap.add_argument("--json", help="also dump all rows as JSON to this path")
    args = ap.parse_args(argv)

    selected = [b.strip() for b in args.only.split(",")] if args.only else list(BENCHES)
    unknown = set(selected) - set(BENCHES)
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    if args.quick:
        dropped = [b for b in selected if b in FULL_ONLY]
        if dropped:
            log(f"--quick: not running {', '.join(dropped)} (full mode only)")
        selected = [b for b in selected if b not in FULL_ONLY]
    out = args.out or (
        os.path.join(ROOT, "benchmarks", "out", "benchmarks-quick.md")
        if args.quick
        else os.path.join(ROOT, "docs", "benchmarks.md")
    )
    out = os.path.abspath(out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    png = os.path.splitext(out)[0] + ".png"

    p = _params(args.quick)
    load_start = os.getloadavg()
    started = time.perf_counter()
    from _server import ServerProcess

    server: ServerProcess | None = None

    def origin() -> str:
        nonlocal server
        if server is None:
            server = ServerProcess().start()
        return server.url

    runners = _runners(p, origin, args.vertexai_python, args.alternatives_python)
    sections: list[Section] = []
    profiles: dict[str, str] = {}
    exit_code = 0
    try:
        for name in selected:
            log(f"[{name}]")
            t0 = time.perf_counter()
            section = runners[name]()
            if args.guard and gross_failures(section.rows):
                bad = ", ".join(f"{r.name} {_ratio(r)}" for r in gross_failures(section.rows))
                log(f"  gross regression suspected ({bad}); running [{name}] again to confirm")
                section = runners[name]()
                section.details.append(
                    f"(Re-run by `--guard` after a suspected gross regression: {bad}.)"
                )
            _attribute(name, section, origin, args.quick)
            sections.append(section)
            log(f"  [{name}] done in {time.perf_counter() - t0:.0f} s")
            for r in section.rows:
                log(f"    {r.name}: {_ratio(r)} (goal {_goal(r)}) {_met(r)}")
        missed_overhead = [
            r for s in sections for r in s.rows if r.bench.startswith("1") and r.met is False
        ]
        if missed_overhead and not args.no_profile and not args.quick:
            log("[profile] ChatVertexOpenAI.invoke")
            profiles["ChatVertexOpenAI.invoke (section 1)"] = profile_overhead(
                origin(), 100 if args.quick else 500
            )
    finally:
        if server is not None:
            server.stop()

    runtime = time.perf_counter() - started
    load_end = os.getloadavg()
    cpus = os.cpu_count() or 1
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python benchmarks/run.py"
        + (" --quick" if args.quick else "")
        + (f" --only {args.only}" if args.only else ""),
        "quick": args.quick,
        "runtime": runtime,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": cpus,
        "python": platform.python_version(),
        "load_start": " ".join(f"{x:.2f}" for x in load_start),
        "load_end": " ".join(f"{x:.2f}" for x in load_end),
        "busy": max(load_start[0], load_end[0]) > 0.5 * cpus,
        "versions": _versions(),
        "profiles": profiles,
    }
    meta["png"] = write_chart(png, sections)
    write_markdown(out, sections, meta)
    log(f"wrote {out}" + (f" and {png}" if meta["png"] else "") + f" ({runtime:.0f} s)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "meta": {k: v for k, v in meta.items() if k != "profiles"},
                    "sections": [
                        {
                            "title": s.title,
                            "errors": s.errors,
                            "rows": [r.to_dict() for r in s.rows],
                        }
                        for s in sections
                    ],
                },
                f,
                indent=2,
            )
    if args.guard:
        bad_rows = gross_failures([r for s in sections for r in s.rows])
        if bad_rows:
            for r in bad_rows:
                log(
                    f"GUARD: gross regression: {r.bench} / {r.name}: {_ratio(r)} "
                    f"(goal {_goal(r)}, limit {GROSS}x)"
                )
            exit_code = 1
        else:
            log("guard: no gross regression")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
