"""The analyzer's Python API: ``analyze`` log files into a ``Report``, ``classify`` them one by one.

::

    import hgobs

    report = hgobs.analyze(["logs/"], since="2025-11-28T00:00:00Z", bucket="1h")
    report.categories            # a pandas DataFrame: failures per category and environment
    report.write("report.html")  # every format the CLI writes: text, json, markdown, csv, html
    for verdict in hgobs.classify(["logs/hgobs.jsonl"]):
        print(verdict.source, verdict.category)

The options are those of ``hgobs analyze`` / ``hgobs classify``, with the same defaults and
checks, as keyword arguments; ``hgobs.cli`` parses the command line and calls these functions
(one code path). A bad option raises ``ConfigError`` or ``ProfileError`` before any input is
read; a path that matches nothing raises ``FileNotFoundError``. What the CLI says on standard
error as a note (files left out of a folder, a client id that cannot be checked) is an
``AnalysisWarning`` here. Needs the ``analyze`` extra (``MissingExtraError`` without it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any, Union

from hgobs.extras import require

require(("analyze",), "hgobs.api")  # MissingExtraError (an ImportError) without the extra

from hgobs.analysis import tables  # noqa: E402
from hgobs.analysis.classify import Classified, gc_paused, judge  # noqa: E402
from hgobs.analysis.state import ReportState, has_time  # noqa: E402
from hgobs.atomic import write_atomic  # noqa: E402
from hgobs.config import fingerprint_key_setting  # noqa: E402
from hgobs.diagnosis.catalog import CATEGORIES  # noqa: E402
from hgobs.errors import ConfigError  # noqa: E402
from hgobs.options import FORMAT_SUFFIXES, format_for  # noqa: E402
from hgobs.options import parse_time as _parse_time  # noqa: E402
from hgobs.profiles import Profile  # noqa: E402
from hgobs.progress import Progress  # noqa: E402
from hgobs.readers import Item, ReadContext, read_paths  # noqa: E402
from hgobs.reports import render  # noqa: E402
from hgobs.runsetup import (  # noqa: E402
    AnalysisWarning,
    ClientIdMismatchWarning,
    read_warnings,
)
from hgobs.runsetup import check_client as _check_client  # noqa: E402
from hgobs.runsetup import client_fingerprint as _client_fp  # noqa: E402
from hgobs.runsetup import read_context as _context  # noqa: E402
from hgobs.runsetup import token_urls_of as _urls  # noqa: E402
from hgobs.runsetup import trusting as _trusting  # noqa: E402
from hgobs.runsetup import warn_notice as _warn_notice  # noqa: E402

PathLike = Union[str, "os.PathLike[str]"]


class Report(tables.Report):
    """The analyzer's ``hgobs.analysis.tables.Report`` (its tables pandas DataFrames, times UTC,
    durations seconds; fields documented there), plus ``render`` and ``write``."""

    def render(self, fmt: str = "text", *, width: int | None = None, color: bool = False
               ) -> str:
        """The report as text in ``fmt``: ``text``, ``json``, ``markdown`` (or ``md``),
        ``csv`` or ``html`` (``hgobs.reports.render``; ``width`` in columns and ``color`` for
        the text format only). Raises ``ConfigError`` for another format."""
        with gc_paused():  # many small objects, no cycles (see gc_paused)
            return render(self, fmt, width=width, color=color)

    def write(self, path: PathLike, fmt: str | None = None) -> str:
        """Write the report to ``path`` atomically (all of it or nothing, ``write_atomic``) in
        ``fmt``, by default the format ``path``'s extension names (``format_for``); returns
        the format written. Raises ``ConfigError`` for an unknown format or, without ``fmt``,
        an extension that names none; ``OSError`` when the file cannot be written."""
        fmt = fmt or format_for(os.fspath(path))
        write_atomic(os.fspath(path), self.render(fmt))
        return fmt


@dataclass(frozen=True)
class ClassifiedRecord:
    """One classified record, as ``hgobs classify`` prints it: ``source`` (``<file>:<line>``),
    ``time`` (ISO 8601 UTC, ``...Z``; None when the record has no time; the readers skip
    a record whose time is out of range, ``hgobs.schema.time_in_range``),
    ``category`` (a catalog id or ``ok``), ``confidence``, ``evidence`` (facts, no secrets) and
    ``also`` (other categories that matched)."""

    source: str
    time: str | None
    category: str | None
    confidence: str | None
    evidence: tuple[Any, ...] = ()
    also: tuple[Any, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The verdict as a JSON-ready dict, keys in the order above, sequences as lists."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
                for f in fields(self)}


@dataclass(frozen=True)
class Skipped:
    """An input unit that is not a record: ``source`` (``<file>:<line>``) and ``reason`` (in
    words that never quote the input)."""

    source: str
    reason: str


def analyze(paths: PathLike | Iterable[PathLike], *, profile: str | Profile | None = None,
            token_urls: Iterable[str] = (), client_id: str | None = None,
            fingerprint_key: str | bytes | None = None, since: datetime | str | None = None,
            until: datetime | str | None = None, bucket: str = "1d", recurring_min: int = 2,
            rejudge: bool = False, now: datetime | None = None,
            progress: Progress | None = None, workers: int | None = None,
            scheduler: str | None = None, storage_options: dict[str, Any] | None = None
            ) -> Report:
    """Classify the auth attempts of ``paths`` (files, folders, globs, ``-`` for standard
    input; any format the readers know) and reduce them to a ``Report``, streaming (memory
    bounded by the report's keys, not by the input).

    - ``profile``: a built-in profile name, a profile TOML file or a ``Profile`` (default:
      ``HGOBS_PROFILE``, else ``healthgorilla``); ``token_urls``: a provider known only by
      its token URLs (instead of ``profile``).
    - ``client_id``: judge ``iss``/``sub`` against it, by its fingerprint under
      ``fingerprint_key`` (default ``HGOBS_FINGERPRINT_KEY``: the key the records were made
      with; without one the client id is ignored, with an ``AnalysisWarning``).
    - ``since`` (inclusive), ``until`` (exclusive): a datetime, ISO 8601 text (naive = UTC)
      or a length of time before ``now`` (``24h``, ``7d``, ``30m``, ``90s``, ``2w``;
      ``hgobs.options.parse_time``).
    - ``bucket``: a fixed pandas offset alias (``15min``, ``1h``, ``1d``); ``recurring_min``:
      buckets a (client, category) must appear in to recur (at least 1).
    - ``rejudge``: judge every record with the current rules, also those whose capture-time
      verdict carries a stamp of these rules and this profile (``judge(trust=False)``). Without
      it a record keeps its stamped verdict only when the stamp names these rules and the
      profile in use (name and content digest), so ``profile`` or ``token_urls`` re-judge just
      the records stamped under another profile; a run with ``client_id`` judges every record
      again (it adds ``iss``/``sub`` facts the stamp did not see).
    - ``now``: the report's ``generated_at`` (default: now); ``progress``: a
      ``hgobs.progress.Progress`` to show the bytes and records read (the CLI's, on a terminal).
    - ``workers`` (processes of a local Dask cluster) or ``scheduler`` (an address): the same
      report made on a cluster (``hgobs.cluster``); paths may be fsspec URLs, opened with
      ``storage_options``.

    Raises ``ConfigError`` (bad ``bucket``, ``since`` not before ``until``, ``recurring_min``
    below 1, a time in no form ``parse_time`` reads), ``ProfileError``, ``FileNotFoundError``.
    """
    state = report_state(since=since, until=until, bucket=bucket, recurring_min=recurring_min,
                         now=now)
    ctx = _context(profile, token_urls, client_id, fingerprint_key)
    client_fp = _client_fp(client_id, fingerprint_key)
    trust = _trusting(client_id, rejudge)
    if workers is not None or scheduler is not None:  # the dask extra's (MissingExtraError)
        from hgobs.cluster import on_cluster
        on_cluster(paths, state, ctx, profile=profile, token_urls=_urls(token_urls),
                   client_id=client_id, client_fp=client_fp, trust=trust,
                   key=fingerprint_key_setting(fingerprint_key), workers=workers,
                   scheduler=scheduler, storage_options=storage_options, progress=progress)
    else:
        for judged in _judged(paths, ctx, client_fp, trust, progress=progress,
                              on_notice=state.notice):
            state.add(judged)
    report = report_of(state, now)
    _check_client(client_fp, report.breakdown["client"]["value"])
    return report


def report_state(*, since: datetime | str | None, until: datetime | str | None, bucket: str,
                 recurring_min: int, now: datetime | None = None) -> ReportState:
    """The empty ``ReportState`` of ``analyze``'s options (relative times count back from
    ``now``, default now). Raises ``ConfigError`` named as the option is here."""
    try:
        ref = now or datetime.now(timezone.utc)
        return ReportState(bucket=bucket, since=_utc(since, "since", ref),
                           until=_utc(until, "until", ref), recurring_min_buckets=recurring_min)
    except ConfigError as exc:
        if exc.option != "recurring_min_buckets":
            raise
        raise ConfigError("recurring_min", str(exc).split(": ", 1)[-1]) from None


def report_of(state: ReportState, now: datetime | None = None) -> Report:
    """The ``Report`` of what ``state`` holds (``now`` stamps it; default: now)."""
    with gc_paused():  # the report's tables are many small objects, no cycles (see gc_paused)
        data = state.report(now)
    return Report(**{f.name: getattr(data, f.name) for f in fields(data)})


def classify(paths: PathLike | Iterable[PathLike], *, profile: str | Profile | None = None,
             token_urls: Iterable[str] = (), client_id: str | None = None,
             fingerprint_key: str | bytes | None = None, rejudge: bool = False
             ) -> Iterator[ClassifiedRecord | Skipped]:
    """The records of ``paths`` judged one by one, in the order ``read_paths`` yields them (time
    order across files): a ``ClassifiedRecord`` for each record, a ``Skipped`` for each input
    unit that is not one (totals reconcile). Options as for ``analyze``. Streams: history is
    bounded (see ``hgobs.analysis.classify``). A record whose time is out of range is a ``Skipped``
    (the readers' reason): the run never stops on one. Option errors are raised at the call, before
    the first item; ``FileNotFoundError`` when iteration reaches a path that matches nothing.
    """
    ctx = _context(profile, token_urls, client_id, fingerprint_key)
    client_fp = _client_fp(client_id, fingerprint_key)
    trust = _trusting(client_id, rejudge)

    def verdicts() -> Iterator[ClassifiedRecord | Skipped]:
        clients: set[Any] = set()
        for judged in _judged(paths, ctx, client_fp, trust, on_notice=_warn_notice):
            if not isinstance(judged, Classified):
                yield Skipped(judged.source, str(judged.reason))
                continue
            clients.add(judged.record.get("client.fp"))
            yield verdict_of(judged)
        _check_client(client_fp, clients)

    return verdicts()


def verdict_of(judged: Classified) -> ClassifiedRecord:
    """The ``ClassifiedRecord`` of one record the judge classified."""
    r = judged.record
    return ClassifiedRecord(judged.source, iso_time(r.get("time")), r.get("category"),
                            r.get("confidence"), tuple(r.get("evidence") or ()),
                            tuple(r.get("also") or ()))


def _judged(paths: PathLike | Iterable[PathLike], ctx: ReadContext, client_fp: str | None,
            trust: bool, *,
            progress: Progress | None = None,
            on_notice: Callable[[str, int], None] | None = None) -> Iterator[Classified | Item]:
    """The judged items of ``paths``, in the order ``read_paths`` yields them (time order
    across files). Warns (``AnalysisWarning``) of files left out, records out of time order
    and full reorder buffers, and gives the note of each walked folder's manifest
    (``hgobs.readers.manifest``); ``on_notice`` gets the counts the report carries."""
    names = [os.fspath(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    ignored: list[str] = []
    items = read_paths(names, ctx, ignored)
    with gc_paused():
        yield from judge(progress.track(items, ctx.tally) if progress else items, ctx.profiles,
                         client_fp, trust=trust, on_notice=on_notice)
    read_warnings(ctx, ignored, on_notice)


def parse_time(value: datetime | str, option: str = "time", now: datetime | None = None
               ) -> datetime:
    """``hgobs.options.parse_time``: an ISO 8601 time, a datetime or a length of time before
    ``now`` (``24h``, ``7d``) as an aware datetime (naive: UTC). Raises ``ConfigError``
    naming ``option`` and the forms accepted."""
    return _parse_time(value, option, now)


def _utc(value: datetime | str | None, option: str, now: datetime) -> datetime | None:
    return None if value is None else parse_time(value, option, now)


def iso_time(epoch: Any) -> str | None:
    """``epoch`` (seconds) as ISO 8601 UTC (``...Z``), or None when it is not a time the
    analysis holds (``hgobs.schema.time_in_range``: not NaN, milliseconds, 1e300, text)."""
    if not has_time(epoch):
        return None
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def failing_categories(spec: str | None, categories: Iterable[Any]) -> list[str]:
    """The failure categories among ``categories`` that ``spec`` names (``--fail-on``: ids
    separated by commas; ``any``: every failure category), sorted. Raises ``ConfigError``
    (option ``--fail-on``) for an id not in the catalog."""
    if not spec:
        return []
    present = {c for c in categories if isinstance(c, str) and c and c != "ok"}
    wanted = {c.strip() for c in spec.split(",") if c.strip()}
    if "any" in wanted:
        return sorted(present)
    unknown = wanted - set(CATEGORIES)
    if unknown:
        raise ConfigError("--fail-on", f"unknown category {', '.join(sorted(unknown))}")
    return sorted(present & wanted)


__all__ = ["FORMAT_SUFFIXES", "AnalysisWarning", "ClassifiedRecord", "ClientIdMismatchWarning",
           "Report", "Skipped", "analyze", "classify", "failing_categories", "format_for",
           "iso_time", "parse_time", "report_of", "report_state", "verdict_of", "write_atomic"]
