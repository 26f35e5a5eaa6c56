"""Optional extras: a missing one is named, with the command that installs it."""

from __future__ import annotations

import importlib.util

__all__ = ["EXTRA_MODULES", "MissingExtraError", "missing_extras", "raise_for_missing_extra"]

EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "langchain": ("langchain_core", "langchain_openai"),
    "llama-index": ("llama_index.core", "llama_index.llms.openai_like"),
    "emulator": ("starlette", "uvicorn", "cryptography"),
    "cli": ("rich",),
    # `create_agent` lives in the `langchain` package itself, which [all] brings.
    "all": ("langchain",),
}
"""The top-level modules each extra of the `vertex-openai` distribution provides."""


def install_command(extra: str) -> str:
    return f'pip install "vertex-openai[{extra}]"'


class MissingExtraError(ImportError):
    """A feature was used whose optional dependencies are not installed."""

    def __init__(self, feature: str, extra: str, module: str) -> None:
        self.feature = feature
        self.extra = extra
        super().__init__(
            f"{feature} needs the `{extra}` extra ({module} is not installed). "
            f"Install it with: {install_command(extra)}",
            name=module,
        )


def raise_for_missing_extra(err: ModuleNotFoundError, *, feature: str, extra: str) -> None:
    """Raise `MissingExtraError` if `err` is one of `extra`'s own modules being absent.

    Any other missing module (a broken install, a bug) is left to propagate unchanged.
    """
    missing = err.name or ""
    for module in EXTRA_MODULES[extra]:
        if missing == module or module.startswith(missing + "."):
            raise MissingExtraError(feature, extra, module) from None


def missing_extras(*extras: str) -> list[tuple[str, str]]:
    """`(extra, module)` for each of `extras` with a module that is not installed."""
    missing = []
    for extra in extras:
        for module in EXTRA_MODULES[extra]:
            try:
                found = importlib.util.find_spec(module) is not None
            except ModuleNotFoundError:  # a parent package is absent
                found = False
            if not found:
                missing.append((extra, module))
                break
    return missing
