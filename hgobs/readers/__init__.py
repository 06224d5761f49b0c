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
from typing import IO

from hgobs.readers import jsonl
from hgobs.readers.jsonl import Item

__all__ = ["FOLDER_SUFFIXES", "Item", "expand", "read_paths"]

FOLDER_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
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
    raw: IO[bytes] = open(name, "rb")  # noqa: SIM115 - closed by the caller
    head = raw.read(2)
    raw.seek(0)
    if head == b"\x1f\x8b":
        return gzip.open(raw, "rb")  # type: ignore[return-value]
    return raw


def read_file(name: str) -> Iterator[Item]:
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
        if jsonl.sniff(head):
            try:
                yield from jsonl.read(stream, name)
            except (OSError, EOFError) as exc:
                yield Item(f"{name}:?", reason=f"file ends early ({type(exc).__name__})")
            return
        yield Item(f"{name}:1", reason="not a recognised log format")
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def read_paths(paths: Iterable[str]) -> Iterator[Item]:
    """Items of every input, in order. Raises ``FileNotFoundError`` for a missing path."""
    for name in expand(paths):
        yield from read_file(name)
