"""Shared by the cluster tests: inputs, the single-process report, an in-process cluster run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from benchmarks.generate import START, Spec, write
from hgobs import api
from hgobs.analysis.state import ReportState
from hgobs.cluster.blocks import RunSpec, splittable, survey
from hgobs.cluster.partition import plan
from hgobs.cluster.run import WARMUP_S
from hgobs.cluster.sources import listed
from hgobs.cluster.task import reduce_part
from hgobs.runsetup import read_context

NOW = api.parse_time("2026-03-01T00:00:00Z")
KEY = "cluster-tests-fingerprint-key"
"""HGOBS_FINGERPRINT_KEY of the tests' client and workers."""
DAYS = 24.0


def replicas(folder: Path, records: int = 2500, files: int = 2, fmt: str = "jsonl",
             suffix: str = ".jsonl") -> list[Path]:
    """``files`` per-replica logs of ``records`` each over the same ``DAYS`` (distinct seeds),
    a little out of time order as concurrent writers leave them (OTLP: one service, so each
    export line follows the one before in time)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(files):
        path = folder / f"replica-{i}{suffix}"
        write(path, Spec(records=records, days=DAYS, seed=11 + i, clients=12,
                          services=1 if fmt == "otlp" else 6), fmt)
        out.append(path)
    return out


def as_json(report: Any) -> dict[str, Any]:
    """The report's JSON document."""
    return json.loads(report.render("json"))


def single(paths: Sequence[Any], **options: Any) -> dict[str, Any]:
    """The single-process report of ``paths`` as JSON."""
    return as_json(api.analyze([str(p) for p in paths], now=NOW, **options))


def in_process(paths: Sequence[Any], blocksize: int, cuts: Sequence[float],
               trust: bool = True) -> dict[str, Any]:
    """The cluster run's report made without a cluster: each step of ``hgobs.cluster.run``
    (survey, plan with ``cuts``, one ``reduce_part`` per partition, merge in order) called
    here, in this process; ``trust``: ``judge``'s (False: as ``rejudge``)."""
    spec = RunSpec(None, (), None, None, trust, {}, blocksize)
    sources = listed([str(p) for p in paths], {}, [], {})
    blocks = []
    for index, source in enumerate(sources):
        if splittable(source, spec):
            blocks += [survey(source, index, spec, off, blocksize, False)
                       for off in range(0, source.size, blocksize)]
        else:
            blocks.append(survey(source, index, spec, 0, source.size, True))
    state = ReportState()
    parts = plan(blocks, 1, WARMUP_S, 300.0, list(cuts))
    for part in parts:
        state.absorb(reduce_part(part, dict(enumerate(sources)), spec, {
            "bucket": "1d", "since": None, "until": None, "recurring_min_buckets": 2}).state)
    data = state.report(NOW)
    return as_json(api.Report(**{f.name: getattr(data, f.name) for f in fields(data)}))


def cut_times(fractions: Sequence[float]) -> list[float]:
    """Increasing times at ``fractions`` of the generated inputs' span."""
    return sorted({START + f * DAYS * 86_400 for f in fractions})


def har_folder(folder: Path) -> Path:
    """Every shared case as a HAR file in ``folder`` (raw exchanges: no stamped verdict)."""
    from tests.support.cases import load_cases
    from tests.support.render_har import case_to_har

    folder.mkdir(parents=True, exist_ok=True)
    for case in load_cases():
        (folder / f"{case['id']}.har").write_bytes(case_to_har(case))
    return folder


def on_cluster(paths: Sequence[Any], scheduler: str, **options: Any) -> dict[str, Any]:
    """The report of ``paths`` made on the cluster at ``scheduler`` through
    ``hgobs.cluster.run.reduce_on_cluster`` (``blocksize``, ``parts``, ``progress`` ...)."""
    from hgobs.cluster.run import reduce_on_cluster

    state = ReportState()
    ctx = read_context(None, (), None, None)
    reduce_on_cluster([str(p) for p in paths], state, ctx, profile=None, token_urls=(),
                      client_id=None, client_fp=None, trust=True, key=KEY.encode(),
                      scheduler=scheduler, **options)
    data = state.report(NOW)
    return as_json(api.Report(**{f.name: getattr(data, f.name) for f in fields(data)}))
