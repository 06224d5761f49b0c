"""HAR reader: every shared case read back from HAR classifies right; bad input never breaks it."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from hgobs.profiles import ProfileSet
from hgobs.readers import har, jsonl
from hgobs.readers.base import Item, ReadContext
from hgobs.schema import SCHEMA_ID
from tests.support.cases import analysis_profile, case_param, load_cases, profile_name
from tests.support.render_curl import case_to_curl
from tests.support.render_har import case_secrets, case_to_har, case_to_har_dict, leaks
from tests.support.whole import classify

CASES = load_cases()
BY_ID = {c["id"]: c for c in CASES}


def ctx_for(case: dict[str, Any]) -> ReadContext:
    """Read as ``--profile auto`` does, unless the case's provider must be named."""
    return ReadContext(profile=analysis_profile(case) or ProfileSet.auto(),
                       client_id=case["client_id"])


def read(data: bytes, case: dict[str, Any] | None = None, name: str = "t.har", **kw: Any
         ) -> list[Item]:
    ctx = ctx_for(case) if case else ReadContext()
    return list(har.read(io.BytesIO(data), name, ctx, **kw))


def doc(*entries: Any) -> bytes:
    return json.dumps({"log": {"version": "1.2", "entries": list(entries)}}).encode()


def skips(items: list[Item]) -> list[tuple[str, str | None]]:
    return [(i.source, i.reason) for i in items if i.record is None]


@pytest.mark.parametrize("variant", [{}, {"params_only": True, "base64_content": True}],
                         ids=["text", "params-base64"])
@pytest.mark.parametrize("case", [case_param(c) for c in CASES])
def test_case_classifies_from_har(case, variant):
    """Every case as HAR (form as text or only as params; content plain or base64) yields one
    record per exchange and its last record carries expected.category."""
    items = read(case_to_har(case, **variant), case)
    assert [i.source for i in items] == [f"t.har#{n}" for n in range(1, len(case["exchanges"]) + 1)]
    assert skips(items) == []
    result = classify(items, ctx_for(case).profiles)
    last = result.classified[-1].record
    assert last["profile"] == profile_name(case)
    assert last["category"] == case["expected"]["category"], (last.get("evidence"), last.get("also"))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_no_secret_of_the_case_survives(case):
    """No 8-character piece of any JWT, opaque token or secret of the case is in any record."""
    items = read(case_to_har(case), case)
    blob = json.dumps([i.record for i in items])
    assert leaks(case_secrets(case), blob) == []


def test_entry_times_and_duration_come_from_the_entry():
    """startedDateTime (with its zone) is the record time; duration is time minus receive."""
    case = BY_ID["hg-expired-assertion"]
    entry = case_to_har_dict(case)["log"]["entries"][0]
    entry["startedDateTime"] = "2023-11-14T23:13:20.500+01:00"
    entry["time"], entry["timings"]["receive"] = 250.0, 50.0
    record = read(doc(entry), case)[0].record
    assert record["time"] == 1700000000.5
    assert record["duration_s"] == pytest.approx(0.2)


def test_non_auth_entries_are_skipped_with_the_builder_reason():
    """A stylesheet entry is accounted for as a skip saying it is not an auth attempt."""
    case = BY_ID["hg-invalid-scope"]
    good = case_to_har_dict(case)["log"]["entries"][0]
    css = json.loads(json.dumps(good))
    css["request"] = {"method": "GET", "url": "https://cdn.example.test/site.css", "headers": []}
    items = read(doc(css, good), case)
    assert skips(items) == [("t.har#1", "not an auth attempt (no token URL or API base of the profile)")]
    assert items[1].record["response.error"] == "invalid_scope"


def test_bad_entries_skip_alone_and_good_ones_still_read():
    """Malformed entries yield a skip for that entry only; the good entries around them read."""
    case = BY_ID["hg-invalid-scope"]
    good = case_to_har_dict(case)["log"]["entries"][0]
    no_time = {**good, "startedDateTime": "yesterday"}
    bad_status = {**good, "response": {**good["response"], "status": "400"}}
    items = read(doc(good, "junk", {"request": {}}, no_time, bad_status, good), case)
    assert len(items) == 6
    assert skips(items) == [
        ("t.har#2", "entry is not an object"),
        ("t.har#3", "entry has no request method or url"),
        ("t.har#4", "entry has no valid startedDateTime"),
        ("t.har#5", "entry has no valid response status"),
    ]
    assert items[0].record and items[5].record


def test_status_zero_is_an_exchange_without_response():
    """status 0 records a token exchange with no status and _error as error.type (when it is a
    safe name; free text becomes NoResponse)."""
    case = BY_ID["hg-invalid-scope"]
    entry = case_to_har_dict(case)["log"]["entries"][0]
    entry["response"] = {"status": 0, "headers": [], "content": {}, "_error": "net::ERR_TIMED_OUT"}
    odd = json.loads(json.dumps(entry))
    odd["response"]["_error"] = "failed: see https://x.test/?token=abc"
    first, second = (i.record for i in read(doc(entry, odd), case))
    assert "http.status" not in first and first["error.type"] == "net::ERR_TIMED_OUT"
    assert second["error.type"] == "NoResponse"


def test_pseudo_headers_and_missing_bodies():
    """HTTP/2 pseudo-headers are dropped; an entry without postData or content text has its
    bodies unknown (no request.body_kind; response.body_read false), not empty."""
    case = BY_ID["hg-invalid-scope"]
    entry = case_to_har_dict(case)["log"]["entries"][0]
    entry["request"]["headers"].insert(0, {"name": ":authority", "value": "sandbox.healthgorilla.com"})
    del entry["request"]["postData"]
    entry["request"]["bodySize"] = -1
    entry["response"]["content"] = {"size": -1, "mimeType": "application/json"}
    record = read(doc(entry), case)[0].record
    assert record["http.status"] == 400
    assert "request.body_kind" not in record and "request.body_bytes" not in record
    assert record["response.body_read"] is False


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty file"),
    (b"  \n", "empty file"),
    (b"\x00\xff\xfe\x89PNG\r\n\x1a\n" * 50, "not UTF-8 or UTF-16 text (byte 1)"),
    (b'{"log": {"entries": [{"startedDateTime": "2023-', "JSON ends early at line 1 (file cut short?)"),
    (b'{"log": {"entries": []}}', "HAR has no entries"),
    (b'{"log": {"pages": []}}', "not a HAR (no log.entries list)"),
    (b"[1, 2, 3]", "not a HAR (no log.entries list)"),
    (b'{"log": 1} trailing', "not valid JSON: Extra data (line 1 column 12)"),
    (b"[" * 200_000, "JSON nested too deeply"),
    (b"a" * 10_000_000, "not valid JSON: Expecting value (line 1 column 1)"),
], ids=["empty", "blank", "binary", "truncated", "no-entries", "no-entries-list", "array",
        "extra-data", "deep", "10MB-line"])
def test_unreadable_document_is_one_skip(data, reason):
    """A document that cannot be read yields exactly one skip '<file>#0' with the reason."""
    assert skips(read(data)) == [("t.har#0", reason)]


def test_truncated_case_har_is_one_skip():
    """A real case HAR cut in the middle yields one skip and never raises."""
    data = case_to_har(BY_ID["hg-success"])
    items = read(data[: len(data) // 2])
    assert len(items) == 1 and items[0].source == "t.har#0"
    assert items[0].reason.startswith("JSON ends early")


def test_size_cap_skips_larger_files():
    """A file over max_bytes is one skip naming the cap."""
    data = case_to_har(BY_ID["hg-success"])
    assert skips(read(data, max_bytes=100)) == [("t.har#0", "HAR larger than 100 bytes")]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_bom_encodings_read(encoding):
    """A HAR with a UTF-8 or UTF-16 BOM is sniffed and read like plain UTF-8."""
    case = BY_ID["hg-invalid-scope"]
    data = case_to_har(case).decode().encode(encoding)
    assert har.sniff(data[:4096], "export.json")
    items = read(data, case)
    assert len(items) == 1 and items[0].record["response.error"] == "invalid_scope"


def test_totals_reconcile():
    """Items = records + skips, one item per entry, for a HAR mixing good and bad entries."""
    entries = case_to_har_dict(BY_ID["hg-success"])["log"]["entries"]
    items = read(doc(*entries, 42, *entries), BY_ID["hg-success"])
    result = classify(items, ctx_for(BY_ID["hg-success"]).profiles)
    assert result.read == len(items) == 5
    assert (len(result.classified), len(result.skipped)) == (4, 1)


def test_sniff():
    """sniff claims HAR (with whitespace, BOM, or a .har name) and nothing else."""
    data = case_to_har(BY_ID["hg-success"])
    assert har.sniff(data[:4096], "x.json")
    assert har.sniff(b'\xef\xbb\xbf \n {"log": {"version": "1.2"', "x")
    assert har.sniff(b"whatever", "capture.HAR")
    record = json.dumps({"schema": SCHEMA_ID, "time": 1.0, "log": {}}).encode() + b"\n"
    assert not har.sniff(record, "x.jsonl") and jsonl.sniff(record)
    assert not har.sniff(b'{"level": "info", "log": "GET https://x -> 401"}\n', "app.log")
    assert not har.sniff(case_to_curl(BY_ID["hg-success"]).encode()[:4096], "t.txt")
    assert not har.sniff(b"2024-03-01T12:00:00Z ERROR status=401\n", "app.log")
