"""``hgobs classify --follow`` and ``hgobs classify -`` on a pipe: one JSON line per record as it comes.

Each record's line is the object ``hgobs classify`` prints (``hgobs.api.ClassifiedRecord``),
written and flushed as soon as the watermark releases the record (``hgobs.live.order``); a
record that came later than the lateness bound allows carries ``"late": true`` as well.
Skipped input goes to standard error as ``<file>:<line>: skipped: <reason>``, as without
``--follow``. Ctrl-C (or SIGTERM) ends the run: the records still held are judged and
printed, then the totals, and the exit code is 0.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Iterable
from typing import Any, TextIO

from hgobs import api
from hgobs.analysis.classify import Classified
from hgobs.cliparts import classify_totals, skipped_line
from hgobs.live.run import live_items, signals_stop
from hgobs.runsetup import check_client, client_fingerprint


def classify_live(paths: Iterable[str], *, profile: str | None = None,
                  token_urls: Iterable[str] = (), client_id: str | None = None,
                  rejudge: bool = False, follow: bool = True, lateness_s: float | None = None,
                  from_end: bool = False, out: TextIO | None = None,
                  err: TextIO | None = None) -> tuple[int, int, int]:
    """Print the verdicts of ``paths`` as they come (see module doc) to ``out`` (default
    standard output), skips to ``err``, then the totals and the client id check
    ``hgobs.api.classify`` makes; returns ``(classified, skipped, late)``. Options as
    ``hgobs.live.run.live_items`` (``lateness_s`` None: ``DEFAULT_LATENESS_S``); raises what
    it raises for a bad option."""
    out = out or sys.stdout
    err = err or sys.stderr
    classified = skipped = 0
    clients: set[Any] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("always", api.AnalysisWarning)
        warnings.showwarning = _say_now(err)
        live, judged = live_items(paths, profile=profile, token_urls=token_urls,
                                  client_id=client_id, rejudge=rejudge, follow=follow,
                                  lateness_s=lateness_s, from_end=from_end)
        with signals_stop(live):
            try:
                for one, late in judged:
                    if isinstance(one, Classified):
                        classified += 1
                        clients.add(one.record.get("client.fp"))
                        verdict = api.verdict_of(one).as_dict()
                        if late:
                            verdict["late"] = True
                        out.write(json.dumps(verdict) + "\n")
                        out.flush()
                    else:
                        skipped += 1
                        err.write(skipped_line(one.source, one.reason) + "\n")
                        err.flush()
            except BrokenPipeError:  # the output's reader went away (| head): stop quietly
                live.stop()
                _quiet(out)
            finally:
                judged.close()
        late = live.watermark.late
        err.write(classify_totals(classified, skipped, late) + "\n")
        check_client(client_fingerprint(client_id, None), clients)  # after the totals
    return classified, skipped, late


def _say_now(err: TextIO) -> Any:
    """A ``warnings.showwarning`` that says an ``AnalysisWarning`` on ``err`` at once (a
    live run has no end to keep it for), after its class's ``said_as`` (``hgobs: ``)."""
    shown = warnings.showwarning

    def show(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(category, type) and issubclass(category, api.AnalysisWarning):
            err.write(f"{category.said_as}{message}\n")
            err.flush()
        else:
            shown(message, category, *args, **kwargs)

    return show


def _quiet(out: TextIO) -> None:
    """Point ``out``'s descriptor at /dev/null, so flushing it at exit raises nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
