"""A small terminal UI that streams Gemini's thoughts (dimmed) apart from its answer.

Vertex returns thought summaries inside the answer text; `ChatVertexOpenAI` asks Vertex to
tag them and splits them off while streaming (also when a tag is cut across chunks), so
thoughts arrive in `chunk.additional_kwargs["reasoning_content"]` and the answer in
`chunk.text`. Uses `rich` (installed with the `cli` / `all` extras).

Run against Vertex AI:

    gcloud auth application-default login
    export GOOGLE_CLOUD_PROJECT=my-project
    python examples/streaming_thoughts.py "Why do planes leave contrails?"

Run against the local emulator (no Google account), in another shell first
`vertex-openai emulator --port 8765 --write-credentials emu.json`, then:

    export GOOGLE_APPLICATION_CREDENTIALS=$PWD/emu.json GOOGLE_CLOUD_PROJECT=emulator-project
    export CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM=http://127.0.0.1:8765
    python examples/streaming_thoughts.py

`VERTEX_MODEL` overrides the model (default `google/gemini-2.5-flash`).
"""

from __future__ import annotations

import os
import sys
import time

from rich.console import Console
from rich.rule import Rule

from langchain_vertex_openai import ChatVertexOpenAI

MODEL = os.environ.get("VERTEX_MODEL", "google/gemini-2.5-flash")


def main() -> None:
    question = " ".join(sys.argv[1:]) or "Why is the sky blue? Answer in two sentences."
    console = Console(highlight=False)
    llm = ChatVertexOpenAI(model=MODEL, thinking_config={"include_thoughts": True})

    console.print(Rule(f"[bold]{MODEL}[/bold]"))
    console.print(f"[bold]You:[/bold] {question}\n")
    section = None
    usage = None
    started = time.monotonic()
    with console.status("[dim]waiting for the first token...[/dim]") as status:
        for chunk in llm.stream(question):
            status.stop()
            thought = chunk.additional_kwargs.get("reasoning_content") or ""
            if thought:
                if section != "thinking":
                    console.print("[dim italic]thinking:[/dim italic]")
                    section = "thinking"
                console.print(thought, style="dim italic", end="")
            if chunk.text:
                if section != "answer":
                    console.print("\n\n[bold green]answer:[/bold green]")
                    section = "answer"
                console.print(chunk.text, end="")
            usage = chunk.usage_metadata or usage
    console.print("\n")
    if usage:
        reasoning = (usage.get("output_token_details") or {}).get("reasoning", 0)
        console.print(
            f"[dim]{usage['input_tokens']} in / {usage['output_tokens']} out "
            f"({reasoning} thinking) tokens, {time.monotonic() - started:.1f} s[/dim]"
        )


if __name__ == "__main__":
    main()
