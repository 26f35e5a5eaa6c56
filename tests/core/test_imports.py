"""The shared core never imports a framework; the framework packages never import each other."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

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


# Loaded only on first use: google-auth's HTTP transport (and `requests` behind it), the
# emulator and its server stack. `import vertex_openai` does not even load the openai SDK.
_DEFERRED = (
    "google.auth.transport.requests",
    "requests",
    "vertex_openai.emulator",
    "starlette",
    "uvicorn",
)


def _loaded_after(code: str, modules: tuple[str, ...]) -> list[str]:
    probe = f"{code}\nimport sys\nprint(','.join(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return [m for m in out.stdout.strip().split(",") if m]


def test_import_core_defers_transport_emulator_and_sdk() -> None:
    assert _loaded_after("import vertex_openai", (*_DEFERRED, "openai", "google.auth")) == []


def test_core_public_names_resolve_lazily() -> None:
    import vertex_openai

    for name in vertex_openai.__all__:
        assert getattr(vertex_openai, name) is not None
        assert name in dir(vertex_openai)
    with pytest.raises(AttributeError, match="NoSuchName"):
        vertex_openai.NoSuchName  # type: ignore[attr-defined]  # noqa: B018


def test_constructing_a_connection_defers_transport_and_emulator() -> None:
    code = (
        "import google.auth.credentials as c\n"
        "from vertex_openai import VertexConnection\n"
        "conn = VertexConnection(project='p', credentials=c.AnonymousCredentials())\n"
        "conn.http_client(); conn.async_http_client()\n"
    )
    # Whatever the SDK and google-auth's credentials module load themselves is not ours.
    theirs = set(_loaded_after("import openai, httpx, google.auth.credentials", _DEFERRED))
    assert set(_loaded_after(code, _DEFERRED)) - theirs == set()


def _loaded_by(module: str) -> set[str]:
    code = f"import sys, {module}; print(','.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return set(out.stdout.strip().split(","))


@pytest.mark.parametrize(
    ("ours", "parent"),
    [
        ("langchain_vertex_openai", "langchain_openai"),
        ("llama_index_vertex_openai", "llama_index.llms.openai_like"),
    ],
)
def test_framework_imports_defer_what_their_parents_do_not_load(ours: str, parent: str) -> None:
    # The whole dotted name: `llama_index` alone is found even without LlamaIndex (our
    # llama_index/llms/vertex_openai namespace portion is on the path).
    pytest.importorskip(parent)
    extra = _loaded_by(ours) - _loaded_by(parent)
    early = sorted(m for m in extra if m.startswith(_DEFERRED))
    assert early == [], f"import {ours} loads {early}"
