"""Create the virtualenv for ``bench_alternatives`` (the clients a user would pick instead).

    python benchmarks/alternatives_setup.py [--venv PATH]

Creates ``PATH`` (default ``.venv-alternatives`` at the repository root, git-ignored)
with this repository installed editable (LangChain and LlamaIndex extras) plus the
alternatives compared in section 6 of docs/benchmarks.md:

* ``langchain-google-genai`` (``ChatGoogleGenerativeAI(vertexai=True)``),
* ``langchain-google-vertexai`` (``ChatVertexAI``, deprecated but widely installed),
* ``llama-index-llms-google-genai`` (LlamaIndex ``GoogleGenAI``),
* ``litellm`` (``vertex_ai/gemini-...`` and ``gemini/gemini-...``).

They are never installed by CI, by ``pip install -e ".[test]"`` or by any extra of the
package: only by this script, into their own environment. ``benchmarks/run.py --only
alternatives`` then finds this Python (or the one given by ``--alternatives-python`` /
env ``BENCH_ALTERNATIVES_PYTHON``); without it the section is skipped with a message.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_VENV = os.path.join(ROOT, ".venv-alternatives")
ALTERNATIVES = (
    "langchain-google-genai",
    "langchain-google-vertexai",
    "llama-index-llms-google-genai",
    "litellm",
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venv", default=os.environ.get("BENCH_ALTERNATIVES_VENV", DEFAULT_VENV))
    args = ap.parse_args(argv)
    path = os.path.abspath(args.venv)
    if not os.path.exists(os.path.join(path, "bin", "python")):
        print(f"creating {path}", file=sys.stderr)
        venv.create(path, with_pip=True)
    python = os.path.join(path, "bin", "python")
    cmd = [
        python,
        "-m",
        "pip",
        "install",
        "-q",
        "-e",
        f"{ROOT}[langchain,llama-index]",
        *ALTERNATIVES,
    ]
    print(" ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)
    print(
        f"done: python benchmarks/run.py --only alternatives --alternatives-python {python}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
