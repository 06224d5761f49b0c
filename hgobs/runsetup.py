"""What a run of the analyzer reads and judges with, shared by ``hgobs.api`` and ``hgobs.live``.

One definition each of: the readers' context for a run's options (``read_context``), the
client id's keyed fingerprint (``client_fingerprint``) and the check of it against the
records' (``check_client``), whether verdicts stamped at capture may be kept (``trusting``),
and what a run without a report does with the judge's notices (``warn_notice``); with the
warnings they raise. ``hgobs.api`` re-exports ``AnalysisWarning`` and
``ClientIdMismatchWarning`` (their public home) and keeps the functions under its former
private names.
Needs the ``analyze`` extra (through ``hgobs.reports``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from hgobs.analysis.state import UNKNOWN
from hgobs.config import fingerprint_key_setting, profile_setting
from hgobs.profiles import Profile, ProfileSet, profile_from_token_urls
from hgobs.readers import ReadContext
from hgobs.redaction import Fingerprinter
from hgobs.reports import counted


class AnalysisWarning(UserWarning):
    """Something about a run the caller should know that does not stop it: files in a folder
    that are not logs (left out), a client id that cannot be compared with the records.
    ``said_as``: what the command line writes before its message on standard error."""

    said_as = "hgobs: "


class ClientIdMismatchWarning(AnalysisWarning):
    """The client id's fingerprint is none of the records' ``client.fp``: the key or the
    client id is not the one the records were made with (iss/sub verdicts may be wrong)."""

    said_as = "hgobs: warning: "


def token_urls_of(token_urls: Iterable[str]) -> tuple[str, ...]:
    """``token_urls`` as a tuple (one URL given as a string is one URL, not its letters)."""
    return (token_urls,) if isinstance(token_urls, str) else tuple(token_urls)


def read_context(profile: str | Profile | ProfileSet | None, token_urls: Iterable[str],
                 client_id: str | None, fingerprint_key: str | bytes | None) -> ReadContext:
    """What the readers need: the profile (``token_urls`` first, else ``profile``: a
    ``Profile``, a name or file, or ``HGOBS_PROFILE``), the client id and the fingerprinter
    (under the analysis key, ``fingerprint_key`` or ``HGOBS_FINGERPRINT_KEY``, else a random
    one); lean items (``ReadContext.lean``). Warns (``AnalysisWarning``) that a client id
    without a key is ignored. Raises ``ProfileError``/``ConfigError``."""
    urls = token_urls_of(token_urls)
    prof: Profile | ProfileSet
    if urls:
        prof = profile_from_token_urls(urls)
    elif isinstance(profile, (Profile, ProfileSet)):
        prof = profile
    else:
        prof = profile_setting(profile, auto=True)
    key = fingerprint_key_setting(fingerprint_key)
    if client_id and key is None:
        warnings.warn("--client-id needs HGOBS_FINGERPRINT_KEY (the key the records were made "
                      "with) to compare fingerprints; ignoring it", AnalysisWarning,
                      stacklevel=3)
    return ReadContext(profile=prof, client_id=client_id, fingerprint=Fingerprinter(key),
                       lean=True)  # the report and the verdicts read the analysis's fields


def client_fingerprint(client_id: str | None, key: str | bytes | None) -> str | None:
    """The keyed fingerprint of ``client_id`` under the analysis key (``key``, else
    ``HGOBS_FINGERPRINT_KEY``); None without a client id or a key."""
    secret = fingerprint_key_setting(key)
    if not client_id or secret is None:
        return None
    return Fingerprinter(secret)(client_id)


def trusting(client_id: str | None, rejudge: bool) -> bool:
    """Whether a verdict capture stamped under these rules may be kept (``judge``'s
    ``trust``): not with ``rejudge``, nor with a client id (the judge then adds facts the stamp
    did not see). A profile or token URLs need no exception: the stamp names the profile it was
    made under (``hgobs.diagnosis.stamp.stamp_matches``)."""
    return not (rejudge or client_id)


def warn_notice(name: str, count: int) -> None:
    """What a run without a report (``classify``, live or not) does with a notice the report
    would carry: the history cap's as an ``AnalysisWarning`` (late records are warned about
    per file already)."""
    if name == "history_overflowed":
        warnings.warn(f"{counted(count, 'history entry', 'history entries')} dropped by the "
                      "memory cap before their horizon: a verdict that needs history (reuse, "
                      "token age) may be missed", AnalysisWarning, stacklevel=2)


def check_client(client_fp: str | None, seen: Iterable[Any]) -> None:
    """Warn (``ClientIdMismatchWarning``) when a client id was given (``client_fp``, its
    fingerprint) and the records carry client fingerprints (``seen``; for ``analyze`` those of
    the report window) of which none is ``client_fp``. The verdicts are left as they are."""
    fps = {str(v) for v in seen if v is not None and v != UNKNOWN}
    if client_fp is None or not fps or client_fp in fps:
        return
    warnings.warn(f"the fingerprint of --client-id under HGOBS_FINGERPRINT_KEY is none of the "
                  f"{counted(len(fps), 'client fingerprint')} (client.fp) of the records: the "
                  "key or the client id is not the one the records were made with, so the "
                  "iss/sub judgements against the client id (such as invalid_client_id) may be "
                  "wrong", ClientIdMismatchWarning, stacklevel=3)
