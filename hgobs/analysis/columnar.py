"""The columnar engine of ``hgobs analyze`` for hgobs JSON Lines files.

The streaming engine (``hgobs.analysis.classify.judge`` feeding ``ReportState.add``) spends
20 to 30 us of Python per record. For the analyzer's own input, capture records, most of that
is not needed: capture already judged each record with the same rules (the ``diagnosis.rules``
stamp says which), and a success needs no rule at all. This engine lets polars do the heavy
lifting and keeps Python for the records that need a judgement:

1. **Read.** Each file is read in blocks of ``block_bytes`` cut at a line end (a plain file
   read a block at a time by positioned reads); polars parses a block's lines into the columns the
   analysis needs (``COLUMNS``, typed from ``hgobs.schema``). A block polars refuses, or one
   holding a line the JSON Lines reader would skip or read otherwise, is read line by line by
   that reader (``hgobs.readers.jsonl.parse_line``), so skip reasons and values are the
   reader's. Files of ``PARALLEL_BYTES`` or more are read and parsed by a child process one
   block ahead (``feed_file``), its frames handed over as Arrow IPC files.
2. **Order.** Rows are judged in time order, ties in input order, with the streaming
   engine's guarantee: input never further out of order than ``reorder_window`` records is
   judged exactly as if it had been sorted whole. A block's rows that a later row could still
   precede are held back for the next block.
3. **History.** The facts ``hgobs.diagnose.History`` adds (assertion reuse, the issuing
   exchange of a presented access value, the environments where an ``iss`` succeeded, the
   exchange earlier in the same trace) are found with joins over the block and tables carried
   from block to block, bounded like ``History``'s (least recently stored dropped first).
4. **Judge.** A success stamped by these rules whose status says it is one stays a success
   (judging it again could only say ``ok``). A failure stamped by these rules whose status
   says it failed keeps its diagnosis when the history facts found equal the ones it carries
   (``_facts_stand``). Every other record is read again in full and goes through
   ``_Judge.decide``, the streaming engine's own code, so the rules (``hgobs.diagnose``) have
   one implementation.
5. **Reduce.** The cube is one group-by per block; recovery episodes come from every record's
   event at once (``_episodes``); Python sees only the records judged again and the settled
   failures the drill-down may keep, the environment mismatches and those near the window's
   or a bucket's edges (``_per_row``).

The result is the streaming engine's report for the same input (tests compare the two on
generated, sampled and damaged inputs), except in these documented cases:

- the bounds of the assertion, issued-value and environment tables (``history_entries``) are
  applied after each block, so a credential may be remembered up to one block longer;
- input further out of time order than ``reorder_window`` is put in order a block at a time,
  not record by record, so such a late record meets a different history;
- a JSON number in a string field that polars writes with exactly 16 or 32 digits (``1e15``)
  is read as that text, where the streaming reader drops it;
- a line with a duplicate key keeps the first value (the streaming reader keeps the last);
- one assertion fingerprint seen with two ``jti`` values (not possible for one token) is
  dated from its own first use only;
- a record whose time is NaN leaves no time in the assertion table.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import logging
import math
import os
from collections import OrderedDict
from typing import Any

import polars as pl

from hgobs.analysis.blocks import (
    COLUMNS,
    REPORT_FIELDS,
    _blocks,
    _failing,
    _in_process,
    _parse,
    _parsed_in_child,
    _settled_ok,
)
from hgobs.analysis.classify import HISTORY_FIELDS, _Judge
from hgobs.analysis.state import MAX_ABS_TIME_S, UNKNOWN, ReportState, _fill, has_time
from hgobs.analysis.trends import ENVIRONMENT_MISMATCH
from hgobs.catalog import CATEGORIES, OK
from hgobs.diagnose import RULES_DIGEST, is_failure
from hgobs.diagnosis.stamp import profile_stamp
from hgobs.profiles import API_CALL, TOKEN_EXCHANGE, Profile
from hgobs.readers import jsonl
from hgobs.readers.base import Item
from hgobs.schema import Record

log = logging.getLogger("hgobs")
DEFAULT_BLOCK_BYTES = 64 << 20
"""Bytes of input parsed by polars at a time (a block ends at a line end)."""
PARALLEL_BYTES = 256 << 20
MAX_OPEN_FILES = 64
"""Plain files kept open to read lines again; one closed is opened again only if it is still
the same file (device and inode)."""
"""Files at least this large (bytes, on disk) are parsed by a child process (``feed_file``)."""
TRACE_ENTRIES = 1_000
"""Bound of the table of the last token exchange per trace (as ``History.trace_entries``)."""

_FACT_INPUTS = ("time", "endpoint.kind", "environment", "assertion.source", "assertion.fp",
                "assertion.jti_fp", "assertion.iss_fp", "presented.fp", "issued.fp",
                "issued.expires_in", "trace_id")
_FACTS = ("_reused_from", "_iss_at", "_iss_exp", "_iss_env", "_ok_env", "_trace_ord")
"""Columns the history joins add: the raw facts ``_add_facts`` turns into record fields."""
_LOOP_FIELDS = (*REPORT_FIELDS, *HISTORY_FIELDS, "trace_id", "span_id")
_ROW = (*_LOOP_FIELDS, *_FACTS, "_src", "_line", "_ord", "_raw", "_off", "_len")
"""Columns of a row the per-row pass reads (``_reduce``)."""
_COUNTED = ("time", "category", "endpoint.kind", "environment", "service.name", "client.fp",
            "_ok", "_failed", "_out", "_vec", "_bucket")
_FAILURE_IDS = [c for c in CATEGORIES if c != OK]

_MARGIN_S = 1e-6
_ASSERTION_SOURCES = ("assertion", "client_assertion")


def _truthy(name: str) -> pl.Expr:
    """``bool(r.get(name))`` for a string column."""
    return pl.col(name).is_not_null() & (pl.col(name) != "")


class _LineChanged(Exception):
    """A line read again is no longer what was read (its file changed during the run)."""


class ColumnarAnalyzer:
    """Feeds hgobs JSON Lines files into a ``ReportState`` (see module doc).

    ``profile``, ``client_fp`` and ``trust`` are those of ``hgobs.analysis.classify.judge``;
    ``reorder_window`` (records, at least 1) and ``history_entries`` bound memory as there;
    ``block_bytes`` is the size of a parsed block (bytes). Call ``feed`` or ``feed_file`` for
    each file in input order, then ``finish``. Raises ``OSError`` when a file cannot be read
    (the caller reports it as the streaming readers do) and ``ValueError`` for a bad option.
    """

    def __init__(self, state: ReportState, profile: Profile, client_fp: str | None = None, *,
                 trust: bool = True, reorder_window: int = 10_000,
                 history_entries: int = 200_000,
                 block_bytes: int = DEFAULT_BLOCK_BYTES) -> None:
        if reorder_window < 1:
            raise ValueError("reorder_window must be at least 1")
        self.state = state
        self.judge = _Judge(profile, client_fp, history_entries, trust)
        self.trust = self.judge.trust
        self.window = reorder_window
        self.entries = history_entries
        self.block_bytes = block_bytes
        self.sources: list[str] = []
        self._seq = 0
        self._ord = 0
        self._held: pl.DataFrame | None = None
        self._assertions = pl.DataFrame(schema={"k": pl.String, "first": pl.Float64,
                                                "last": pl.Int64})
        self._issued = pl.DataFrame(schema={"k": pl.String, "at": pl.Float64, "exp": pl.Float64,
                                            "env": pl.String, "last": pl.Int64})
        self._envs = pl.DataFrame(schema={"iss": pl.String, "env": pl.String, "last": pl.Int64})
        self._traces = pl.DataFrame(schema={"trace": pl.String, "ord": pl.Int64})
        self._exchange_verdicts: dict[int, tuple[Any, Any, Any]] = {}
        self._fds: OrderedDict[int, int] = OrderedDict()
        """Open plain files (source number -> descriptor), opened when their reading starts
        and kept, least recently used first, for reading a line again."""
        self._identity: dict[int, tuple[int, int]] = {}

    # --- reading -----------------------------------------------------------------------------

    def feed(self, stream: io.BufferedIOBase | Any, name: str) -> None:
        """Read every line of the open binary ``stream`` (named ``name`` in sources), parsing
        in this process."""
        file_no = self._source(name)
        line_no = 0
        for data in _blocks(stream, self.block_bytes):
            line_no = self._accept(_parse(data, self.trust), file_no, line_no)

    def feed_file(self, name: str) -> None:
        """Read the file ``name`` (``.gz`` decompressed). A file of at least
        ``PARALLEL_BYTES`` is read and parsed by a child process (a fresh interpreter running
        ``hgobs.analysis.blocks.serve``), ahead of the judging here (two cores both busy); a
        smaller one, or when no child process can be started, in this process, by a worker
        thread one block ahead. Raises ``OSError`` (``EOFError`` for a compressed file that
        ends early) as reading it here would."""
        try:
            size = os.path.getsize(name)
        except OSError:
            size = 0
        blocks = _in_process if size < PARALLEL_BYTES else _parsed_in_child
        file_no = self._source(name)
        with contextlib.suppress(OSError):  # kept open: a rename (rotation) moves no line
            fd = os.open(name, os.O_RDONLY)
            try:
                stat = os.fstat(fd)
            except OSError:
                os.close(fd)
                raise
            self._identity[file_no] = (stat.st_dev, stat.st_ino)
            self._keep_open(file_no, fd)
        line_no = 0
        for parsed in blocks(name, self.block_bytes, self.trust):
            line_no = self._accept(parsed, file_no, line_no)

    def _read_line(self, file_no: int, offset: int, size: int) -> bytes | None:
        """``size`` bytes at ``offset`` of source ``file_no`` (a plain file), line end
        dropped; None when the file is no longer the one read (replaced, or cut short)."""
        fd = self._fds.pop(file_no, None)
        if fd is None:  # closed to bound open files: open it again, if it is the same file
            try:
                fd = os.open(self.sources[file_no], os.O_RDONLY)
            except OSError:
                return None
            stat = os.fstat(fd)
            if (stat.st_dev, stat.st_ino) != self._identity.get(file_no):
                os.close(fd)
                return None
        self._keep_open(file_no, fd)
        data = os.pread(fd, size, offset)
        return data.rstrip(b"\r") if len(data) == size else None

    def _keep_open(self, file_no: int, fd: int) -> None:
        """Keep ``fd`` as the most recently used; close the least recently used beyond
        ``MAX_OPEN_FILES``."""
        self._fds[file_no] = fd
        while len(self._fds) > MAX_OPEN_FILES:
            os.close(self._fds.popitem(last=False)[1])

    def _source(self, name: str) -> int:
        self.sources.append(name)
        return len(self.sources) - 1

    def _accept(self, parsed: tuple[Any, ...], file_no: int, line_no: int) -> int:
        """Take one parsed block (see ``_parse``) starting after line ``line_no``; returns
        the number of its last line."""
        kind, payload, lines = parsed
        if kind == "fast":
            frame = self._number(payload, line_no, file_no)
        else:
            frame, skipped = self._slow(payload, file_no, line_no)
            for item in skipped:
                self.state.add_skipped(item)
        if frame.height:
            self._take(frame)
        return line_no + lines

    def _slow(self, data: bytes, file_no: int, line_no: int) -> tuple[pl.DataFrame, list[Item]]:
        """A block read line by line by the JSON Lines reader (exact skips and values): its
        rows and the items skipped, in input order."""
        name = self.sources[file_no]
        rows: list[Record] = []
        raws: list[bytes] = []
        kept: list[int] = []
        skipped: list[Item] = []
        lines = data.split(b"\n")
        lines.pop()
        for i, raw in enumerate(lines):
            line = raw.rstrip(b"\r\n")
            if not line or line.isspace():
                continue
            item = jsonl.parse_line(line, f"{name}:{line_no + i + 1}")
            if item.record is None:
                skipped.append(item)
                continue
            rows.append({k: item.record.get(k) for k in COLUMNS if k != "schema"})
            raws.append(line)
            kept.append(i)
        schema = {k: v for k, v in COLUMNS.items() if k != "schema"}
        frame = pl.DataFrame(rows, schema=schema, strict=False) if rows else \
            pl.DataFrame(schema=schema)
        frame = frame.with_columns(pl.Series("_i", kept, dtype=pl.Int32),
                                   pl.lit(True).alias("_exact"),
                                   pl.Series("_raw", raws, dtype=pl.Binary),
                                   pl.lit(None, pl.Int64).alias("_off"),
                                   pl.lit(None, pl.Int32).alias("_len"))
        return self._number(frame, line_no, file_no), skipped

    def _number(self, frame: pl.DataFrame, line_no: int, file_no: int) -> pl.DataFrame:
        """``frame`` (with ``_i``, each row's line index in its block) with the rows' input
        numbers, file, line (1-based) and time order key."""
        n = frame.height
        seq0 = self._seq
        self._seq += n
        return frame.with_columns(
            pl.int_range(seq0, seq0 + n, dtype=pl.Int64).alias("_seq"),
            pl.lit(file_no, dtype=pl.Int32).alias("_src"),
            (pl.col("_i").cast(pl.Int64) + (line_no + 1)).alias("_line"),
            pl.when(pl.col("time").is_nan()).then(0.0).otherwise(pl.col("time")).alias("_key"))

    # --- ordering ----------------------------------------------------------------------------

    def _take(self, frame: pl.DataFrame) -> None:
        """Add read rows; judge those no later row can precede (see module doc)."""
        if self._held is not None and self._held.height:
            frame = pl.concat([self._held, frame], how="vertical")
        frame = frame.sort(["_key", "_seq"])
        last = self._seq - 1
        settled = frame.filter(pl.col("_seq") <= last - self.window)
        if settled.height == 0:
            self._held = frame
            return
        bound = settled["_key"].max()
        ready = pl.col("_key") <= bound
        self._held = frame.filter(~ready)
        self._judge(frame.filter(ready))

    def finish(self) -> None:
        """Judge every row still held (call once, after the last ``feed``)."""
        try:
            if self._held is not None and self._held.height:
                held, self._held = self._held, None
                self._judge(held)
        finally:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()

    # --- history -----------------------------------------------------------------------------

    def _judge(self, batch: pl.DataFrame) -> None:
        """History facts, verdicts and reduction for ``batch`` (rows in judging order)."""
        n = batch.height
        batch = batch.with_columns(pl.int_range(self._ord, self._ord + n,
                                                dtype=pl.Int64).alias("_ord"))
        self._ord += n
        facts = batch.select(*_FACT_INPUTS, "_ord")
        facts = self._reuse(facts)
        facts = self._issued_facts(facts)
        facts = self._env_facts(facts)
        facts = self._trace_facts(facts)
        self._reduce(batch.hstack(facts.select(_FACTS)))

    def _store(self, table: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
        """``table`` with the rows of ``new`` (one per key ``k``) put in place of its own,
        less its least recently stored rows beyond ``history_entries``. Tables stay in the
        order rows were stored (``last``), so the oldest are the first."""
        kept = table.join(new.select("k"), on="k", how="anti", maintain_order="left")
        table = pl.concat([kept, new.sort("last")], how="vertical")
        return table.tail(self.entries) if table.height > self.entries else table

    def _reuse(self, batch: pl.DataFrame) -> pl.DataFrame:
        """``_reused_from``: the earliest time an earlier exchange presented the same assertion
        (fingerprint) or the same ``iss`` + ``jti``; stores this batch's assertions."""
        kind, src = pl.col("endpoint.kind"), pl.col("assertion.source")
        asserted = (kind == TOKEN_EXCHANGE) & src.is_in(_ASSERTION_SOURCES)
        keyed = batch.filter(asserted)
        if keyed.height == 0:
            return batch.with_columns(pl.lit(None, pl.Float64).alias("_reused_from"))
        by_fp = keyed.filter(_truthy("assertion.fp")).select(
            "_ord", "time", (pl.lit("a:") + pl.col("assertion.fp")).alias("k"))
        by_jti = keyed.filter(_truthy("assertion.jti_fp") & _truthy("assertion.iss_fp")).select(
            "_ord", "time", (pl.lit("j:") + pl.col("assertion.iss_fp") + pl.lit(":")
                             + pl.col("assertion.jti_fp")).alias("k"))
        uses = pl.concat([by_fp, by_jti], how="vertical").sort("_ord").join(
            self._assertions.select("k", pl.col("first").alias("_st")), on="k", how="left",
            maintain_order="left")
        uses = uses.with_columns(pl.coalesce(
            "_st", pl.when(~pl.col("k").is_first_distinct()).then(
                pl.col("time").first().over("k"))).alias("_e"))
        found = uses.group_by("_ord").agg(pl.col("_e").min().alias("_reused_from"))
        batch = batch.join(found, on="_ord", how="left", maintain_order="left")
        new = uses.group_by("k").agg(
            pl.min_horizontal("_st", "time").min().alias("first"),
            pl.col("_ord").max().alias("last"))
        self._assertions = self._store(self._assertions, new)
        return batch

    def _issued_facts(self, batch: pl.DataFrame) -> pl.DataFrame:
        """``_iss_at``, ``_iss_exp``, ``_iss_env``: what the exchange that issued the presented
        access value stored (the latest one before the row); stores this batch's issues."""
        kind = pl.col("endpoint.kind")
        puts = batch.filter((kind == TOKEN_EXCHANGE) & _truthy("issued.fp")).select(
            pl.col("issued.fp").alias("k"), pl.col("time").alias("at"),
            pl.col("issued.expires_in").alias("exp"), pl.col("environment").alias("env"),
            pl.col("_ord").alias("last"))
        asks = batch.filter((kind == API_CALL) & _truthy("presented.fp")).select(
            pl.col("_ord"), pl.col("presented.fp").alias("k"))
        if asks.height:
            found = asks.join_asof(puts.rename({"last": "_put"}), left_on="_ord",
                                   right_on="_put", by="k", strategy="backward",
                                   allow_exact_matches=False, check_sortedness=False)
            found = found.join(self._issued.select("k", pl.col("at").alias("s_at"),
                                                   pl.col("exp").alias("s_exp"),
                                                   pl.col("env").alias("s_env")),
                               on="k", how="left", maintain_order="left")
            hit = pl.col("_put").is_not_null()
            found = found.select(
                "_ord",
                pl.when(hit).then(pl.col("at")).otherwise(pl.col("s_at")).alias("_iss_at"),
                pl.when(hit).then(pl.col("exp")).otherwise(pl.col("s_exp")).alias("_iss_exp"),
                pl.when(hit).then(pl.col("env")).otherwise(pl.col("s_env")).alias("_iss_env"))
            batch = batch.join(found, on="_ord", how="left", maintain_order="left")
        else:
            batch = batch.with_columns(pl.lit(None, pl.Float64).alias("_iss_at"),
                                       pl.lit(None, pl.Float64).alias("_iss_exp"),
                                       pl.lit(None, pl.String).alias("_iss_env"))
        if puts.height:
            self._issued = self._store(self._issued, puts.group_by("k").last())
        return batch

    def _env_facts(self, batch: pl.DataFrame) -> pl.DataFrame:
        """``_ok_env``: for a token exchange, an environment (the first by name) where its
        ``iss`` got an access value before, when it has not got one in its own environment;
        stores this batch's successes."""
        kind = pl.col("endpoint.kind")
        keyed = (kind == TOKEN_EXCHANGE) & _truthy("assertion.iss_fp") & _truthy("environment")
        puts = batch.filter(keyed & _truthy("issued.fp")).group_by(
            pl.col("assertion.iss_fp").alias("iss"), pl.col("environment").alias("env")).agg(
            pl.col("_ord").min().alias("_first"), pl.col("_ord").max().alias("last"))
        envs = sorted(set(self._envs["env"].to_list()) | set(puts["env"].to_list()))
        if not envs:
            return batch.with_columns(pl.lit(None, pl.String).alias("_ok_env"))
        has = []
        for env in envs:
            stored = self._envs.filter(pl.col("env") == env).select(
                pl.col("iss").alias("assertion.iss_fp"), pl.lit(True).alias(f"_st_{env}"))
            mine = puts.filter(pl.col("env") == env).select(
                pl.col("iss").alias("assertion.iss_fp"), pl.col("_first").alias(f"_b_{env}"))
            batch = batch.join(stored, on="assertion.iss_fp", how="left",
                               maintain_order="left").join(
                mine, on="assertion.iss_fp", how="left", maintain_order="left")
            has.append((env, pl.col(f"_st_{env}").fill_null(False)
                        | (pl.col(f"_b_{env}") < pl.col("_ord")).fill_null(False)))
        own = pl.any_horizontal([flag & (pl.col("environment") == env) for env, flag in has])
        pick: Any = pl.lit(None, pl.String)
        for env, flag in reversed(has):
            pick = pl.when(flag).then(pl.lit(env)).otherwise(pick)
        batch = batch.with_columns(
            pl.when(keyed & ~own).then(pick).alias("_ok_env")).drop(
            [f"_st_{e}" for e in envs] + [f"_b_{e}" for e in envs])
        if puts.height:
            new = pl.concat([self._envs, puts.select("iss", "env", "last")], how="vertical")
            self._envs = new.group_by("iss", "env").agg(pl.col("last").max())
            recent = self._envs.group_by("iss").agg(pl.col("last").max())
            if recent.height > self.entries:
                keep = recent.sort("last").tail(self.entries).select("iss")
                self._envs = self._envs.join(keep, on="iss", how="semi")
        return batch

    def _trace_facts(self, batch: pl.DataFrame) -> pl.DataFrame:
        """``_trace_ord``: for an API call, the order number of the latest token exchange of
        its trace judged before it (within the bound of ``TRACE_ENTRIES`` exchanges)."""
        kind = pl.col("endpoint.kind")
        puts = batch.filter((kind == TOKEN_EXCHANGE) & _truthy("trace_id")).select(
            pl.col("trace_id").alias("trace"), pl.col("_ord"),
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_n"))
        stored = self._traces.height
        asks = batch.filter((kind == API_CALL) & _truthy("trace_id")).select(
            "_ord", pl.col("trace_id").alias("trace"))
        if asks.height:
            before = puts.select(pl.col("_ord").alias("_at"), pl.col("_n").alias("_before"))
            asks = asks.sort("_ord").join_asof(before, left_on="_ord", right_on="_at",
                                               strategy="backward")
            asks = asks.with_columns(pl.col("_before").fill_null(-1) + 1)  # exchanges before
            found = asks.join_asof(
                puts.select("trace", pl.col("_ord").alias("_hit"), "_n"),
                left_on="_ord", right_on="_hit", by="trace", strategy="backward",
                allow_exact_matches=False, check_sortedness=False)
            found = found.join(self._traces.with_columns(
                pl.int_range(pl.len(), dtype=pl.Int64).alias("_rank")).select(
                "trace", pl.col("ord").alias("_st"), "_rank"), on="trace", how="left",
                maintain_order="left")
            # The table forgets a trace once TRACE_ENTRIES other traces stored an exchange
            # after its last one. Exchanges after it bound those traces from above: below
            # the bound the trace is surely remembered; at or above it, count them.
            since_hit = pl.col("_before") - pl.col("_n") - 1  # exchanges after the hit
            since_st = pl.col("_before") + stored - pl.col("_rank") - 1
            found = found.with_columns(
                pl.when(pl.col("_hit").is_not_null()).then(since_hit).when(
                    pl.col("_st").is_not_null()).then(since_st).alias("_after"),
                pl.coalesce("_hit", "_st").alias("_trace_ord"))
            unsure = found.filter(pl.col("_after") >= TRACE_ENTRIES)
            if unsure.height:
                forgotten = self._forgotten(unsure, puts)
                found = found.with_columns(pl.when(pl.col("_ord").is_in(forgotten)).then(None)
                                           .otherwise(pl.col("_trace_ord")).alias("_trace_ord"))
            batch = batch.join(found.select("_ord", "_trace_ord"), on="_ord", how="left",
                               maintain_order="left")
        else:
            batch = batch.with_columns(pl.lit(None, pl.Int64).alias("_trace_ord"))
        if puts.height:
            new = pl.concat([self._traces, puts.select("trace", "_ord").rename(
                {"_ord": "ord"})], how="vertical")
            self._traces = new.group_by("trace").agg(pl.col("ord").max()).sort("ord").tail(
                TRACE_ENTRIES)
        return batch

    def _forgotten(self, unsure: pl.DataFrame, puts: pl.DataFrame) -> list[int]:
        """Of the API calls in ``unsure`` (``_ord``, ``trace``, ``_hit`` in the batch or
        ``_st`` in the table), those whose trace the table of ``TRACE_ENTRIES`` traces would
        have forgotten: other traces that stored an exchange after its last one, counted."""
        put_ords = puts.get_column("_ord").to_list()
        put_traces = puts.get_column("trace").to_list()
        table = self._traces.get_column("trace").to_list()  # oldest first
        out = []
        for ask, trace, hit in unsure.select("_ord", "trace", "_hit").iter_rows():
            start = bisect.bisect_right(put_ords, hit) if hit is not None else 0
            stop = bisect.bisect_left(put_ords, ask)
            others = set(put_traces[start:stop])
            if hit is None:
                others.update(table[table.index(trace) + 1:])
            others.discard(trace)
            if len(others) >= TRACE_ENTRIES:
                out.append(ask)
        return out

    # --- verdicts and reduction --------------------------------------------------------------

    def _reduce(self, batch: pl.DataFrame) -> None:
        """Verdicts and reduction of ``batch`` (rows in judging order, facts added)."""
        state = self.state
        keep = state.drill.keep
        t = pl.col("time")
        lo, hi = state._since_s, state._until_s
        timed = t.is_finite() & (t.abs() < MAX_ABS_TIME_S)
        clear, outside = timed, ~timed
        if lo != -math.inf:
            clear = clear & (t >= lo + _MARGIN_S)
            outside = outside | (t < lo - _MARGIN_S)
        if hi != math.inf:
            clear = clear & (t < hi - _MARGIN_S)
            outside = outside | (t >= hi + _MARGIN_S)
        slot = (t / state._w_s).floor()
        edge = ((t - slot * state._w_s) < _MARGIN_S) | (((slot + 1) * state._w_s - t)
                                                       <= _MARGIN_S)
        category = pl.col("category")
        if self.trust:
            stamped = ((pl.col("diagnosis.rules") == RULES_DIGEST) & (
                pl.col("diagnosis.profile") == profile_stamp(self.judge.profile))).fill_null(False)
            settled_ok = _settled_ok()
            settled_failed = stamped & category.is_in(_FAILURE_IDS).fill_null(False) \
                & _failing() & pl.col("_trace_ord").is_null() & _facts_stand() \
                & ~pl.col("_exact")  # read line by line: list items may not be strings
        else:
            settled_ok = settled_failed = pl.lit(False)
        batch = batch.with_columns(
            settled_ok.alias("_ok"), settled_failed.alias("_failed"), clear.alias("_in"),
            outside.alias("_out"), (clear & ~edge).alias("_vec"),
            (slot.cast(pl.Int64, strict=False) * state._w_ns).alias("_bucket"))
        settled = pl.col("_ok") | pl.col("_failed")
        self._count(batch.select(*_COUNTED).filter(settled))
        self._per_row(batch, keep)

    def _per_row(self, batch: pl.DataFrame, keep: int | None) -> None:
        """What needs Python, in judging order: records that are not settled (judged here and
        reduced by ``ReportState.add_record``), and settled failures whose drill-down entry
        may be kept, that are environment mismatches, before the window or near its edges.
        Recovery episodes from every record's event at once (``_episodes``)."""
        state = self.state
        category = pl.col("category")
        failed_in = pl.col("_failed") & pl.col("_in")
        prior = pl.lit(0, pl.UInt32) if keep is None else (
            failed_in.cast(pl.UInt32).cum_sum().over(category) - failed_in.cast(pl.UInt32))
        later = pl.lit(0, pl.UInt32) if keep is None else (
            failed_in.cast(pl.UInt32).reverse().cum_sum().reverse().over(category)
            - failed_in.cast(pl.UInt32))
        if keep is None:
            sampled = pl.lit(True)
        else:  # counts only grow, so a row past the first ``keep`` at the start is past it
            room = {c: max(0, keep - n) for c, n in state.drill.counts.items()}
            first = category.replace_strict(room, default=keep, return_dtype=pl.UInt32) \
                if room else pl.lit(keep, pl.UInt32)
            sampled = (prior < first) | (later < keep)
        settled = pl.col("_ok") | pl.col("_failed")
        near_edge = ~pl.col("_in") & ~pl.col("_out")
        exchange = pl.col("endpoint.kind") == TOKEN_EXCHANGE
        before = pl.col("_out") & (pl.col("time") < state._since_s + _MARGIN_S) \
            & pl.col("time").is_finite() & (pl.col("time").abs() < MAX_ABS_TIME_S)
        batch = batch.with_columns(later.alias("_later"))
        python = ~settled | (pl.col("_failed") & (
            (failed_in & sampled) | (failed_in & (category == ENVIRONMENT_MISMATCH))
            | near_edge | (pl.col("_in") & ~pl.col("_vec")) | before)) \
            | (pl.col("_ok") & exchange & near_edge)
        batch = batch.with_columns(python.alias("_py"))
        # Verdicts of settled failed exchanges, for API calls of the same trace judged later:
        # those an API call of this batch follows, and those still in the trace table.
        wanted = pl.concat([batch.get_column("_trace_ord").drop_nulls(),
                            self._traces.get_column("ord")]).implode()
        for ord_, outcome, cat, span in batch.filter(
                pl.col("_failed") & exchange & _truthy("trace_id")
                & pl.col("_ord").is_in(wanted)).select(
                "_ord", "outcome", "category", "span_id").iter_rows():
            self._exchange_verdicts[ord_] = (outcome, cat, span)
        events: list[tuple[Any, ...]] = []
        vectorised: list[tuple[Any, ...]] = []
        work = batch.filter(pl.col("_py")).select(*_ROW, "_ok", "_failed", "_in", "_vec",
                                                  "_later")
        index = {name: i for i, name in enumerate(_ROW)}
        i_src, i_line, i_ord = (index[k] for k in ("_src", "_line", "_ord"))
        i_time, i_kind, i_env, i_client, i_cat = (index[k] for k in (
            "time", "endpoint.kind", "environment", "client.fp", "category"))
        i_service = index["service.name"]
        i_ok, i_in, i_vec, i_later = len(_ROW), len(_ROW) + 2, len(_ROW) + 3, len(_ROW) + 4
        verdicts = self._exchange_verdicts
        sources = self.sources
        fields = list(enumerate(_LOOP_FIELDS))
        drill = state.drill
        for row in work.iter_rows():
            tm = row[i_time]
            if row[i_ok]:  # a settled success near the window's edge
                if has_time(tm) and state._in_window(tm):
                    events.append((row[i_ord], True, _fill(row[i_client]), None, tm))
                continue
            if not row[i_ok + 1]:  # not settled: judged here
                try:
                    record = self._unsettled(row, index, fields)
                except _LineChanged:
                    state.add_skipped(Item(f"{sources[row[i_src]]}:{row[i_line]}", reason=(
                        "line changed since it was read (file replaced or rewritten while "
                        "analysed)")))
                    continue
                if record.get("endpoint.kind") == TOKEN_EXCHANGE and record.get("trace_id"):
                    verdicts[row[i_ord]] = (record.get("outcome"), record.get("category"),
                                            record.get("span_id"))
                n = len(events)
                state.add_record(f"{sources[row[i_src]]}:{row[i_line]}", record, events)
                if len(events) > n:
                    events[-1] = (row[i_ord], *events[-1])
                continue
            cat, kind = row[i_cat], row[i_kind]
            if not has_time(tm):
                continue
            if not row[i_in]:
                if not state._in_window(tm):
                    if tm < state._since_s + _MARGIN_S:
                        state._failed_before(cat, tm)
                    continue
                events.append((row[i_ord], False, _fill(row[i_client]), cat, tm))
            if not row[i_vec]:
                state.add_cell(tm, cat, kind, row[i_env], row[i_service], row[i_client])
            sample = keep is None or row[i_later] < keep or drill.counts.get(cat, 0) < keep
            record = {name: row[i] for i, name in fields if row[i] is not None} \
                if sample or cat == ENVIRONMENT_MISMATCH else {}
            if cat == ENVIRONMENT_MISMATCH:
                self._add_facts(record, row, index, failed=True)
            state._failure(f"{sources[row[i_src]]}:{row[i_line]}" if sample else "", record, tm,
                           cat, _fill(kind), _fill(row[i_env]), _fill(row[i_client]),
                           sample=sample, events=vectorised)  # the columns give them
            vectorised.clear()
        # Drill-down counts of settled failures in the window that Python never saw: each has
        # ``keep`` settled failures of its category before it in the batch (so every row after
        # it met a count past ``keep`` anyway) and ``keep`` after it (so it would have been
        # pushed out of the last ``keep``).
        for cat, n in batch.filter(failed_in & ~pl.col("_py")).group_by("category").len() \
                .iter_rows():
            drill.counts[cat] = drill.counts.get(cat, 0) + n
        settled_events = batch.filter(pl.col("_in") & (
            pl.col("_failed") | (pl.col("_ok") & exchange))).select(
            "_ord", pl.col("_ok"), pl.col("client.fp").fill_null(UNKNOWN).alias("client"),
            pl.when(pl.col("_failed")).then(category).alias("category"), "time")
        if events:
            python_events = pl.DataFrame(events, schema=settled_events.schema, orient="row")
            settled_events = pl.concat([settled_events, python_events]).sort("_ord")
        self._episodes(settled_events)
        if len(verdicts) > 4 * TRACE_ENTRIES:
            keep_ords = set(self._traces["ord"].to_list())
            self._exchange_verdicts = {k: v for k, v in verdicts.items() if k in keep_ords}

    def _episodes(self, events: pl.DataFrame) -> None:
        """Recovery episodes from ``events`` (``_ord``, ``_ok``: a successful exchange, else a
        failure; ``client``, ``category``, ``time``; all in the window, in judging order),
        exactly as ``Episodes.failure`` and ``Episodes.success`` one by one would: a client's
        failures between two successes form one episode (the first continues the episode left
        open before), closed by the success after them."""
        if events.height == 0:
            return
        episodes = self.state.episodes
        success = pl.col("_ok")
        events = events.with_columns(
            (success.cast(pl.Int64).cum_sum().over("client") - success.cast(pl.Int64))
            .alias("_g"))
        failures = events.filter(~success).group_by("client", "_g", maintain_order=True).agg(
            pl.col("category").first(), pl.col("time").first().alias("at"),
            pl.len().alias("n"))
        closes = events.filter(success).select("client", "_g", pl.col("time").alias("closed"))
        closes = closes.filter((pl.col("_g") == 0) | pl.struct("client", "_g").is_in(
            failures.select(pl.struct("client", "_g")).to_series().implode()))
        per_client: dict[Any, list[tuple[Any, ...]]] = {}
        for client, g, category, at, n in failures.iter_rows():
            per_client.setdefault(client, []).append((g, category, at, n))
        closing: dict[Any, dict[int, float]] = {}
        for client, g, closed in closes.iter_rows():
            closing.setdefault(client, {})[g] = closed
        for client in per_client.keys() | closing.keys():
            open_, count = episodes.state_of(client)
            open_ = None if open_ is None else list(open_)
            ends = closing.get(client, {})
            runs = {g: (category, at, n) for g, category, at, n in per_client.get(client, ())}
            closed_rows = []
            for g in sorted(ends.keys() | runs.keys()):
                run = runs.get(g)
                if run is not None:
                    if open_ is None:
                        open_ = [run[0], run[1], run[2], count]
                        count += 1
                    else:
                        open_[2] += run[2]
                if g in ends and open_ is not None:
                    closed_rows.append((client, open_[0], open_[1], ends[g], open_[2], open_[3]))
                    open_ = None
            episodes.merge(client, closed_rows, open_, count)

    def _unsettled(self, row: tuple[Any, ...], index: dict[str, int],
                   fields: list[tuple[int, str]]) -> Record:
        """The judged record of a row that is not settled: a failure stamped by these rules
        that follows an exchange of its trace keeps its verdict when the facts found here
        stand (the columns could not tell: the exchange's verdict is known only now); any
        other is judged again (a stamped failure reaches here without that exchange only when
        its facts did not stand, and judging it again gives its verdict all the same)."""
        judge = self.judge
        if judge.trust and row[index["_trace_ord"]] is not None \
                and row[index["diagnosis.rules"]] == RULES_DIGEST \
                and row[index["category"]] in CATEGORIES:
            candidate = {name: row[i] for i, name in fields if row[i] is not None}
            recorded = judge.take_recorded(candidate)
            self._add_facts(candidate, row, index, failed=True)
            if judge.trusted(candidate, recorded):
                return judge.decide(candidate, recorded)
        return self._record(row, index)

    def _record(self, row: tuple[Any, ...], index: dict[str, int]) -> Record:
        """The record of ``row`` read again in full from its line, judged."""
        raw = row[index["_raw"]]
        if raw is None:  # a line of a plain file, read again where it lies
            raw = self._read_line(row[index["_src"]], row[index["_off"]], row[index["_len"]])
        record = None if raw is None else jsonl.parse_line(raw, "").record
        if record is None:  # the file changed under us (rotated, rewritten, cut short)
            raise _LineChanged
        judge = self.judge
        recorded = judge.take_recorded(record)
        self._add_facts(record, row, index, failed=None)
        return judge.decide(record, recorded)

    def _add_facts(self, r: Record, row: tuple[Any, ...], index: dict[str, int],
                   failed: bool | None) -> None:
        """Put the history facts of ``row`` on ``r`` exactly as ``History.annotate`` does
        (``failed``: whether the attempt failed, None to ask ``is_failure``)."""
        now = r["time"]
        reused = row[index["_reused_from"]]
        if reused is not None:
            r["assertion.reused_after_s"] = round(now - reused, 3)
        issued_at = row[index["_iss_at"]]
        if issued_at is not None:
            r["presented.age_s"] = round(now - issued_at, 3)
            expires_in = row[index["_iss_exp"]]
            if expires_in is not None:
                r["presented.issued_expires_in"] = expires_in
            env = row[index["_iss_env"]]
            if env:
                r["presented.issued_environment"] = env
        at = row[index["_trace_ord"]]
        if at is not None:
            outcome, category, span_id = self._exchange_verdicts.get(at, ("ok", None, None))
            if outcome == "failed" and category:
                r["presented.after_failed_exchange"] = category
                if span_id:
                    r["presented.exchange_span_id"] = span_id
        ok_env = row[index["_ok_env"]]
        if ok_env is not None and (is_failure(r) if failed is None else failed):
            r["assertion.iss_ok_environment"] = ok_env

    def _count(self, settled: pl.DataFrame) -> None:
        """Count settled records into the state's totals and cube: one group-by, and exact
        per-row counting for the few within a microsecond of a window or bucket edge (settled
        failures are counted there by ``_reduce``)."""
        if settled.height == 0:
            return
        state = self.state
        state.read += settled.height
        state.classified += settled.height
        state.categories.update(settled["category"].unique().to_list())
        oks = settled.filter(pl.col("_ok"))
        state.ok_kinds.update(UNKNOWN if k is None else k
                              for k in oks["endpoint.kind"].unique().to_list())
        for row in oks.filter(~pl.col("_out") & ~pl.col("_vec")).select(
                "time", "category", "endpoint.kind", "environment", "service.name",
                "client.fp").iter_rows():
            state.add_cell(*row)
        t = pl.col("time")
        grouped = settled.filter(pl.col("_vec")).group_by(
            "_bucket", "category", pl.col("environment").fill_null(UNKNOWN),
            pl.col("service.name").fill_null(UNKNOWN), pl.col("client.fp").fill_null(UNKNOWN),
            pl.col("endpoint.kind").fill_null(UNKNOWN)).agg(
            pl.len().alias("n"), t.min().alias("lo"), t.max().alias("hi"))
        for bucket, cat, env, service, client, kind, count, first, last in grouped.iter_rows():
            state.merge_cell((bucket, cat, env, service, client, kind), count, first, last)


def _near_tie(seconds: pl.Expr) -> pl.Expr:
    """True when ``seconds`` is within a hair of a tie at three decimals, where polars'
    ``round(3)`` and Python's ``round(x, 3)`` may part."""
    scaled = seconds * 1000.0
    return ((scaled - scaled.floor()) - 0.5).abs() < 1e-6


def _facts_stand() -> pl.Expr:
    """True when the history facts found for a failure equal those its record carries (the
    facts ``ColumnarAnalyzer._add_facts`` would add, computed as columns)."""
    t = pl.col("time")
    issued = pl.col("_iss_at").is_not_null()
    found = {
        "assertion.reused_after_s": pl.when(pl.col("_reused_from").is_not_null()).then(
            (t - pl.col("_reused_from")).round(3)),
        "assertion.iss_ok_environment": pl.col("_ok_env"),
        "presented.age_s": pl.when(issued).then((t - pl.col("_iss_at")).round(3)),
        "presented.issued_expires_in": pl.when(issued).then(pl.col("_iss_exp")),
        "presented.issued_environment": pl.when(issued & _truthy("_iss_env")).then(
            pl.col("_iss_env")),
    }
    same = [pl.col(name).eq_missing(value) for name, value in found.items()]
    same += [pl.col("presented.after_failed_exchange").is_null(),
             pl.col("presented.exchange_span_id").is_null(),
             ~_near_tie(t - pl.col("_reused_from")).fill_null(False),
             ~_near_tie(t - pl.col("_iss_at")).fill_null(False)]
    return pl.all_horizontal(same)


__all__ = ["COLUMNS", "DEFAULT_BLOCK_BYTES", "ColumnarAnalyzer"]
