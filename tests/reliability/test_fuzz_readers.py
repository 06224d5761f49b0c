"""Fuzz every reader with mutated valid files: no exception, and every unit accounted for.

Seeds are the valid example of each format (``examples/``, and the first lines of
``samples/attempts.jsonl``). Hypothesis mutates them two ways: structurally (a JSON node of the
document or of a line replaced by any JSON value - other types, huge or non-finite numbers,
deep nesting, odd strings - removed, or its list doubled) and as bytes (flips, inserts of
random bytes and of troublesome tokens, deletions, duplications, truncation, splices of another
seed, CRLF line ends, a BOM, gzip). Then:

- ``read_paths`` never raises; every item is a record or a skip with a reason, with a source;
  a file with any non-blank content yields at least one item; JSON Lines and text logs yield
  exactly one item per non-blank line (their documented unit);
- ``hgobs analyze --format json`` exits 0 and its totals reconcile: read = classified +
  skipped, as many as the readers yielded, each skip listed with its source and reason.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from hgobs.cli import cli
from hgobs.readers import ReadContext, detect, read_paths
from tests.reliability import tally

PROMISE = tally.BAD_INPUT
REPO = Path(__file__).resolve().parents[2]
SEEDS = {
    "jsonl": b"".join((REPO / "samples" / "attempts.jsonl").read_bytes().splitlines(True)[:6]),
    "otlp": (REPO / "examples" / "otlp-traces.jsonl").read_bytes(),
    "har": (REPO / "examples" / "browser-export.har").read_bytes(),
    "jaeger": (REPO / "examples" / "jaeger-trace.json").read_bytes(),
    "zipkin": (REPO / "examples" / "zipkin-spans.json").read_bytes(),
    "curl": (REPO / "examples" / "curl-verbose.txt").read_bytes(),
    "textlog": (REPO / "examples" / "app.log").read_bytes(),
}
NAMES = {"jsonl": "attempts.jsonl", "otlp": "traces.jsonl", "har": "export.har",
         "jaeger": "trace.json", "zipkin": "spans.json", "curl": "curl.txt", "textlog": "app.log"}
TOKENS = [b"{", b"}", b"[", b"]", b'"', b"\\", b",", b":", b"\n", b"\r\n", b"\x00", b"\xff",
          b"\xc3", b"\xef\xbb\xbf", b"NaN", b"-Infinity", b"1e999", b"9" * 400, b"[" * 5000,
          b"null", b"\"schema\":\"hgobs.attempt/1\"", b"eyJhbGciOiJub25lIn0.e30.",
          b"HTTP/2 401", b"> POST /oauth/token HTTP/1.1", b"< HTTP/1.1 400 Bad Request",
          b"https://sandbox.healthgorilla.com/oauth/token", b"-> 401", b"\t", b"\x85",
          "\u2028".encode(), "\ud800".encode("utf-8", "surrogatepass")]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12),
                                                                       children, max_size=4),
    max_leaves=12)


def nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every node of a decoded JSON value, the root included."""
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += nodes(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += nodes(v, (*path, i))
    return out


def mutate_json(draw: Any, doc: Any) -> Any:
    """``doc`` with one node replaced, removed or its list doubled."""
    paths = nodes(doc)
    path = paths[draw(st.integers(0, len(paths) - 1))]
    if not path:
        return draw(json_values)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    how = draw(st.sampled_from(["replace", "remove", "double", "wrap"]))
    key = path[-1]
    if how == "remove":
        del parent[key]
    elif how == "double" and isinstance(parent[key], list):
        parent[key] = parent[key] * 2
    elif how == "wrap":
        parent[key] = [parent[key]]
    else:
        parent[key] = draw(json_values)
    return doc


def structural(draw: Any, fmt: str, data: bytes) -> bytes:
    """A JSON mutation of the whole document, or of one line of a line-based JSON format."""
    if fmt in ("jsonl", "otlp"):
        lines = data.splitlines(True)
        i = draw(st.integers(0, len(lines) - 1))
        try:
            doc = json.loads(lines[i])
        except ValueError:
            return data
        lines[i] = json.dumps(mutate_json(draw, doc), allow_nan=True).encode() + b"\n"
        return b"".join(lines)
    if fmt in ("har", "jaeger", "zipkin"):
        doc = json.loads(data)
        return json.dumps(mutate_json(draw, doc), allow_nan=True).encode()
    return data


def byte_ops(draw: Any, data: bytes) -> bytes:
    """One to five byte-level mutations."""
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "insert", "token", "delete", "duplicate", "truncate",
                                   "splice"]))
        if op == "flip" and data:
            i = min(at, len(data) - 1)
            data = data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1:]
        elif op == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=32)) + data[at:]
        elif op == "token":
            data = data[:at] + draw(st.sampled_from(TOKENS)) + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 200)):]
        elif op == "duplicate":
            data = data[:at] + data[at:at + draw(st.integers(1, 500))] + data[at:]
        elif op == "truncate":
            data = data[:at]
        elif op == "splice":
            other = SEEDS[draw(st.sampled_from(sorted(SEEDS)))]
            i = draw(st.integers(0, len(other)))
            data = data[:at] + other[i:i + draw(st.integers(1, 300))] + data[at:]
    return data


@st.composite
def mutated(draw: Any, fmt: str) -> tuple[bytes, bool]:
    """A mutated seed of ``fmt``, and whether it is gzipped."""
    data = SEEDS[fmt]
    if draw(st.booleans()):
        data = structural(draw, fmt, data)
    if draw(st.booleans()):
        data = byte_ops(draw, data)
    if draw(st.integers(0, 7)) == 0:
        data = data.replace(b"\n", b"\r\n")
    if draw(st.integers(0, 7)) == 0:
        data = b"\xef\xbb\xbf" + data
    zipped = draw(st.integers(0, 7)) == 0
    return data, zipped


def units(data: bytes) -> int:
    """Non-blank lines, as the JSON Lines and text log readers count them."""
    return sum(1 for line in io.BytesIO(data)
               if line.rstrip(b"\r\n").decode("utf-8", "surrogateescape").strip()
               and len(line) <= 1 << 20)


def read_checked(path: Path, data: bytes) -> int:
    """Read ``path`` (holding ``data``, maybe gzipped) and check every item; the item count.

    A reader that raises fails the test."""
    items = list(read_paths([str(path)], ReadContext()))
    for item in items:
        assert item.source.startswith(str(path)), item
        assert (item.record is None) != (item.reason is None), item
        assert item.record is None or isinstance(item.record, dict)
        assert item.reason is None or item.reason.strip()
    if data.removeprefix(b"\xef\xbb\xbf").strip():  # a byte order mark alone is no content
        assert items, "a file with content yielded nothing"
        reader = detect(data[:4096], path.name)
        if reader is not None and reader.NAME in ("hgobs-jsonl", "text-log"):
            assert len(items) == units(data), (reader.NAME, [i.reason for i in items][:5])
    return len(items)


def write(folder: Path, fmt: str, data: bytes, zipped: bool) -> Path:
    path = folder / (NAMES[fmt] + (".gz" if zipped else ""))
    path.write_bytes(gzip.compress(data) if zipped else data)
    return path


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_seed_files_read_clean(fmt, tmp_path):
    """Each unmutated seed reads into records with no skip (the fuzzing starts from valid files)."""
    path = write(tmp_path, fmt, SEEDS[fmt], False)
    items = list(read_paths([str(path)], ReadContext()))
    assert items and any(i.record is not None for i in items)


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_mutated_input_never_raises_and_every_unit_is_accounted_for(fmt, tmp_path_factory):
    """Mutated files of each format never make a reader raise; every item is a record or a
    skip with a reason; line formats yield one item per non-blank line."""
    folder = tmp_path_factory.mktemp(f"fuzz-{fmt}")

    @settings(max_examples=settings.default.max_examples)
    @given(case=mutated(fmt))
    def run(case: tuple[bytes, bool]) -> None:
        data, zipped = case
        tally.tried(PROMISE, f"mutated {fmt} files")
        read_checked(write(folder, fmt, data, zipped), data)

    run()


@settings(max_examples=max(7, settings.default.max_examples // 5))
@given(fmt=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_analyze_totals_reconcile_on_mutated_input(fmt, data, tmp_path_factory):
    """hgobs analyze --format json on a mutated file exits 0; read = classified + skipped =
    the items the readers yield, and each skip is listed with its source and reason."""
    content, zipped = data.draw(mutated(fmt))
    path = write(tmp_path_factory.mktemp("analyze"), fmt, content, zipped)
    items = read_checked(path, content)
    tally.tried(PROMISE, "mutated files through hgobs analyze")
    done = CliRunner().invoke(cli, ["analyze", "--format", "json", str(path)])
    assert done.exit_code == 0, (done.output, done.exception)
    report = json.loads(done.stdout)
    totals = report["totals"]
    assert totals["read"] == totals["classified"] + totals["skipped"] == items
    assert len(report["skipped"]) == totals["skipped"]
    assert all(s["source"] and s["reason"] for s in report["skipped"])
