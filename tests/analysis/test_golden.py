"""Golden reports: today's analyzer says exactly what the stored goldens say.

The goldens (``tests/data/golden/``, written by ``scripts/make_golden.py``) freeze the JSON
report of ``hgobs analyze`` (one engine since issue 13) and the per-record verdicts
of ``hgobs classify``, on frozen inputs. A difference is either a regression or a change that
was meant: then the goldens are made again and the commit says what changed and why.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.support import golden
from tests.support.golden_inputs import unpack


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The frozen inputs, unpacked once."""
    root = tmp_path_factory.mktemp("golden") / "inputs"
    unpack(golden.INPUTS, root)
    return root


@pytest.mark.parametrize(("name", "engine"), golden.IDS,
                         ids=[f"{name}.{engine}" for name, engine in golden.IDS])
def test_the_analyzer_says_what_its_golden_says(inputs, name, engine):
    """The command's exit code, standard error and report (or verdicts), normalised, equal the
    stored golden, value for value and type for type."""
    case = next(c for c in golden.CASES if c.name == name)
    path = golden.golden_path(name, engine)
    assert path.exists(), f"no golden for {name} by {engine}: run scripts/make_golden.py"
    expected = golden.load(path)
    actual = golden.run(case, engine, inputs)
    diff = golden.differences(expected, actual)
    assert not diff, f"{path.name} differs:\n" + "\n".join(diff)


def test_the_inputs_are_the_bytes_the_manifest_lists(inputs):
    """Every unpacked input has the size and SHA-256 of ``inputs.json``, and nothing more."""
    manifest = json.loads(golden.MANIFEST.read_text())
    found = {p.relative_to(inputs).as_posix(): p.read_bytes()
             for p in inputs.rglob("*") if p.is_file()}
    assert sorted(found) == sorted(manifest)
    assert {name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in found.items()} == manifest


def test_every_stored_golden_belongs_to_a_case():
    """No golden file is left over from a case that no longer exists."""
    stored = {p.name for p in golden.GOLDEN.glob("*.json*")} - {golden.MANIFEST.name}
    assert stored == {golden.golden_path(n, e).name for n, e in golden.IDS}


def test_normalise_fixes_run_metadata_and_the_input_folder(tmp_path):
    """``generated_at`` (at any depth) becomes ``<generated_at>`` and the input folder
    ``<inputs>`` inside any string; every other value is kept as it is."""
    doc = {"report": {"generated_at": "2026-12-04T20:00:00Z", "read": 3,
                      "skipped": [{"source": f"{tmp_path}/a.jsonl:2", "reason": "not JSON"}]},
           "stderr": [f"hgobs: left out 1 file: {tmp_path}/x.json"], "exit_code": 0}
    assert golden.normalise(doc, tmp_path) == {
        "report": {"generated_at": "<generated_at>", "read": 3,
                   "skipped": [{"source": "<inputs>/a.jsonl:2", "reason": "not JSON"}]},
        "stderr": ["hgobs: left out 1 file: <inputs>/x.json"], "exit_code": 0}


def test_differences_name_the_path_and_tell_types_apart():
    """A changed value, a missing key, a list of another length and ``1`` for ``True`` are
    each reported with their JSON path."""
    expected = {"a": {"b": [1, 2]}, "c": True, "d": 1}
    actual = {"a": {"b": [1]}, "c": 1, "e": 1}
    assert golden.differences(expected, actual) == [
        "$.a.b: 2 items expected, 1 found", "$.c: true != 1", "$.d: only expected",
        "$.e: only actual"]
