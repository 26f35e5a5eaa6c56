"""Every ```python block in README.md and docs/*.md, and every examples/*.py, runs here.

Against the local emulator, configured only through the environment variables a user
would set (``GOOGLE_CLOUD_PROJECT``, ``GOOGLE_CLOUD_LOCATION``,
``GOOGLE_APPLICATION_CREDENTIALS`` and gcloud's ``CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM``),
so documented code is exactly what runs against Vertex. ``VERTEX_API_KEY`` holds the
emulator's express-mode key for the express-mode snippets.

A block opts out with ``<!-- snippet: skip (reason) -->`` on the line before its fence;
`test_skips_are_rare` keeps that list short and visible.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from vertex_openai.emulator import Emulator

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
EXAMPLE_TIMEOUT = 180
MAX_SKIPS = 6

_FENCE = re.compile(r"^```(\S*)\s*$")
_SKIP = re.compile(r"^<!--\s*snippet:\s*skip\s*\((.+)\)\s*-->\s*$")


@dataclass(frozen=True)
class Snippet:
    path: pathlib.Path
    line: int
    code: str
    skip: str | None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _snippets(path: pathlib.Path) -> list[Snippet]:
    """The ```python blocks of a Markdown file (fences at column 0)."""
    out: list[Snippet] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        lang, start = match.group(1), i
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        i += 1
        if lang != "python":
            continue
        prev = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
        skip = _SKIP.match(prev.strip())
        out.append(
            Snippet(path, start + 1, "\n".join(body) + "\n", skip.group(1) if skip else None)
        )
    return out


SNIPPETS = [s for path in DOC_FILES for s in _snippets(path)]


@pytest.fixture
def vertex_env(
    emulator: Emulator, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The four variables that point code written for Vertex at the emulator."""
    key = emulator.write_service_account_file(tmp_path / "emulator-sa.json")
    values = {
        "GOOGLE_CLOUD_PROJECT": emulator.project,
        "GOOGLE_CLOUD_LOCATION": "us-central1",
        "GOOGLE_APPLICATION_CREDENTIALS": str(key),
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM": emulator.url,
        "VERTEX_API_KEY": emulator.api_key,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    saved = dict(os.environ)
    try:
        yield values
    finally:
        # A snippet may set variables itself; never let that leak into the next one.
        os.environ.clear()
        os.environ.update(saved)


def test_docs_have_snippets() -> None:
    assert len(SNIPPETS) >= 20, [s.id for s in SNIPPETS]


def test_skips_are_rare() -> None:
    skipped = [f"{s.id}: {s.skip}" for s in SNIPPETS if s.skip]
    assert len(skipped) <= MAX_SKIPS, skipped


@pytest.mark.timeout(120)
@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.id for s in SNIPPETS])
def test_snippet(snippet: Snippet, vertex_env: dict[str, str]) -> None:
    if snippet.skip:
        pytest.skip(f"snippet opted out: {snippet.skip}")
    code = compile(snippet.code, snippet.id, "exec")
    namespace: dict[str, object] = {"__name__": "__snippet__"}
    exec(code, namespace)


@pytest.mark.timeout(EXAMPLE_TIMEOUT + 30)
@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example(example: pathlib.Path, vertex_env: dict[str, str]) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "100"}
    proc = subprocess.run(
        [sys.executable, str(example)],
        env=env,
        cwd=os.getcwd(),
        capture_output=True,
        text=True,
        timeout=EXAMPLE_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.stdout.strip(), "the example printed nothing"
    # Users' warnings are behaviour too (issue 12: the structured-output serializer warning).
    assert "Warning:" not in proc.stderr, proc.stderr
