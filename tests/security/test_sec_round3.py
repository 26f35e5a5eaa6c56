"""Issue 22: hostile or broken input (manifests, credentials, ids with a trailing newline).

Both framework classes against the emulator over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import pathlib

import pytest
from test_sec_round2 import FRAMEWORKS, _ask, _chat, _model

from vertex_openai import VertexConfigError
from vertex_openai._endpoint import validate_project
from vertex_openai._thoughts import validate_marker
from vertex_openai.emulator import Emulator

pytest.importorskip("langchain_openai")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_project_with_a_trailing_newline_from_the_key_file_is_refused(
    emulator: Emulator, tmp_path: pathlib.Path, framework: str
) -> None:
    # `$` matches before a final newline; the patterns end in `\Z`.
    info = emulator.service_account_info()
    info["project_id"] = emulator.project + "\n"
    path = tmp_path / "sa-newline.json"
    path.write_text(json.dumps(info))
    model = _model(framework, emulator, project=None, credentials=str(path), max_retries=2)
    with pytest.raises(VertexConfigError, match="Malformed Google Cloud project"):
        _ask(framework, model)
    assert _chat(emulator) == []


@pytest.mark.parametrize("value", ["my-project\n", "123\n"])
def test_project_argument_with_a_trailing_newline_is_refused(value: str) -> None:
    with pytest.raises(VertexConfigError, match="Malformed Google Cloud project"):
        validate_project(value, "argument `project`")


def test_thought_marker_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(VertexConfigError, match="thought_tag_marker"):
        validate_marker("thought\n")
