"""Any split of an input into time partitions and byte ranges merges to the whole, in-process.

The steps of a cluster run (``hgobs.cluster``: survey, plan, one task per partition, merge) are
called in this process on generated per-replica logs (hgobs JSON Lines, split by byte range,
and OTLP JSON, read whole) and the report compared with the single-process one: random cut
points in time (so warm-ups of 7 days cross several partitions) and random block sizes.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hgobs.cluster.blocks import RunSpec, splittable, survey
from hgobs.cluster.partition import cut_points, extents
from hgobs.cluster.sources import listed, read_range
from hgobs.runsetup import read_context
from tests.cluster.kit import KEY, in_process, replicas, single


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parts")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HGOBS_FINGERPRINT_KEY", KEY)
        paths = replicas(folder / "jsonl", records=1500) + replicas(
            folder / "otlp", records=600, files=1, fmt="otlp", suffix=".json")
        yield paths, single(paths)


@given(blocksize=st.integers(20_000, 400_000),
       fractions=st.lists(st.floats(0.0, 1.0), max_size=4))
@settings(max_examples=12)
def test_any_split_merges_to_the_whole(inputs, blocksize, fractions):
    """The module's ``inputs`` fixture keeps HGOBS_FINGERPRINT_KEY set for every example."""
    paths, whole = inputs
    cuts = sorted({1_767_225_600.0 + f * 24 * 86_400 for f in fractions})
    assert in_process(paths, blocksize, cuts) == whole


def test_a_split_partition_is_exact_where_no_warm_up_is_not(inputs, monkeypatch):
    """The warm-up matters: without it (a warm-up of 0 s) cuts every day change verdicts
    that need history (every record judged again); with it the report is the whole's."""
    import tests.cluster.kit as kit

    paths, _ = inputs
    monkeypatch.setenv("HGOBS_FINGERPRINT_KEY", KEY)
    whole = single(paths, rejudge=True)
    cuts = [1_767_225_600.0 + day * 86_400 + 3.5 for day in range(1, 24)]
    assert in_process(paths, 50_000, cuts, trust=False) == whole
    monkeypatch.setattr(kit, "WARMUP_S", 0.0)
    assert in_process(paths, 50_000, cuts, trust=False) != whole


def test_byte_ranges_tile_a_file_at_line_ends(tmp_path):
    """Ranges cut at the same offsets cover the file once, each from a line start."""
    path = replicas(tmp_path, records=400, files=1)[0]
    data = path.read_bytes()
    for size in (97, 777, 10_000, len(data)):
        pieces = [read_range(str(path), {}, off, size) for off in range(0, len(data), size)]
        assert b"".join(pieces) == data
        assert all(p == b"" or p.endswith(b"\n") or p is pieces[-1] for p in pieces)


def test_only_plain_json_lines_larger_than_a_block_are_split(tmp_path):
    jsonl = replicas(tmp_path / "a", records=300, files=1)[0]
    otlp = replicas(tmp_path / "b", records=300, files=1, fmt="otlp", suffix=".json")[0]
    spec = RunSpec(None, (), None, None, True, {}, 10_000)
    big = RunSpec(None, (), None, None, True, {}, 1 << 30)
    src = {p: listed([str(p)], {}, [], {})[0] for p in (jsonl, otlp)}
    assert splittable(src[jsonl], spec) and not splittable(src[jsonl], big)
    assert not splittable(src[otlp], spec)
    gz = tmp_path / "c.jsonl"
    import gzip
    gz.write_bytes(gzip.compress(jsonl.read_bytes()))
    assert not splittable(listed([str(gz)], {}, [], {})[0], spec)
    block = survey(src[jsonl], 0, spec, 10_000, 10_000, False)
    assert block.lines == read_range(str(jsonl), {}, 10_000, 10_000).count(b"\n") > 0
    assert block.first is not None and block.last is None


def test_extents_bound_each_block_by_its_neighbours():
    from hgobs.cluster.blocks import Block

    blocks = [Block(0, 0, 10, False, 3, 100.0), Block(0, 10, 10, False, 3, None, lead=True),
              Block(0, 20, 10, False, 3, 300.0, 350.0)]
    assert extents(blocks, 5.0) == [(95.0, 305.0), (95.0, 305.0), (295.0, 350.0)]
    assert extents([Block(0, 0, 10, True, 0, None)], 5.0) == [(-float("inf"), -float("inf"))]


def test_cut_points_balance_bytes():
    assert cut_points([(t, 10) for t in range(10)], 2) == [5]
    assert cut_points([(t, 10) for t in range(10)], 1) == []
    assert cut_points([(0, 100), (5, 1), (6, 1)], 3) == [5]  # one big block: cannot balance
    # A warm-up of 2 blocks' bytes: the first part takes 2 more blocks than the second.
    assert cut_points([(t, 10) for t in range(10)], 2, warm_bytes=20) == [6]
    assert cut_points([(t, 10) for t in range(9)], 3, warm_bytes=15) == [4, 7]


def test_a_run_spec_never_shows_its_storage_options():
    """Dask logs a failed task's arguments: the storage options (credentials, perhaps) are not
    in a RunSpec's repr."""
    spec = RunSpec(None, (), None, None, True, {"secret": "s3cr3t-value"}, 10)
    assert "s3cr3t" not in repr(spec) and "secret" not in repr(spec)


def test_large_line_format_files_surveyed_from_their_ends_merge_to_the_whole(inputs, monkeypatch):
    """An OTLP file surveyed from its first and last bytes alone (``ENDS_BYTES`` made small
    here so the test's file counts as large) still gives the whole's report."""
    import hgobs.cluster.blocks as blocks

    paths, whole = inputs
    monkeypatch.setattr(blocks, "ENDS_BYTES", 20_000)
    otlp = listed([str(paths[-1])], {}, [], {})[0]
    spec = RunSpec(None, (), None, None, True, {}, 1 << 30)
    ends = blocks._ends(otlp, 0, spec, read_context(None, (), None, None))
    monkeypatch.setattr(blocks, "ENDS_BYTES", 1 << 30)
    full = survey(otlp, 0, spec, 0, otlp.size, True)
    assert ends is not None and ends.first <= full.first and ends.last >= full.last
    monkeypatch.setattr(blocks, "ENDS_BYTES", 20_000)
    for fractions in ([0.5], [0.2, 0.6, 0.9]):
        cuts = [1_767_225_600.0 + f * 24 * 86_400 for f in fractions]
        assert in_process(paths, 60_000, cuts) == whole
