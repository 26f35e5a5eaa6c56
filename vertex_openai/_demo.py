"""``vertex-openai demo``: a short, honest tour against the bundled emulator.

The LangChain and LlamaIndex steps live in ``langchain_vertex_openai._demo`` and
``llama_index_vertex_openai._demo`` and are loaded by name, so this core package never
imports a framework.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DemoContext", "run_demo"]

SAMPLE_DOCS = Path(__file__).with_name("sample_docs")
GEMINI_3 = "google/gemini-3-pro-preview"


@dataclass
class DemoContext:
    """What every demo step needs to build a model."""

    model: str
    project: str | None
    location: str | None
    api_endpoint: str | None = None
    credentials: str | None = None
    agent_model: str = GEMINI_3
    say: Callable[..., None] = print
    write: Callable[..., None] = print

    def model_kwargs(self, **extra: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "project": self.project,
            "location": self.location,
        }
        if self.api_endpoint:
            kwargs["api_endpoint"] = self.api_endpoint
        if self.credentials:
            kwargs["credentials"] = self.credentials
        kwargs.update(extra)
        return kwargs


def _step(module: str, name: str) -> Callable[[DemoContext], str]:
    def run(ctx: DemoContext) -> str:
        func = getattr(importlib.import_module(module), name)
        return str(func(ctx))

    return run


STEPS: list[tuple[str, Callable[[DemoContext], str], tuple[str, ...]]] = [
    # (title, step, the extras it needs)
    (
        "LangChain: a plain call",
        _step("langchain_vertex_openai._demo", "plain_call"),
        ("langchain",),
    ),
    (
        "LangChain: streaming with thoughts shown apart",
        _step("langchain_vertex_openai._demo", "stream_with_thoughts"),
        ("langchain",),
    ),
    (
        "LangChain: create_agent tool loop on Gemini 3 (thought signatures)",
        _step("langchain_vertex_openai._demo", "agent_loop"),
        ("langchain", "all"),
    ),
    (
        "LlamaIndex: query engine over the bundled sample docs",
        _step("llama_index_vertex_openai._demo", "query_engine"),
        ("llama-index",),
    ),
]


def run_demo(
    *,
    live: bool = False,
    project: str | None = None,
    location: str | None = None,
    model: str = "google/gemini-2.5-flash",
) -> int:
    """Run every step the installed extras allow; return 0 only if all of those worked.

    A step whose extra is missing is skipped and named with the command that installs it;
    with none runnable (or no emulator for an offline run) nothing starts and 2 is returned.
    """
    from vertex_openai._extras import install_command, missing_extras
    from vertex_openai.cli import _Printer, local_emulator

    out = _Printer()
    if not live and (gone := missing_extras("emulator")):
        out.line(
            f"The offline demo needs the `emulator` extra ({gone[0][1]} is not installed). "
            f"Install everything with: {install_command('all')}",
            "bold red",
        )
        return 2
    runnable = [step for step in STEPS if not missing_extras(*step[2])]
    if not runnable:
        out.line(
            "No demo step can run: neither LangChain nor LlamaIndex is installed. "
            f"Install everything with: {install_command('all')}",
            "bold red",
        )
        return 2
    if live:
        ctx = DemoContext(
            model=model, project=project, location=location, say=out.line, write=out.write
        )
        return _run_steps(out, ctx, emulator=None)
    # Tokens live 4 s here (an hour on Vertex), so the demo shows refreshes happening.
    with local_emulator(token_lifetime=4.0) as (emu, key):
        out.line(f"Local Vertex AI emulator on {emu.url} (tokens live 4 s)", "bold")
        ctx = DemoContext(
            model=model,
            project=emu.project,
            location="us-central1",
            api_endpoint=emu.url,
            credentials=str(key),
            say=out.line,
            write=out.write,
        )
        return _run_steps(out, ctx, emulator=emu)


def _run_steps(out: Any, ctx: DemoContext, emulator: Any) -> int:
    from vertex_openai._extras import install_command, missing_extras

    failed = 0
    skipped = 0
    started = time.monotonic()
    steps = list(STEPS)
    if emulator is not None:
        steps.append(
            ("Token refresh mid-run", lambda c: _refresh_step(c, emulator), ("langchain",))
        )
    for number, (title, func, needs) in enumerate(steps, 1):
        out.line()
        out.line(f"{number}. {title}", "bold cyan")
        if gone := missing_extras(*needs):
            skipped += 1
            extra, module = gone[0]
            out.line(
                f"[SKIP] {title}: {module} is not installed; {install_command(extra)}",
                "yellow",
            )
            continue
        try:
            summary = func(ctx)
        except Exception as err:  # the demo reports every failure and carries on
            failed += 1
            out.status(False, title, f"{type(err).__name__}: {err}")
        else:
            out.status(True, title, summary)
    out.line()
    verdict = "all steps worked" if not failed else f"{failed} step(s) failed"
    if skipped:
        verdict += f" ({skipped} skipped for missing extras, named above)"
    out.line(
        f"Demo finished in {time.monotonic() - started:.1f} s: {verdict}.",
        "bold green" if not failed else "bold red",
    )
    return 1 if failed else 0


def _refresh_step(ctx: DemoContext, emulator: Any) -> str:
    before = emulator.token_refresh_count
    failures = [r for r in emulator.requests if r.status == 401]
    # Wait past the refresh point (half of the 4 s lifetime) and call again.
    time.sleep(3.2)
    importlib.import_module("langchain_vertex_openai._demo").plain_call(ctx, quiet=True)
    after = emulator.token_refresh_count
    if after <= before:
        msg = "no refresh happened"
        raise RuntimeError(msg)
    rejected = [r for r in emulator.requests if r.status == 401 and r not in failures]
    ctx.say(
        f"   tokens issued so far: {after}; requests sent with an expired token: {len(rejected)}"
    )
    return f"token refreshed before expiry ({after - before} new)"
