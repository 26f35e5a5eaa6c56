"""A missing optional extra is named with its install command, never a bare traceback.

Each case runs a fresh interpreter in which the extra's modules cannot be imported (a
meta-path finder raises ModuleNotFoundError for them, as Python does for an absent
package), so the real import machinery and the real console entry point are exercised.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys

    class _Absent(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if any(name == root or name.startswith(root + ".") for root in ROOTS):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, _Absent())
    """
)

LANGCHAIN = ["langchain_core", "langchain_openai", "langchain"]
LLAMA_INDEX = ["llama_index.core", "llama_index.llms"]
EMULATOR = ["starlette", "uvicorn"]


def run_python(code: str, absent: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    program = f"ROOTS = {absent!r}\n{BLOCKER}\n{code}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GOOGLE_"))}
    return subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def cli(*argv: str) -> str:
    return f"from vertex_openai.cli import main\nraise SystemExit(main({list(argv)!r}))"


@pytest.mark.parametrize(
    ("module", "absent", "extra"),
    [
        ("langchain_vertex_openai", LANGCHAIN, "langchain"),
        ("llama_index_vertex_openai", LLAMA_INDEX, "llama-index"),
        ("vertex_openai.emulator", EMULATOR, "emulator"),
    ],
)
def test_import_without_extra_names_the_install_command(
    module: str, absent: list[str], extra: str
) -> None:
    result = run_python(f"import {module}", absent)
    assert result.returncode != 0
    assert f'pip install "vertex-openai[{extra}]"' in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("vertex_openai._extras.MissingExtraError:"), result.stderr
    assert "During handling of the above exception" not in result.stderr


def test_missing_extra_is_an_import_error_subclass() -> None:
    # Code that guards optional imports with `except ImportError` keeps working.
    result = run_python(
        "try:\n    import langchain_vertex_openai\nexcept ImportError as e:\n"
        "    print('caught', type(e).__name__, e.name)",
        LANGCHAIN,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["caught", "MissingExtraError"]


def test_core_imports_without_any_framework() -> None:
    result = run_python(
        "import vertex_openai; print(vertex_openai.__version__)", LANGCHAIN + LLAMA_INDEX + EMULATOR
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_emulator_command_without_extra() -> None:
    result = run_python(cli("emulator", "--port", "0"), EMULATOR)
    assert result.returncode == 2
    assert 'pip install "vertex-openai[emulator]"' in result.stderr
    assert "Traceback" not in result.stderr


def test_doctor_emulator_without_extra() -> None:
    result = run_python(cli("doctor", "--emulator"), EMULATOR)
    assert result.returncode == 2
    assert 'pip install "vertex-openai[emulator]"' in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_demo_without_emulator_says_what_to_install() -> None:
    result = run_python(cli("demo"), EMULATOR)
    assert result.returncode == 2
    assert 'pip install "vertex-openai[all]"' in result.stdout
    assert "Traceback" not in result.stderr + result.stdout


def test_demo_with_langchain_and_emulator_only_skips_and_says_why() -> None:
    # [langchain,emulator]: no llama-index, no `langchain` package (create_agent).
    result = run_python(cli("demo"), LLAMA_INDEX + ["langchain"], timeout=240)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "Traceback" not in out
    assert "FAIL" not in out
    assert out.count("[SKIP]") == 2, out
    assert 'pip install "vertex-openai[llama-index]"' in out
    assert 'pip install "vertex-openai[all]"' in out
    assert "[OK  ] LangChain: a plain call" in out
    assert "2 skipped for missing extras" in out


def test_demo_with_nothing_but_the_emulator() -> None:
    result = run_python(cli("demo"), LANGCHAIN + LLAMA_INDEX)
    assert result.returncode == 2
    assert 'pip install "vertex-openai[all]"' in result.stdout


def test_version_flag() -> None:
    from vertex_openai import __version__

    result = run_python(cli("--version"), [])
    assert result.returncode == 0
    assert result.stdout.strip() == f"vertex-openai {__version__}"
