"""Human durations for reports: a length of time in seconds as at most two units ("2 h 14 min")."""

from __future__ import annotations

import math
from numbers import Real

_UNITS = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))


def human_duration(seconds: float) -> str:
    """``seconds`` (a non-negative number) as its two largest non-zero units, rounded down to
    whole seconds: ``"45 s"``, ``"3 min 5 s"``, ``"2 h 14 min"``, ``"3 d 4 h"``, ``"2 h"``
    (a zero second unit is left out), ``"0 s"`` under one second. Accepts any real number
    (``int``, ``float``, numpy scalars).

    Raises ValueError for a negative, infinite or NaN value.
    """
    if not isinstance(seconds, Real) or isinstance(seconds, bool):
        raise ValueError("a duration is a number of seconds")
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        raise ValueError("a duration is a finite, non-negative number of seconds")
    left = int(seconds)  # whole seconds, rounded down
    parts: list[str] = []
    for name, size in _UNITS:
        n, left = divmod(left, size)
        if parts:
            if n:
                parts.append(f"{n} {name}")
            break
        if n:
            parts.append(f"{n} {name}")
    return " ".join(parts) or "0 s"
