"""hgobs classify - on a pipe: each verdict is printed as its line arrives, before the next is
written; a line before the first record is skipped with its reason, as in a file."""

from __future__ import annotations

import io
import os

from hgobs.live.options import is_stream
from tests.live.kit import Hgobs, batch_verdicts, sample_lines


def test_each_line_is_answered_before_the_next_is_written(tmp_path):
    lines = sample_lines()[::6][:5]
    expected = batch_verdicts(lines, tmp_path)
    run = Hgobs("classify", "-", stdin=True)
    got = []
    try:
        run.write("starting app, version 1.2\n")  # no record: detection waits for more
        for line in lines:
            run.write(line)
            got += run.verdicts(1)  # comes while the pipe stays open
        assert run.proc.stdin is not None
        run.proc.stdin.close()  # the end of input ends the run
        code, err = run.stop(sig=None)
    finally:
        run.proc.kill()
    assert code == 0, err
    assert [v["source"] for v in got] == [f"-:{n}" for n in range(2, 7)]
    assert {v["time"]: v["category"] for v in got} == expected
    assert len(set(expected.values())) == 5
    # As for a file whose damaged first line comes before hgobs records: skipped, with why.
    assert "-:1: skipped: not JSON" in err
    assert "6 read, 5 classified, 1 skipped" in err


def test_standard_input_from_a_file_is_read_as_a_file(tmp_path):
    """A regular file on standard input is no stream: the ordinary reading applies; a pipe
    is one; a stream without a descriptor (a test harness's) is not."""
    data = tmp_path / "in.jsonl"
    data.write_text(sample_lines()[0], encoding="utf-8")
    with open(data, "rb") as handle:
        assert not is_stream(handle)
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as pipe:
        os.close(write_end)
        assert is_stream(pipe)
    assert not is_stream(io.BytesIO(b""))


def test_a_client_id_in_no_record_is_warned_about_after_the_totals(monkeypatch):
    """classify - with --client-id under another key than the records': the totals, then
    the warning hgobs classify gives (one line, said as a warning)."""
    from hgobs.emulator.scenarios.exchange import MAIN
    from hgobs.live.classify import classify_live
    from tests.live.kit import SAMPLES

    monkeypatch.setenv("HGOBS_FINGERPRINT_KEY", "not-the-records-key")
    out, err = io.StringIO(), io.StringIO()
    with open(SAMPLES, encoding="utf-8") as stdin:
        monkeypatch.setattr("sys.stdin", stdin)
        counts = classify_live(["-"], client_id=MAIN.client_id, follow=False, out=out, err=err)
    assert counts == (54, 0, 0)
    assert len(out.getvalue().splitlines()) == 54
    assert err.getvalue().splitlines()[-2:] == [
        "hgobs: 54 read, 54 classified, 0 skipped",
        "hgobs: warning: the fingerprint of --client-id under HGOBS_FINGERPRINT_KEY is none of "
        "the 3 client fingerprints (client.fp) of the records: the key or the client id is not "
        "the one the records were made with, so the iss/sub judgements against the client id "
        "(such as invalid_client_id) may be wrong"]
