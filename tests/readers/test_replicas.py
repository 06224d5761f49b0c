"""A folder of per-replica logs gives the report of the same records in one time-sorted file.

The layout the README recommends: one ``hgobs.jsonl`` per replica, written concurrently over
the same period, each a little out of time order. ``hgobs analyze`` on the folder must equal
``hgobs analyze`` on one file holding every record sorted by (time, replica, line), save for
each drill-down row's ``source`` (file and line).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from benchmarks.generate import Spec, jsonl_line, records
from tests.support.reports import analyze_json, without_sources

SHARES = (0.6, 0.3, 0.1)
"""Each replica's share of the records: files of very different sizes."""


def _replicas(tmp_path: Path, n: int) -> tuple[Path, Path]:
    """``n`` generated records dealt at random to 3 replica files in a folder, and the same
    records in one file sorted by (time, replica, line)."""
    folder = tmp_path / "replicas"
    folder.mkdir()
    rng = random.Random(13)
    parts: list[list[tuple[float, bytes]]] = [[] for _ in SHARES]
    for record in records(Spec(n, days=max(1.0, n / 50_000))):
        replica = rng.choices(range(len(SHARES)), SHARES)[0]
        parts[replica].append((record["time"], jsonl_line(record)))
    for i, part in enumerate(parts):
        (folder / f"hgobs.jsonl.{i}" if i else folder / "hgobs.jsonl").write_bytes(
            b"".join(data for _, data in part))
    order = sorted((t, i, k, data) for i, part in enumerate(parts)
                   for k, (t, data) in enumerate(part))
    merged = tmp_path / "merged.jsonl"
    merged.write_bytes(b"".join(data for *_, data in order))
    return folder, merged


def _same_report(tmp_path: Path, n: int) -> None:
    folder, merged = _replicas(tmp_path, n)
    of_folder = analyze_json(folder)
    of_file = analyze_json(merged)
    assert of_folder["read"] == of_file["read"] == n
    assert of_folder["totals"]["skipped"] == 0
    assert without_sources(of_folder) == without_sources(of_file)


def test_a_folder_of_replicas_reports_as_the_merged_file(tmp_path):
    """15,000 records over three replicas of very different sizes: the same report."""
    _same_report(tmp_path, 15_000)


@pytest.mark.slow
def test_a_folder_of_replicas_reports_as_the_merged_file_at_150000_records(tmp_path):
    """150,000 records over three replicas (90,000, 45,000, 15,000): the same report."""
    _same_report(tmp_path, 150_000)
