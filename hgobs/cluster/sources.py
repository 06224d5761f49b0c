"""Where a cluster run's inputs are: local paths and fsspec URLs listed, opened, read by range.

A path with a scheme (``s3://``, ``gs://``, ``abfs://``, ``file://``, ``memory://``: two or
more letters before ``://``) is an fsspec URL: listed and opened through ``fsspec`` with the
run's storage options (credentials otherwise come from the environment, as each backend
documents). Any other path is local and goes the readers' own way (``hgobs.readers.expand``),
so local reading keeps its speed. Storage options are handed to ``fsspec`` and never written
anywhere: no message here quotes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from hgobs.errors import ConfigError
from hgobs.readers import taken_from_folder, unique_files
from hgobs.readers.files import ByteTally, open_input, open_raw

__all__ = ["Source", "is_url", "listed", "open_source", "read_range"]


@dataclass(frozen=True)
class Source:
    """One input file: ``name`` (a local path or a URL, what sources say: ``<name>:<line>``),
    ``size`` in bytes, ``named`` (False when found by walking a folder or prefix)."""

    name: str
    size: int
    named: bool


def is_url(path: str) -> bool:
    """True when ``path`` has a scheme of two or more letters (``s3://``; ``C:\\`` is none)."""
    scheme, sep, _ = path.partition("://")
    return bool(sep) and len(scheme) > 1 and scheme.replace("+", "").replace("-", "").isalnum()


def _filesystem(url: str, options: Mapping[str, Any]) -> tuple[Any, str]:
    import fsspec.core  # the dask extra's

    return fsspec.core.url_to_fs(url, **dict(options))


def listed(paths: Iterable[str], options: Mapping[str, Any], left_out: list[str],
           notes: dict[str, str], repeated: list[str] | None = None) -> list[Source]:
    """Each input file once, in the order the readers take them (folders and prefixes walked
    sorted, globs expanded). Files of a folder whose names are no log's go to ``left_out``
    (``hgobs.readers.expand``'s rule), folder notes to ``notes``, a later name of a file
    already listed to ``repeated``. Raises ``FileNotFoundError`` naming a path that matches
    nothing, ``ConfigError`` for standard input (``-``)."""
    out: list[Source] = []
    seen: set[Any] = set()
    said: list[str] = [] if repeated is None else repeated
    for spec in paths:
        if spec == "-":
            raise ConfigError("--workers", "standard input cannot be read by a cluster's "
                                           "workers: name files or URLs")
        if not is_url(spec):
            out += _listed_local(spec, left_out, notes, seen, said)
            continue
        for source in _listed_url(spec, options, left_out):
            if source.name not in seen:
                seen.add(source.name)
                out.append(source)
            else:
                said.append(source.name)
    return out


def _listed_local(spec: str, left_out: list[str], notes: dict[str, str], seen: set[Any],
                  repeated: list[str]) -> list[Source]:
    return [Source(name, size or 0, named)
            for name, named, size in unique_files([spec], left_out, notes, repeated, seen)]


def _listed_url(spec: str, options: Mapping[str, Any], left_out: list[str]) -> list[Source]:
    fs, path = _filesystem(spec, options)
    magic = any(c in path for c in "*?[")
    if magic:
        entries = [(p, True) for p in sorted(fs.glob(path))]
    elif fs.isdir(path):
        entries = [(p, False) for p in sorted(fs.find(path))]
    elif fs.exists(path):
        entries = [(path, True)]
    else:
        raise FileNotFoundError(spec)
    if magic and not entries:
        raise FileNotFoundError(spec)
    out = []
    for p, named in entries:
        url = fs.unstrip_protocol(p)
        if not named and not taken_from_folder(p.rpartition("/")[2]):
            left_out.append(url)
            continue
        try:
            size = int(fs.size(p) or 0)
        except OSError:  # unreadable: the worker's read says why
            size = 0
        out.append(Source(url, size, named))
    return out


def open_source(name: str, options: Mapping[str, Any], tally: ByteTally | None = None
                ) -> IO[bytes]:
    """``name`` opened as ``hgobs.readers.files.open_input`` opens a local file (gzip, byte
    order marks, line ends made plain), through fsspec when it is a URL. Raises ``OSError``."""
    if not is_url(name):
        return open_input(name, tally)
    fs, path = _filesystem(name, options)
    return open_raw(fs.open(path, "rb"), tally)


def read_range(name: str, options: Mapping[str, Any], offset: int, length: int) -> bytes:
    """The lines of ``name`` that start in ``[offset, offset + length)``: from the first line
    start after ``offset`` (0: the file's start) to the end of the line holding byte
    ``offset + length`` (``fsspec.utils.read_block`` with an LF delimiter), so ranges cut at
    the same offsets tile the file. Raises ``OSError``."""
    from fsspec.utils import read_block

    if is_url(name):
        fs, path = _filesystem(name, options)
        handle: IO[bytes] = fs.open(path, "rb")
    else:
        handle = open(name, "rb")
    with handle:
        return read_block(handle, offset, length, delimiter=b"\n")
