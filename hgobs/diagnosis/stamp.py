"""The stamp on a verdict: which rules and which profile made it, and whether it still holds.

Capture writes two fields with every diagnosis (``hgobs.schema``): ``diagnosis.rules``, a
digest of the source of everything a verdict depends on (``RULES_SOURCES``), and
``diagnosis.profile``, ``"<profile name>:<digest of its content>"``. The analyzer keeps a
recorded verdict only when both equal its own (``stamp_matches``) and the history facts it
finds again are the ones the record carries; editing a rule, the protocol constants or a
profile therefore makes every verdict recorded before stale, and ``--profile X`` re-judges the
records stamped under another profile.

Records written before ``diagnosis.profile`` existed (schema ``hgobs.attempt/1`` as capture
wrote it up to this change) carry ``diagnosis.rules`` only: they were judged under some
profile that cannot be known now, so they never match and are judged again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hgobs.profiles import Profile

_PACKAGE = Path(__file__).resolve().parent
RULES_SOURCES: tuple[Path, ...] = (
    *sorted(_PACKAGE.glob("*.py")),
    _PACKAGE.parent / "rfc.py",
    _PACKAGE.parent / "profiles.py",
)
"""Every source a verdict depends on: each module of ``hgobs.diagnosis`` (sorted by name), the
protocol constants (``hgobs.rfc``) and the profile code the rules consult (``hgobs.profiles``)."""


def _digest(paths: tuple[Path, ...]) -> str:
    """16 hex digits of SHA-256 over each file's name and bytes, in the order given."""
    h = hashlib.sha256()
    for path in paths:
        h.update(path.name.encode("utf-8") + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


RULES_DIGEST = _digest(RULES_SOURCES)
"""Stamp of the rules that made a diagnosis (record field ``diagnosis.rules``): any change to a
file of ``RULES_SOURCES`` gives another stamp."""


_last: tuple[Profile, str] | None = None


def profile_stamp(profile: Profile) -> str:
    """``"<name>:<16 hex digits>"``: the profile's name and a SHA-256 digest of its content
    (``Profile.to_toml``: limits and environments), the record field ``diagnosis.profile``.
    The stamp of the profile last asked about is kept (a run judges under one profile, and
    the judge asks once per stamped record)."""
    global _last
    last = _last
    if last is not None and last[0] is profile:
        return last[1]
    stamp = f"{profile.name}:{hashlib.sha256(profile.to_toml().encode('utf-8')).hexdigest()[:16]}"
    _last = (profile, stamp)
    return stamp


def stamp_matches(recorded: Mapping[str, Any], profile: Profile) -> bool:
    """True when ``recorded`` (a record's fields) was judged by these rules under ``profile``:
    its ``diagnosis.rules`` equals ``RULES_DIGEST`` and its ``diagnosis.profile`` equals
    ``profile_stamp(profile)``. A record without ``diagnosis.profile`` never matches (see the
    module doc)."""
    return recorded.get("diagnosis.rules") == RULES_DIGEST \
        and recorded.get("diagnosis.profile") == profile_stamp(profile)
