"""Helpers shared by the embedding tests (imported as a top-level module by pytest; not
from `conftest`, whose module name several test directories share)."""

from __future__ import annotations

import pathlib
from typing import Any

from vertex_openai.emulator import Emulator


def lc_params(emu: Emulator, sa_file: pathlib.Path, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": "text-embedding-005",
        "project": emu.project,
        "api_endpoint": emu.url,
        "credentials": str(sa_file),
        "max_retries": 0,
    }
    params.update(overrides)
    return params
