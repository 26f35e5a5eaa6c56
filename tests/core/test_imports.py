"""The shared core never imports a framework; the framework packages never import each other."""

from __future__ import annotations

import ast
import pathlib
import re
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


# -- the demo registry: the only place the core names a framework module ---------------

_OURS = re.compile(r"^(langchain_vertex_openai|llama_index_vertex_openai)(\.|$)")


def _framework_strings_in_core() -> list[tuple[str, int, str]]:
    """String constants anywhere in the core that name one of our framework packages."""
    hits = []
    for path in sorted((ROOT / "vertex_openai").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if _OURS.match(node.value):
                    hits.append((path.relative_to(ROOT).as_posix(), node.lineno, node.value))
    return hits


def test_core_names_framework_modules_only_in_the_demo_registry() -> None:
    from vertex_openai._demo import FRAMEWORK_DEMOS

    registry = set(FRAMEWORK_DEMOS.values())
    stray = [hit for hit in _framework_strings_in_core() if hit[2] not in registry]
    assert stray == [], "load framework code through vertex_openai._demo.FRAMEWORK_DEMOS"
    # ... and the registry is the one in _demo.py, not a copy elsewhere.
    assert {hit[0] for hit in _framework_strings_in_core()} == {"vertex_openai/_demo.py"}


def test_demo_registry_modules_hold_every_step() -> None:
    from vertex_openai._demo import FRAMEWORK_DEMOS, STEPS

    assert {step.framework for step in STEPS} == set(FRAMEWORK_DEMOS)
    for step in STEPS:
        module = FRAMEWORK_DEMOS[step.framework]
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), module
        tree = ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text("utf-8"))
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert step.function in defined, f"{module} has no {step.function}()"


def test_each_demo_module_imports_only_its_own_framework() -> None:
    from vertex_openai._demo import FRAMEWORK_DEMOS

    other = {"langchain": "llama_index", "llama-index": "langchain"}
    for extra, module in FRAMEWORK_DEMOS.items():
        path = ROOT / (module.replace(".", "/") + ".py")
        names = {
            (n.module or "") if isinstance(n, ast.ImportFrom) else a.name
            for n in ast.walk(ast.parse(path.read_text("utf-8")))
            if isinstance(n, ast.Import | ast.ImportFrom)
            for a in n.names
        }
        assert not [n for n in names if n.startswith(other[extra])], (module, names)


def test_no_import_circle_between_cli_and_demo() -> None:
    # The CLI hands the demo its printer and emulator; nothing in the core imports the CLI.
    for path in (ROOT / "vertex_openai").rglob("*.py"):
        if path.name in ("cli.py", "__main__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module != "vertex_openai.cli", path
            if isinstance(node, ast.Import):
                assert all(a.name != "vertex_openai.cli" for a in node.names), path
    demo = ast.parse((ROOT / "vertex_openai/_demo.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(demo) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in imported if m and m.startswith("vertex_openai.emulator")}


def test_core_all_is_the_public_api() -> None:
    import vertex_openai

    assert sorted(vertex_openai.__all__) == [
        "CLOUD_PLATFORM_SCOPE",
        "DEFAULT_API_VERSION",
        "DEFAULT_ENDPOINT_ID",
        "DEFAULT_LOCATION",
        "VertexAuthError",
        "VertexConfigError",
        "VertexConnection",
        "VertexContextOverflowError",
        "VertexEmbeddingClient",
        "VertexEmbeddingInputError",
        "VertexEndpoint",
        "clear_failover_cooling",
    ]
    # Internal building blocks are not re-exported (import them from their modules).
    for internal in ("TokenProvider", "EndpointRouter", "CredentialsSource", "VertexAuth"):
        assert not hasattr(vertex_openai, internal), internal
