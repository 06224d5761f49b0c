"""hgobs analyze --follow on a terminal (a pseudo-terminal): the summary of the window is
drawn while the log grows, with what is failing now and its fix; Ctrl-C prints the report."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time

from hgobs.reports.failing import fix_of
from tests.live.kit import DEADLINE_S, append, sample_lines


class Terminal:
    """A child process on a pseudo-terminal of 160 columns; ``until(text)`` reads its screen
    output until ``text`` appears."""

    def __init__(self, *args: str) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "50"}
        env.pop("NO_COLOR", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "hgobs.cli", *args], stdin=slave,
                                     stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.seen = b""

    def until(self, text: str, deadline_s: float = DEADLINE_S) -> str:
        end = time.monotonic() + deadline_s
        while text.encode() not in self.seen:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} not shown in {deadline_s} s: "
                                     f"{self.seen[-2000:]!r}")
            if select.select([self.master], [], [], min(left, 0.5))[0]:
                try:
                    chunk = os.read(self.master, 1 << 16)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    if text.encode() not in self.seen:
                        raise AssertionError(f"ended before {text!r}: {self.seen[-2000:]!r}")
                    break
                self.seen += chunk
        return self.seen.decode("utf-8", "replace")

    def rest(self, deadline_s: float = DEADLINE_S) -> str:
        """Everything shown until the child closes its terminal."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if not select.select([self.master], [], [], 0.5)[0]:
                continue
            try:
                chunk = os.read(self.master, 1 << 16)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                return self.seen.decode("utf-8", "replace")
            self.seen += chunk
        raise AssertionError(f"still running after {deadline_s} s: {self.seen[-2000:]!r}")

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=DEADLINE_S)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            os.close(self.master)


def test_summary_is_drawn_and_ctrl_c_prints_the_report(tmp_path):
    lines = sample_lines()
    log = tmp_path / "app.log"
    log.write_text("".join(lines[:3]), encoding="utf-8")  # three successes
    term = Terminal("analyze", "--follow", "--interval", "0.2", "--window", "1d", str(log))
    try:
        term.until("3 attempts")
        term.until("Nothing failing now")
        append(log, lines[3])  # redirect_dropped_body: the client fails now
        screen = term.until("Failing now")
        term.until("redirect_dropped_body")
        term.until(fix_of("redirect_dropped_body")[:30])
        term.proc.send_signal(signal.SIGINT)
        screen = term.rest()
    finally:
        code = term.close()
    assert code == 0
    report = screen[screen.index("hgobs report: 4 records read"):]
    assert "Failures by category" in report and "redirect_dropped_body" in report
    assert "3 attempts" in screen


def test_off_a_terminal_only_the_report_is_printed(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("".join(sample_lines()[:4]), encoding="utf-8")
    code, out, err = _read_then_stopped(log, "--format", "json")
    assert code == 0, err
    import json

    report = json.loads(out)
    assert report["totals"]["classified"] == 4


def test_a_client_id_in_no_record_is_warned_about_as_without_follow(tmp_path, monkeypatch):
    """analyze --follow --client-id under another key than the records': the warning
    hgobs analyze gives, once, after the report."""
    from hgobs.emulator.scenarios.exchange import MAIN

    monkeypatch.setenv("HGOBS_FINGERPRINT_KEY", "not-the-records-key")
    log = tmp_path / "app.log"
    log.write_text("".join(sample_lines()), encoding="utf-8")
    code, out, err = _read_then_stopped(log, "--client-id", MAIN.client_id)
    assert code == 0, err
    assert "hgobs report: 54 records read" in out
    assert err.count("hgobs: warning:") == 1
    assert err.splitlines()[-1].startswith(
        "hgobs: warning: the fingerprint of --client-id under HGOBS_FINGERPRINT_KEY is none of "
        "the 3 client fingerprints (client.fp) of the records")


def _read_then_stopped(log: os.PathLike[str], *args: str) -> tuple[int, str, str]:
    """``hgobs analyze --follow LOG ARGS`` off a terminal, stopped by SIGINT once it has the
    file open: ``(exit code, standard output, standard error)``."""
    proc = subprocess.Popen([sys.executable, "-m", "hgobs.cli", "analyze", "--follow",
                             str(log), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        # Nothing is printed while it runs: wait until it has read the file (its stdout stays
        # empty), which the test sees only through the report at the end, so stop it once
        # the file was surely opened: poll until /proc shows it open.
        end = time.monotonic() + DEADLINE_S
        while time.monotonic() < end and not _has_open(proc.pid, log):
            time.sleep(0.05)
        assert select.select([proc.stdout], [], [], 0)[0] == []
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=DEADLINE_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, err


def _has_open(pid: int, path: os.PathLike[str]) -> bool:
    """True when process ``pid`` has ``path`` open (Linux ``/proc``)."""
    folder = f"/proc/{pid}/fd"
    try:
        return any(os.path.realpath(os.path.join(folder, fd)) == os.path.realpath(path)
                   for fd in os.listdir(folder))
    except OSError:
        return False
