"""The benchmark's generated log is one a single capturing process could have written."""

from __future__ import annotations

from benchmarks import generate
from hgobs.analysis.classify import HISTORY_FIELDS, _Judge
from hgobs.diagnosis import RULES_DIGEST, diagnose, is_failure
from hgobs.diagnosis.catalog import OK


def test_generated_records_carry_the_history_facts_and_verdicts_found_again():
    """Read in write order (no jitter: also time order), every generated record's history
    facts are the ones ``History`` finds again, so the analyzer keeps its stamped verdict;
    and each stamped failure is what the rules say under the samples' profile."""
    spec = generate.Spec(records=3000, jitter_s=0.0, seed=11)
    profile = generate.samples_profile()  # the profile the records are stamped under
    judge = _Judge(profile, None, history_entries=200_000)
    with_facts = failures = 0
    for record in generate.records(spec):
        assert record["diagnosis.rules"] == RULES_DIGEST
        with_facts += any(name in record for name in HISTORY_FIELDS)
        recorded = judge.take_recorded(record)
        judge.history.annotate(record)
        assert judge.trusted(record, recorded), {k: recorded.get(k) for k in HISTORY_FIELDS}
        if is_failure(record):
            failures += 1
            verdict = diagnose(record, profile).as_fields()
            assert (verdict["category"], verdict["evidence"]) == (
                recorded["category"], recorded["evidence"])
        else:
            assert recorded["category"] == OK
    # Some API calls present values earlier exchanges issued; a fifth of records failed.
    assert with_facts > 50 and 450 < failures < 750


def test_the_command_line_writes_the_records_asked_for(tmp_path, capsys):
    """``python -m benchmarks.generate OUT --records N`` writes N hgobs JSON Lines records, and
    the same seed gives the same file."""
    out = tmp_path / "big.jsonl"
    assert generate.main([str(out), "--records", "37", "--seed", "3"]) == 0
    lines = out.read_bytes().splitlines()
    assert len(lines) == 37
    assert capsys.readouterr().out == f"{out}: 37 records, {out.stat().st_size} bytes\n"
    again = tmp_path / "again.jsonl"
    generate.main([str(again), "--records", "37", "--seed", "3"])
    assert again.read_bytes() == out.read_bytes()
