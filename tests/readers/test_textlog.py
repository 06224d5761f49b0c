"""Text log reader: API-call and error-body cases logged as text classify right; every line is
accounted for; a line never gets facts it does not show; junk never breaks it."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from hgobs.readers import curl, har, jsonl, textlog
from hgobs.readers.base import Item, ReadContext
from hgobs.readers.textlog import parse_time
from tests.support.cases import case_profile, load_cases
from tests.support.render_curl import case_to_curl
from tests.support.render_har import (
    PlainExchange,
    case_secrets,
    case_to_har,
    iso_time,
    leaks,
    plain_exchanges,
)
from tests.support.whole import classify

CASES = load_cases()
BY_ID = {c["id"]: c for c in CASES}
STYLES = ("arrow", "kv", "python")


def log_line(ex: PlainExchange, style: str = "arrow", with_credentials: bool = True) -> str:
    """One application log line for ``ex``: time, level, method, URL, status, the credential
    header (when ``with_credentials``), WWW-Authenticate, Retry-After and the response body."""
    extras = []
    credential = next(((n, v) for n, v in ex.headers if n.lower() in ("authorization", "authorisation")), None)
    if with_credentials and credential:
        extras.append(f'{credential[0].lower()}="{credential[1]}"')
    for name in ("www-authenticate", "retry-after"):
        if (value := ex.header(name, response=True)) is not None:
            extras.append(f"{name}: {value}")
    tail, body = " ".join(extras), ex.response_body.decode()
    level = "INFO" if ex.status < 400 else "ERROR"
    if style == "arrow":
        return f"{iso_time(ex.time)} {level} {ex.method} {ex.url} -> {ex.status} {tail} {body}"
    if style == "kv":
        return (f"{iso_time(ex.time)} {level} request done: {body or '-'} status={ex.status} "
                f"method={ex.method} url={ex.url} {tail}")
    when = iso_time(ex.time).replace("T", " ").replace(".", ",").rstrip("Z")
    return f"{when} - client - {level} - HTTP {ex.status} for {ex.method} {ex.url} {tail} {body}"


def case_to_textlog(case: dict[str, Any], style: str = "arrow", with_credentials: bool = True) -> str:
    """The case as an application log: one line per exchange (see ``log_line``)."""
    return "".join(log_line(ex, style, with_credentials).rstrip() + "\n"
                   for ex in plain_exchanges(case))


API_CASES = [c for c in CASES if "/fhir/" in c["exchanges"][-1]["request"]["url"]]
ERROR_BODY_CASES = [BY_ID[i] for i in ("hg-invalid-scope", "generic-bad-signature",
                                       "generic-exp-too-far", "own-server-error")]
"""Token exchanges decided by the response alone (a log line never shows the request body)."""
LOGGABLE = API_CASES + ERROR_BODY_CASES
NO_CREDENTIAL_NEEDED = [BY_ID[i] for i in ("hg-access-token-expired-described",
                                           "hg-insufficient-scope", "hg-rate-limited", "hg-success")]


def read(text: str | bytes, case: dict[str, Any] | None = None, name: str = "app.log") -> list[Item]:
    data = text.encode() if isinstance(text, str) else text
    ctx = ReadContext(profile=case_profile(case), client_id=case["client_id"]) if case else ReadContext()
    return list(textlog.read(io.BytesIO(data), name, ctx))


def category(items: list[Item], case: dict[str, Any]) -> str:
    return classify(items, case_profile(case)).classified[-1].record["category"]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("case", LOGGABLE, ids=[c["id"] for c in LOGGABLE])
def test_loggable_case_classifies(case, style):
    """API-call and error-body cases logged one line per exchange classify as expected."""
    items = read(case_to_textlog(case, style), case)
    assert [i.source for i in items] == [f"app.log:{n}" for n in range(1, len(items) + 1)]
    assert all(i.record is not None for i in items)
    assert category(items, case) == case["expected"]["category"]


@pytest.mark.parametrize("case", NO_CREDENTIAL_NEEDED, ids=[c["id"] for c in NO_CREDENTIAL_NEEDED])
def test_cases_decided_by_the_answer_need_no_credential(case):
    """Cases the server's answer decides classify even when the log omits the credential."""
    assert category(read(case_to_textlog(case, with_credentials=False), case), case) == \
        case["expected"]["category"]


def test_unlogged_credential_is_unknown_not_absent():
    """A line without an Authorization value has no presented.* facts, so it is never called
    missing_access_token."""
    case = BY_ID["hg-assertion-as-bearer"]
    items = read(case_to_textlog(case, with_credentials=False), case)
    assert not any(k.startswith("presented.") for k in items[0].record)
    assert category(items, case) != "missing_access_token"


@pytest.mark.parametrize("case", LOGGABLE, ids=[c["id"] for c in LOGGABLE])
def test_no_secret_of_the_case_survives(case):
    """No 8-character piece of a logged token (bearer values, issued access tokens) is in any record."""
    items = read(case_to_textlog(case), case)
    assert leaks(case_secrets(case), json.dumps([i.record for i in items])) == []


def test_brief_examples():
    """The two documented line shapes give the status, OAuth error, challenge and URL."""
    text = (
        '2024-03-01T12:00:00Z ERROR token exchange failed: 400 {"error":"invalid_grant",'
        '"error_description":"Assertion expired"} url=https://sandbox.healthgorilla.com/oauth/token\n'
        "2024-03-01T12:00:05Z WARN GET https://api.healthgorilla.com/fhir/R4/Patient?x=1 -> 401 "
        'www-authenticate: Bearer error="invalid_token"\n')
    first, second = (i.record for i in read(text))
    assert (first["endpoint.kind"], first["http.method"], first["http.status"]) == ("token_exchange", "POST", 400)
    assert first["response.error"] == "invalid_grant" and first["time"] == 1709294400.0
    assert "request.body_kind" not in first and first["environment"] == "sandbox"
    assert (second["endpoint.kind"], second["http.status"]) == ("api_call", 401)
    assert second["challenge.error"] == "invalid_token" and second["url"].endswith("/Patient?x")
    assert second["environment"] == "production"


@pytest.mark.parametrize(("fragment", "status"), [
    ("-> 401", 401), ("status=403", 403), ('"status_code": 429', 429), ("status: 401", 401),
    ("HTTP 401", 401), ("HTTP/1.1 401", 401), ("401 Unauthorized", 401),
    ("got 429 Too Many Requests", 429), ("=> HTTP/2 403", 403),
])
def test_status_forms(fragment, status):
    """Each documented status form is read, digits inside URLs are not."""
    line = f"2024-03-01 12:00:00,250 GET https://api.healthgorilla.com/fhir/R4/Patient/500 {fragment}\n"
    record = read(line)[0].record
    assert record["http.status"] == status and record["time"] == 1709294400.25


def test_every_line_is_accounted_for():
    """Each non-blank line yields one item; ordinary lines say why; blank lines are not items;
    a line without a timestamp takes the previous line's time."""
    text = ("Starting app\n"
            "2024-03-01T12:00:00+01:00 INFO ready\n\n"
            "2024-03-01T12:00:01Z ERROR status=500\n"
            "2024-03-01T12:00:02Z POST https://sandbox.healthgorilla.com/oauth/token\n"
            "  retry: GET https://api.healthgorilla.com/fhir/R4/Patient -> 401\n"
            "2024-03-01T12:00:03Z GET https://cdn.example.test/app.js -> 200\n")
    items = read(text)
    assert [(i.source, i.reason) for i in items if i.record is None] == [
        ("app.log:1", "no HTTP exchange found"),
        ("app.log:2", "no HTTP exchange found"),
        ("app.log:4", "status without a request URL"),
        ("app.log:5", "request URL without a status"),
        ("app.log:7", "not an auth attempt (no token URL or API base of the profile)"),
    ]
    assert [i.record["time"] for i in items if i.record] == [1709294402.0]
    result = classify(items, case_profile(BY_ID["hg-success"]))
    assert result.read == len(items) == 6
    assert read("GET https://api.healthgorilla.com/fhir/R4/Patient -> 401\n")[0].reason == \
        "no timestamp on this or any earlier line"


def test_escaped_json_transport_error_and_token_response():
    """Escaped JSON in a structured message is found; an exception name without a status is an
    exchange without response; a logged token response is fingerprinted, never kept."""
    text = ('2024-03-01T12:00:00Z msg="token call failed body={\\"error\\":\\"invalid_client\\"}'
            ' status=401 url=https://sandbox.healthgorilla.com/oauth/token"\n'
            "2024-03-01T12:00:01Z POST https://sandbox.healthgorilla.com/oauth/token raised ReadTimeout\n"
            '2024-03-01T12:00:02Z POST https://sandbox.healthgorilla.com/oauth/token -> 200 '
            '{"access_token":"at-9f8e7d6c5b4a39281706","token_type":"Bearer","expires_in":3600}\n')
    first, second, third = (i.record for i in read(text))
    assert first["response.error"] == "invalid_client" and first["http.status"] == 401
    assert second["error.type"] == "ReadTimeout" and "http.status" not in second
    assert third["issued.fp"] and third["issued.expires_in"] == 3600.0
    assert "at-9f8e7d6c5b4a39281706"[:8] not in json.dumps(third)


def test_parse_time():
    """ISO 8601 with Z, offsets or no zone (UTC), and comma milliseconds parse; nonsense does not."""
    assert parse_time("2023-11-14T22:13:20Z") == 1700000000.0
    assert parse_time("2023-11-14T23:13:20.5+0100") == 1700000000.5
    assert parse_time("2023-11-14 22:13:20,250") == 1700000000.25
    assert parse_time("2023-11-14T22:13:20 UTC") == 1700000000.0
    assert parse_time("2023-02-30T00:00:00Z") is None
    assert parse_time("yesterday") is None


@pytest.mark.parametrize(("data", "reasons"), [
    (b"", []),
    (b"\n  \n", []),
    (b"\x00\xff\xfe\x89PNG\x1a" * 100, ["no HTTP exchange found"]),
    (b"2024-03-01T12:00:00Z \xff\xfe GET https://api.healthgorilla.com/fhir/R4/Patient -> 401\n", [None]),
    (b"2024-03-01T12:00:00Z " + b"x" * 10_000_000 + b"\n2024-03-01T12:00:00Z ok\n",
     [f"line longer than {textlog.MAX_LINE_BYTES} bytes", "no HTTP exchange found"]),
], ids=["empty", "blank", "binary", "non-utf8", "10MB-line"])
def test_junk_never_breaks(data, reasons):
    """Junk, non-UTF-8 text and a 10 MB line never raise; each non-blank line is one item."""
    assert [i.reason for i in read(data)] == reasons


def test_sniff():
    """sniff claims timestamped lines with URLs or status, and not JSONL, HAR, curl or prose."""
    log = case_to_textlog(BY_ID["hg-success"]).encode()
    assert textlog.sniff(log)
    assert textlog.sniff(case_to_textlog(BY_ID["hg-rate-limited"], "python").encode())
    assert textlog.sniff(b"2024-03-01T12:00:00Z a\n2024-03-01T12:00:01Z status=401\n"
                         b"2024-03-01T12:00:02Z GET https://x.test/ -> 200\n")
    assert not textlog.sniff(b'{"time": "2024-03-01T12:00:00Z", "url": "https://x.test"}\n')
    assert not textlog.sniff(case_to_har(BY_ID["hg-success"])[:4096])
    assert not textlog.sniff(case_to_curl(BY_ID["hg-success"]).encode()[:4096])
    assert not textlog.sniff(case_to_curl(BY_ID["hg-success"], timestamps=True).encode()[:4096])
    assert not textlog.sniff(b"Dear support,\nour calls to https://x.test fail with status 401.\n")
    assert not (curl.sniff(log) or har.sniff(log) or jsonl.sniff(log))
