"""``python -m benchmarks [--quick] [--out FILE] [--workdir DIR]``: run every benchmark, write
the Markdown report (default ``docs/performance.md``).

The full run generates inputs of 1,000,000 and 4,000,000 records of hgobs JSON Lines and
100,000 of OTLP JSON (``benchmarks.analyze.FULL``; about 9 GB in ``--workdir``, default a
temporary folder, removed afterwards unless ``--keep``; inputs found there are reused), times
the analyzer beside a plain decode (``benchmarks.analyze``; ``python -m benchmarks.analyze``
runs that part alone), then measures capture overhead, then scaling on a local Dask cluster
(``benchmarks.scaling``: 1 and 2 workers, its own inputs over 120 days). ``--quick`` runs the same code on
2,000 records and a few requests (seconds; it checks the benchmark works, its numbers mean
nothing).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import adversarial, analyze, capture, follow, generate, lean, report, scaling


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and write the report; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check it works")
    parser.add_argument("--out", default=str(generate.ROOT / "docs" / "performance.md"),
                        help="the Markdown report to write")
    parser.add_argument("--workdir", help="folder for generated inputs (default: temporary)")
    parser.add_argument("--keep", action="store_true", help="keep the generated inputs")
    args = parser.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="hgobs-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    measurements: list[analyze.Measurement] = []
    stages: dict[str, float] = {}
    load = (0.0, 0.0)
    try:
        measurements, stages, load = analyze.run_all(
            analyze.QUICK if args.quick else analyze.FULL, work,
            keep=args.keep or bool(args.workdir))
        _say("measuring capture overhead")
        rounds, requests = (2, 20) if args.quick else (101, 100)
        captured = capture.run(rounds=rounds, requests=requests, warmup=10 if args.quick else 200)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    notes_file = generate.ROOT / "benchmarks" / "NOTES.md"
    notes = notes_file.read_text(encoding="utf-8").splitlines() if notes_file.exists() else []
    text = report.markdown(measurements, captured, quick=args.quick,
                           seconds=time.time() - started, stages=stages, notes=notes, load=load)
    out = Path(args.out)
    _write(out, text)
    adversarial.run(out, quick=args.quick)
    follow.run(out, quick=args.quick)
    _say("measuring scaling on a local Dask cluster")
    scaled = scaling.run(out, quick=args.quick)
    _say(f"wrote {out}")
    return 0 if scaled and all(m.ok for m in measurements) else 1


def _write(path: Path, text: str) -> None:
    """Write ``path`` through a temporary file and a rename (never half written), keeping the
    section ``python -m benchmarks.lean`` wrote there."""
    text = lean.carry_over(text, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _say(text: str) -> None:
    print(f"benchmarks: {text}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
