"""Shipped code and docs cite public sources, never the maintainers' private notes.

Users do not have the notes the package was researched from, so a comment such as
"(notes §5.3)" sends them nowhere. Cite the public source instead: a Google docs URL, a
public issue, or the docs/ page of this repository that carries the fact (see
CONTRIBUTING.md, "Citing sources").
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [
    "vertex_openai",
    "langchain_vertex_openai",
    "llama_index_vertex_openai",
    "llama_index",
    "docs",
    "examples",
    "benchmarks",
    "tests",
    "README.md",
    "CONTRIBUTING.md",
    "CHANGELOG.md",
]
SUFFIXES = {".py", ".md", ".json", ".toml"}
# A section sign followed by a number, or the names the private notes go by.
PRIVATE = re.compile(
    r"§\s*\d|wire[- ]facts|fact[ -]sheet|pain point \d|anchors-and-pain-points|"
    r"framework-extension-points|style-notes\.md|layout-proposal",
    re.IGNORECASE,
)
# Sections of public standards are fine: "RFC 9110 §10.2.3".
PUBLIC = re.compile(r"\bRFC\s*\d+,?\s*§\s*[\d.]+")


def _shipped_files() -> list[Path]:
    out: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            out.append(path)
        elif path.is_dir():
            out.extend(
                f
                for f in sorted(path.rglob("*"))
                if f.suffix in SUFFIXES and "__pycache__" not in f.parts and f != Path(__file__)
            )
    return out


def test_the_scan_sees_the_package() -> None:
    names = {f.relative_to(ROOT).as_posix() for f in _shipped_files()}
    assert "vertex_openai/_messages.py" in names
    assert "docs/gemini-extras.md" in names


@pytest.mark.parametrize("pattern_hit", ["see notes §5.3", "(wire facts §10)", "fact sheet"])
def test_the_pattern_catches_private_citations(pattern_hit: str) -> None:
    assert PRIVATE.search(PUBLIC.sub("", pattern_hit))


def test_public_standard_sections_are_allowed() -> None:
    assert not PRIVATE.search(PUBLIC.sub("", "an HTTP date, RFC 9110 §10.2.3, else"))


def test_no_private_citations_in_shipped_files() -> None:
    hits = [
        f"{f.relative_to(ROOT)}:{n}: {line.strip()}"
        for f in _shipped_files()
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
        if PRIVATE.search(PUBLIC.sub("", line))
    ]
    assert not hits, "cite the public source instead:\n" + "\n".join(hits)
