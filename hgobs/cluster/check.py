"""Refusing workers that would judge differently: another hgobs version, rules or fingerprint key.

Before any task, the client asks every worker (``Client.run``) for its ``stamp``: the hgobs
version, the rules digest (``hgobs.diagnosis.stamp.RULES_DIGEST``) and a check value of its
fingerprint key (the keyed fingerprint of a fixed text under ``HGOBS_FINGERPRINT_KEY``, None
without one: it says whether two keys are the same without giving either). A worker whose stamp
is not the client's is refused with ``ConfigError`` naming it and what differs; the key itself
never leaves a process.
"""

from __future__ import annotations

from typing import Any

from hgobs.errors import ConfigError

__all__ = ["KEY_CHECK_TEXT", "check_workers", "stamp"]

KEY_CHECK_TEXT = "hgobs cluster: fingerprint key check"


def stamp(key: bytes | None = None, *, from_env: bool = True) -> tuple[str, str, str | None]:
    """``(hgobs version, rules digest, key check)`` of this process; the key is ``key``, or
    with ``from_env`` and no ``key`` this process's ``fingerprint_key_setting``."""
    from hgobs import __version__
    from hgobs.config import fingerprint_key_setting
    from hgobs.diagnosis.stamp import RULES_DIGEST
    from hgobs.redaction import Fingerprinter

    if key is None and from_env:
        key = fingerprint_key_setting(None)
    return __version__, RULES_DIGEST, Fingerprinter(key)(KEY_CHECK_TEXT) if key else None


def check_workers(client: Any, key: bytes | None, option: str) -> int:
    """Compare every worker's ``stamp`` with the client's (under the run's ``key``); returns
    the number of workers. Raises ``ConfigError`` (``option``: ``--workers`` or
    ``--scheduler``) when there is none or one differs."""
    mine = stamp(key, from_env=False)
    try:
        theirs = client.run(stamp)
    except Exception as exc:  # a worker without hgobs cannot even load the question
        raise ConfigError(option, f"the workers cannot run hgobs ({type(exc).__name__}): "
                                  "install hgobs[analyze,dask] on every worker") from None
    if not theirs:
        raise ConfigError(option, "the cluster has no worker")
    for address, (version, rules, check) in sorted(theirs.items()):
        if version != mine[0] or rules != mine[1]:
            raise ConfigError(option, f"worker {address} runs hgobs {version} (rules {rules}), "
                                      f"this client hgobs {mine[0]} (rules {mine[1]}): install "
                                      "the same hgobs on every worker")
        if check != mine[2]:
            what = ("a different HGOBS_FINGERPRINT_KEY from this run's" if check and mine[2]
                    else "no HGOBS_FINGERPRINT_KEY, this run has one" if mine[2]
                    else "an HGOBS_FINGERPRINT_KEY, this run has none")
            raise ConfigError(option, f"worker {address} has {what}: set the same key in the "
                                      "environment of the client and of every worker")
    return len(theirs)
