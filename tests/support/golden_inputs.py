"""The inputs of the golden reports: made from fixed seeds, frozen in one deterministic tarball.

``write_inputs(root)`` writes every input folder the golden cases read (``tests.support.golden``
names the cases): snapshots of ``samples/``, ``examples/`` and ``tests/data/columnar/``; the
generated logs of the engine tests (``benchmarks.generate`` with fixed seeds, at a smaller
size); the damaged lines of the former ``tests/analysis/test_columnar.py``; the fuzzers' bug reproductions
(``tests/reliability/test_fuzz_bugs.py``); and seeded byte mutations of each fuzz seed, in the
spirit of ``tests/reliability/test_fuzz_readers.py`` but made by ``random.Random(seed)``.

The generator goes through today's ``hgobs.diagnosis.History`` (see ``benchmarks/generate.py``),
which the analyzer redesign may change; so the bytes themselves are frozen in
``tests/data/golden/inputs.tar.gz`` (``pack``), and the golden test reads them from there
(``unpack``), never from the generator. Regenerating the tarball is a change of input, to be
explained like a change of golden. So that the goldens can be checked whatever the analyzer
becomes, ``pack`` and ``unpack`` need the standard library only; the generators (which import
the analyzer, ``benchmarks`` and the fuzz tests) are imported only when inputs are made.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[2]
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, the generator's START


def _generated(path: Path, n: int, **spec: Any) -> Path:
    """``n`` generated records (``benchmarks.generate.Spec``) as hgobs JSON Lines at ``path``."""
    from benchmarks.generate import Spec, jsonl_line, records

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(jsonl_line(r) for r in records(Spec(n, **spec))))
    return path


def _snapshot(root: Path, name: str, source: Path) -> None:
    shutil.copytree(source, root / name)


def _multi(root: Path) -> None:
    """One generated log cut in three files, the middle one gzipped: one shared history."""
    lines = _generated(root / "all.tmp", 900, days=0.1).read_bytes().splitlines(keepends=True)
    (root / "all.tmp").unlink()
    (root / "a.jsonl").write_bytes(b"".join(lines[:300]))
    (root / "b.jsonl.gz").write_bytes(gzip.compress(b"".join(lines[300:600]), mtime=0))
    (root / "c.jsonl").write_bytes(b"".join(lines[600:]))


def _damaged(root: Path) -> None:
    """The damage of ``test_damaged_lines_are_skipped_with_the_readers_reasons``: a cut line,
    a non-object, another schema, a wrong type, no time, NaN, CRLF, blank lines."""
    lines = _generated(root / "damaged.jsonl", 400, days=0.05).read_bytes().splitlines()
    lines[10] = lines[10][:-20]
    lines[20] = b"[1, 2]"
    lines[30] = lines[30].replace(b'"hgobs.attempt/1"', b'"other/1"')
    record = orjson.loads(lines[40])
    record["client.fp"] = 12345
    lines[40] = orjson.dumps(record)
    record = orjson.loads(lines[50])
    del record["time"]
    lines[50] = orjson.dumps(record)
    lines[60] = lines[60].replace(b'"time":', b'"time":NaN,"x":', 1)
    lines[70] = lines[70] + b"\r"
    (root / "damaged.jsonl").write_bytes(
        b"\n".join(lines[:100]) + b"\n\n   \n" + b"\n".join(lines[100:]) + b"\n")


def _sample_records() -> list[dict[str, Any]]:
    path = REPO / "samples" / "attempts.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _verdicts(root: Path) -> None:
    """``test_stamped_verdicts_are_kept_and_stale_ones_judged_again``: a failure stamped with
    a verdict the rules would not give, by these rules (kept) and by others (judged again)."""
    from hgobs.diagnosis import RULES_DIGEST

    failed = [r for r in _sample_records() if r.get("outcome") == "failed"]
    target = next(r for r in failed if "assertion.reused_after_s" not in r
                  and "presented.after_failed_exchange" not in r)
    assert target["diagnosis.rules"] == RULES_DIGEST, "samples are stamped by other rules"
    kept = dict(target, category="rate_limited")
    stale = dict(kept, **{"diagnosis.rules": "0" * 16})
    (root / "kept.jsonl").write_bytes(orjson.dumps(kept) + b"\n")
    (root / "stale.jsonl").write_bytes(orjson.dumps(stale) + b"\n")


def _odd_times(root: Path) -> None:
    """One sample failure at times a log may hold: whole and negative seconds, milliseconds,
    a string, a boolean, zero, then out of range (1e300) and not finite (NaN, Infinity)."""
    target = next(r for r in _sample_records() if r.get("outcome") == "failed")
    times = [b"1764000000", b"-1.5", b"0", b"1764000000123", b'"1764000000"', b"true",
             b"1e300", b"NaN", b"Infinity", b"-Infinity"]
    line = orjson.dumps(dict(target, time=-999.0))
    assert line.count(b'"time":-999.0') == 1
    (root / "times.jsonl").write_bytes(b"".join(
        line.replace(b'"time":-999.0', b'"time":' + t) + b"\n" for t in times))


def _trace_table(root: Path) -> None:
    """``test_the_trace_table_forgets_after_as_many_other_traces_not_exchanges``: a failed
    exchange in one trace, 1,000 exchanges of another, then an API call in the first."""
    lines = _sample_records()
    failed = next(r for r in lines if r["endpoint.kind"] == "token_exchange"
                  and r["outcome"] == "failed")
    ok = next(r for r in lines if r["endpoint.kind"] == "token_exchange" and r["outcome"] == "ok")
    call = next(r for r in lines if r["endpoint.kind"] == "api_call")
    out = [dict(failed, time=T0, trace_id="a" * 32)]
    out += [dict(ok, time=T0 + 1 + i / 1000, trace_id="b" * 32,
                 **{"assertion.fp": f"{i:016x}", "assertion.jti_fp": f"{i:016x}",
                    "issued.fp": f"{i + 5000:016x}"}) for i in range(1000)]
    out.append(dict(call, time=T0 + 5, trace_id="a" * 32))
    (root / "trace.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in out))


def _many_files(root: Path) -> None:
    """``test_many_files_are_read_again_with_few_open_at_once``: seven files, seeds 0 to 6."""
    for i in range(7):
        _generated(root / f"part{i}.jsonl", 120, days=0.1, seed=i)


def _folder_with_other_files(root: Path) -> None:
    """A log folder with a JSON file that is no log (left out and named)."""
    _generated(root / "a.jsonl", 300, days=0.1)
    (root / "index.json").write_text('{"not": "a log"}\n')


def _blank_lines_har(root: Path) -> None:
    """JSON Lines and a HAR export starting with more blank lines than the sniffed head."""
    _generated(root / "a.jsonl", 200, days=0.1)
    har = (REPO / "examples" / "browser-export.har").read_bytes()
    (root / "b.har").write_bytes(b"\n" * 6000 + har)


def _otlp(root: Path) -> None:
    """Generated records as OTLP JSON export lines (``benchmarks.generate.write``)."""
    from benchmarks.generate import Spec, write

    write(root / "traces.jsonl", Spec(300, days=0.2, seed=11), "otlp")


def _fuzz_bugs(root: Path) -> None:
    """Each reader crash the fuzzers found, in its own file name."""
    from tests.reliability.test_fuzz_bugs import CASES as FUZZ_BUGS

    for name, (file_name, data, _) in FUZZ_BUGS.items():
        (root / name).mkdir()
        (root / name / file_name).write_bytes(data)


MUTATION_SEEDS = (1, 2, 3)
"""Seeds of ``mutate``; every seed gives one mutated file of every fuzz seed format."""


def mutate(data: bytes, seed: int, tokens: list[bytes]) -> bytes:
    """``data`` with two to four byte mutations drawn from ``random.Random(seed)``: a bit
    flip, an insert of one of ``tokens`` (the fuzzer's troublesome tokens), a deletion, a
    duplicated run, or a cut in the second half; seed 3 also turns line ends into CRLF and
    adds a BOM."""
    rng = random.Random(seed)
    for _ in range(rng.randint(2, 4)):
        at = rng.randint(0, len(data))
        op = rng.choice(["flip", "token", "delete", "duplicate", "truncate"])
        if op == "flip" and data:
            i = min(at, len(data) - 1)
            data = data[:i] + bytes([data[i] ^ rng.randint(1, 255)]) + data[i + 1:]
        elif op == "token":
            data = data[:at] + rng.choice(tokens) + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + rng.randint(1, 200):]
        elif op == "duplicate":
            data = data[:at] + data[at:at + rng.randint(1, 500)] + data[at:]
        elif op == "truncate" and at > len(data) // 2:
            data = data[:at]
    if seed == 3:
        data = b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n")
    return data


def _mutated(root: Path) -> None:
    """Each fuzz seed format (``tests/reliability/test_fuzz_readers.py``), mutated by every
    seed of ``MUTATION_SEEDS``, in ``<format>-<seed>/<the fuzzer's file name>``."""
    from tests.reliability.test_fuzz_readers import NAMES, SEEDS, TOKENS

    for fmt in sorted(SEEDS):
        for seed in MUTATION_SEEDS:
            folder = root / f"{fmt}-{seed}"
            folder.mkdir()
            (folder / NAMES[fmt]).write_bytes(mutate(SEEDS[fmt], seed, TOKENS))


MAKERS: dict[str, Callable[[Path], None]] = {
    "generated": lambda d: _generated(d / "gen.jsonl", 1200, days=0.5),
    "late": lambda d: _generated(d / "late.jsonl", 1000, days=0.2, jitter_s=60.0),
    "multi": _multi,
    "damaged": _damaged,
    "verdicts": _verdicts,
    "odd-times": _odd_times,
    "trace-table": _trace_table,
    "many-files": _many_files,
    "folder-with-other-files": _folder_with_other_files,
    "blank-lines-har": _blank_lines_har,
    "otlp-generated": _otlp,
    "fuzz-bugs": _fuzz_bugs,
    "mutated": _mutated,
}
"""Input folder name -> the function that fills it (besides the snapshots)."""


def write_inputs(root: Path) -> None:
    """Write every input folder under ``root`` (which must not exist)."""
    root.mkdir(parents=True)
    _snapshot(root, "samples", REPO / "samples")
    _snapshot(root, "examples", REPO / "examples")
    _snapshot(root, "columnar", REPO / "tests" / "data" / "columnar")
    for name, make in MAKERS.items():
        (root / name).mkdir()
        make(root / name)


def pack(root: Path, target: Path) -> dict[str, Any]:
    """``root``'s files as a reproducible ``.tar.gz`` at ``target`` (sorted, no times, owners
    or modes); returns the manifest: each file's size and SHA-256, by relative path."""
    import hashlib

    manifest: dict[str, Any] = {}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            name = path.relative_to(root).as_posix()
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
            manifest[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    with open(target, "wb") as out, gzip.GzipFile(fileobj=out, mode="wb", mtime=0,
                                                  compresslevel=9, filename="") as gz:
        gz.write(buffer.getvalue())
    return manifest


def unpack(archive: Path, root: Path) -> None:
    """Extract the inputs tarball ``archive`` into ``root``. Raises ValueError for a member
    that is not a regular file with a relative path inside ``root``."""
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if not member.isfile() or member.name.startswith("/") or ".." in parts:
                raise ValueError(f"{archive.name}: unexpected member {member.name!r}")
            target = root.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            target.write_bytes(source.read())


def manifest_text(manifest: dict[str, Any]) -> str:
    """The manifest as the JSON text stored beside the tarball."""
    return json.dumps(manifest, indent=1, sort_keys=True) + "\n"
