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

from hgobs.readers import curl, har, jsonl, textlog
from hgobs.readers.base import Item, ReadContext

__all__ = ["FOLDER_SUFFIXES", "READERS", "Item", "ReadContext", "expand", "read_paths"]

READERS: tuple[Any, ...] = (jsonl, har, curl, textlog)
"""Reader modules in the order their ``sniff`` is tried."""

FOLDER_SUFFIXES = tuple(
    ext + gz for ext in (".jsonl", ".ndjson", ".json", ".har", ".log", ".txt") for gz in ("", ".gz"))
"""Files taken from a folder; files named explicitly are sniffed whatever their name."""
SNIFF_BYTES = 4096


def expand(paths: Iterable[str]) -> Iterator[str]:
    """Each input path as files: folders walked (sorted), globs expanded, ``-`` kept.

    Raises ``FileNotFoundError`` naming a path that matches nothing.
    """
    for spec in paths:
        if spec == "-":
            yield spec
            continue
        path = Path(spec)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.name.endswith(FOLDER_SUFFIXES):
                    yield str(child)
        elif path.is_file():
            yield spec
        else:
            matches = sorted(glob.glob(spec, recursive=True))
            if not matches:
                raise FileNotFoundError(spec)
            yield from expand(matches)


def _open(name: str) -> IO[bytes]:
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


def read_file(name: str, ctx: ReadContext) -> Iterator[Item]:
    """Items of one file (or ``-``), format detected from its first bytes."""
    try:
        stream = _open(name)
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
            yield Item(f"{name}:1", reason="not a recognised log format")
            return
        try:
            yield from reader.read(stream, name, ctx)
        except (OSError, EOFError) as exc:
            yield Item(f"{name}:?", reason=f"file ends early ({type(exc).__name__})")
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def read_paths(paths: Iterable[str], ctx: ReadContext | None = None) -> Iterator[Item]:
    """Items of every input, in order. Raises ``FileNotFoundError`` for a missing path."""
    context = ctx or ReadContext()
    for name in expand(paths):
        yield from read_file(name, context)
