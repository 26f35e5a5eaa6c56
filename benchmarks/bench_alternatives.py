"""6. Against what a user would pick instead (full mode only; needs its own virtualenv).

Compared, each against a local fake of the API it speaks (``_fake_google.py``, own
process, fixed bytes, same answer text, same answer size and chunk count for all):

* LangChain: ours (OpenAI-compatible route) vs ``ChatGoogleGenerativeAI(vertexai=True)``
  and ``ChatVertexAI`` (native ``generateContent`` / ``streamGenerateContent``);
* LlamaIndex: ours vs ``GoogleGenAI`` with ``vertexai_config``;
* SDK level: ``VertexConnection().openai_client()`` vs LiteLLM ``completion()`` on the
  ``vertex_ai/`` route and on the ``gemini/`` (Gemini API) route.

Measured in one run: per-call CPU and per-stream-chunk CPU (all clients interleaved in
one process, order shuffled every round, medians); cold import CPU time (the collector
paused, as in section 4a) and RSS, and import + construct + first call (collector on), in
fresh interpreters (clients shuffled, medians); and
the installed size of each package's dependency closure. Ratios are ours / theirs.

The alternatives live only in the virtualenv made by ``benchmarks/alternatives_setup.py``
(never CI, never a package extra); without it this section is skipped with a message.
Every client runs behind a socket guard that refuses non-loopback connections and name
lookups (``_alt_worker.install_socket_guard``); a blocked attempt is reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from _common import HERE, ROOT, Row, Section, _order, fmt_time, log, median
from _fake_google import FakeGoogleProcess

GOAL = 1.0  # "we are the fastest to import and the cheapest per call and per chunk"
DEFAULT_PYTHON = os.path.join(ROOT, ".venv-alternatives", "bin", "python")
WORKER = os.path.join(HERE, "_alt_worker.py")
N_CHUNKS = 1000

# (ours, theirs, group label, their label)
PAIRS = (
    ("ours_lc", "genai_lc", "LangChain", "ChatGoogleGenerativeAI(vertexai=True)"),
    ("ours_lc", "vertexai_lc", "LangChain", "ChatVertexAI (REST)"),
    ("ours_li", "genai_li", "LlamaIndex", "GoogleGenAI (Vertex)"),
    ("ours_core", "litellm_vertex", "SDK", "LiteLLM vertex_ai/"),
    ("ours_core", "litellm_gemini", "SDK", "LiteLLM gemini/ (Gemini API)"),
)
OURS_LABEL = {
    "ours_lc": "ChatVertexOpenAI (LangChain)",
    "ours_li": "ChatVertexOpenAI (LlamaIndex)",
    "ours_core": "VertexConnection + openai SDK",
}
# Import / install size are per package: the Gemini-API LiteLLM row shares the vertex one.
COLD_CLIENTS = (
    "ours_lc",
    "genai_lc",
    "vertexai_lc",
    "ours_li",
    "genai_li",
    "ours_core",
    "litellm_vertex",
    "plain_lc",
    "plain_li",
    "plain_sdk",
)
COLD_LABEL = {
    "ours_lc": "`langchain_vertex_openai` ChatVertexOpenAI",
    "plain_lc": "`langchain_openai` ChatOpenAI (our parent)",
    "genai_lc": "`langchain_google_genai` ChatGoogleGenerativeAI",
    "vertexai_lc": "`langchain_google_vertexai` ChatVertexAI",
    "ours_li": "`llama_index_vertex_openai` ChatVertexOpenAI",
    "plain_li": "`llama_index.llms.openai_like` OpenAILike (our parent)",
    "genai_li": "`llama_index.llms.google_genai` GoogleGenAI",
    "ours_core": "`vertex_openai._clients` VertexConnection + openai",
    "plain_sdk": "`openai` OpenAI",
    "litellm_vertex": "`litellm` completion (vertex_ai/)",
}


def resolve_python(explicit: str | None) -> str | None:
    for candidate in (explicit, os.environ.get("BENCH_ALTERNATIVES_PYTHON"), DEFAULT_PYTHON):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def _worker(python: str, *args: str, timeout: float = 900) -> dict[str, Any]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE")
    }
    proc = subprocess.run(
        [python, WORKER, *args], capture_output=True, text=True, env=env, cwd=HERE, timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:1])} failed: {proc.stderr.strip()[-1500:]}")
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def skipped(reason: str) -> Section:
    section = Section("6. Against what a user would pick instead")
    section.details.append(
        f"**Skipped:** {reason} Set it up with `python benchmarks/alternatives_setup.py` "
        "(its own virtualenv, `.venv-alternatives`), then `python benchmarks/run.py --only "
        "alternatives` (or pass `--alternatives-python PATH`)."
    )
    log(f"  [6] skipped: {reason}")
    return section


def run(python: str | None, calls_n: int, stream_n: int, cold_n: int) -> Section:
    python = resolve_python(python)
    if python is None:
        return skipped(
            f"no virtualenv with the alternatives (looked for {DEFAULT_PYTHON} "
            "and env BENCH_ALTERNATIVES_PYTHON)."
        )
    try:
        probe = _worker(python, "probe", timeout=120)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        return skipped(f"{python} cannot run the worker ({exc}).")
    missing: dict[str, str] = probe["missing"]
    if any(k.startswith("ours") for k in missing):
        return skipped(f"{python} lacks this package: {missing}.")
    section = Section("6. Against what a user would pick instead")
    with FakeGoogleProcess(N_CHUNKS) as fake:
        log(f"  [6] per call x{calls_n}, per stream x{stream_n} ({python})")
        calls = _worker(python, "calls", fake.url, str(calls_n), str(stream_n))
        cold_clients = [c for c in COLD_CLIENTS if c not in missing and c not in calls["errors"]]
        cold: dict[str, list[dict[str, Any]]] = {c: [] for c in cold_clients}
        log(f"  [6] cold import + first call x{cold_n}")
        _worker(python, "cold", fake.url, "ours_core")  # byte code, page cache
        for c in cold_clients:
            _worker(python, "cold", fake.url, c)
        for i in range(cold_n):
            for c in _order(cold_clients, i):
                cold[c].append(_worker(python, "cold", fake.url, c))
        stats = fake.stats()
    sizes = _worker(python, "sizes", timeout=300)
    blocked = list(calls["blocked"]) + [
        b for runs in cold.values() for r in runs for b in r["blocked"]
    ]
    _rows(section, calls, cold, sizes)
    section.details += _cold_table(cold, sizes)
    versions = ", ".join(f"{k} {v}" for k, v in probe["versions"].items())
    section.details += [
        f"All in `{python}` (Python {probe['python']}): {versions}.",
        "",
        f"Same prompt (`hi`) and answer for all; streams of {N_CHUNKS} text chunks "
        "(no thoughts). Per call: median CPU of "
        f"n={calls['n']} calls per client, all clients interleaved in one process; per "
        f"chunk: median CPU of n={calls['stream_n']} whole streams / {N_CHUNKS}. "
        f"Cold: median of n={cold_n} fresh interpreters per client, shuffled. Install size: "
        "every distribution in the package's dependency closure (`Requires-Dist`, markers "
        "evaluated), files as installed (ours: the package sources x2 for byte code, "
        "since it is installed editable).",
        "",
        f"Requests the fake answered, by route: {json.dumps(stats, sort_keys=True)}. "
        f"Connections refused by the socket guard: {len(blocked)}"
        + (f" ({', '.join(sorted(set(blocked))[:5])})" if blocked else "")
        + ".",
    ]
    for name, why in sorted({**missing, **calls["errors"]}.items()):
        section.details.append(f"- `{name}` not measured: {why}")
        section.errors += 1
    return section


def _cold_table(cold: dict[str, list[dict[str, Any]]], sizes: dict[str, Any]) -> list[str]:
    lines = [
        "Cold start of every client (fresh interpreter, medians; CPU time; import with "
        "the cyclic collector paused, the first call with it on; the parents are shown "
        "for reference):",
        "",
        "| Client | Import | RSS after import | Import + construct + first call | "
        "RSS then | Install (closure) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in COLD_CLIENTS:
        runs = cold.get(c)
        if not runs:
            continue
        size = sizes.get(c)
        lines.append(
            f"| {COLD_LABEL[c]} | {fmt_time(median([r['import_cpu'] for r in runs]))} | "
            f"{median([r['rss_import'] for r in runs]):.0f} MB | "
            f"{fmt_time(median([r['first_cpu'] for r in runs]))} | "
            f"{median([r['rss_first'] for r in runs]):.0f} MB | "
            + (f"{size['mb']:.0f} MB, {size['packages']} dists |" if size else "— |")
        )
    return [*lines, ""]


def _rows(
    section: Section,
    calls: dict[str, Any],
    cold: dict[str, list[dict[str, Any]]],
    sizes: dict[str, Any],
) -> None:
    bench = "6 alternatives"
    cpu, scpu, chunks = calls["call_cpu"], calls["stream_cpu"], calls["chunks"]

    def cold_med(client: str, key: str) -> float:
        return median([r[key] for r in cold.get(client, [])])

    for ours, theirs, group, label in PAIRS:
        if theirs not in cpu or ours not in cpu:
            continue
        olabel = OURS_LABEL[ours]
        common = {"bench": bench, "ours_label": olabel, "baseline_label": label, "guard": False}
        o, t = cpu[ours], cpu[theirs]
        section.rows.append(
            Row(
                name=f"{group} vs {label}: per call",
                ours=o,
                baseline=t,
                unit="s/call",
                ratio=o / t,
                goal=GOAL,
                note=(
                    f"CPU {(o - t) * 1e6:+.0f} µs/call; wall "
                    f"{fmt_time(calls['call_wall'][ours])} vs "
                    f"{fmt_time(calls['call_wall'][theirs])}"
                ),
                **common,
            )
        )
        o, t = scpu[ours] / N_CHUNKS, scpu[theirs] / N_CHUNKS
        section.rows.append(
            Row(
                name=f"{group} vs {label}: per stream chunk",
                ours=o,
                baseline=t,
                unit="s/chunk",
                ratio=o / t,
                goal=GOAL,
                note=(
                    f"CPU {(o - t) * 1e6:+.1f} µs/chunk; chunks seen {chunks[ours]} vs "
                    f"{chunks[theirs]}; wall {calls['stream_wall'][ours] / N_CHUNKS * 1e6:.1f} "
                    f"vs {calls['stream_wall'][theirs] / N_CHUNKS * 1e6:.1f} µs/chunk"
                ),
                **common,
            )
        )
        theirs_pkg = "litellm_vertex" if theirs == "litellm_gemini" else theirs
        if theirs == "litellm_gemini" or theirs_pkg not in cold or ours not in cold:
            continue  # same package as the vertex_ai/ row
        o, t = cold_med(ours, "import_cpu"), cold_med(theirs_pkg, "import_cpu")
        section.rows.append(
            Row(
                name=f"{group} vs {label}: cold import",
                ours=o,
                baseline=t,
                unit="s",
                ratio=o / t,
                goal=GOAL,
                note=(
                    f"wall {fmt_time(cold_med(ours, 'import_wall'))} vs "
                    f"{fmt_time(cold_med(theirs_pkg, 'import_wall'))}; RSS after import "
                    f"{cold_med(ours, 'rss_import'):.0f} vs "
                    f"{cold_med(theirs_pkg, 'rss_import'):.0f} MB"
                ),
                **common,
            )
        )
        o, t = cold_med(ours, "first_cpu"), cold_med(theirs_pkg, "first_cpu")
        section.rows.append(
            Row(
                name=f"{group} vs {label}: import + first call",
                ours=o,
                baseline=t,
                unit="s",
                ratio=o / t,
                note=(
                    f"fresh process: import, construct, one call; RSS then "
                    f"{cold_med(ours, 'rss_first'):.0f} vs "
                    f"{cold_med(theirs_pkg, 'rss_first'):.0f} MB"
                ),
                **common,
            )
        )
        o, t = cold_med(ours, "rss_import"), cold_med(theirs_pkg, "rss_import")
        section.rows.append(
            Row(
                name=f"{group} vs {label}: RSS after import",
                ours=o,
                baseline=t,
                unit="MB",
                ratio=o / t,
                note="peak RSS (VmHWM) of the fresh interpreter",
                **common,
            )
        )
        if ours in sizes and theirs_pkg in sizes:
            o, t = sizes[ours]["mb"], sizes[theirs_pkg]["mb"]
            section.rows.append(
                Row(
                    name=f"{group} vs {label}: install size",
                    ours=o,
                    baseline=t,
                    unit="MB",
                    ratio=o / t,
                    note=(
                        f"dependency closure: {sizes[ours]['packages']} vs "
                        f"{sizes[theirs_pkg]['packages']} distributions"
                    ),
                    **common,
                )
            )


if __name__ == "__main__":  # python benchmarks/bench_alternatives.py [python]
    sec = run(sys.argv[1] if len(sys.argv) > 1 else None, 50, 3, 2)
    for r in sec.rows:
        print(f"{r.name}: {r.ratio:.3f}x ({r.note})")
    print("\n".join(sec.details))
