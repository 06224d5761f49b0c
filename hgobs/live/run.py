"""A live run's verdicts: followed items, released by the watermark, through the one judge.

``live_items`` sets up reading as ``hgobs.api.classify`` does (``hgobs.runsetup``: profile,
client id, trust in stamped verdicts), feeds the items ``hgobs.live.stream.LiveItems`` releases to
``hgobs.analysis.classify.judge`` (whose history is bounded by time horizons and entries, so
memory stays flat however long the run), and yields each judged item with its late flag.
``signals_stop`` turns Ctrl-C (SIGINT) and SIGTERM into the run's ordinary end.
"""

from __future__ import annotations

import contextlib
import glob
import os
import signal
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from hgobs.analysis.classify import Classified, judge
from hgobs.live.stream import LiveItems
from hgobs.readers import Item
from hgobs.readers.base import DEFAULT_LATENESS_S
from hgobs.runsetup import (
    AnalysisWarning,
    client_fingerprint,
    read_context,
    trusting,
    warn_notice,
)

Judged = tuple[Classified | Item, bool]
"""A judged item (a classified record, or a skipped item) and whether it came late."""


def live_items(paths: Iterable[str], *, profile: str | None = None,
               token_urls: Iterable[str] = (), client_id: str | None = None,
               rejudge: bool = False, follow: bool = True, lateness_s: float | None = None,
               from_end: bool = False, poll_s: float | None = None,
               on_notice: Callable[[str, int], None] = warn_notice
               ) -> tuple[LiveItems, Iterator[Judged]]:
    """``(the live input, its judged items)`` for ``paths`` (options as ``hgobs.api.classify``,
    plus those of ``LiveItems``; ``on_notice`` as ``judge``'s, by default a warning). Raises
    ``ConfigError``/``ProfileError`` for a bad option, before anything is read; a path that
    does not exist yet is waited for (an ``AnalysisWarning`` says so). Call ``stop()`` on the
    live input to end the run."""
    ctx = read_context(profile, token_urls, client_id, None)
    client_fp = client_fingerprint(client_id, None)
    trust = trusting(client_id, rejudge)
    names = list(paths)
    missing = [p for p in names if p != "-" and not glob.has_magic(p) and not os.path.exists(p)]
    if missing and follow:
        warnings.warn(f"waiting for {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}"
                      " to appear", AnalysisWarning, stacklevel=2)
    extra = {} if poll_s is None else {"poll_s": poll_s}
    bound = DEFAULT_LATENESS_S if lateness_s is None else lateness_s
    live = LiveItems(names, ctx, lateness_s=bound, follow=follow, from_end=from_end,
                     **extra)
    return live, _judged(live, ctx.profiles, client_fp, trust, on_notice)


def _judged(live: LiveItems, profiles: Any, client_fp: str | None, trust: bool,
            on_notice: Callable[[str, int], None]) -> Iterator[Judged]:
    flags: deque[bool] = deque()

    def released() -> Iterator[Item]:
        for item, late in live:
            flags.append(late)
            yield item

    for judged in judge(released(), profiles, client_fp, trust=trust,
                        on_notice=on_notice):
        yield judged, flags.popleft()


@contextlib.contextmanager
def signals_stop(live: LiveItems) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM call ``live.stop()`` (the run then releases what it
    holds and ends) instead of raising; the previous handlers are put back after. Does
    nothing outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def stop(signum: int, frame: Any) -> None:
        live.stop()

    for sig in previous:
        signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
