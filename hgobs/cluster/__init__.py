"""Past one machine: ``hgobs analyze`` on a Dask cluster, reading logs where they are stored.

``hgobs analyze PATHS --workers N`` (``hgobs.api.analyze(..., workers=N)``) starts a local
Dask cluster of N worker processes; ``--scheduler ADDRESS`` uses a running
``dask.distributed`` cluster. The report is the one a single process makes of the same input
(``docs/scale.md`` says how and where it may differ): the input is cut into partitions by time
(``partition``), large hgobs JSON Lines files into byte ranges (``blocks``), each partition
judged on a worker after a warm-up as long as the longest history horizon (``task``), and the
report states merged in time order (``hgobs.analysis.state.ReportState.merge``). Paths may be
fsspec URLs (``sources``); the workers read them. Needs the ``analyze`` and ``dask`` extras.

Modules: ``sources`` (listing and opening inputs), ``blocks`` (block survey and reading),
``partition`` (time partitions), ``task`` (a partition's task), ``check`` (refusing workers
that differ), ``progress`` (progress events), ``run`` (the client's side).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hgobs.extras import require

require(("analyze", "dask"), "hgobs analyze --workers/--scheduler")

from hgobs.analysis.state import ReportState  # noqa: E402
from hgobs.progress import Progress  # noqa: E402
from hgobs.readers import ReadContext  # noqa: E402
from hgobs.runsetup import read_warnings  # noqa: E402

__all__ = ["on_cluster"]


def on_cluster(paths: Any, state: ReportState, ctx: ReadContext, *, profile: Any,
               token_urls: tuple[str, ...], client_id: str | None, client_fp: str | None,
               trust: bool, key: bytes | None, workers: int | None, scheduler: str | None,
               storage_options: Mapping[str, Any] | None, progress: Progress | None) -> None:
    """``hgobs.api.analyze``'s cluster run: reduce ``paths`` into ``state`` and warn
    (``AnalysisWarning``, ``hgobs.runsetup.read_warnings``) as a local run does. ``profile``,
    ``token_urls``, ``client_id``, ``client_fp`` and ``trust`` as the API took them; ``key``
    (the fingerprint key) stays in this process: only its check value is compared with the
    workers'. Raises as ``run.reduce_on_cluster``."""
    import os

    from hgobs.cluster.run import reduce_on_cluster

    names = [os.fspath(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    ignored = reduce_on_cluster(names, state, ctx, profile=profile, token_urls=token_urls,
                                client_id=client_id, client_fp=client_fp, trust=trust, key=key,
                                workers=workers, scheduler=scheduler,
                                storage_options=storage_options, progress=progress)
    if progress is not None:
        progress.close()
    read_warnings(ctx, ignored, state.notice)
