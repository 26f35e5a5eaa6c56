"""The shared core never imports a framework; the framework packages never import each other."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _imported_modules(package: str) -> set[str]:
    names: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def test_core_source_imports_no_framework() -> None:
    imported = _imported_modules("vertex_openai")
    assert not imported & {
        "langchain",
        "langchain_core",
        "langchain_openai",
        "llama_index",
        "langchain_vertex_openai",
        "llama_index_vertex_openai",
    }


def test_framework_packages_do_not_import_each_other() -> None:
    assert "llama_index_vertex_openai" not in _imported_modules("langchain_vertex_openai")
    assert "llama_index" not in _imported_modules("langchain_vertex_openai")
    assert "langchain_vertex_openai" not in _imported_modules("llama_index_vertex_openai")
    assert not {"langchain_core", "langchain"} & _imported_modules("llama_index_vertex_openai")


def test_import_core_loads_no_framework() -> None:
    code = (
        "import sys, vertex_openai, vertex_openai.cli, vertex_openai.emulator;"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('langchain', 'langchain_core', 'langchain_openai', 'llama_index')];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
