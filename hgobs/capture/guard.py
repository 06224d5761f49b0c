"""The one guard every hgobs step runs under: log an internal error once, swallow it.

Telemetry must never break the request: an exception inside hgobs is caught here, logged once
per place and exception type on the ``hgobs.internal`` logger (type and location only - an
exception message could echo request data), and the caller gets ``default`` instead.
"""

from __future__ import annotations

import logging
import os
import threading
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

LOG = logging.getLogger("hgobs.internal")
T = TypeVar("T")
_seen: set[tuple[str, str]] = set()
_seen_lock = threading.Lock()
errors_swallowed = 0
"""How many internal errors were swallowed in this process (for tests and diagnostics)."""


def report(where: str, exc: BaseException) -> None:
    """Log ``exc`` raised at step ``where`` once per (step, exception type); never raises."""
    global errors_swallowed
    try:
        errors_swallowed += 1
        key = (where, type(exc).__qualname__)
        with _seen_lock:
            if key in _seen:
                return
            _seen.add(key)
        frames = traceback.extract_tb(exc.__traceback__)
        at = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
        LOG.warning("hgobs: internal error in %s (%s at %s); the request is unaffected",
                    where, type(exc).__qualname__, at)
    except Exception:
        pass


def _after_fork_in_child() -> None:
    """A child forked while another thread held ``_seen_lock`` gets a free one."""
    global _seen_lock
    _seen_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def guarded(where: str, func: Callable[..., T], *args: Any, default: T | None = None,
            **kwargs: Any) -> T | None:
    """Call ``func(*args, **kwargs)``; on any ``Exception`` report it and return ``default``."""
    try:
        return func(*args, **kwargs)
    except Exception as exc:
        report(where, exc)
        return default
