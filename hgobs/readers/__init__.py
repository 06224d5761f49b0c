"""Readers: input files -> auth attempt records, one module per format.

``read_paths`` expands files, folders (recursively), globs and ``-`` (stdin), opens ``.gz``
transparently, detects each file's format from its first bytes, and yields ``Item`` objects in
input order. A file whose format is not recognised yields one skipped item naming it, so nothing
read is silently dropped.
"""

from __future__ import annotations

import glob
import gzip
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from hgobs.readers import curl, har, jaeger, jsonl, otlp, textlog, zipkin
from hgobs.readers.base import Item, ReadContext

__all__ = ["FOLDER_SUFFIXES", "READERS", "SNIFF_BYTES", "Item", "ReadContext", "detect",
           "expand", "open_input", "read_paths"]

READERS: tuple[Any, ...] = (jsonl, otlp, har, jaeger, zipkin, curl, textlog)
"""Reader modules in the order their ``sniff`` is tried."""

FOLDER_SUFFIXES = tuple(
    ext + gz for ext in (".jsonl", ".ndjson", ".json", ".har", ".log", ".txt") for gz in ("", ".gz"))
"""Files taken from a folder; files named explicitly are sniffed whatever their name."""
SNIFF_BYTES = 4096


def expand(paths: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """Each input path as ``(file, named)``: folders walked (sorted), globs expanded, ``-`` kept.

    ``named`` is False for files found by walking a folder. Raises ``FileNotFoundError``
    naming a path that matches nothing.
    """
    for spec in paths:
        if spec == "-":
            yield spec, True
            continue
        path = Path(spec)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.name.endswith(FOLDER_SUFFIXES):
                    yield str(child), False
        elif path.is_file():
            yield spec, True
        else:
            matches = sorted(glob.glob(spec, recursive=True))
            if not matches:
                raise FileNotFoundError(spec)
            for match in matches:
                yield from ((f, True) for f, _ in expand([match]))


def open_input(name: str) -> IO[bytes]:
    """``name`` opened for binary reading (``-``: standard input), ``.gz`` decompressed."""
    if name == "-":
        return sys.stdin.buffer
    raw: IO[bytes] = open(name, "rb")
    head = raw.read(2)
    raw.seek(0)
    if head == b"\x1f\x8b":
        return gzip.open(raw, "rb")  # type: ignore[return-value]
    return raw


def detect(head: bytes, name: str) -> Any | None:
    """The reader module for a file whose first bytes are ``head``, or None."""
    for reader in READERS:
        if reader.sniff(head, name):
            return reader
    return None


def read_file(name: str, ctx: ReadContext, ignored: list[str] | None = None) -> Iterator[Item]:
    """Items of one file (or ``-``), format detected from its first bytes.

    A file in no known format is one skipped item; but when ``ignored`` is a list, its name is
    appended there instead (files met while walking a folder, such as an index or a README,
    hold no records to account for).
    """
    try:
        stream = open_input(name)
    except OSError as exc:
        yield Item(f"{name}:0", reason=f"cannot open file ({exc.strerror or type(exc).__name__})")
        return
    try:
        try:
            head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]  # type: ignore[attr-defined]
        except (OSError, EOFError) as exc:
            yield Item(f"{name}:0", reason=f"cannot read file ({type(exc).__name__})")
            return
        if not head.strip():
            return
        reader = detect(head, name)
        if reader is None:
            if ignored is not None:
                ignored.append(name)
            else:
                yield Item(f"{name}:1", reason="not a recognised log format")
            return
        try:
            yield from reader.read(stream, name, ctx)
        except (OSError, EOFError) as exc:
            yield Item(f"{name}:?", reason=f"file ends early ({type(exc).__name__})")
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def read_paths(paths: Iterable[str], ctx: ReadContext | None = None,
               ignored: list[str] | None = None) -> Iterator[Item]:
    """Items of every input, in order. Raises ``FileNotFoundError`` for a missing path.

    Files found in folders that are in no known format are appended to ``ignored`` (when given)
    rather than yielded as skipped items; files named explicitly always count.
    """
    context = ctx or ReadContext()
    for name, named in expand(paths):
        yield from read_file(name, context, None if named else ignored)
