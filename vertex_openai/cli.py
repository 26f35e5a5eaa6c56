"""The ``vertex-openai`` command: demo, doctor, chat and the local emulator.

``vertex-openai demo`` needs no Google account: it starts the bundled emulator in-process.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

DEFAULT_MODEL = "google/gemini-2.5-flash"


@contextlib.contextmanager
def local_emulator(token_lifetime: float = 3600.0) -> Iterator[tuple[Any, Path]]:
    """Start the emulator and write its service-account key; yields ``(emulator, key_path)``."""
    from vertex_openai.emulator import Emulator, EmulatorConfig

    emu = Emulator(EmulatorConfig(token_lifetime=token_lifetime))
    emu.start()
    try:
        with tempfile.TemporaryDirectory(prefix="vertex-openai-") as tmp:
            yield emu, emu.write_service_account_file(Path(tmp) / "emulator-sa.json")
    finally:
        emu.stop()


class _Printer:
    """Rich output when available, plain text otherwise (and when not a terminal)."""

    def __init__(self) -> None:
        try:
            from rich.console import Console

            self.console: Any = Console(highlight=False)
        except ImportError:  # pragma: no cover - rich comes with the [cli]/[all] extras
            self.console = None

    def line(self, text: str = "", style: str | None = None) -> None:
        if self.console is not None:
            self.console.print(text, style=style, markup=False)
        else:
            print(text)

    def status(self, ok: bool, label: str, detail: str = "", fix: str = "") -> None:
        mark = "OK  " if ok else "FAIL"
        self.line(f"[{mark}] {label}{': ' + detail if detail else ''}", "green" if ok else "red")
        if fix and not ok:
            self.line(f"       fix: {fix}", "yellow")

    def write(self, text: str, style: str | None = None) -> None:
        if self.console is not None:
            self.console.print(text, style=style, end="", markup=False, highlight=False)
        else:
            sys.stdout.write(text)
        sys.stdout.flush()


# -- doctor --------------------------------------------------------------------------


def _against_target(args: argparse.Namespace, step: Any) -> int:
    """Run a demo step against the configured Vertex target.

    ``step(out, args, target)`` gets the ``VertexConnection`` keyword arguments of the
    target: the bundled emulator instead with ``--emulator``.
    """
    out = _Printer()
    target: dict[str, Any] = {
        "project": args.project,
        "location": args.location,
        "endpoint_id": args.endpoint_id,
        "api_endpoint": args.api_endpoint,
        "credentials": args.credentials,
    }
    if args.emulator:
        with local_emulator() as (emu, key):
            out.line(f"Using the local emulator at {emu.url}", "dim")
            target.update(
                api_endpoint=emu.url, credentials=str(key), project=args.project or emu.project
            )
            return int(step(out, args, target))
    return int(step(out, args, target))


def doctor(args: argparse.Namespace) -> int:
    """Diagnose a setup step by step; never prints a secret."""
    return _against_target(args, _doctor)


def _doctor(out: _Printer, args: argparse.Namespace, target: dict[str, Any]) -> int:
    from vertex_openai import VertexAuthError, VertexConfigError, VertexConnection
    from vertex_openai._errors import describe_vertex_error

    failures = 0
    try:
        api_key = os.environ.get("VERTEX_API_KEY") if args.express else None
        conn = VertexConnection(**target, api_key=api_key)
    except VertexConfigError as err:
        out.status(False, "configuration", str(err))
        return 1
    endpoint = conn.endpoint
    from vertex_openai._endpoint import KNOWN_LOCATIONS, host_for_location

    known = endpoint.location in KNOWN_LOCATIONS
    out.status(
        known,
        "location",
        f"{endpoint.location} (from {endpoint.location_source})"
        + ("" if known else ", not a location Vertex AI lists"),
        "check the spelling (see https://cloud.google.com/vertex-ai/generative-ai/docs/learn/"
        "locations); ignore this if the region is new",
    )
    if not known:
        failures += 1
    out.status(True, "host", f"{host_for_location(endpoint.location)} (for this location)")
    out.status(True, "credentials", conn.describe_credentials())
    provider = conn.token_provider
    if provider is not None:
        try:
            creds, creds_project = provider.source.load()
            kind = type(creds).__module__.rsplit(".", 1)[-1] + "." + type(creds).__name__
            out.status(True, "credentials loaded", kind)
        except VertexAuthError as err:
            out.status(False, "credentials loaded", str(err))
            return 1
        if endpoint.project is None:
            if creds_project:
                conn.router.learn_project(creds_project)
                out.status(True, "project", f"{creds_project} (from the credentials)")
            else:
                out.status(
                    False, "project", "not set", "pass --project or set GOOGLE_CLOUD_PROJECT"
                )
                return 1
        else:
            out.status(True, "project", f"{endpoint.project} (from {endpoint.project_source})")
        try:
            provider.token()
            out.status(True, "access token", "obtained (not shown)")
        except VertexAuthError as err:
            out.status(False, "access token", str(err))
            return 1
    else:
        out.status(True, "project", f"{endpoint.project} (from {endpoint.project_source})")
    url = conn.endpoint.base_url + "/chat/completions"
    out.status(True, "endpoint URL", url)
    try:
        import openai

        client = conn.openai_client(max_retries=0, timeout=60)
        reply = client.chat.completions.create(
            model=_model_id(args.model, conn),
            messages=[{"role": "user", "content": "Say OK"}],
            max_tokens=16,
        )
        out.status(
            True,
            "test request",
            f"{reply.model}: {(reply.choices[0].message.content or '').strip()[:60]!r}",
        )
    except openai.APIStatusError as err:
        failures += 1
        out.status(False, "test request", describe_vertex_error(err.status_code, err.body))
    except (openai.APIConnectionError, VertexAuthError, VertexConfigError) as err:
        failures += 1
        out.status(
            False, "test request", str(err), "check the network, --location and --api-endpoint"
        )
    return 1 if failures else 0


def _model_id(model: str, conn: Any) -> str:
    from vertex_openai._models import normalize_model_id

    return normalize_model_id(model, conn.endpoint.endpoint_id) or ""


# -- chat ----------------------------------------------------------------------------


def chat(args: argparse.Namespace) -> int:
    """One streamed call with the resolved settings; thoughts shown apart."""
    return _against_target(args, _chat)


def _chat(out: _Printer, args: argparse.Namespace, target: dict[str, Any]) -> int:
    import openai

    from vertex_openai import VertexAuthError, VertexConfigError, VertexConnection
    from vertex_openai._errors import describe_vertex_error
    from vertex_openai._gemini import VertexRequestSettings, prepare_chat_request
    from vertex_openai._messages import StreamAccumulator

    try:
        conn = VertexConnection(**target)
        settings = VertexRequestSettings(
            model=args.model,
            endpoint_id=conn.endpoint.endpoint_id,
            location=conn.endpoint.location,
            thinking_config={"include_thoughts": True} if args.thoughts else None,
        )
        params = prepare_chat_request(
            {
                "model": args.model,
                "messages": [{"role": "user", "content": args.prompt}],
                "stream": True,
            },
            settings,
        )
        client = conn.openai_client(timeout=120)
        accumulator = StreamAccumulator(_marker(params))
        sections = _Sections(out)
        for chunk in client.chat.completions.create(**params):
            delta = accumulator.feed(chunk.model_dump())
            sections.write(delta.thoughts, delta.answer)
        final = accumulator.finish()
        sections.write(final.thoughts, final.answer)
        out.line()
        return 0
    except openai.APIStatusError as err:
        out.line(describe_vertex_error(err.status_code, err.body), "red")
    except (openai.APIConnectionError, VertexAuthError, VertexConfigError) as err:
        out.line(str(err), "red")
    return 1


class _Sections:
    """Thoughts under a "Thoughts:" heading, then the answer under "Answer:".

    Without the headings (and with styles lost when not on a terminal) the thought
    summary would run straight into the answer.
    """

    def __init__(self, out: _Printer) -> None:
        self.out = out
        self.current: str | None = None

    def write(self, thoughts: str, answer: str) -> None:
        if thoughts:
            if self.current != "thoughts":
                if self.current == "answer":
                    self.out.line()
                self.out.line("Thoughts:", "bold dim")
                self.current = "thoughts"
            self.out.write(thoughts, "dim italic")
        if answer:
            if self.current == "thoughts":
                self.out.line()
                self.out.line()
                self.out.line("Answer:", "bold")
            self.current = "answer"
            self.out.write(answer)


def _marker(params: dict[str, Any]) -> str | None:
    google = params.get("extra_body", {}).get("extra_body", {}).get("google", {})
    marker = google.get("thought_tag_marker")
    return str(marker) if marker else None


# -- emulator ------------------------------------------------------------------------


def emulator(args: argparse.Namespace) -> int:
    """Run the local emulator in the foreground."""
    from vertex_openai.emulator import serve

    serve(
        port=args.port, token_lifetime=args.token_lifetime, write_credentials=args.write_credentials
    )
    return 0


# -- demo ----------------------------------------------------------------------------


def demo(args: argparse.Namespace) -> int:
    """Show the package end to end against the emulator (or real Vertex with --live)."""
    from vertex_openai._demo import run_demo, runnable_steps
    from vertex_openai._extras import install_command, missing_extras

    out = _Printer()
    if not args.live and (gone := missing_extras("emulator")):
        out.line(
            f"The offline demo needs the `emulator` extra ({gone[0][1]} is not installed). "
            f"Install everything with: {install_command('all')}",
            "bold red",
        )
        return 2
    if not runnable_steps():
        out.line(
            "No demo step can run: neither LangChain nor LlamaIndex is installed. "
            f"Install everything with: {install_command('all')}",
            "bold red",
        )
        return 2
    if args.live:
        return run_demo(out, project=args.project, location=args.location, model=args.model)
    # Tokens live 4 s here (an hour on Vertex), so the demo shows refreshes happening.
    with local_emulator(token_lifetime=4.0) as (emu, key):
        out.line(f"Local Vertex AI emulator on {emu.url} (tokens live 4 s)", "bold")
        return run_demo(out, emulator=emu, credentials=str(key), model=args.model)


# -- entry point ---------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project", help="Google Cloud project (default: GOOGLE_CLOUD_PROJECT / ADC)"
    )
    parser.add_argument(
        "--location", help="region or 'global' (default: GOOGLE_CLOUD_LOCATION or global)"
    )
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"model id (default {DEFAULT_MODEL})"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vertex-openai",
        description=(
            "Gemini on Vertex AI through the OpenAI-compatible endpoint, "
            "for LangChain and LlamaIndex."
        ),
    )
    from vertex_openai import __version__

    parser.add_argument("--version", action="version", version=f"vertex-openai {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="run the demo against the bundled emulator (no Google account)")
    _common(p)
    p.add_argument("--live", action="store_true", help="run against real Vertex AI with ADC")
    p.set_defaults(func=demo)

    for name, func, helptext in (
        ("doctor", doctor, "diagnose credentials, project, location and endpoint step by step"),
        ("chat", chat, "one streamed call with the resolved settings"),
    ):
        p = sub.add_parser(name, help=helptext)
        _common(p)
        p.add_argument(
            "--endpoint-id", default=None, help="'openapi' or a self-deployed endpoint id"
        )
        p.add_argument("--api-endpoint", default=None, help="host override (PSC, proxy)")
        p.add_argument("--credentials", default=None, help="credentials JSON file (default: ADC)")
        p.add_argument("--emulator", action="store_true", help="use the bundled local emulator")
        if name == "chat":
            p.add_argument("prompt")
            p.add_argument("--thoughts", action="store_true", help="ask for and show thoughts")
        else:
            p.add_argument(
                "--express",
                action="store_true",
                help="use the express-mode API key in VERTEX_API_KEY",
            )
        p.set_defaults(func=func)

    p = sub.add_parser("emulator", help="run the local Vertex AI emulator")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--token-lifetime", type=float, default=3600.0, help="seconds")
    p.add_argument(
        "--write-credentials",
        default=None,
        metavar="PATH",
        help="write a service-account key file for the emulator",
    )
    p.set_defaults(func=emulator)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``vertex-openai`` command line; returns the process exit code."""
    from vertex_openai._extras import MissingExtraError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except MissingExtraError as err:
        # A missing optional dependency is an install step, not a crash: say which.
        print(f"vertex-openai {args.command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
