"""hgobs classify --follow as a child process: appends, rotation by rename, copy-and-truncate,
a file matched later, each record printed once with the verdict hgobs classify gives it."""

from __future__ import annotations

import os
import shutil
import time

from tests.live.kit import DEADLINE_S, Hgobs, append, batch_verdicts, sample_lines, with_time


def test_follow_reads_appends_rotations_truncations_and_new_files(tmp_path):
    lines = sample_lines()[::4][:11]  # eleven records of many categories, in time order
    expected = batch_verdicts(lines, tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    log.write_text("".join(lines[:3]), encoding="utf-8")
    run = Hgobs("classify", "--follow", str(log), str(logs / "extra-*.jsonl"))
    try:
        got = run.verdicts(3)  # what the file held: read from its start
        append(log, lines[3], lines[4])
        got += run.verdicts(2)
        append(log, lines[5])  # rotation by rename: the old file's last line is read too
        os.rename(log, logs / "app.log.1")
        log.write_text("".join(lines[6:8]), encoding="utf-8")
        got += run.verdicts(3)
        shutil.copy(log, logs / "app.log.2")  # copy-and-truncate, then a shorter line
        with open(log, "w", encoding="utf-8") as handle:
            handle.write(lines[8])
        got += run.verdicts(1)
        append(log, lines[9])
        got += run.verdicts(1)
        (logs / "extra-1.jsonl").write_text(lines[10], encoding="utf-8")
        got += run.verdicts(1)
    finally:
        code, err = run.stop()
    assert code == 0, err
    assert run.rest() == []
    assert [v["time"] for v in got] == sorted(expected)  # each once, in time order
    assert {v["time"]: v["category"] for v in got} == expected
    assert len(set(expected.values())) >= 5
    assert not any("late" in v for v in got)
    assert "11 read, 11 classified, 0 skipped" in err
    sources = [v["source"] for v in got]
    assert sources[:6] == [f"{log}:{n}" for n in range(1, 7)]
    assert sources[6:] == [f"{log}:1", f"{log}:2", f"{log}:1", f"{log}:2",
                           f"{logs / 'extra-1.jsonl'}:1"]


def test_from_end_skips_what_the_file_held(tmp_path):
    """--from-end: the lines there at the start are not printed, lines appended after are,
    with the file's own line numbers. The test cannot see when hgobs has looked at the file,
    so it appends a line at a time until one is printed."""
    first = sample_lines()[0]
    log = tmp_path / "app.log"
    log.write_text("".join(with_time(first, 1_764_000_000 + n) for n in range(3)),
                   encoding="utf-8")
    run = Hgobs("classify", "--follow", "--from-end", str(log))
    got: list[dict[str, object]] = []
    try:
        n = 3
        end = time.monotonic() + DEADLINE_S
        while not got and time.monotonic() < end:
            append(log, with_time(first, 1_764_000_000 + n))
            n += 1
            got = run.poll(0.5)
        assert got, "no line appended was printed"
        append(log, with_time(first, 1_764_000_000 + n))
        got += run.verdicts(1)
    finally:
        code, err = run.stop()
    assert code == 0, err
    numbers = [int(str(v["source"]).rsplit(":", 1)[1]) for v in got + run.rest()]
    assert numbers[0] >= 4 and numbers[-1] == n + 1
    assert numbers == list(range(numbers[0], n + 2))


def test_whole_document_is_not_followed(tmp_path):
    har = tmp_path / "capture.har"
    har.write_text('{"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}, '
                   '"entries": []}}\n', encoding="utf-8")
    log = tmp_path / "app.log"
    log.write_text(sample_lines()[0], encoding="utf-8")
    run = Hgobs("classify", "--follow", str(har), str(log))
    try:
        got = run.verdicts(1)
    finally:
        code, err = run.stop()
    assert code == 0
    assert got[0]["source"] == f"{log}:1"
    assert f"{har}:1: skipped: har is read as a whole document" in err
    assert "cannot be followed" in err


def test_a_followed_folder_reads_a_renamed_log_once(tmp_path):
    """Following a folder: after a rename the walk finds the old file as ``app.log.1``; its
    lines are not read again, and a line its writer still appends there is read once."""
    lines = sample_lines()[::4][:6]
    expected = batch_verdicts(lines, tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    log.write_text("".join(lines[:2]), encoding="utf-8")
    run = Hgobs("classify", "--follow", str(logs))
    try:
        got = run.verdicts(2)
        with open(log, "a", encoding="utf-8") as writer:  # the service's open descriptor
            os.rename(log, logs / "app.log.1")
            log.write_text(lines[2], encoding="utf-8")
            got += run.verdicts(1)
            writer.write(lines[3])  # written to the renamed file before the service reopens
            writer.flush()
            got += run.verdicts(1)
        append(log, lines[4], lines[5])
        got += run.verdicts(2)
    finally:
        code, err = run.stop()
    assert code == 0, err
    assert run.rest() == []
    assert sorted(v["time"] for v in got) == sorted(expected)
    assert {v["time"]: v["category"] for v in got} == expected
    assert [v["source"] for v in got if v["time"] == sorted(expected)[3]] == \
        [f"{logs / 'app.log.1'}:3"]  # its third line, read by the new name's follower
