"""An interrupted ``hgobs analyze -o out.html`` leaves no partial output file behind.

The report is written to a temporary file in the target's folder and renamed. Two ways to
interrupt: a signal (SIGINT, SIGTERM) sent by another process while the child reads a large
input (60 MB: the signal lands before the write, at a moment no test controls); and the same signal raised by the child itself in the middle of writing the temporary
file (a wrapper makes the report file's ``write`` deliver it after half the text), which is the
moment a partial file could be left. Afterwards the folder holds no ``out.html`` unless the run
finished (then it is a whole page), and no temporary file.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability import tally
from tests.reliability.bigfiles import write_jsonl

PROMISE = tally.BAD_INPUT
SIGNALS = [signal.SIGINT, signal.SIGTERM]
MID_WRITE_SIGNALS = [pytest.param(signal.SIGINT, id="SIGINT"),
                     pytest.param(signal.SIGTERM, id="SIGTERM")]
MID_WRITE = """
import os, signal, sys, time
from hgobs import cli

real_fdopen = os.fdopen
sig = signal.Signals[sys.argv[1]]


class Interrupted:
    '''The report file: delivers ``sig`` to this process after writing half the text.'''

    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.handle.__exit__(*exc)

    def write(self, text):
        self.handle.write(text[: len(text) // 2])
        self.handle.flush()
        os.kill(os.getpid(), sig)
        time.sleep(1)
        return self.handle.write(text[len(text) // 2:])


os.fdopen = lambda *a, **k: Interrupted(real_fdopen(*a, **k))
sys.argv = ["hgobs", *sys.argv[2:]]
cli.main()
"""


def leftovers(folder: Path) -> list[str]:
    """Files in ``folder`` other than the input."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".jsonl"))


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("interrupt-input") / "attempts.jsonl"
    write_jsonl(path, 60_000_000)
    return path


@pytest.mark.parametrize("sig", MID_WRITE_SIGNALS)
def test_signal_while_writing_leaves_no_file(sig, source, tmp_path):
    """A signal arriving while the report's temporary file is half written leaves neither
    out.html nor the temporary file."""
    small = tmp_path / "small.jsonl"
    small.write_bytes(b"".join(source.open("rb").readlines()[:200]))
    out = tmp_path / "out.html"
    done = subprocess.run([sys.executable, "-c", MID_WRITE, sig.name, "analyze", str(small),
                           "--format", "html", "-o", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)
    tally.tried(PROMISE, "interrupted runs")
    assert done.returncode != 0, "the run was not interrupted"
    assert leftovers(tmp_path) == [], done.stderr[-500:]


@pytest.mark.parametrize("delay", [0.3, 1.0])
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_signal_during_a_run_leaves_no_partial_file(sig, delay, source, tmp_path):
    """A signal sent after ``delay`` seconds of a run over 60 MB (about 3 s, so while it reads)
    leaves no temporary file, and out.html only if the run had finished (then whole)."""
    out = tmp_path / "out.html"
    child = subprocess.Popen([str(Path(sys.executable).with_name("hgobs")), "analyze",
                              str(source), "--format", "html", "-o", str(out)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    time.sleep(delay)
    child.send_signal(sig)
    child.communicate(timeout=120)
    tally.tried(PROMISE, "interrupted runs")
    left = leftovers(tmp_path)
    if child.returncode == 0:
        assert left == ["out.html"] and out.read_text().rstrip().endswith("</html>")
    else:
        assert left == []
