"""The `vertex-openai` command, run in-process against the emulator."""

from __future__ import annotations

import json
import pathlib

import pytest

from vertex_openai.cli import main
from vertex_openai.emulator import Emulator

pytest.importorskip("llama_index.core")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_demo_tells_the_whole_story(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "demo")
    assert code == 0, out
    for step in ("plain call", "thoughts shown apart", "Gemini 3", "query engine", "Token refresh"):
        assert step in out
    assert "all steps worked" in out
    assert "FAIL" not in out


def test_doctor_against_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "doctor", "--emulator")
    assert code == 0, out
    for label in (
        "location",
        "credentials",
        "project",
        "access token",
        "endpoint URL",
        "test request",
    ):
        assert f"[OK  ] {label}" in out
    assert "FAIL" not in out


def test_doctor_never_prints_secrets(
    capsys: pytest.CaptureFixture[str], emulator: Emulator, sa_file: pathlib.Path
) -> None:
    code, out = run(
        capsys,
        "doctor",
        "--project",
        emulator.project,
        "--location",
        "us-central1",
        "--api-endpoint",
        emulator.url,
        "--credentials",
        str(sa_file),
    )
    assert code == 0, out
    assert "PRIVATE KEY" not in out
    token_ids = {r.token_id for r in emulator.requests}
    assert token_ids
    assert "Bearer" not in out


@pytest.mark.parametrize(
    ("args", "fix"),
    [
        (["--location", "us-central1-a"], "use its region 'us-central1'"),
        (["--location", "US"], "lower case"),
        (["--credentials", "/missing/key.json"], "Check the path"),
        (["--model", "gpt-4o"], "publisher"),
        (["--model", "google/gemini-9-ultra"], "was not found"),
    ],
)
def test_doctor_catches_misconfiguration(
    capsys: pytest.CaptureFixture[str],
    emulator: Emulator,
    sa_file: pathlib.Path,
    args: list[str],
    fix: str,
) -> None:
    base = {
        "--project": emulator.project,
        "--location": "us-central1",
        "--api-endpoint": emulator.url,
        "--credentials": str(sa_file),
    }
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = [item for pair in base.items() for item in pair]
    code, out = run(capsys, "doctor", *argv)
    assert code == 1, out
    assert "FAIL" in out
    assert fix in out


def test_doctor_without_project(
    capsys: pytest.CaptureFixture[str], emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    info = emulator.service_account_info()
    info.pop("project_id")
    key = tmp_path / "noproject.json"
    key.write_text(json.dumps(info))
    code, out = run(capsys, "doctor", "--api-endpoint", emulator.url, "--credentials", str(key))
    assert code == 1
    assert "GOOGLE_CLOUD_PROJECT" in out


def test_chat_streams_thoughts_apart(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "chat", "--emulator", "--thoughts", "Why is the sky blue?")
    assert code == 0, out
    assert "Emulated answer" in out
    assert "<thought>" not in out
    # Thoughts and answer are separate sections, never run together (issue 12).
    thoughts, _, answer = out.partition("\nAnswer:\n")
    assert "Thoughts:\n" in thoughts
    assert "Understanding the request" in thoughts
    assert answer.startswith("Emulated answer")
    assert "Emulated answer" not in thoughts


def test_chat_without_thoughts_has_no_headings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "chat", "--emulator", "Say hi.")
    assert code == 0, out
    assert "Thoughts:" not in out
    assert "Answer:" not in out


def test_emulator_command_then_an_app_with_env_vars_only(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re
    import subprocess
    import sys

    creds = tmp_path / "creds.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vertex_openai.cli",
            "emulator",
            "--port",
            "0",
            "--write-credentials",
            str(creds),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        printed = ""
        while "Press Ctrl-C" not in printed:
            line = proc.stdout.readline()
            assert line, printed
            printed += line
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", printed).group(1)  # type: ignore[union-attr]
        assert f"export GOOGLE_APPLICATION_CREDENTIALS={creds}" in printed
        assert f"export CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM={url}" in printed
        project = re.search(r"export GOOGLE_CLOUD_PROJECT=(\S+)", printed).group(1)  # type: ignore[union-attr]
        # An unchanged app, pointed at the emulator by the printed variables alone.
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(creds))
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", project)
        monkeypatch.setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM", url)
        from langchain_vertex_openai import ChatVertexOpenAI

        assert ChatVertexOpenAI(model="gemini-2.5-flash").invoke("Hello").text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_doctor_names_the_multi_region_host(
    capsys: pytest.CaptureFixture[str], emulator: Emulator, sa_file: pathlib.Path
) -> None:
    code, out = run(
        capsys,
        "doctor",
        "--project",
        emulator.project,
        "--location",
        "eu",
        "--api-endpoint",
        emulator.url,
        "--credentials",
        str(sa_file),
    )
    assert code == 0, out
    assert "[OK  ] host: aiplatform.eu.rep.googleapis.com" in out


def test_doctor_flags_an_unknown_location(
    capsys: pytest.CaptureFixture[str], emulator: Emulator, sa_file: pathlib.Path
) -> None:
    with pytest.warns(UserWarning, match="Did you mean 'us-central1'"):
        code, out = run(
            capsys,
            "doctor",
            "--project",
            emulator.project,
            "--location",
            "us-centrall1",
            "--api-endpoint",
            emulator.url,
            "--credentials",
            str(sa_file),
        )
    assert code == 1
    assert "[FAIL] location: us-centrall1" in out
