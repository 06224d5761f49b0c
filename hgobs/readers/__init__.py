"""Readers: input files -> auth attempt records, one module per format.

``read_paths`` expands files, folders (recursively), globs and ``-`` (stdin), opens ``.gz``
transparently, detects each file's format from its first bytes (after any blank lines it
starts with, however many), and yields ``Item`` objects in time order across all inputs
(``hgobs.readers.merge``: ties by file, then line). A file whose format is not recognised
yields one skipped item naming it, so nothing read is silently dropped.
"""

from __future__ import annotations

import glob
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from hgobs.readers import (
    bunyan,
    curl,
    ecs,
    har,
    jaeger,
    jsonl,
    jsonlog,
    logfmt,
    otelconsole,
    otlp,
    pylog,
    textlog,
    zipkin,
)
from hgobs.readers.base import Item, ReadContext, Reader
from hgobs.readers.files import (
    READ_ERRORS,
    SNIFF_BYTES,
    ByteTally,
    open_input,
    past_banner,
    past_blank,
    read_error,
    sniffed_head,
)
from hgobs.readers.manifest import Manifest, read_manifest
from hgobs.readers.merge import item_time, merged

__all__ = ["BANNER", "FOLDER_SUFFIXES", "REGISTRY", "SNIFF_BYTES", "UNKNOWN_FORMAT", "Item",
           "ReadContext", "Reader", "detect", "detect_stream", "expand", "open_input", "read_paths",
           "sniffed_head", "taken_from_folder", "unique_files"]

REGISTRY: tuple[Reader, ...] = (jsonl, otlp, har, jaeger, zipkin, ecs, bunyan, otelconsole,
                                jsonlog, curl, pylog, logfmt, textlog)
"""Every reader, once, in the order their ``sniff`` is tried (the first that says yes reads
the file): the strict JSON shapes first (hgobs's own, then trace formats, then application
logs: ECS, Bunyan/pino, the console exporters, and last any JSON object per line), then the
text shapes (``curl -v``, Python logs with httpx lines or tracebacks, logfmt, plain text)."""

LOG_EXTENSIONS = (".jsonl", ".ndjson", ".json", ".har", ".log", ".txt")
"""The extensions of files a folder walk reads (``FOLDER_SUFFIXES``)."""
FOLDER_SUFFIXES = tuple(ext + gz for ext in LOG_EXTENSIONS for gz in ("", ".gz"))
"""Files taken from a folder (in any letter case, and rotated: see ``taken_from_folder``);
files named explicitly are sniffed whatever their name."""
_ROTATED = re.compile(r"(?:\.gz|[.-]\d{1,10}|[.-]\d{4}-\d{2}-\d{2}(?:[T_.-]\d{2}(?:[:.-]?\d{2}){0,2})?)$",
                      re.IGNORECASE)
"""A rotation suffix: ``.gz``, ``.1``, ``-20251125``, ``.2025-11-25``, ``-2025-11-25T13``."""


def taken_from_folder(file_name: str) -> bool:
    """True when a file called ``file_name`` (no folder) is read when its folder is: its name,
    less rotation suffixes (``.1``, ``.2.gz``, ``-20251125``, logrotate's and Python's
    ``RotatingFileHandler``'s and ``TimedRotatingFileHandler``'s), ends with one of
    ``FOLDER_SUFFIXES`` in any letter case. Its content then decides its format."""
    name = file_name.lower()
    for _ in range(4):
        if name.endswith(FOLDER_SUFFIXES):
            return True
        stripped = _ROTATED.sub("", name)
        if stripped == name:
            return False
        name = stripped
    return name.endswith(FOLDER_SUFFIXES)


def _log_like(file_name: str) -> bool:
    """True when ``file_name`` holds one of ``LOG_EXTENSIONS`` anywhere (``x.jsonl~``), ``.txt``
    aside (a folder's notes are no left-out log)."""
    name = file_name.lower()
    return any(ext in name for ext in LOG_EXTENSIONS if ext != ".txt")


def _in_time_order(items: Iterable[Item]) -> list[Item]:
    """A whole document's items sorted by time (stable; an item without a time keeps the time
    of the item before it, so it stays beside it)."""
    keyed, last = [], float("-inf")
    for item in items:
        when = item_time(item)
        last = last if when is None else when
        keyed.append((last, item))
    keyed.sort(key=lambda pair: pair[0])
    return [item for _, item in keyed]


def _manifests(root: Path, child: Path, cache: dict[Path, Manifest | None]
               ) -> Iterator[tuple[Path, Manifest]]:
    """The manifests (``hgobs.readers.manifest``) of the folders from ``child``'s up to
    ``root``, nearest first, each read once per walk (``cache``)."""
    folder = child.parent
    while True:
        if folder not in cache:
            cache[folder] = read_manifest(folder)
        found = cache[folder]
        if found is not None:
            yield folder, found
        if folder == root or root not in folder.parents:
            return
        folder = folder.parent


def expand(paths: Iterable[str], left_out: list[str] | None = None,
           notes: dict[str, str] | None = None) -> Iterator[tuple[str, bool]]:
    """Each input path as ``(file, named)``: folders walked (sorted), globs expanded, ``-`` kept.

    ``named`` is False for files found by walking a folder; a file in a folder whose name is no
    log's (``taken_from_folder``) is not read, and is appended to ``left_out`` (when given) if
    its name holds a log's suffix (``hgobs.jsonl.bak``, ``app.log.xz``: a log hgobs would
    otherwise leave out without a word; a ``README.md`` is not listed). A folder's manifest
    (``hgobs-folder.toml``, ``hgobs.readers.manifest``) names files that are no logs (passed
    over without a word) and a note, put in ``notes`` (folder -> note) when given.
    Raises ``FileNotFoundError`` naming a path that matches nothing.
    """
    for spec in paths:
        if spec == "-":
            yield spec, True
            continue
        path = Path(spec)
        if path.is_dir():
            cache: dict[Path, Manifest | None] = {}
            for child in sorted(path.rglob("*")):
                if not child.is_file():
                    continue
                manifests = list(_manifests(path, child, cache))
                if any(m.passes_over(child.relative_to(folder).as_posix())
                       for folder, m in manifests):
                    continue
                if taken_from_folder(child.name):
                    yield str(child), False
                elif left_out is not None and _log_like(child.name):
                    left_out.append(str(child))
            if notes is not None:
                notes.update((str(folder), m.note) for folder, m in sorted(cache.items())
                             if m is not None and m.note)
        elif path.is_file() or (path.exists() and not glob.has_magic(spec)):
            yield spec, True  # a file, or a pipe or device named as it is (/dev/stdin, <(...))
        else:
            matches = sorted(glob.glob(spec, recursive=True))
            if not matches:
                raise FileNotFoundError(spec)
            for match in matches:
                yield from ((f, True) for f, _ in expand([match], None, notes))


UNKNOWN_FORMAT = ("not a log format hgobs reads (it reads " + ", ".join(
    reader.NAME for reader in REGISTRY) + "; the README's 'Analyze records' says what each "
    "looks like, and the format is told from the file's first lines: compare them, e.g. "
    "`head -n 3 FILE`, with those shapes)")
"""The skip reason of a file no reader knows: the formats hgobs reads, by name, and how to
check the file against them."""
BANNER = "a line before the first one in a format hgobs reads (a banner or stack trace?)"
"""The skip reason of each line of a head no reader knows, before one it knows."""


def _sniffed(head: bytes, name: str = "") -> Reader | None:
    """The first registered reader whose ``sniff`` knows ``head``, or None."""
    return next((reader for reader in REGISTRY if reader.sniff(head, name)), None)


def detect(head: bytes, name: str) -> Reader | None:
    """The reader module for a file whose first bytes are ``head``, or None. When no reader
    knows it, a file with a later line naming the hgobs schema is JSON Lines whose first line
    is damaged: that line is skipped with its reason, the rest read."""
    found = _sniffed(head, name)
    return found if found is not None or not jsonl.sniff_damaged(head) else jsonl


def read_file(name: str, ctx: ReadContext, ignored: list[str] | None = None,
              opener: Callable[[str, ByteTally], IO[bytes]] = open_input) -> Iterator[Item]:
    """Items of one file (or ``-``), format detected from its first bytes.

    A file in no known format is one skipped item naming the formats hgobs reads; but when
    ``ignored`` is a list, its name is appended there instead (files met while walking a
    folder, such as an index or a README, hold no records to account for). A file that starts
    with more blank lines than the first ``SNIFF_BYTES`` hold is detected from its first line
    that is not blank; one that starts with lines no reader knows (a banner, a stack trace)
    from the first line one knows, each line before it one skip (``hgobs.readers.files``).
    ``opener(name, tally)`` opens it (``open_input``; ``hgobs.cluster`` opens objects in
    storage with ``fsspec``).
    """
    try:
        stream = opener(name, ctx.tally)
    except READ_ERRORS as exc:
        yield Item(f"{name}:0", reason=f"cannot open file ({read_error(exc)})")
        return
    try:
        try:
            head, reader, banner, source = detect_stream(stream, name)
        except READ_ERRORS as exc:
            yield Item(f"{name}:0", reason=f"cannot read file ({read_error(exc)})")
            return
        if not head:
            return
        if reader is None:
            if ignored is not None:
                ignored.append(name)
            else:
                yield Item(f"{name}:1", reason=UNKNOWN_FORMAT)
            return
        for number in banner:
            yield Item(f"{name}:{number}", reason=BANNER)
        try:
            items = reader.read(source, name, ctx)
            yield from _in_time_order(items) if reader.WHOLE_DOCUMENT else items
        except READ_ERRORS as exc:
            yield Item(f"{name}:?", reason=f"file ends early ({read_error(exc)})")
    finally:
        if name != "-":  # standard input stays open
            stream.close()


def detect_stream(stream: IO[bytes], name: str
                  ) -> tuple[bytes, Reader | None, list[int], IO[bytes]]:
    """Format detection of one file, the one rule for ``read_file`` and the live followers
    (``hgobs.live.follow``): ``(head, reader, banner, source)`` for ``stream`` (a buffered
    binary stream at the file's start). ``head``: the first ``SNIFF_BYTES`` from the first
    line that is not blank (empty when every line is blank); ``reader``: the reader ``detect``
    names for it, else the first that knows a later line start (``past_banner``), else None;
    ``banner``: the numbers of the lines before that one (each one skip); ``source``: the
    stream to hand the reader. Raises what reading ``stream`` raises (``READ_ERRORS``)."""
    source = stream
    banner: list[int] = []
    head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]  # type: ignore[attr-defined]
    if not head.strip():
        head, source = past_blank(stream)
    reader = detect(head, name) if head else None
    if head and reader is None:
        found = past_banner(source, _sniffed)
        if found is not None:
            reader, banner, source = found
    return head, reader, banner, source


def unique_files(paths: Iterable[str], left_out: list[str] | None, notes: dict[str, str],
                 repeated: list[str], seen: set[object] | None = None
                 ) -> Iterator[tuple[str, bool, int | None]]:
    """Each file of ``paths`` once, as ``expand`` finds them: ``(name, named, size)``, where
    ``size`` is a regular file's size in bytes (0 when it cannot be looked at: its read says
    why) and None for standard input, a pipe or a device. A file reached twice (named twice,
    or named and found in a folder, by any path: the same device and inode; ``seen`` holds
    the keys met so far, to share across calls) is given once and its later name appended
    to ``repeated``. ``left_out`` and ``notes`` as for ``expand``."""
    seen = set() if seen is None else seen
    for name, named in expand(paths, left_out, notes):
        try:
            info = os.stat(name) if name != "-" else None
        except OSError:  # unreadable: read_file says why
            yield name, named, 0
            continue
        if info is None or not stat.S_ISREG(info.st_mode):
            yield name, named, None
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen:
            repeated.append(name)
            continue
        seen.add(key)
        yield name, named, info.st_size


def read_paths(paths: Iterable[str], ctx: ReadContext | None = None,
               ignored: list[str] | None = None) -> Iterator[Item]:
    """Items of every input, merged in time order (``hgobs.readers.merge``: within
    ``ctx.lateness_s`` per file; records later than that are counted in ``ctx.late``). Raises
    ``FileNotFoundError`` for a missing path, before any item is yielded.

    Files found in folders that are in no known format, or whose names are no log's, are
    appended to ``ignored`` (when given) rather than yielded as skipped items; files named
    explicitly always count. A file reached
    twice is read once, and the later path listed in ``ctx.repeated`` (``unique_files``): its
    records would otherwise count twice and look like reused assertions. The notes of the
    manifests of folders walked are put in ``ctx.notes`` (``expand``), and the size of the
    regular files to read in ``ctx.tally.total`` (None once an input is not one: standard
    input, a pipe).
    """
    context = ctx or ReadContext()
    files = []
    tally = context.tally
    for name, named, size in unique_files(paths, ignored, context.notes, context.repeated):
        tally.total = None if tally.total is None or size is None else tally.total + size
        files.append((name, None if named else ignored))
    yield from merged(files, context, lambda name, listed: read_file(name, context, listed))
