"""A live run's items: follow the inputs, put them in order, hand each on once it is released.

``LiveItems`` starts a ``hgobs.live.follow.Follower`` thread for each path (and one for
standard input, ``-``), re-expands folders and globs every poll to follow files that appear,
and yields ``(item, late)`` pairs as the watermark (``hgobs.live.order``) releases them.

Where reading starts: every file is read from its start, then followed (``tail -F -n +1``):
an on-call user who starts hgobs on a log wants what the log already says about the failure
at hand, and verdicts that need history (a reused assertion, a token's age) need the earlier
records. ``from_end`` starts the files present at the start from their end (``tail -F``),
for logs too large to read again. Files that appear later are read from their start, except
a file found by a folder or glob whose name carries a rotation suffix (``app.log.1``,
``app.log-20251125``): that is a rotated copy of a log already read, so it is followed from
its end (a renamed file goes on where its old name's follower stopped).

The run ends when ``stop()`` is called (a signal handler may call it), or when every input
has ended (standard input closed, and no path followed): then the records still held are
released in time order, so nothing read is lost.
"""

from __future__ import annotations

import glob
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from hgobs.live.follow import FEED_SIZE, Follower
from hgobs.live.order import Released, Watermark
from hgobs.live.tail import Claims
from hgobs.readers import FOLDER_SUFFIXES, ReadContext, expand

POLL_S = 0.25
"""Seconds between two looks at a followed file (``os.stat``) and at the paths to follow."""
STOP_WAIT_S = 10.0
"""How long a stopped run waits for its followers to hand on what they read."""


def _rotated_name(path: str) -> bool:
    """True when ``path``'s name carries a rotation suffix (``taken_from_folder`` took it for
    a rotated log, not for its own extension)."""
    return not os.path.basename(path).lower().endswith(FOLDER_SUFFIXES)


class LiveItems:
    """The items of ``specs`` (paths, folders, globs, ``-``) as they are read and released
    (see module doc). ``follow``: keep following paths (without it only standard input is
    read, to its end). ``lateness_s``: the watermark's bound; ``max_buffered``: the records
    it holds at most; ``stdin_fd``: the descriptor ``-`` reads (default standard input's).
    ``watermark`` counts late records (``.late``). Iterate once."""

    def __init__(self, specs: Iterable[str], ctx: ReadContext, *, lateness_s: float,
                 follow: bool = True, from_end: bool = False, poll_s: float = POLL_S,
                 stdin_fd: int | None = None) -> None:
        self.specs = list(specs)
        self.ctx = ctx
        self.follow = follow
        self.from_end = from_end
        self.poll_s = poll_s
        self.stdin_fd = sys.stdin.fileno() if stdin_fd is None and "-" in self.specs \
            else stdin_fd
        self.watermark = Watermark(lateness_s, ctx.max_buffered)
        self.stopping = threading.Event()
        self._halt = threading.Event()  # tells the followers to stop
        self._feed: queue.Queue[tuple[str, int, object]] = queue.Queue(FEED_SIZE)
        self._claims = Claims()
        self._paths: dict[str, int] = {}
        self._running: set[int] = set()
        self._started = False
        self.tick: Callable[[], None] | None = None
        """Called once per poll (and per batch read) from the iterating thread: a display's
        redraw."""

    def stop(self) -> None:
        """End the run: what is held is released, then iteration ends (safe from a signal
        handler)."""
        self.stopping.set()

    def _start(self, name: str, from_end: bool, fd: int | None = None) -> None:
        sid = len(self._paths)
        self._paths[name if fd is None else f"\0stdin{sid}"] = sid
        self._running.add(sid)
        self.watermark.reading(sid)
        Follower(sid, name, self.ctx, self._feed, self._claims, self._halt, self.poll_s,
                 from_end, fd).start()

    def _expand(self) -> None:
        """Start following each path the specs name that is not followed yet."""
        first = not self._started
        self._started = True
        for spec in self.specs:
            if spec == "-":
                if first and self.stdin_fd is not None:
                    self._start("-", False, self.stdin_fd)
                continue
            plain = not glob.has_magic(spec) and not os.path.isdir(spec)
            if plain:
                found = [spec]
            else:
                try:
                    found = [name for name, _ in expand([spec])]
                except (FileNotFoundError, OSError):
                    found = []
            for name in found:
                if name not in self._paths:
                    later = not first and not plain and _rotated_name(name)
                    self._start(name, (first and self.from_end) or later)

    def _last_items(self) -> Iterator[Released]:
        """What the followers read before they stopped: each reads its file to its current
        end first. Standard input's is not waited for (it may be blocked reading); the
        others for at most ``STOP_WAIT_S``."""
        files = {sid for name, sid in self._paths.items() if not name.startswith("\0")}
        waiting = self._running & files
        end = time.monotonic() + STOP_WAIT_S
        while True:
            try:
                kind, sid, payload = self._feed.get(
                    timeout=max(0.0, end - time.monotonic()) if waiting else 0)
            except queue.Empty:
                return
            if kind == "items":
                for item in payload:  # type: ignore[attr-defined]
                    yield from self.watermark.add(sid, item, time.monotonic())
            elif kind == "done":
                waiting.discard(sid)
            elif kind == "error":
                raise payload  # type: ignore[misc]

    def __iter__(self) -> Iterator[Released]:
        feed, order, get = self._feed, self.watermark, self._feed.get
        self._expand()
        looked = time.monotonic()
        try:
            while not self.stopping.is_set():
                try:
                    kind, sid, payload = get(timeout=self.poll_s)
                except queue.Empty:
                    kind = ""
                now = time.monotonic()
                if kind == "items":
                    for item in payload:  # type: ignore[attr-defined]
                        yield from order.add(sid, item, now)
                elif kind == "idle":
                    order.idle(sid)
                elif kind == "busy":
                    order.reading(sid)
                elif kind == "done":
                    order.gone(sid)
                    self._running.discard(sid)
                elif kind == "error":
                    raise payload  # type: ignore[misc]
                yield from order.due(now)
                if self.tick is not None:
                    self.tick()
                if not self.follow and not self._running and feed.empty():
                    break
                if self.follow and now - looked >= self.poll_s:
                    looked = now
                    self._expand()
            self._halt.set()
            yield from self._last_items()
            yield from order.drain()
        finally:
            self._halt.set()
