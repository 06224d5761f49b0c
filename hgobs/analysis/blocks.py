"""Reading hgobs JSON Lines in blocks for the columnar engine (``hgobs.analysis.columnar``).

A file is cut into blocks of about ``block_bytes`` at line ends; polars parses each block into
the columns the analysis needs (``COLUMNS``), or the block is marked for the exact line-by-line
reader (``_parse``). This module imports only polars and the light parts of hgobs, so the child
process that reads a large file ahead of the analysis (``_parsed_in_child``, running
``serve``) starts in a fraction of a second: it is a fresh interpreter that imports this module
alone, never the program that started it (so no ``if __name__ == "__main__":`` guard is needed
in a script that uses the engine).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from hgobs.analysis.classify import HISTORY_FIELDS
from hgobs.catalog import OK
from hgobs.diagnose import REFUSED_API_STATUSES, RULES_DIGEST
from hgobs.profiles import API_CALL, TOKEN_EXCHANGE
from hgobs.readers import jsonl, open_input
from hgobs.readers.jsonl import _SURROGATE_ESCAPE
from hgobs.schema import FIELDS_BY_NAME, SCHEMA_ID

log = logging.getLogger("hgobs")
AHEAD = 2
PROBE_BYTES = 1 << 20
"""The end of a block read first to find its last line end, so the block itself is read once,
exactly up to it."""
"""Blocks the child process parses ahead of the ones the analysis has taken."""
SHARED_MEMORY = "/dev/shm"
"""Where the child's frames are handed over (a memory file system), when the machine has it."""

_DTYPES: dict[str, Any] = {"str": pl.String, "float": pl.Float64, "int": pl.Int64,
                           "bool": pl.Boolean, "list[str]": pl.List(pl.String)}

REPORT_FIELDS = ("time", "endpoint.kind", "environment", "service.name", "client.fp",
                 "outcome", "category", "confidence", "fix", "evidence", "also", "group",
                 "diagnosis.rules", "diagnosis.profile", "assertion.aud_environment")
KEY_FIELDS = ("http.status", "assertion.source", "assertion.fp", "assertion.jti_fp",
              "assertion.iss_fp",
              "presented.fp", "issued.fp", "issued.expires_in", "trace_id", "span_id")
COLUMNS: dict[str, Any] = {"schema": pl.String, **{
    name: _DTYPES[FIELDS_BY_NAME[name].type]
    for name in (*REPORT_FIELDS, *KEY_FIELDS, *HISTORY_FIELDS)}}
"""The fields polars reads from each line, with their polars types (from ``hgobs.schema``)."""

_JSON_NON_STRING = r"^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|[\[{].*)$"
_STRINGS = [name for name, dtype in COLUMNS.items() if dtype == pl.String and name != "schema"]


def _coerced_exprs() -> list[pl.Expr]:
    exprs = []
    lists = [name for name, dtype in COLUMNS.items() if dtype == pl.List(pl.String)]
    for name in (*_STRINGS, *lists):
        value = pl.col(name).explode() if name in lists else pl.col(name)
        fingerprint_sized = value.str.len_bytes().is_in([16, 32])
        exprs.append(
            value.str.contains(r"^[\[{\-]").any() | value.is_in(["true", "false"]).any()
            | value.filter(~fingerprint_sized & value.str.contains(r"^[0-9]"))
            .str.contains(_JSON_NON_STRING).any())
    return exprs


_COERCED = _coerced_exprs()


def _coerced(frame: pl.DataFrame) -> bool:
    """True when a string column (or a list of strings) holds what polars makes of a JSON
    number, boolean, object or array: it turns them into their text, where the JSON Lines
    reader drops them as the wrong type (or ``str`` makes other text of them). Such a block
    is read line by line. A string value that merely looks like one of those costs speed,
    never correctness. A value of digits 16 or 32 bytes long (the length of fingerprints,
    trace and span ids) is taken as a string: a JSON number that polars writes with exactly
    16 or 32 digits (``1e15``) in a string field is the one such damage this engine reads
    differently from the streaming one."""
    return any(frame.select(_COERCED).row(0))


def _failing() -> pl.Expr:
    """``hgobs.diagnose.is_failure`` as a column: a token exchange without a 2xx status, or
    an API call refused (401, 403, 429) or answered 4xx/5xx; no status is a failure. (A test
    checks both agree on every status and kind.)"""
    status = pl.col("http.status")
    missing = status.is_null()
    api = pl.col("endpoint.kind") == API_CALL
    return pl.when(api).then(
        missing | status.is_in(sorted(REFUSED_API_STATUSES)) | (status >= 400)).otherwise(
        missing | ~((status >= 200) & (status < 300))).fill_null(True)


def _settled_ok() -> pl.Expr:
    """A success stamped by these rules whose status says it is one: judging it again could
    only say ``ok`` again, whatever its history facts."""
    return ((pl.col("diagnosis.rules") == RULES_DIGEST) & (pl.col("category") == OK)
            & ~_failing()).fill_null(False)


def _blocks(stream: Any, block_bytes: int) -> Iterator[bytes]:
    """The bytes of ``stream`` in blocks of about ``block_bytes``, each ending at a line end
    (a last line without one gets one). Read a megabyte at a time, so when reading fails (a
    compressed file that ends early) every whole line read before is still yielded, then the
    error raised, as the line-by-line reader would."""
    read = getattr(stream, "read1", stream.read)
    pending: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = read(1 << 20)
        except (OSError, EOFError):
            data = b"".join(pending)
            cut = data.rfind(b"\n")
            if cut >= 0:
                yield data[:cut + 1]
            raise
        if not chunk:
            break
        pending.append(chunk)
        size += len(chunk)
        if size >= block_bytes:
            data = b"".join(pending)
            cut = data.rfind(b"\n")
            if cut < 0:
                continue
            yield data[:cut + 1]
            pending, size = [data[cut + 1:]], len(data) - cut - 1
    data = b"".join(pending)
    if data:
        yield data if data.endswith(b"\n") else data + b"\n"


def _file_blocks(stream: Any, block_bytes: int) -> Iterator[tuple[bytes, int | None]]:
    """``_blocks`` of an open file, each with its offset in the file (None when the stream
    is not a plain file). A plain file is read a block at a time by positioned reads, each
    block cut at its last line end, so resident memory stays about one block whatever the
    file's size; a file cut short while it is read (a log rotated by copy and truncate) ends
    where it was cut, as it would for the line-by-line reader."""
    try:
        fd = stream.fileno()
        plain = isinstance(stream, io.BufferedReader) and os.fstat(fd).st_size > 0
    except (OSError, ValueError, io.UnsupportedOperation):
        plain = False
    if not plain:
        for data in _blocks(stream, block_bytes):
            yield data, None
        return
    start = 0
    probe = min(PROBE_BYTES, block_bytes)
    while True:
        end = start + block_bytes
        tail = os.pread(fd, probe, end - probe)
        line_end = tail.rfind(b"\n")
        if len(tail) == probe and line_end >= 0:  # the usual block: read once, up to its cut
            size = end - probe + line_end + 1 - start
            data = os.pread(fd, size, start)
            if len(data) == size:
                yield data, start
                start += size
                continue
        data = os.pread(fd, block_bytes, start)  # the last block, a long line, or a cut file
        if not data:
            return
        at_end = len(data) < block_bytes
        while not at_end and data.rfind(b"\n") < 0:  # a line longer than a block
            more = os.pread(fd, block_bytes, start + len(data))
            at_end = len(more) < block_bytes
            data += more
        if at_end:  # the rest of the file
            yield (data if data.endswith(b"\n") else data + b"\n"), start
            return
        cut = data.rfind(b"\n")
        yield data[:cut + 1], start
        start += cut + 1


def _parse(data: bytes, trust: bool, base: int | None = None) -> tuple[str, Any, int]:
    """One block parsed: ``("fast", frame, lines)`` when polars read it (``COLUMNS`` less
    ``schema``, plus ``_i``, each row's line index, and ``_raw``, the line itself for each row
    that is not a success stamped by these rules: the rows that may need their whole record),
    else ``("slow", data, lines)`` for the line-by-line reader. ``lines``: newlines in
    ``data``. A pure function of its arguments, so it runs in a child process as well."""
    ends = _line_ends(data)
    lines = len(ends)
    if _may_hold_long_line(data) or (data.find(b"\\") >= 0 and _SURROGATE_ESCAPE.search(data)):
        # polars reads an escaped high lone surrogate as NUL: the exact reader decides
        return "slow", data, lines
    try:
        frame = pl.read_ndjson(data, schema=COLUMNS)
    except Exception:  # any refusal: the exact reader takes the block
        return "slow", data, lines
    if frame.height == lines:
        index = pl.int_range(frame.height, dtype=pl.Int32, eager=True)
    else:  # polars passed over blank lines: number the others
        kept = [i for i in range(lines) if not _blank(_line(data, ends, i))]
        if frame.height != len(kept):
            return "slow", data, lines
        index = pl.Series(kept, dtype=pl.Int32)
    bad = frame.select(
        ((pl.col("schema") != SCHEMA_ID) | pl.col("schema").is_null()
         | pl.col("time").is_null() | ~pl.col("time").is_finite()
         | ~pl.col("endpoint.kind").is_in([TOKEN_EXCHANGE, API_CALL])
         | pl.col("endpoint.kind").is_null()).any()).item()
    if bad or _coerced(frame):
        return "slow", data, lines
    if trust:
        wanted = frame.select(pl.arg_where(~_settled_ok())).to_series()
    else:
        wanted = pl.int_range(frame.height, dtype=pl.UInt32, eager=True)
    raw = pl.Series("_raw", [None] * frame.height, dtype=pl.Binary)
    off = pl.Series("_off", [None] * frame.height, dtype=pl.Int64)
    size = pl.Series("_len", [None] * frame.height, dtype=pl.Int32)
    if wanted.len():
        at = index.gather(wanted).to_list()
        if base is None:
            raw.scatter(wanted, pl.Series([_line(data, ends, i).rstrip(b"\r") for i in at],
                                          dtype=pl.Binary))
        else:  # where the line lies in the file: read again only if it is ever needed
            first = [ends[i - 1] + 1 if i else 0 for i in at]
            off.scatter(wanted, pl.Series([base + f for f in first], dtype=pl.Int64))
            size.scatter(wanted, pl.Series([ends[i] - f for i, f in zip(at, first, strict=True)],
                                           dtype=pl.Int32))
    return "fast", frame.drop("schema").with_columns(index.alias("_i"), pl.lit(False).alias(
        "_exact"), raw, off, size), lines


def _line_ends(data: bytes) -> list[int]:
    """Offsets of the newlines of ``data``."""
    ends: list[int] = []
    find, append = data.find, ends.append
    at = find(b"\n")
    while at >= 0:
        append(at)
        at = find(b"\n", at + 1)
    return ends


def _line(data: bytes, ends: list[int], i: int) -> bytes:
    """Line ``i`` (0-based) of ``data`` given its newline offsets, without the newline."""
    return data[ends[i - 1] + 1 if i else 0:ends[i]]


def _in_process(name: str, block_bytes: int, trust: bool, skip: int = 0
                ) -> Iterator[tuple[Any, ...]]:
    """The parsed blocks of file ``name`` after the first ``skip``, parsed in this process:
    each block by a worker thread while the caller judges the one before (polars parses
    without holding the interpreter lock, so judging and parsing overlap). An error reading
    the file is raised here, at the block where it happened."""
    with open_input(name) as stream, \
            ThreadPoolExecutor(1, thread_name_prefix="hgobs-parse") as worker:
        blocks = enumerate(_file_blocks(stream, block_bytes))

        def parse_next() -> tuple[Any, ...] | None:
            for n, (data, base) in blocks:  # advanced by one call at a time
                if n >= skip:
                    return _parse(data, trust, base)
            return None

        ahead = worker.submit(parse_next)
        while (parsed := ahead.result()) is not None:
            ahead = worker.submit(parse_next)
            yield parsed


def serve(argv: Sequence[str]) -> int:
    """The child process: ``argv`` is ``[file, block_bytes, "1" (trust) or "0", folder]``.

    Parses each block of the file (``_parse``) into a file of ``folder`` (an Arrow IPC file
    of the frame, or the block's bytes for the exact reader) and writes one line per block
    to standard output, ``fast|slow <TAB> lines <TAB> path``; then ``end``. Before parsing a
    block it waits, by reading one byte of standard input, until the analysis has taken the
    block ``AHEAD`` before it (end of input: the parent is gone, so it stops). A failure to
    read the input (``OSError``, ``EOFError``) is written as ``error <TAB> type <TAB> message``
    for the parent to raise; a failure to write into ``folder`` (a full memory file system) as
    ``stop``, and the parent parses the rest itself, as it does when the child ends without a
    word (interrupted, out of memory). Returns the exit status."""
    name, block_bytes, trust, folder = argv[0], int(argv[1]), argv[2] == "1", argv[3]
    out, acks = sys.stdout.buffer, sys.stdin.buffer

    def say(*fields: object) -> None:
        out.write("\t".join(str(f).replace("\t", " ").replace("\n", " ") for f in fields)
                  .encode("utf-8", "replace") + b"\n")
        out.flush()

    try:
        with open_input(name) as stream:
            for n, (data, base) in enumerate(_file_blocks(stream, block_bytes)):
                if n >= AHEAD and not acks.read(1):
                    return 0
                kind, payload, lines = _parse(data, trust, base)
                path = os.path.join(folder, f"{n}.{'arrow' if kind == 'fast' else 'block'}")
                try:
                    if kind == "fast":
                        payload.write_ipc(path, compression="uncompressed")
                    else:
                        Path(path).write_bytes(payload)
                except OSError:
                    with contextlib.suppress(OSError):
                        os.unlink(path)
                    say("stop")
                    return 0
                say(kind, lines, path)
    except BrokenPipeError:
        return 0
    except (OSError, EOFError) as exc:  # reading failed: the parent raises it
        with contextlib.suppress(OSError):
            say("error", type(exc).__name__, exc)
        return 1
    except BaseException:  # interrupted, out of memory...: the parent reads on by itself
        return 1
    with contextlib.suppress(OSError):
        say("end")
    return 0


_CHILD = ("import sys; sys.path[0] = sys.argv.pop(1); "
          "from hgobs.analysis.blocks import serve; sys.exit(serve(sys.argv[1:]))")
"""The child's program. ``sys.path[0]`` (the working folder, for ``-c``) is replaced by the
folder this very ``hgobs`` was imported from, so the child runs the same code."""


def _parsed_in_child(name: str, block_bytes: int, trust: bool) -> Iterator[tuple[Any, ...]]:
    """The parsed blocks of file ``name`` (see ``_parse``), parsed by a child process (see
    ``serve``) at most ``AHEAD`` blocks ahead, handed over as files in shared memory. When no
    child can be started, when it cannot write its files, or when it ends without a word, the
    blocks it did not hand over are parsed here."""
    try:
        folder = tempfile.mkdtemp(prefix="hgobs-", dir=SHARED_MEMORY
                                  if os.path.isdir(SHARED_MEMORY) else None)
    except OSError:
        yield from _in_process(name, block_bytes, trust)
        return
    root = str(Path(__file__).resolve().parents[2])
    try:
        if not sys.executable:  # an embedded interpreter: no program to start
            raise OSError("no Python executable")
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, root, name, str(block_bytes), "1" if trust else "0",
             folder], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    except (OSError, ValueError):
        shutil.rmtree(folder, ignore_errors=True)
        yield from _in_process(name, block_bytes, trust)
        return
    assert child.stdin is not None and child.stdout is not None
    received = 0
    try:
        while True:
            line = child.stdout.readline().decode("utf-8", "replace").rstrip("\n")
            kind, _, rest = line.partition("\t")
            if kind == "end":
                return
            if kind == "error":
                error, _, message = rest.partition("\t")
                raise (EOFError if error == "EOFError" else OSError)(message)
            if kind not in ("fast", "slow"):  # "stop", or the child ended without a word
                if kind != "stop":
                    log.warning("hgobs: the reader process of %s ended early (exit %s); "
                                "reading on in this process", name, child.wait())
                yield from _in_process(name, block_bytes, trust, skip=received)
                return
            lines, _, path = rest.partition("\t")
            if kind == "fast":
                payload: Any = pl.read_ipc(path)
            else:
                payload = Path(path).read_bytes()
            os.unlink(path)
            received += 1
            with contextlib.suppress(OSError):
                child.stdin.write(b"\n")
                child.stdin.flush()
            yield kind, payload, int(lines)
    finally:  # each step even when the one before is interrupted (a second Ctrl-C)
        try:
            with contextlib.suppress(OSError):
                child.stdin.close()
        finally:
            try:
                if child.poll() is None:
                    child.kill()
                child.wait()
            finally:
                try:
                    child.stdout.close()
                finally:
                    shutil.rmtree(folder, ignore_errors=True)


def _may_hold_long_line(data: bytes) -> bool:
    """False when no line of ``data`` is longer than ``jsonl.MAX_LINE_BYTES``: a line that
    long would cover a whole stretch of half that length, so each stretch holding a newline
    rules it out (a few searches, not a pass over every line)."""
    half = jsonl.MAX_LINE_BYTES // 2
    for start in range(0, len(data), half):
        if data.find(b"\n", start, start + half) < 0 and start + half <= len(data):
            return True
    return False


def _blank(raw: bytes) -> bool:
    """True for a line the JSON Lines reader passes over (empty or only ASCII whitespace)."""
    line = raw.rstrip(b"\r\n")
    return not line or line.isspace()


__all__ = ["COLUMNS", "KEY_FIELDS", "REPORT_FIELDS", "serve"]
