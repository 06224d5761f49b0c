"""Reports made on a local Dask cluster (2 worker processes) equal the single-process ones.

hgobs JSON Lines split by byte range over several partitions, OTLP JSON and HAR files (raw
exchanges, no stamped verdict) read whole; through ``hgobs.api.analyze(scheduler=...)`` and
through ``reduce_on_cluster`` with small blocks. Workers with another hgobs version, rules or
fingerprint key are refused before any task; progress reaches the display.
"""

from __future__ import annotations

import io

import pytest

import hgobs
from hgobs import api
from hgobs.errors import ConfigError
from hgobs.progress import Progress
from tests.cluster.kit import KEY, NOW, as_json, har_folder, on_cluster, replicas, single


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, cluster):
    folder = tmp_path_factory.mktemp("cluster")
    return {"jsonl": replicas(folder / "jsonl", records=3000),
            "otlp": replicas(folder / "otlp", records=1500, files=2, fmt="otlp", suffix=".json"),
            "har": [har_folder(folder / "har")]}


def test_json_lines_split_by_byte_range_equal_the_single_process_report(inputs, cluster):
    _, address = cluster
    whole = single(inputs["jsonl"])
    assert on_cluster(inputs["jsonl"], address, blocksize=150_000, parts=3) == whole
    assert whole["read"] == 6000


@pytest.mark.parametrize("kind", ["otlp", "har"])
def test_otlp_and_har_inputs_equal_the_single_process_report(inputs, cluster, kind):
    _, address = cluster
    whole = single(inputs[kind])
    assert as_json(api.analyze([str(p) for p in inputs[kind]], scheduler=address, now=NOW)) \
        == whole
    assert whole["read"] > 0


def test_progress_shows_bytes_and_records(inputs, cluster):
    _, address = cluster
    out = io.StringIO()
    with Progress(out, enabled=True, width=100) as progress:
        on_cluster(inputs["jsonl"], address, progress=progress, parts=2)
    text = out.getvalue()
    assert "6,000" in text or "6000" in text, text[-400:]


def _set_version(value):
    hgobs.__version__ = value


def test_a_worker_of_another_version_is_refused_before_any_task(inputs, cluster):
    client, address = cluster
    real = hgobs.__version__
    client.run(_set_version, "0.0.0-other")
    try:
        with pytest.raises(ConfigError, match=r"worker tcp://127\.0\.0\.1:\d+ runs hgobs "
                                              r"0\.0\.0-other .*install the same hgobs"):
            api.analyze([str(p) for p in inputs["jsonl"]], scheduler=address)
    finally:
        client.run(_set_version, real)


def _set_key(value):
    import os

    os.environ["HGOBS_FINGERPRINT_KEY"] = value


def test_a_worker_with_another_fingerprint_key_is_refused(inputs, cluster):
    client, address = cluster
    client.run(_set_key, "another-key")
    try:
        with pytest.raises(ConfigError, match="a different HGOBS_FINGERPRINT_KEY") as caught:
            api.analyze([str(p) for p in inputs["jsonl"]], scheduler=address)
        assert "another-key" not in str(caught.value)
    finally:
        client.run(_set_key, KEY)


def test_a_local_cluster_run_notes_the_dashboard_address(inputs):
    """``workers=`` starts a LocalCluster of its own; its dashboard's address is a note."""
    out = io.StringIO()
    with Progress(out, enabled=True, width=100) as progress:
        report = api.analyze([str(p) for p in inputs["jsonl"]], workers=1, now=NOW,
                             progress=progress)
    assert "Dask dashboard: http://127.0.0.1:" in out.getvalue()
    assert as_json(report) == single(inputs["jsonl"])


def test_a_file_named_twice_is_read_once_and_said(inputs, cluster):
    _, address = cluster
    first = str(inputs["jsonl"][0])
    with pytest.warns(api.AnalysisWarning, match="read once: 1 input naming a file already read"):
        report = api.analyze([first, first], scheduler=address, now=NOW)
    assert as_json(report) == single([first])
