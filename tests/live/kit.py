"""What the live-mode tests share: sample records, the expected verdicts, hgobs as a child process."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from hgobs import api

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "attempts.jsonl"
DEADLINE_S = 30.0
"""How long a test waits for a verdict before it fails (a poll-based wait, never a sleep)."""


def sample_lines() -> list[str]:
    """The sample records (hgobs JSON Lines, one a line, times two hours apart), each with
    its line end."""
    return SAMPLES.read_text(encoding="utf-8").splitlines(keepends=True)


def with_time(line: str, when: float) -> str:
    """``line`` (a record) with its ``time`` set to ``when``."""
    record = json.loads(line)
    record["time"] = when
    return json.dumps(record) + "\n"


def batch_verdicts(lines: list[str], folder: Path) -> dict[str, str]:
    """``{time: category}`` that ``hgobs classify`` (not live) gives for ``lines`` in order."""
    whole = folder / "batch.jsonl"
    whole.write_text("".join(lines), encoding="utf-8")
    return {v.time: v.category for v in api.classify([str(whole)])
            if isinstance(v, api.ClassifiedRecord)}


def append(path: Path, *lines: str) -> None:
    """Append ``lines`` to ``path`` in one write, as a logger does."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(lines))


class Hgobs:
    """``hgobs ARGS`` running as a child process (``python -m hgobs.cli``), its standard
    output read line by line by a thread; ``stdin``: a pipe to write to when True."""

    def __init__(self, *args: str, cwd: Path | None = None, stdin: bool = False) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hgobs.cli", *args], cwd=cwd,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "0"})
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def verdicts(self, n: int, deadline_s: float = DEADLINE_S) -> list[dict[str, Any]]:
        """The next ``n`` JSON lines of its output; fails when they do not come in time."""
        got: list[dict[str, Any]] = []
        end = time.monotonic() + deadline_s
        while len(got) < n:
            try:
                line = self._lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"{len(got)} of {n} verdicts in {deadline_s} s: {got}") \
                    from None
            if line is None:
                raise AssertionError(f"hgobs ended after {len(got)} of {n} verdicts: "
                                     f"{self.stop()[1]}")
            got.append(json.loads(line))
        return got

    def poll(self, wait_s: float) -> list[dict[str, Any]]:
        """The JSON lines printed so far, waiting up to ``wait_s`` for a first one."""
        got: list[dict[str, Any]] = []
        line: str | None = ""
        try:
            line = self._lines.get(timeout=wait_s)
            while line is not None:
                got.append(json.loads(line))
                line = self._lines.get_nowait()
        except queue.Empty:
            pass
        if line is None:
            self._lines.put(None)
        return got

    def write(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def stop(self, sig: int | None = signal.SIGINT) -> tuple[int, str]:
        """Send ``sig`` (unless it has ended, or None), wait; ``(exit code, standard
        error)``."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=DEADLINE_S)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()

    def rest(self) -> list[dict[str, Any]]:
        """The JSON lines printed after the ones taken (call after ``stop``)."""
        out = []
        while (line := self._lines.get(timeout=DEADLINE_S)) is not None:
            out.append(json.loads(line))
        return out
