"""The stamp on a verdict: which rules and which profile made it, and whether it still holds.

Capture writes two fields with every diagnosis (``hgobs.schema``): ``diagnosis.rules``, a
digest of the source of everything a verdict depends on (``RULES_MODULES``), and
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
import importlib.util
import marshal
import pkgutil
from collections.abc import Mapping
from typing import Any

from hgobs.profiles import Profile

_PACKAGE = __name__.rpartition(".")[0]


def _file_name(module: str) -> str:
    """The file name a module's source has (``__init__.py`` for the package)."""
    return "__init__.py" if module == _PACKAGE else module.rpartition(".")[2] + ".py"


def _source(module: str) -> bytes:
    """The module's source as UTF-8 bytes, through its loader (so a zip import works too); for
    an install without sources, its code object marshalled (a stamp then differs from a
    source install's, which only costs judging its records again)."""
    loader: Any = importlib.util.find_spec(module).loader  # type: ignore[union-attr]
    text = loader.get_source(module)
    return text.encode("utf-8") if text is not None else marshal.dumps(loader.get_code(module))


def _digest(modules: tuple[str, ...]) -> str:
    """16 hex digits of SHA-256 over each module's file name and source, in the order given;
    ``"unknown"`` when a source cannot be had (importing hgobs never fails over its stamp:
    records stamped so are judged again)."""
    h = hashlib.sha256()
    try:
        for module in modules:
            h.update(_file_name(module).encode("utf-8") + b"\0")
            h.update(_source(module))
    except Exception:
        return "unknown"
    return h.hexdigest()[:16]


RULES_MODULES: tuple[str, ...] = (
    *sorted([_PACKAGE, *(f"{_PACKAGE}.{m.name}" for m in pkgutil.iter_modules(
        importlib.import_module(_PACKAGE).__path__))], key=_file_name),
    "hgobs.rfc",
    *(f"hgobs.profiles.{m}" for m in ("model", "urls")),
)
"""Every module a verdict depends on: each module of ``hgobs.diagnosis`` (sorted by file
name), the protocol constants (``hgobs.rfc``) and the profile code the rules consult
(``hgobs.profiles.model`` and ``urls``; a profile's data is in ``diagnosis.profile``)."""
RULES_DIGEST = _digest(RULES_MODULES)
"""Stamp of the rules that made a diagnosis (record field ``diagnosis.rules``): any change to a
module of ``RULES_MODULES`` gives another stamp."""


_stamps: dict[int, tuple[Profile, str]] = {}


def profile_stamp(profile: Profile) -> str:
    """``"<name>:<16 hex digits>"``: the profile's name and a SHA-256 digest of its content
    (``Profile.to_toml``: every field), the record field ``diagnosis.profile``. Each
    profile's stamp is made once (a run judges under a few profiles, once per record)."""
    known = _stamps.get(id(profile))
    if known is not None and known[0] is profile:
        return known[1]
    stamp = f"{profile.name}:{hashlib.sha256(profile.to_toml().encode('utf-8')).hexdigest()[:16]}"
    if len(_stamps) >= 256:
        _stamps.clear()
    _stamps[id(profile)] = (profile, stamp)
    return stamp


def rules_match(recorded: Mapping[str, Any], profile_name: str) -> bool:
    """True when ``recorded`` was judged by these rules under a profile called
    ``profile_name`` whose content this run does not have (a user's own profile): its
    ``diagnosis.rules`` equals ``RULES_DIGEST`` and its ``diagnosis.profile`` names it."""
    return RULES_DIGEST != "unknown" and recorded.get("diagnosis.rules") == RULES_DIGEST \
        and str(recorded.get("diagnosis.profile", "")).startswith(f"{profile_name}:")


def stamp_matches(recorded: Mapping[str, Any], profile: Profile) -> bool:
    """True when ``recorded`` (a record's fields) was judged by these rules under ``profile``:
    its ``diagnosis.rules`` equals ``RULES_DIGEST`` and its ``diagnosis.profile`` equals
    ``profile_stamp(profile)``. A record without ``diagnosis.profile`` never matches (see the
    module doc), nor does any when this install's rules digest is ``"unknown"``."""
    return RULES_DIGEST != "unknown" and recorded.get("diagnosis.rules") == RULES_DIGEST \
        and recorded.get("diagnosis.profile") == profile_stamp(profile)
