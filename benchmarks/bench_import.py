"""4. Import time and memory.

Import time: each module is imported in a fresh interpreter that times only the
``import`` statement (interpreter start-up excluded), pairs interleaved, median of n.
The ratio uses the child's CPU time (``time.process_time``), which other processes
competing for the cores do not inflate; wall-clock medians are in the notes.
Byte code is compiled once beforehand (a warm-up run of each), as after ``pip install``.
``-X importtime`` lists the modules our package imports beyond its baseline.

The ratio is the import's own work, timed with the cyclic garbage collector paused. With
the collector running, a full collection falls in whichever import crosses its
threshold, and the parent's import leaves it just short: ``import langchain_openai``
ends with the collector's counters one step before a full collection (about 40-50 ms
over its 240,000 objects), which the very next import pays, ours included, though it
adds under 2 % of the objects. An app pays that collection whatever it imports next,
so it is not ours; both figures are reported (the note says "with the collector").

Memory: in a fresh interpreter per class, peak RSS (``VmHWM`` from /proc/self/status;
``getrusage`` maxrss elsewhere, see ``_PEAK_RSS_KB``) right after the import, after
warm-up calls, and after N more calls against the fast server. Growth = after N calls -
after warm-up (the first calls load lazy imports: google-auth transports, pydantic
models ... that is not a leak).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from _common import HERE, Row, Section, _order, fmt_time, log, median

GOAL = 1.10
GROWTH_GOAL_MB = 5.0

IMPORT_PAIRS = (
    ("langchain_vertex_openai", "langchain_openai"),
    ("llama_index_vertex_openai", "llama_index.llms.openai_like"),
    # `import vertex_openai` loads its public names lazily (a few ms, no SDK); what a
    # user of the core really imports is the client module, which brings the SDK.
    ("vertex_openai", "openai"),
    ("vertex_openai._clients", "openai"),
)
VERTEXAI_MODULE = "langchain_google_vertexai"

# Peak RSS of this interpreter in kB. Not getrusage(): on Linux its ru_maxrss survives
# fork + exec, so a child of the (large) benchmark process would report the parent's
# peak. VmHWM is the high-water mark of the current address space, reset by exec.
_PEAK_RSS_KB = (
    "def peak_rss_kb():\n"
    "    try:\n"
    "        with open('/proc/self/status') as f:\n"
    "            for line in f:\n"
    "                if line.startswith('VmHWM:'):\n"
    "                    return float(line.split()[1])\n"
    "    except OSError:\n"
    "        pass\n"
    "    import resource\n"
    "    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
)

_TIME_IMPORT = (
    "import gc, time\n"
    "{pause}"
    "c, t = time.process_time(), time.perf_counter()\n"
    "import {mod}\n"
    "t, c = time.perf_counter() - t, time.process_time() - c\n"
    + _PEAK_RSS_KB
    + "print(t, c, peak_rss_kb())\n"
)


def _python_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE"):
        env.pop(var, None)
    return env


def _time_import(python: str, mod: str, collector: bool = False) -> tuple[float, float, float]:
    """(wall s, CPU s, maxrss MB) of ``import mod`` in a fresh interpreter.

    ``collector=False`` pauses the cyclic garbage collector during the import (see the
    module docstring); ``True`` times it as ``python -c "import mod"`` runs.
    """
    pause = "" if collector else "gc.disable()\n"
    out = subprocess.run(
        [python, "-c", _TIME_IMPORT.format(mod=mod, pause=pause)],
        capture_output=True,
        text=True,
        check=True,
        env=_python_env(),
        cwd=HERE,
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2]) / 1024


def _importtime(python: str, mod: str) -> dict[str, tuple[int, int]]:
    """``-X importtime``: module -> (self us, cumulative us)."""
    err = subprocess.run(
        [python, "-X", "importtime", "-c", f"import {mod}"],
        capture_output=True,
        text=True,
        check=True,
        env=_python_env(),
        cwd=HERE,
    ).stderr
    result: dict[str, tuple[int, int]] = {}
    for line in err.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        name = parts[2].strip()
        result[name] = (int(parts[0]), int(parts[1]))
    return result


def _extra_modules(python: str, ours: str, base: str) -> str:
    a, b = _importtime(python, ours), _importtime(python, base)
    extra = {k: v for k, v in a.items() if k not in b}
    total = sum(v[0] for v in extra.values()) / 1000
    top = sorted(extra.items(), key=lambda kv: -kv[1][0])[:6]
    listed = ", ".join(f"`{k}` {v[0] / 1000:.1f} ms" for k, v in top)
    return (
        f"`{ours}` imports {len(extra)} modules beyond `{base}` "
        f"({total:.0f} ms self time in one `-X importtime` run); largest: {listed}."
    )


def run_imports(n: int, vertexai_python: str | None = None, explain: bool = False) -> Section:
    section = Section("4a. Cold import time (fresh interpreter per import)")
    py = sys.executable
    jobs: list[tuple[str, str]] = list(
        dict.fromkeys((py, m) for pair in IMPORT_PAIRS for m in pair)
    )
    if vertexai_python:
        try:
            _time_import(vertexai_python, VERTEXAI_MODULE)
            jobs.append((vertexai_python, VERTEXAI_MODULE))
        except (OSError, subprocess.CalledProcessError) as exc:
            section.details.append(f"`{VERTEXAI_MODULE}` not measured: {exc}")
            vertexai_python = None
    for python, mod in jobs:  # compile byte code, fill the page cache
        _time_import(python, mod)
    times: dict[str, list[float]] = {m: [] for _, m in jobs}
    walls: dict[str, list[float]] = {m: [] for _, m in jobs}
    rss: dict[str, list[float]] = {m: [] for _, m in jobs}
    with_gc: dict[str, list[float]] = {m: [] for _, m in jobs}
    log(f"  [4] imports x{n}")
    for i in range(n):
        # Shuffled, not rotated: a rotation keeps each import's predecessor fixed, and a
        # process started right after a large one that just exited is measurably slower.
        for python, mod in _order(jobs, i):
            w, c, r = _time_import(python, mod)
            times[mod].append(c)
            walls[mod].append(w)
            rss[mod].append(r)
            with_gc[mod].append(_time_import(python, mod, collector=True)[1])
    for ours, base in IMPORT_PAIRS:
        mo, mb = median(times[ours]), median(times[base])
        go, gb = median(with_gc[ours]), median(with_gc[base])
        section.rows.append(
            Row(
                bench="4 import",
                name=f"import {ours}",
                ours=mo,
                baseline=mb,
                unit="s",
                ratio=mo / mb,
                goal=GOAL,
                ours_label=ours,
                baseline_label=base,
                note=(
                    f"CPU {(mo - mb) * 1e3:+.0f} ms; wall {fmt_time(median(walls[ours]))} vs "
                    f"{fmt_time(median(walls[base]))}; with the collector "
                    f"{fmt_time(go)} vs {fmt_time(gb)} ({go / gb:.3f}x); RSS after import "
                    f"{median(rss[ours]):.0f} MB vs {median(rss[base]):.0f} MB; n={n}"
                ),
            )
        )
        if explain or mo / mb > GOAL:
            section.details.append(_extra_modules(py, ours, base))
    if vertexai_python:
        mv = median(times[VERTEXAI_MODULE])
        ours_t = median(times["langchain_vertex_openai"])
        section.rows.append(
            Row(
                bench="4 import",
                name=f"import {VERTEXAI_MODULE} (ChatVertexAI), for comparison",
                ours=ours_t,
                baseline=mv,
                unit="s",
                ratio=ours_t / mv,
                ours_label="langchain_vertex_openai",
                baseline_label=VERTEXAI_MODULE,
                note=(
                    f"RSS after import {median(rss['langchain_vertex_openai']):.0f} MB vs "
                    f"{median(rss[VERTEXAI_MODULE]):.0f} MB"
                ),
                guard=False,
            )
        )
        section.details.append(
            f"`{VERTEXAI_MODULE}` was measured in a separate virtualenv "
            f"({vertexai_python}), same Python version; its import takes {fmt_time(mv)} "
            f"and {median(rss[VERTEXAI_MODULE]):.0f} MB RSS."
        )
    return section


_MEMORY_MODULES = {
    "lc_vertex": "langchain_vertex_openai",
    "lc_openai": "langchain_openai",
    "li_vertex": "llama_index_vertex_openai",
    "li_openai_like": "llama_index.llms.openai_like",
}

_MEMORY_SCRIPT = r"""
import importlib, json, sys
sys.path.insert(0, {here!r})
{peak}
def rss():
    return peak_rss_kb() / 1024
kind, module, origin, warm, n = sys.argv[1:3] + [sys.argv[3], int(sys.argv[4]), int(sys.argv[5])]
importlib.import_module(module)
after_import = rss()
import _models
model = getattr(_models, kind)(origin)
if kind.startswith("lc_"):
    msgs = _models.lc_messages()
    call = lambda: model.invoke(msgs)
else:
    msgs = _models.li_messages()
    call = lambda: model.chat(msgs)
for _ in range(warm):
    call()
after_warm = rss()
for _ in range(n):
    call()
print(json.dumps({{"import": after_import, "warm": after_warm, "end": rss()}}))
"""


def _memory(kind: str, origin: str, warm: int, n: int) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEMORY_SCRIPT.format(here=HERE, peak=_PEAK_RSS_KB),
            kind,
            _MEMORY_MODULES[kind],
            origin,
            str(warm),
            str(n),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=_python_env(),
        cwd=HERE,
    ).stdout
    data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return {k: float(v) for k, v in data.items()}


def run_memory(origin: str, n: int, warm: int = 200) -> Section:
    section = Section(f"4b. Peak RSS: after import, after {warm} warm-up calls, after {n} calls")
    results: dict[str, dict[str, float]] = {}
    for kind in _MEMORY_MODULES:
        log(f"  [4] memory {kind} x{n}")
        results[kind] = _memory(kind, origin, warm, n)
    for ours, base, label in (
        ("lc_vertex", "lc_openai", "LangChain ChatVertexOpenAI.invoke"),
        ("li_vertex", "li_openai_like", "LlamaIndex ChatVertexOpenAI.chat"),
    ):
        ro, rb = results[ours], results[base]
        growth_o = ro["end"] - ro["warm"]
        growth_b = rb["end"] - rb["warm"]
        section.rows.append(
            Row(
                bench="4 memory",
                name=f"{label}: RSS growth over {n} calls",
                ours=growth_o,
                baseline=growth_b,
                unit="MB",
                ratio=growth_o,
                goal=GROWTH_GOAL_MB,
                direction="abs_le",
                ours_label=label,
                baseline_label="plain class",
                note=(
                    f"RSS MB import/warm/end: {ro['import']:.0f}/{ro['warm']:.0f}/"
                    f"{ro['end']:.1f} (plain {rb['import']:.0f}/{rb['warm']:.0f}/"
                    f"{rb['end']:.1f})"
                ),
            )
        )
        section.rows.append(
            Row(
                bench="4 memory",
                name=f"{label}: peak RSS after {n} calls",
                ours=ro["end"],
                baseline=rb["end"],
                unit="MB",
                ratio=ro["end"] / rb["end"],
                ours_label=label,
                baseline_label="plain class",
                note="whole process (interpreter + imports + clients)",
                guard=False,
            )
        )
    return section
