"""Objects whose locks must be new in a forked child.

A lock held by another thread at fork time (a token refresh in progress) would otherwise
stay locked in the child forever. Objects register here and get ``_reset_after_fork()``
called in the child.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

__all__ = ["ForkSafeLock", "reset_after_fork"]

_FORK_RESET: weakref.WeakSet[Any] = weakref.WeakSet()


def reset_after_fork(obj: Any) -> None:
    """Call ``obj._reset_after_fork()`` in every forked child while ``obj`` lives."""
    _FORK_RESET.add(obj)


class ForkSafeLock:
    """Owns ``lock``, a ``threading.Lock`` made anew in a forked child.

    For process-wide caches (or subclasses that add the cached entries): what they hold
    stays valid in the child, only the lock might be held forever by a parent thread.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        reset_after_fork(self)

    def _reset_after_fork(self) -> None:
        self.lock = threading.Lock()


def _reset_after_fork() -> None:
    for obj in list(_FORK_RESET):
        obj._reset_after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_reset_after_fork)
