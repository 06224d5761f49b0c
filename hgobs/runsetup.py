"""What a run of the analyzer reads and judges with, shared by ``hgobs.api`` and ``hgobs.live``.

One definition each of: the readers' context for a run's options (``read_context``), the
client id's keyed fingerprint (``client_fingerprint``) and the check of it against the
records' (``check_client``), whether verdicts stamped at capture may be kept (``trusting``),
what a run without a report does with the judge's notices (``warn_notice``), and the
warnings of what reading found (``read_warnings``); with the warnings they raise (used by
``hgobs.cluster`` too). ``hgobs.api`` re-exports ``AnalysisWarning`` and
``ClientIdMismatchWarning`` (their public home) and keeps the functions under its former
private names.
Needs the ``analyze`` extra (through ``hgobs.reports``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

from hgobs.analysis.state import UNKNOWN
from hgobs.config import fingerprint_key_setting, profile_setting
from hgobs.profiles import Profile, ProfileSet, profile_from_token_urls
from hgobs.readers import ReadContext
from hgobs.redaction import Fingerprinter
from hgobs.reports import counted
from hgobs.secretshape import is_secret_shaped


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


def _plain_name(name: str) -> bool:
    """A profile name safe to repeat: letters, digits, ``._-``, at most 40, not secret-shaped
    (a record's ``profile`` field may hold anything)."""
    return 0 < len(name) <= 40 and all(c.isascii() and (c.isalnum() or c in "._-") for c in name) \
        and not is_secret_shaped(name)


def read_warnings(ctx: ReadContext, ignored: list[str],
                  on_notice: Callable[[str, int], None] | None) -> None:
    """The ``AnalysisWarning``s of what reading found, said when a run ends (``hgobs.api``,
    ``hgobs.cluster``): files read once, records out of time order, full reorder buffers,
    profiles not built in, folder notes, files left out; ``on_notice`` gets the late records'
    count the report carries."""
    if ctx.repeated:
        warnings.warn(f"read once: {counted(len(ctx.repeated), 'input')} naming a file already "
                      f"read ({', '.join(ctx.repeated[:3])}{' ...' if len(ctx.repeated) > 3 else ''})",
                      AnalysisWarning, stacklevel=4)
    if ctx.late_records and on_notice is not None:
        on_notice("late_records", ctx.late_records)
    for name, late in sorted(ctx.late.items())[:5]:
        warnings.warn(f"{counted(late, 'record')} in {name} came more than {ctx.lateness_s:g} s "
                      "behind a later time read before them (judged where they stand)",
                      AnalysisWarning, stacklevel=4)
    if ctx.reorder_full:
        warnings.warn(f"the reorder buffer of {counted(len(ctx.reorder_full), 'file')} filled "
                      f"({ctx.max_buffered} records): the earliest were judged then, and later "
                      "records before them count as out of time order", AnalysisWarning,
                      stacklevel=4)
    if len(ctx.late) > 5:
        warnings.warn(f"... and {counted(len(ctx.late) - 5, 'more file')} with records out of "
                      "time order", AnalysisWarning, stacklevel=4)
    if ctx.profiles.unknown_names and ctx.profiles.unknown is not None:
        shown = sorted(n for n in ctx.profiles.unknown_names if _plain_name(n))
        warnings.warn(f"records name {counted(len(ctx.profiles.unknown_names), 'profile')} that "
                      f"is not built in ({', '.join(shown) or 'names not shown'}): judged under "
                      f"{ctx.profiles.unknown.name}; pass --profile FILE (the profile TOML they "
                      "were captured with) to judge them under it", AnalysisWarning, stacklevel=4)
    for folder, note in sorted(ctx.notes.items()):  # a folder's own word on what it holds
        warnings.warn(f"about {folder}: {note}", AnalysisWarning, stacklevel=4)
    if ignored:
        warnings.warn(f"left out {counted(len(ignored), 'file')} found in folders that are not "
                      f"logs: {', '.join(ignored[:5])}{' ...' if len(ignored) > 5 else ''}",
                      AnalysisWarning, stacklevel=4)
