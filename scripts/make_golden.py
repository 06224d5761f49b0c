"""Write the golden reports of today's analyzer (``tests/data/golden/``), or check them.

The goldens freeze what ``hgobs analyze --format json`` and ``hgobs classify``
say about a fixed set of inputs, so a redesign of the analyzer can show that it changes
nothing it did not mean to change. The cases, the runs and the normalisation are in
``tests/support/golden.py``; the inputs in ``tests/support/golden_inputs.py``.

When to run it:

- ``python scripts/make_golden.py --check``: compare only (what ``tests/analysis/test_golden.py``
  does), listing each golden that differs and where; exit 1 when any does.
- ``python scripts/make_golden.py``: rewrite the goldens from the frozen inputs. Only when the
  analyzer's output is *meant* to change: the commit that regenerates a golden must say, for
  each golden that changed, what changed and why (the change an issue asked for); a diff that
  nobody can explain is a regression, not a new golden.
- ``python scripts/make_golden.py --inputs``: also make the inputs again from their fixed
  seeds and freeze them (``inputs.tar.gz`` and its manifest ``inputs.json``). Only when a case
  is added or an input has to change, with the same rule: say which and why.

Needs the test extra (``pip install -e '.[test]'``); run from anywhere in the repository.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import golden  # noqa: E402
from tests.support.golden_inputs import manifest_text, pack, unpack, write_inputs  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="compare only; exit 1 on a diff")
    mode.add_argument("--inputs", action="store_true",
                      help="make and freeze the inputs again before the goldens")
    args = parser.parse_args(argv)
    golden.GOLDEN.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hgobs-golden-") as tmp:
        root = Path(tmp) / "inputs"
        if args.inputs:
            write_inputs(root)
            manifest = pack(root, golden.INPUTS)
            golden.MANIFEST.write_text(manifest_text(manifest))
            print(f"{golden.INPUTS.relative_to(ROOT)}: {len(manifest)} files, "
                  f"{golden.INPUTS.stat().st_size} bytes")
        else:
            unpack(golden.INPUTS, root)
        return _goldens(root, check=args.check)


def _goldens(root: Path, *, check: bool) -> int:
    """Run every case on the inputs in ``root``; write (or with ``check`` compare) goldens."""
    differing = 0
    wanted = set()
    for case in golden.CASES:
        for name, engine in case.ids():
            doc = golden.run(case, engine, root)
            path = golden.golden_path(name, engine)
            old = golden.load(path) if path.exists() else None
            diff = ["no golden stored"] if old is None else golden.differences(old, doc)
            if check:
                if diff:
                    differing += 1
                    print(f"{name} [{engine}] differs:\n  " + "\n  ".join(diff))
                continue
            written = golden.save(name, engine, doc)
            wanted.add(written.name)
            if diff:
                differing += 1
                print(f"{written.relative_to(ROOT)}: {'new' if old is None else 'changed'}")
    if not check:
        for stale in sorted(golden.GOLDEN.glob("*.json*")):
            if stale.name not in wanted and stale != golden.MANIFEST:
                stale.unlink()
                print(f"{stale.relative_to(ROOT)}: removed (no such case)")
    print(f"{len(golden.IDS)} goldens, {differing} {'differ' if check else 'written anew'}")
    return 1 if check and differing else 0


if __name__ == "__main__":
    raise SystemExit(main())
