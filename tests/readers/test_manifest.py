"""A folder's manifest (``hgobs-folder.toml``): the samples folder says it is synthetic data
and is walked without a warning about its own index; manifests never stop a run."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from hgobs.cli import cli
from hgobs.readers import expand
from hgobs.readers.manifest import MANIFEST, read_manifest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
RECORD = ('{"schema":"hgobs.attempt/1","time":1700000000.0,"endpoint.kind":"token_exchange",'
          '"http.status":400,"outcome":"failed"}\n')


def test_analyze_samples_says_they_are_synthetic_and_warns_of_nothing():
    """``hgobs analyze samples/``: the note first, no 'left out' line, all 54 records read."""
    result = CliRunner().invoke(cli, ["analyze", str(SAMPLES)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0].startswith(f"hgobs: about {SAMPLES}: synthetic data:")
    assert "left out" not in result.stderr
    assert "hgobs report: 54 records read, 54 classified" in result.stdout


def test_a_manifest_passes_over_its_files_and_nested_folders_have_their_own(tmp_path):
    """``not_logs`` patterns are relative to the manifest's folder, ``*`` allowed; a file the
    manifest does not name is still left out with a word; the manifest itself is no log."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / MANIFEST).write_text('note = "  from  the\\n lab  "\nnot_logs = ["b/*.json"]\n')
    for name in ("a/b/index.json", "a/other.json", "a/b/app.jsonl"):
        (tmp_path / name).write_text(RECORD if name.endswith("l") else "{}\n")
    (tmp_path / "a" / "b" / "x.jsonl.bak").write_text(RECORD)
    left_out: list[str] = []
    notes: dict[str, str] = {}
    files = [Path(f).relative_to(tmp_path).as_posix()
             for f, _ in expand([str(tmp_path)], left_out, notes)]
    assert files == ["a/b/app.jsonl", "a/other.json"]
    assert left_out == [str(tmp_path / "a" / "b" / "x.jsonl.bak")]
    assert notes == {str(tmp_path / "a"): "from the lab"}


def test_a_broken_manifest_is_ignored_with_its_reason(tmp_path):
    """Not TOML, or the wrong shape: the note says why, nothing is passed over."""
    (tmp_path / MANIFEST).write_text("note = \n")
    broken = read_manifest(tmp_path)
    assert broken is not None and broken.note == f"{MANIFEST} ignored: cannot be read (TOMLDecodeError)"
    assert not broken.passes_over("x.json")
    (tmp_path / MANIFEST).write_text('not_logs = "x.json"\n')
    assert read_manifest(tmp_path).note.startswith(f"{MANIFEST} ignored: 'note' must be text")
    assert read_manifest(tmp_path / "nowhere") is None


def test_an_unreadable_file_says_which_formats_are_read_and_how_to_check(tmp_path):
    """A file named explicitly in no known format: one skip naming every format and how to
    compare its first lines with them (the input itself is never quoted)."""
    path = tmp_path / "mystery.log"
    path.write_text("zq-secret-value 1 2 3\nzq-secret-value 4 5 6\n")
    result = CliRunner().invoke(cli, ["analyze", str(path)])
    said = " ".join(result.output.split())  # the table wraps long reasons
    assert "not a log format hgobs reads (it reads hgobs-jsonl," in said
    assert "json-app-log" in said and "`head -n 3 FILE`" in said
    assert "zq-secret-value" not in said
