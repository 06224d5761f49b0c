#!/usr/bin/env python
"""Regenerate ``samples/``: run every emulator scenario through an instrumented httpx client.

Usage::

    python scripts/make_samples.py [--out samples] [--seed 0] [--port 8741]

Writes ``attempts.jsonl`` and ``scenarios.json`` into ``--out`` and refreshes the scenario
table of ``--out/README.md`` (between its markers). The emulator listens on 127.0.0.1:``--port``
(fixed by default because the port appears in recorded URLs and ``aud`` values; ``--port 0``
picks a free one). Prints a summary, never a secret. Exit status 0 when done, 1 when a scenario
broke (the emulator answered otherwise than the scenario assumes) or the port is taken.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from hgobs.emulator.scenarios import ScenarioError, markdown_table, run_all
from hgobs.emulator.scenarios.runner import with_table

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "samples"
DEFAULT_PORT = 8741
"""Loopback port of the samples' emulator: recorded URLs read ``http://127.0.0.1:8741/...``."""


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the scenarios, refresh the README table; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of jti values and span ids")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="emulator port (0: any)")
    args = parser.parse_args(argv)
    try:
        results = run_all(args.out, seed=args.seed, port=args.port)
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); try --port 0",
              file=sys.stderr)
        return 1
    except ScenarioError as exc:
        print(f"a scenario broke: {exc}", file=sys.stderr)
        return 1
    readme = args.out / "README.md"
    if readme.exists():
        readme.write_text(with_table(readme.read_text("utf-8"), markdown_table(results)), "utf-8")
    records = sum(len(r.records) for r in results)
    print(f"{records} records from {len(results)} scenarios in {args.out / 'attempts.jsonl'}")
    for r in results:
        if not r.records or r.categories[-1] != r.expected:
            got = r.categories[-1] if r.records else "no record"
            print(f"  {r.name}: expected {r.expected}, recorded {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
