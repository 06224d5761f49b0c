"""A folder's manifest (``hgobs-folder.toml``): what the folder holds, and which files are no logs.

A folder of logs may say what it is and which of its files a folder walk should pass over
without a word (an index, a summary), in a file called ``MANIFEST`` at its top::

    note = "Synthetic data: recorded against the local emulator, not a real service."
    not_logs = ["scenarios.json"]      # names relative to the folder ("*" and "?" allowed)

``hgobs.readers.expand`` reads it when it walks a folder: the files ``not_logs`` names are not
read and not reported as left out; the ``note`` (at most ``MAX_NOTE`` characters, one line) is
given to the caller (``hgobs analyze`` prints it). A manifest that cannot be read or has the
wrong shape is ignored, with its reason in place of the note: it never stops a run.
"""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

MANIFEST = "hgobs-folder.toml"
"""The manifest's file name, at the top of the folder it describes."""
MAX_BYTES = 64 << 10
"""Longest manifest read (bytes)."""
MAX_NOTE = 300
"""Longest note kept (characters)."""


@dataclass(frozen=True)
class Manifest:
    """A folder's manifest: its ``note`` (None when it has none) and the ``not_logs`` patterns
    (names relative to the folder, ``fnmatch`` patterns matched against the path with ``/``)."""

    note: str | None = None
    not_logs: tuple[str, ...] = ()

    def passes_over(self, relative: str) -> bool:
        """True when the file at ``relative`` (to the folder, ``/``-separated) is no log."""
        return any(fnmatch.fnmatchcase(relative, pattern) for pattern in self.not_logs)


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest of ``folder``, or None when it has none. Never raises: a manifest that
    cannot be read or parsed, or is of the wrong shape, gives a note saying so."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            return Manifest(note=f"{MANIFEST} ignored: longer than {MAX_BYTES} bytes")
        data = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return Manifest(note=f"{MANIFEST} ignored: cannot be read ({type(exc).__name__})")
    note, not_logs = data.get("note"), data.get("not_logs", [])
    if (note is not None and not isinstance(note, str)) or not isinstance(not_logs, list) \
            or not all(isinstance(p, str) for p in not_logs):
        return Manifest(note=f"{MANIFEST} ignored: 'note' must be text and 'not_logs' a list "
                             "of file names")
    text = " ".join(note.split())[:MAX_NOTE] if note else None
    return Manifest(note=text or None, not_logs=tuple(not_logs))
