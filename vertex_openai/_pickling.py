"""Pydantic private state of the model classes: what a pickle may hold, and fast reads."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from vertex_openai._credential_policy import DROPPED_CREDENTIALS_KEY, dropped_credentials_kind

__all__ = ["cleared_state", "picklable_state", "private_attr"]


def cleared_state(obj: Any, *names: str) -> dict[str, Any]:
    """A plain object's ``__dict__`` for pickling, with ``names`` (locks, caches) ``None``."""
    state = obj.__dict__.copy()
    for name in names:
        state[name] = None
    return state


def picklable_state(
    state: dict[Any, Any], *, clear_fields: Iterable[str] = (), clear_private: Iterable[str] = ()
) -> dict[Any, Any]:
    """A pydantic model's ``__getstate__`` result, safe to write out.

    ``credentials`` is kept only as a path (objects and info dicts hold private keys; they
    are re-resolved through ADC on load); ``clear_fields`` and the private attributes in
    ``clear_private`` (clients, connections: sockets and locks) become ``None`` and are
    rebuilt by the class after loading. The caller refuses express-mode keys itself.
    """
    fields = dict(state["__dict__"])
    dropped = dropped_credentials_kind(fields.get("credentials"))
    if not isinstance(fields.get("credentials"), str | os.PathLike):
        fields["credentials"] = None
    for name in clear_fields:
        fields[name] = None
    private = dict(state.get("__pydantic_private__") or {})
    for name in clear_private:
        private[name] = None
    out = {**state, "__dict__": fields, "__pydantic_private__": private}
    if dropped:
        # Read back by warn_principal_switch() when the copy is loaded.
        out[DROPPED_CREDENTIALS_KEY] = dropped
    return out


def private_attr(model: Any, name: str) -> Any:
    """``model.<name>`` for a pydantic private attribute, read on a per-request path.

    ``self._settings`` is served by ``BaseModel.__getattr__``, which probes the attribute
    for a descriptor first and costs about 1 µs; the private store is a plain dict.
    """
    store = model.__pydantic_private__
    return store[name] if store is not None else getattr(model, name)
