"""Counts of what the reliability tests tried, per promise, for ``scripts/reliability.py``.

Tests call ``tried(promise, what)`` once per generated case, injected fault or fuzzed input
(inside a hypothesis test that is once per example run, shrinking included). The plugin in
``tests/reliability/conftest.py`` writes the counts, with every test's outcome, to the JSON file
named by ``HGOBS_RELIABILITY_OUT`` when the session ends.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict

SECRETS = "secrets"
NEVER_BREAK = "never-break"
BAD_INPUT = "bad-input"
PROMISES = (SECRETS, NEVER_BREAK, BAD_INPUT)

COUNTS: defaultdict[str, Counter[str]] = defaultdict(Counter)
_LOCK = threading.Lock()


def tried(promise: str, what: str, n: int = 1) -> None:
    """Count ``n`` more ``what`` (e.g. ``capture cases``) tried for ``promise``."""
    assert promise in PROMISES, promise
    with _LOCK:
        COUNTS[promise][what] += n


def snapshot() -> dict[str, dict[str, int]]:
    """The counts so far, as plain dicts."""
    with _LOCK:
        return {p: dict(c) for p, c in COUNTS.items()}
