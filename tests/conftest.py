"""Shared pytest fixtures: a local Vertex emulator and a clean environment."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator

import pytest

from vertex_openai.emulator import Emulator

_ENV_PREFIXES = ("OPENAI_", "GOOGLE_", "CLOUD_ML_", "GCE_METADATA")
_ENV_NAMES = ("GCLOUD_PROJECT",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses an emulator fixture `integration`.

    `make test` runs the rest (unit tests: our code, recorded payloads and small local
    servers), `make integration` these; a plain `pytest` runs both.
    """
    for item in items:
        if any("emulator" in name for name in getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No developer gcloud/ADC/OpenAI settings leak into any test."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES) or name in _ENV_NAMES:
            monkeypatch.delenv(name, raising=False)
    gcloud_dir = tmp_path_factory.mktemp("gcloud-config")
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(gcloud_dir))
    # ADC's metadata-server probe (read at call time) hits a closed local port instead of
    # waiting on 169.254.169.254; tests that want the metadata server point it at the emulator.
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")


@pytest.fixture(scope="module")
def _module_emulator() -> Iterator[Emulator]:
    emu = Emulator()
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def emulator(_module_emulator: Emulator) -> Emulator:
    """A started emulator shared by the module, reset and with default config per test."""
    _module_emulator.reset()
    _module_emulator.restore_config()
    _module_emulator.restore_refresh_token()
    return _module_emulator


@pytest.fixture
def sa_file(emulator: Emulator, tmp_path: pathlib.Path) -> pathlib.Path:
    """The emulator's service-account key written to a file."""
    return emulator.write_service_account_file(tmp_path / "sa.json")
