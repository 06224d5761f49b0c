"""Lean JSON Lines items (``ReadContext(lean=True)``): the analysis's fields of each record,
the whole record on demand, and every line read as a record or skipped exactly as without
``lean``; judged lean, every record gets the verdict and history facts it gets judged whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.generate import SAMPLES_PORT, Spec, write
from hgobs.analysis.classify import judge
from hgobs.emulator.server import emulator_profile
from hgobs.profiles import load_profile
from hgobs.readers import ReadContext, jsonl, read_paths
from hgobs.readers.base import ANALYSIS_FIELDS

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "attempts.jsonl"
LINES = [json.loads(line) for line in SAMPLES.read_text().splitlines()]
FAILED = next(r for r in LINES if r["outcome"] == "failed")


def _damaged() -> list[bytes]:
    good = json.dumps(FAILED).encode()
    return [
        good,
        good.replace(b'"url"', b'"url": "\xff\xfe", "x"', 1),  # not UTF-8 outside the lean fields
        good.replace(b'"url"', b'"url": 7, "x"', 1),  # a wrong type outside them
        good.replace(b'"url"', b'"url": NaN, "x"', 1),
        good.replace(b'"url"', b'"url": 1e999, "x"', 1),
        good.replace(b'"url"', b'"url": 123456789012345678901234567890, "x"', 1),
        good.replace(b'"url"', b'"url": "\\ud800", "x"', 1),  # a lone surrogate
        good.replace(b'"http.status"', b'"http.status": "401", "x"', 1),  # wrong type, lean field
        good.replace(b'"service.name"', b'"service.name": "caf\xc3\xa9", "x"', 1),  # UTF-8 text
        good[:-1] + b', "url": "dup"}',  # a duplicate key
        good[:-2],  # cut short
        json.dumps(dict(FAILED, time="soon")).encode(),
        json.dumps(dict(FAILED, schema="other/1")).encode(),
        b"[1, 2]",
    ]


@pytest.mark.parametrize("line", _damaged(), ids=range(len(_damaged())))
def test_a_lean_item_holds_the_analysis_fields_of_the_record_read_whole(line):
    """Skipped with the same reason, or a record whose lean fields and ``full()`` are those of
    the record ``parse_line`` reads."""
    whole, lean = jsonl.parse_line(line, "f:1"), jsonl.parse_lean(line, "f:1")
    assert (lean.reason, lean.source) == (whole.reason, whole.source)
    if whole.record is None:
        assert lean.record is None
        return
    full = lean.full() if lean.full is not None else lean.record
    assert full == whole.record
    assert lean.record == {k: v for k, v in whole.record.items()
                           if lean.full is None or k in ANALYSIS_FIELDS}


def test_a_lean_line_decodes_only_the_analysis_fields():
    """The sample failure read lean: fewer fields than whole, each of ``ANALYSIS_FIELDS``."""
    item = jsonl.parse_lean(json.dumps(FAILED).encode(), "f:1")
    assert item.full is not None and item.record is not None
    assert set(item.record) == {k for k in FAILED if k in ANALYSIS_FIELDS}
    assert len(item.record) < len(item.full()) == len(FAILED) - 1  # no "schema"


@pytest.mark.parametrize(("stamped", "trust", "client"),
                         [(True, True, False), (False, True, False), (True, False, False),
                          (True, True, True)],
                         ids=["stamps-kept", "another-profile", "rejudge", "client-id"])
def test_records_judged_lean_get_the_verdicts_they_get_judged_whole(tmp_path, stamped, trust,
                                                                   client):
    """3,000 generated records and the samples, judged lean and whole, under the profile they
    were stamped under or another, trusting stamps or not, with a client id or not: each
    record's analysis fields are equal after judging (failures judged again are judged on the
    whole record, with the ``iss``/``sub`` facts the client id adds)."""
    path = tmp_path / "in.jsonl"
    write(path, Spec(3000, seed=7), "jsonl")
    paths = [str(path), str(SAMPLES)]
    profile = emulator_profile(f"http://127.0.0.1:{SAMPLES_PORT}") if stamped else load_profile()
    client_fp = FAILED["assertion.iss_fp"] if client else None
    whole = list(judge(read_paths(paths, ReadContext(profile=profile)), profile, client_fp,
                       trust=trust))
    lean = list(judge(read_paths(paths, ReadContext(profile=profile, lean=True)), profile,
                      client_fp, trust=trust))
    assert len(lean) == len(whole) == 3000 + len(LINES)
    categories, is_client = set(), set()
    for a, b in zip(lean, whole, strict=True):
        assert a.source == b.source
        kept = {k: v for k, v in b.record.items() if k in ANALYSIS_FIELDS}
        if client:  # the facts the judge adds to every record that has the claim
            kept.update({k: v for k, v in b.record.items() if k.endswith("_is_client")})
        assert a.record == kept
        categories.add(a.record["category"])
        is_client.add(a.record.get("assertion.iss_is_client"))
    assert len(categories) > 10
    assert is_client == ({True, False, None} if client else {None})
