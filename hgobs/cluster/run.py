"""The client's side of a cluster run: connect, check the workers, survey, plan, reduce, merge.

``reduce_on_cluster`` lists the inputs (``hgobs.cluster.sources``), starts a ``LocalCluster``
of ``workers`` processes (one thread each) or connects to the scheduler at ``scheduler``,
refuses workers that would judge differently (``hgobs.cluster.check``), has the workers survey
the files' blocks (``hgobs.cluster.blocks.survey``), plans partitions by time
(``hgobs.cluster.partition.plan``), runs one task per partition (``hgobs.cluster.task``) and
merges their report states in time order into the caller's (``ReportState.absorb``). Only file
names, byte ranges and the run's options travel in the task graph; the workers read the data.
If a worker dies, Dask runs its tasks again elsewhere (their results do not depend on where).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Iterator, Mapping
from typing import Any

from hgobs.analysis.state import ReportState
from hgobs.cluster import check
from hgobs.cluster.blocks import Block, RunSpec, splittable, survey
from hgobs.cluster.partition import Part, plan
from hgobs.cluster.progress import TOPIC, Tally
from hgobs.cluster.sources import Source, listed
from hgobs.cluster.task import PartResult, reduce_part
from hgobs.config import ENV_VARS
from hgobs.diagnosis.history import CLIENT_ENV_HORIZON_S
from hgobs.errors import ConfigError
from hgobs.progress import Progress
from hgobs.readers import ReadContext

__all__ = ["DEFAULT_BLOCKSIZE", "WARMUP_S", "local_cluster", "reduce_on_cluster"]

DEFAULT_BLOCKSIZE = 64 << 20
"""Bytes per block of a split file (``hgobs.cluster.blocks``)."""
WARMUP_S = CLIENT_ENV_HORIZON_S
"""The warm-up before each partition: the longest history horizon (seconds)."""


@contextlib.contextmanager
def local_cluster(workers: int, key: bytes | None) -> Iterator[Any]:
    """A ``dask.distributed`` client of a ``LocalCluster`` of ``workers`` processes with one
    thread each, on 127.0.0.1, its dashboard on a free port. The workers' environment is this
    process's, with ``HGOBS_FINGERPRINT_KEY`` set to ``key`` (a random one for this run when
    None, so raw values fingerprint alike on every worker); it is set in the worker processes'
    environment, never in the task graph."""
    from dask.distributed import Client, LocalCluster

    env = {ENV_VARS["fingerprint_key"]: (key or secrets.token_hex(32).encode()).decode(
        "utf-8", "replace")}
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address="127.0.0.1:0",
                      silence_logs=logging.ERROR, env=env) as cluster, Client(cluster) as client:
        yield client


@contextlib.contextmanager
def _connected(workers: int | None, scheduler: str | None, key: bytes | None
               ) -> Iterator[tuple[Any, bytes | None]]:
    """The client, and the key the workers must have."""
    if scheduler is not None:
        from dask.distributed import Client

        with Client(scheduler, timeout="30s") as client:
            yield client, key
        return
    if workers is None or workers < 1:
        raise ConfigError("--workers", "must be at least 1")
    run_key = key or secrets.token_hex(32).encode()
    with local_cluster(workers, run_key) as client:
        yield client, run_key


def _dashboard(client: Any) -> str | None:
    """The Dask dashboard's address, None when the scheduler serves none (no bokeh)."""
    try:
        if "dashboard" not in client.scheduler_info().get("services", {}):
            return None
        return str(client.dashboard_link)
    except Exception:
        return None


def _surveyed(client: Any, sources: list[Source], spec: RunSpec) -> list[Block]:
    """Every block of every file, surveyed on the workers."""
    split = client.gather(client.map(splittable, sources, spec=spec, pure=False))
    calls = []
    for index, (source, cut) in enumerate(zip(sources, split, strict=True)):
        if not cut:
            calls.append((source, index, 0, source.size, True))
            continue
        calls.extend((source, index, offset, spec.blocksize, False)
                     for offset in range(0, source.size, spec.blocksize))
    futures = [client.submit(survey, source, index, spec, offset, length, whole, pure=False)
               for source, index, offset, length, whole in calls]
    return list(client.gather(futures))


def reduce_on_cluster(paths: list[str], state: ReportState, ctx: ReadContext, *,
                      profile: Any, token_urls: tuple[str, ...], client_id: str | None,
                      client_fp: str | None, trust: bool, key: bytes | None,
                      workers: int | None = None, scheduler: str | None = None,
                      storage_options: Mapping[str, Any] | None = None,
                      progress: Progress | None = None, blocksize: int = DEFAULT_BLOCKSIZE,
                      parts: int | None = None, cuts: list[float] | None = None) -> list[str]:
    """Reduce ``paths`` on a cluster into ``state`` (see module doc); returns the files found
    in folders that are no logs (left out or in no known format). ``ctx`` gets the run's
    counts (late records, full reorder buffers, unknown profile names, folder notes) for the
    caller's warnings; a worker makes its readers' context with
    ``hgobs.runsetup.read_context``. ``parts``
    partitions (default: one per worker thread) or the given ``cuts`` (epoch s);
    ``blocksize`` bytes per block of a split file.

    Raises ``FileNotFoundError`` (a path matching nothing), ``ConfigError`` (standard input;
    workers refused by ``hgobs.cluster.check``), and what Dask raises when the cluster cannot
    be reached or a task fails for good.
    """
    options = dict(storage_options or {})
    left_out: list[str] = []
    sources = listed(paths, options, left_out, ctx.notes, ctx.repeated)
    spec = RunSpec(profile, tuple(token_urls), client_id, client_fp, trust, options, blocksize)
    option = "--scheduler" if scheduler is not None else "--workers"
    with _connected(workers, scheduler, key) as (client, run_key):
        threads = check.check_workers(client, run_key, option)
        link = _dashboard(client)
        if link and progress is not None:
            progress.note(f"Dask dashboard: {link}")
        if (parts or threads) == 1 and cuts is None:  # one partition reads everything whole
            blocks = [Block(i, 0, s.size, True) for i, s in enumerate(sources)]
        else:
            blocks = _surveyed(client, sources, spec) if sources else []
        ignored = sorted({sources[b.file].name for b in blocks if b.ignored})
        planned = plan([b for b in blocks if not b.ignored], parts or threads, WARMUP_S,
                       ctx.lateness_s, cuts)
        results = _reduced(client, planned, sources, spec, state, progress)
    for result in results:
        state.absorb(result.state)
        for name, n in result.late.items():
            ctx.late[name] = ctx.late.get(name, 0) + n
        for name, n in result.reorder_full.items():
            ctx.reorder_full[name] = ctx.reorder_full.get(name, 0) + n
        ctx.profiles.unknown_names.update(result.unknown_profiles)
        ignored.extend(result.ignored)
    return sorted(set(ignored) | set(left_out))


def _reduced(client: Any, planned: list[Part], sources: list[Source], spec: RunSpec,
             state: ReportState, progress: Progress | None) -> list[PartResult]:
    """Each partition's result, in partition order, shown on ``progress`` as they go."""
    tally = Tally(progress, sum(p.size for p in planned))
    options = {"bucket": state.bucket, "since": state.since, "until": state.until,
               "recurring_min_buckets": state.recurring_min_buckets,
               "sample_size": state.sample_size, "skipped_sample": state.skipped_sample}
    token = secrets.token_hex(4)
    futures = [client.submit(reduce_part, part, {f: sources[f] for f, _ in part.pieces}, spec,
                             options, key=f"hgobs-part-{part.number}-{token}", retries=1)
               for part in planned]
    client.subscribe_topic(TOPIC, tally.handle)
    try:
        results = client.gather(futures)
    finally:
        with contextlib.suppress(Exception):
            client.unsubscribe_topic(TOPIC)
    for number, result in enumerate(results):
        tally.set(number, result.bytes_read, result.state.read)
    return list(results)
