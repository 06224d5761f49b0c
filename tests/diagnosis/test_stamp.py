"""The stamp says which rules and which profile made a verdict, and nothing else matches it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from hgobs.analysis.classify import judge
from hgobs.diagnosis import RULES_DIGEST, diagnose, profile_stamp, stamp_matches
from hgobs.diagnosis.stamp import RULES_MODULES
from hgobs.profiles import load_profile, profile_from_mapping
from hgobs.readers.base import Item

PACKAGE = Path(__file__).resolve().parents[2] / "hgobs"
PROFILE = load_profile()
FAILED = {"time": 1764000000.0, "endpoint.kind": "api_call", "http.status": 429}


def _edited(**limits) -> object:
    """The default profile with ``limits`` changed (same name, other content)."""
    data = PROFILE.content()
    data["limits"] = {**data["limits"], **limits}
    return profile_from_mapping(data)


def test_the_rules_digest_covers_every_module_of_the_package_and_what_it_reads():
    """Every ``.py`` of ``hgobs/diagnosis``, sorted, then ``rfc.py`` and the profile code the
    rules consult (``profiles/model.py``, ``profiles/urls.py``); the digest is SHA-256 over each
    file name and content, so editing any of them changes it."""
    files = [*sorted((PACKAGE / "diagnosis").glob("*.py")), PACKAGE / "rfc.py",
             PACKAGE / "profiles" / "model.py", PACKAGE / "profiles" / "urls.py"]
    assert [m.rpartition(".")[2] for m in RULES_MODULES] == [
        "diagnosis" if f.name == "__init__.py" else f.stem for f in files]
    h = hashlib.sha256()
    for path in files:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    assert RULES_DIGEST == h.hexdigest()[:16]


def test_the_profile_stamp_is_its_name_and_a_digest_of_its_content():
    """Same content, same stamp; another limit under the same name, another stamp."""
    stamp = profile_stamp(PROFILE)
    name, digest = stamp.split(":")
    assert name == "healthgorilla" and len(digest) == 16 and int(digest, 16) >= 0
    assert profile_stamp(load_profile()) == stamp
    assert profile_stamp(_edited(max_assertion_lifetime_s=3600, require_iat=PROFILE.require_iat)) == stamp
    assert profile_stamp(_edited(max_assertion_lifetime_s=600)) != stamp


def test_diagnose_stamps_the_rules_and_the_profile():
    """``as_fields`` carries ``diagnosis.rules`` and ``diagnosis.profile`` of the profile used."""
    fields = diagnose(dict(FAILED), PROFILE).as_fields()
    assert (fields["diagnosis.rules"], fields["diagnosis.profile"]) == (RULES_DIGEST, profile_stamp(PROFILE))
    assert stamp_matches(fields, PROFILE)


def test_a_stamp_matches_only_the_same_rules_and_profile():
    """Other rules, another profile, an edited profile or no profile stamp (records written
    before the field existed): no match."""
    fields = diagnose(dict(FAILED), PROFILE).as_fields()
    assert not stamp_matches(dict(fields, **{"diagnosis.rules": "0" * 16}), PROFILE)
    assert not stamp_matches(fields, _edited(max_assertion_lifetime_s=600))
    emulator = profile_from_mapping({"name": "emulator", "environments": {
        "sandbox": {"token_urls": ["http://127.0.0.1:1/sandbox/oauth/token"]}}})
    assert not stamp_matches(fields, emulator)
    legacy = {k: v for k, v in fields.items() if k != "diagnosis.profile"}
    assert not stamp_matches(legacy, PROFILE)


def test_the_judge_keeps_a_verdict_only_under_its_stamp():
    """The analyzer keeps a stamped verdict the rules would not give (``rate_limited`` on a
    500) when the stamp matches, and judges it again under another profile."""
    stamped = dict(FAILED, **{"http.status": 500},
                   **diagnose(dict(FAILED), PROFILE).as_fields())  # says rate_limited
    for profile, category in ((PROFILE, "rate_limited"),
                              (_edited(max_assertion_lifetime_s=600), "unclassified")):
        judged = list(judge([Item("stamped.jsonl:1", dict(stamped))], profile))
        assert [j.record["category"] for j in judged] == [category]
