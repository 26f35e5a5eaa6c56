"""``vertex-openai demo``: a short, honest tour against the bundled emulator.

The LangChain and LlamaIndex steps live in ``langchain_vertex_openai._demo`` and
``llama_index_vertex_openai._demo``. This core package never imports a framework, so it
names those modules in one registry, :data:`FRAMEWORK_DEMOS` (which the import-isolation
test reads), and loads a step from there only when it runs. The caller (the CLI) supplies
the printer and, for an offline run, a started emulator: this module imports neither the
CLI nor the emulator.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = ["FRAMEWORK_DEMOS", "STEPS", "DemoContext", "DemoStep", "Printer", "run_demo"]

SAMPLE_DOCS = Path(__file__).with_name("sample_docs")
GEMINI_3 = "google/gemini-3-pro-preview"

FRAMEWORK_DEMOS: dict[str, str] = {
    "langchain": "langchain_vertex_openai._demo",
    "llama-index": "llama_index_vertex_openai._demo",
}
"""The only framework modules the core loads: ``{extra: module holding its demo steps}``."""


class Printer(Protocol):
    """Where the demo writes: the CLI's rich-or-plain printer, or anything alike."""

    def line(self, text: str = "", style: str | None = None) -> None:
        """Print one line."""

    def status(self, ok: bool, label: str, detail: str = "", fix: str = "") -> None:
        """Print an OK/FAIL line, with the fix when it failed."""

    def write(self, text: str, style: str | None = None) -> None:
        """Print text without a newline (streamed output)."""


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
        """Keyword arguments for a chat class pointed at this demo's target."""
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


@dataclass(frozen=True)
class DemoStep:
    """One demo step: ``FRAMEWORK_DEMOS[framework].<function>(ctx)``."""

    title: str
    framework: str
    function: str
    needs: tuple[str, ...]
    """The extras the step needs (named in the skip message when one is missing)."""

    def __call__(self, ctx: DemoContext) -> str:
        """Load the framework's demo module and run the step."""
        module = importlib.import_module(FRAMEWORK_DEMOS[self.framework])
        return str(getattr(module, self.function)(ctx))


STEPS: tuple[DemoStep, ...] = (
    DemoStep("LangChain: a plain call", "langchain", "plain_call", ("langchain",)),
    DemoStep(
        "LangChain: streaming with thoughts shown apart",
        "langchain",
        "stream_with_thoughts",
        ("langchain",),
    ),
    DemoStep(
        "LangChain: create_agent tool loop on Gemini 3 (thought signatures)",
        "langchain",
        "agent_loop",
        ("langchain", "all"),
    ),
    DemoStep(
        "LlamaIndex: query engine over the bundled sample docs",
        "llama-index",
        "query_engine",
        ("llama-index",),
    ),
)


def runnable_steps() -> list[DemoStep]:
    """The steps whose extras are installed."""
    from vertex_openai._extras import missing_extras

    return [step for step in STEPS if not missing_extras(*step.needs)]


def run_demo(
    out: Printer,
    *,
    emulator: Any = None,
    credentials: str | None = None,
    project: str | None = None,
    location: str | None = None,
    model: str = "google/gemini-2.5-flash",
) -> int:
    """Run every step the installed extras allow; return 0 only if all of those worked.

    Args:
        out: Where to print.
        emulator: A started ``vertex_openai.emulator.Emulator`` for an offline run (then
            ``credentials`` is the path of its service-account key), or None for a run
            against real Vertex AI with ``project`` / ``location`` and the usual Google
            credentials.
        credentials: A service-account key file (offline run).
        project: The Google Cloud project (live run).
        location: The location (live run).
        model: The model the steps call (the agent step uses Gemini 3).

    Returns:
        0 when every runnable step worked, 1 when one failed. A step whose extra is
        missing is skipped and named with the command that installs it.
    """
    if emulator is None:
        ctx = DemoContext(
            model=model, project=project, location=location, say=out.line, write=out.write
        )
    else:
        ctx = DemoContext(
            model=model,
            project=emulator.project,
            location="us-central1",
            api_endpoint=emulator.url,
            credentials=credentials,
            say=out.line,
            write=out.write,
        )
    return _run_steps(out, ctx, emulator=emulator)


def _run_steps(out: Printer, ctx: DemoContext, emulator: Any) -> int:
    from vertex_openai._extras import install_command, missing_extras

    failed = 0
    skipped = 0
    started = time.monotonic()
    steps: list[tuple[str, Callable[[DemoContext], str], tuple[str, ...]]] = [
        (step.title, step, step.needs) for step in STEPS
    ]
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
    importlib.import_module(FRAMEWORK_DEMOS["langchain"]).plain_call(ctx, quiet=True)
    after = emulator.token_refresh_count
    if after <= before:
        msg = "no refresh happened"
        raise RuntimeError(msg)
    rejected = [r for r in emulator.requests if r.status == 401 and r not in failures]
    ctx.say(
        f"   tokens issued so far: {after}; requests sent with an expired token: {len(rejected)}"
    )
    return f"token refreshed before expiry ({after - before} new)"
