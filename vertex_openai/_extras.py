"""Optional extras: a missing one is named, with the command that installs it."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "EXTRA_MODULES",
    "MissingExtraError",
    "lazy_attributes",
    "missing_extras",
    "raise_for_missing_extra",
]

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


def lazy_attributes(
    package: str, lazy: Mapping[str, str], namespace: dict[str, Any], *, extra: str | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's PEP 562 ``__getattr__`` and ``__dir__`` for names loaded on first use.

    Args:
        package: The package's ``__name__`` (for error messages).
        lazy: ``{attribute: module that defines it}``.
        namespace: The package's ``globals()``; a loaded name is cached there, so later
            reads skip ``__getattr__``.
        extra: The extra whose absence a failed import means (then `MissingExtraError`).
    """

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module hook of PEP 562
        module = lazy.get(name)
        if module is None:
            msg = f"module {package!r} has no attribute {name!r}"
            raise AttributeError(msg)
        try:
            value = getattr(importlib.import_module(module), name)
        except ModuleNotFoundError as err:
            if extra is not None:
                raise_for_missing_extra(err, feature=package, extra=extra)
            raise
        namespace[name] = value
        return value

    def __dir__() -> list[str]:  # noqa: N807 - the module hook of PEP 562
        return sorted({*namespace, *lazy})

    return __getattr__, __dir__
