"""Progress of a long run on standard error, when it is a terminal: bytes, records, rate, time left.

One component for every long run: a local ``hgobs analyze`` feeds it from the readers'
``ByteTally`` (``track``); a distributed run feeds it the totals of finished partitions
(``update``). When standard error is not a terminal (a pipe, a file, CI) it writes nothing at
all, so logs and ``--format json`` output are unchanged. Drawn by ``rich.progress`` (the
``analyze`` extra), refreshed at most ``REFRESH_PER_SECOND`` times a second from its own
thread (and the bytes read copied in as often, so they move while a whole document is parsed),
and erased when the run ends.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TextIO, TypeVar

from hgobs.readers.files import ByteTally
from hgobs.reports.terminal import is_terminal

T = TypeVar("T")

REFRESH_PER_SECOND = 4
EVERY = 1024
"""``track`` updates the display at the first item and once per this many items after it."""


class Progress:
    """A progress line on ``stream`` (default ``sys.stderr``): a bar of bytes read of the total
    (a pulse when the total is unknown), bytes as ``12.3/48.0 MB``, records read, bytes per
    second, records per second and the time left.

    ``enabled`` (default: whether ``stream`` is a terminal) turns it off entirely: every method
    is then a no-op that costs nothing. ``note(text)`` prints a line above the bar (a dashboard
    address). Use as a context manager, or call ``close`` (idempotent); it never raises into
    the run: a display that fails is turned off. What the run prints on standard output goes
    there unchanged (only writes to ``sys.stderr`` pass above the bar, when it is drawn there).
    """

    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None,
                 width: int | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = is_terminal(self._stream)
        self._bar: Any = None
        self._task: Any = None
        self._guard: _Guarded | None = None
        self._stop = threading.Event()
        self._follower: threading.Thread | None = None
        self._width = width
        self.enabled = bool(enabled)

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            SpinnerColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import Progress as Bar

        self._guard = _Guarded(self._stream)
        console = Console(file=self._guard, force_terminal=True, width=self._width,
                          stderr=self._stream is sys.stderr)
        self._bar = Bar(SpinnerColumn(), TextColumn("reading"), BarColumn(bar_width=24),
                        DownloadColumn(), TextColumn("{task.fields[records]:,} records"),
                        TransferSpeedColumn(), TextColumn("{task.fields[rate]}"),
                        TimeRemainingColumn(), console=console, transient=True,
                        refresh_per_second=REFRESH_PER_SECOND, redirect_stdout=False,
                        redirect_stderr=self._stream is sys.stderr)
        self._bar.start()
        self._task = self._bar.add_task("read", total=None, records=0, rate="")

    def update(self, *, done_bytes: int, total_bytes: int | None, records: int) -> None:
        """Show ``done_bytes`` read of ``total_bytes`` (None: unknown) and ``records`` read so
        far (absolute counts, not increments)."""
        if not self.enabled:
            return
        try:
            if self._bar is None:
                self._start()
            elif self._guard is not None and self._guard.broken:
                raise OSError("the display's stream failed")
            elapsed = self._bar.tasks[0].elapsed or 0.0
            rate = f"{records / elapsed:,.0f} records/s" if elapsed > 0.5 else ""
            self._bar.update(self._task, completed=done_bytes, total=total_bytes,
                             records=records, rate=rate)
        except Exception:  # a display must never stop the run it shows
            self._off()

    def note(self, text: str) -> None:
        """``text`` on a line of its own above the bar (or alone, when there is no bar yet)."""
        if not self.enabled:
            return
        try:
            if self._bar is None:
                self._start()
            self._bar.console.print(text, markup=False, highlight=False)
        except Exception:
            self._off()

    def track(self, items: Iterable[T], tally: ByteTally) -> Iterator[T]:
        """``items`` passed through unchanged, the display updated from ``tally`` (the
        readers' bytes) and the count of items every ``EVERY`` items; closed at the end."""
        if not self.enabled:
            yield from items
            return
        try:
            self.update(done_bytes=tally.done, total_bytes=tally.total, records=0)
            self._follow(tally)
            for records, item in enumerate(items, start=1):
                if records % EVERY == 1:
                    self.update(done_bytes=tally.done, total_bytes=tally.total,
                                records=records)
                yield item
        finally:
            self.close()

    def _follow(self, tally: ByteTally) -> None:
        """Copy ``tally``'s bytes into the display at its refresh rate from a thread of its
        own until the display closes: a reader of a whole document (HAR, Jaeger JSON) yields
        its first item only when it has parsed all of it, and items can be far apart."""
        if self._bar is None:
            return
        stop = self._stop = threading.Event()
        bar, task = self._bar, self._task

        def follow() -> None:
            while not stop.wait(1 / REFRESH_PER_SECOND):
                try:
                    bar.update(task, completed=tally.done, total=tally.total)
                except Exception:  # the display is closing or failed: nothing to show
                    return

        follower = threading.Thread(target=follow, name="hgobs-progress", daemon=True)
        try:
            follower.start()
        except RuntimeError:  # no thread to spare: the bytes move with the items only
            return
        self._follower = follower

    def close(self) -> None:
        """Erase the display (idempotent)."""
        self._off()

    def _off(self) -> None:
        bar, self._bar = self._bar, None
        self.enabled = False
        follower, self._follower = self._follower, None
        if follower is not None:
            self._stop.set()
            if follower is not threading.current_thread():
                follower.join()
        if bar is not None:
            try:
                bar.stop()
            except Exception:  # nothing to do but stop drawing
                pass

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Guarded:
    """The display's stream, as its console (and the console's refresh thread) writes it: a
    write or flush that fails (a terminal gone: EIO, EPIPE; a closed stream) is dropped and
    marks it ``broken``, so no exception leaves the drawing thread; ``Progress.update`` then
    turns the display off."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False
        self.encoding = getattr(stream, "encoding", None) or "utf-8"

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self._stream.write(text)
            except (OSError, ValueError):
                self.broken = True
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self.broken = True

    def isatty(self) -> bool:
        return True
