"""Golden reports: the cases, how each is run, and the one normalisation of what is not behaviour.

A case is one command of today's analyzer (``hgobs analyze --format json`` or ``hgobs
classify``) on inputs from the frozen tarball (``tests.support.golden_inputs``), run as
``analyze`` or ``classify`` (the "engine" of a golden: since issue 13 there is one analyzer
engine; the goldens of the former ``streaming`` and ``default`` engines became the one
``analyze`` golden of each case). Its golden, ``<case>.<engine>.json``
(gzipped as ``.json.gz`` when large) in ``tests/data/golden/``, holds the command, the exit
code, the standard error lines and the report (or, for ``classify``, the printed records),
each passed through ``normalise``. ``scripts/make_golden.py`` writes them;
``tests/analysis/test_golden.py`` compares.

Every run is in this process (click's ``CliRunner``) with one fixed environment (``ENV``): a
fixed fingerprint key, so the raw-format readers (HAR, ``curl -v``, logs) give the same
fingerprints in every process, and no ``HGOBS_PROFILE`` or ``HGOBS_CLIENT_ID`` from the shell.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from hgobs.cli import cli

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "data" / "golden"
INPUTS = GOLDEN / "inputs.tar.gz"
MANIFEST = GOLDEN / "inputs.json"
GZIP_ABOVE = 100_000
"""A golden whose JSON text is longer (characters) is stored gzipped."""
ROOT_MARK = "<inputs>"
"""What ``normalise`` writes for the folder the inputs were unpacked into."""
RUN_METADATA = ("generated_at",)
"""Report fields that say when or where a run was made, not what the analyzer found; today's
report carries no hgobs version or host name (``docs/report-schema.md``)."""
ENV: dict[str, str | None] = {
    "HGOBS_FINGERPRINT_KEY": "golden-reports-fixed-fingerprint-key",
    "HGOBS_PROFILE": None, "HGOBS_CLIENT_ID": None, "HGOBS_JSONL_PATH": None,
}
ENGINES = {"analyze": []}
"""``analyze`` options of each way a case is run besides ``classify``."""


@dataclass(frozen=True)
class Case:
    """One command on inputs: ``args`` are options and paths, a path relative to the unpacked
    inputs written with a leading ``@`` (``@samples``); ``stdin`` names an input file fed to
    standard input; ``engines`` the engines it is run by (``classify`` for that command)."""

    name: str
    args: tuple[str, ...]
    engines: tuple[str, ...] = ("analyze",)
    stdin: str | None = None

    def ids(self) -> Iterator[tuple[str, str]]:
        """``(case name, engine)`` of every golden of this case."""
        for engine in self.engines:
            yield self.name, engine


ONE = ("analyze",)
SINCE_06 = ("--since", "2026-01-01T06:00:00Z")
WINDOW = ("--since", "2026-01-01T03:00:00Z", "--until", "2026-01-01T09:00:00Z",
          "--bucket", "15min")


def frozen(folder: str) -> list[str]:
    """The frozen input files under ``folder`` (as named in the manifest), sorted; the
    cases are listed from the manifest so that they stay what the goldens were made of."""
    names = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
    return sorted(name[len(folder) + 1:] for name in names if name.startswith(folder + "/"))


def _cases() -> list[Case]:
    cases = [
        Case("samples", ("@samples",), (*ONE, "classify")),
        Case("samples-fail-on-any", ("--fail-on", "any", "@samples/attempts.jsonl")),
        Case("samples-token-url", ("--token-url", "http://127.0.0.1:8741/sandbox/oauth/token",
                                   "--token-url", "http://127.0.0.1:8741/oauth/token",
                                   "@samples/attempts.jsonl")),
        Case("samples-profile-healthgorilla", ("--profile", "healthgorilla",
                                               "@samples/attempts.jsonl")),
        Case("samples-stdin", ("-",), ONE, stdin="samples/attempts.jsonl"),
        Case("examples", ("@examples",), ONE),
        Case("generated", ("@generated/gen.jsonl",)),
        Case("generated-bucket-1h", ("--bucket", "1h", "@generated/gen.jsonl")),
        Case("generated-since", (*SINCE_06, "@generated/gen.jsonl")),
        Case("generated-window-15min", (*WINDOW, "@generated/gen.jsonl")),
        Case("generated-recurring-min-3", ("--recurring-min", "3", "@generated/gen.jsonl")),
        Case("generated-client-id", ("--client-id", "golden-client", "@generated/gen.jsonl")),
        Case("late", ("@late/late.jsonl",)),
        Case("multi", ("@multi/a.jsonl", "@multi/b.jsonl.gz", "@multi/c.jsonl")),
        Case("damaged", ("@damaged/damaged.jsonl",), (*ONE, "classify")),
        Case("verdicts-kept", ("@verdicts/kept.jsonl",)),
        Case("verdicts-stale", ("@verdicts/stale.jsonl",)),
        Case("verdicts-untrusted", ("--profile", "healthgorilla", "@verdicts/kept.jsonl")),
        Case("odd-times", ("@odd-times/times.jsonl",), (*ONE, "classify")),
        Case("trace-table", ("@trace-table/trace.jsonl",)),
        Case("many-files-judged-again", ("--profile", "healthgorilla", "@many-files")),
        Case("folder-with-other-files", ("@folder-with-other-files",)),
        Case("blank-lines-har", ("@blank-lines-har",)),
        Case("otlp-generated", ("@otlp-generated/traces.jsonl",), ONE),
    ]
    for name in frozen("examples"):
        stem = name.split(".")[0]
        cases.append(Case(f"example-{stem}", (f"@examples/{name}",), (*ONE, "classify")))
    for name in frozen("columnar"):
        options = ("--profile", "healthgorilla") if name.startswith("X_") else ()
        cases.append(Case(f"columnar-{name.split('.')[0]}", (*options, f"@columnar/{name}")))
    for folder, prefix in (("fuzz-bugs", "fuzz-bug"), ("mutated", "mutated")):
        for name in frozen(folder):  # <case>/<file>
            case = name.split("/")[0]
            cases.append(Case(f"{prefix}-{case}", (f"@{folder}/{name}",), (*ONE, "classify")))
    return cases


CASES = _cases()
"""Every golden case, in the order the script writes them."""
IDS = [case_id for case in CASES for case_id in case.ids()]
"""``(case name, engine)`` of every golden."""


def golden_path(name: str, engine: str) -> Path:
    """The stored golden of ``name`` by ``engine`` (plain or gzipped, whichever exists; plain
    when neither does)."""
    plain = GOLDEN / f"{name}.{engine}.json"
    zipped = plain.with_name(plain.name + ".gz")
    return zipped if zipped.exists() and not plain.exists() else plain


def command(case: Case, engine: str) -> list[str]:
    """The ``hgobs`` arguments of ``case`` by ``engine``, paths still ``@``-relative."""
    if engine == "classify":
        return ["classify", *case.args]
    return ["analyze", "--format", "json", *ENGINES[engine], *case.args]


def run(case: Case, engine: str, root: Path) -> dict[str, Any]:
    """Run ``case`` by ``engine`` on the inputs unpacked in ``root``; its golden document.

    An exception that escapes the command is recorded as ``crash`` (type and message), with
    the output printed before it, so a crash of today's analyzer is frozen like any output."""
    args = command(case, engine)
    real = [str(root / a[1:]) if a.startswith("@") else a for a in args]
    stdin = (root / case.stdin).read_bytes() if case.stdin else None
    result = CliRunner().invoke(cli, real, input=stdin, env=ENV)
    doc: dict[str, Any] = {"command": ["hgobs", *args], "exit_code": result.exit_code,
                           "stderr": result.stderr.splitlines()}
    crash = result.exception
    if crash is not None and not isinstance(crash, SystemExit):
        doc["crash"] = f"{type(crash).__name__}: {crash}"  # today's behaviour, a known bug
    if engine == "classify":
        doc["records"] = [json.loads(line) for line in result.stdout.splitlines()]
    else:
        doc["report"] = json.loads(result.stdout)
    return normalise(doc, root)


def normalise(doc: Any, root: Path) -> Any:
    """``doc`` with what is not the analyzer's behaviour made constant, the ONE place that
    decides it: each ``RUN_METADATA`` field of a report set to ``"<generated_at>"`` (and so
    on), and the folder ``root`` the inputs were read from written ``<inputs>`` in every
    string (sources, reasons, messages)."""
    prefix = str(root)

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(prefix, ROOT_MARK) if prefix in value else value
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {k: f"<{k}>" if k in RUN_METADATA else walk(v) for k, v in value.items()}
        return value

    return walk(doc)


def dump(doc: dict[str, Any]) -> str:
    """A golden document as stored: JSON, one-space indent, keys in the analyzer's order."""
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def load(path: Path) -> Any:
    """A stored golden document (``.json`` or ``.json.gz``)."""
    data = path.read_bytes()
    return json.loads(gzip.decompress(data) if path.suffix == ".gz" else data)


def save(name: str, engine: str, doc: dict[str, Any]) -> Path:
    """Store ``doc`` as the golden of ``name`` by ``engine`` (gzipped above ``GZIP_ABOVE``,
    reproducibly: no name or time in the gzip header); the path written. The other form of
    the same golden, if any, is removed."""
    text = dump(doc)
    plain = GOLDEN / f"{name}.{engine}.json"
    zipped = plain.with_name(plain.name + ".gz")
    target, other = (zipped, plain) if len(text) > GZIP_ABOVE else (plain, zipped)
    data = text.encode("utf-8")
    target.write_bytes(gzip.compress(data, compresslevel=9, mtime=0) if target is zipped
                       else data)
    other.unlink(missing_ok=True)
    return target


def differences(expected: Any, actual: Any, path: str = "$", limit: int = 20) -> list[str]:
    """Where two JSON documents differ, as ``path: expected != actual`` lines (at most
    ``limit``), for a readable failure message."""
    out: list[str] = []

    def walk(a: Any, b: Any, at: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in [*a, *(k for k in b if k not in a)]:
                if key not in b or key not in a:
                    out.append(f"{at}.{key}: {'only expected' if key in a else 'only actual'}")
                else:
                    walk(a[key], b[key], f"{at}.{key}")
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                out.append(f"{at}: {len(a)} items expected, {len(b)} found")
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                walk(x, y, f"{at}[{i}]")
        elif a != b or type(a) is not type(b):
            out.append(f"{at}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}")

    walk(expected, actual, path)
    return out
