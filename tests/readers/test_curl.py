"""curl -v transcript reader: shared cases read back from transcripts classify right; pasted
variants (HTTP/1.1, 100 Continue, progress lines, CRLF, --trace-time) and junk never break it."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from hgobs.facts.exchange import http_date
from hgobs.profiles import TOKEN_EXCHANGE, ProfileSet
from hgobs.readers import curl, har, jsonl, textlog
from hgobs.readers.base import Item, ReadContext
from hgobs.readers.curlcmd import parse_command
from tests.support.cases import (
    analysis_profile,
    case_param,
    is_token_request,
    load_cases,
    profile_name,
)
from tests.support.render_curl import case_to_curl
from tests.support.render_har import case_secrets, case_to_har, leaks
from tests.support.whole import classify

CASES = load_cases()
BY_ID = {c["id"]: c for c in CASES}


def _time_is_server_date(case: dict[str, Any]) -> bool:
    return all(e["time"] == http_date(e["response"]["headers"].get("date"))
               for e in case["exchanges"])


SINGLE = [c for c in CASES if len(c["exchanges"]) == 1]
UNTIMED = [c for c in CASES if _time_is_server_date(c)]
"""Cases a transcript without timestamps can express: the client clock equals the server Date."""
SINGLE_PARAMS = [case_param(c, profile=api, category=api) for c in SINGLE
                 for api in [not is_token_request(c["exchanges"][-1]["request"])]]
"""Single-exchange cases; only an API call among them is judged (xfail marks)."""
API_LAST = [c for c in CASES if "/fhir/" in c["exchanges"][-1]["request"]["url"]]


def ctx_for(case: dict[str, Any]) -> ReadContext:
    """Read as ``--profile auto`` does, unless the case's provider must be named."""
    return ReadContext(profile=analysis_profile(case) or ProfileSet.auto(),
                       client_id=case["client_id"])


def read(text: str | bytes, case: dict[str, Any] | None = None, name: str = "t.txt") -> list[Item]:
    data = text.encode() if isinstance(text, str) else text
    ctx = ctx_for(case) if case else ReadContext()
    return list(curl.read(io.BytesIO(data), name, ctx))


def category(items: list[Item], case: dict[str, Any]) -> str:
    """The last record's category, once it is known the case's own profile judged it."""
    last = classify(items, ctx_for(case).profiles).classified[-1].record
    assert last["profile"] == profile_name(case)
    return last["category"]


@pytest.mark.parametrize("case", [case_param(c) for c in CASES])
def test_timestamped_transcript_classifies(case):
    """With ISO timestamps on the lines, every case (single or multi-exchange) classifies as
    expected, one record per exchange, sourced at its request line."""
    text = case_to_curl(case, timestamps=True)
    items = read(text, case)
    assert all(i.record is not None for i in items) and len(items) == len(case["exchanges"])
    lines = text.splitlines()
    assert all(" > " in lines[int(i.source.split(":")[1]) - 1] for i in items)
    assert category(items, case) == case["expected"]["category"]


@pytest.mark.parametrize("case", [case_param(c) for c in UNTIMED])
def test_plain_transcript_classifies(case):
    """Without timestamps the server Date is the time: cases whose client clock equals it
    classify as expected, and no record claims a clock offset."""
    items = read(case_to_curl(case), case)
    assert category(items, case) == case["expected"]["category"]
    assert all("clock.offset_s" not in i.record for i in items)


def test_clock_skew_cannot_be_judged_without_client_time():
    """The clock-skew case without timestamps is judged at the server's Date (documented)."""
    case = BY_ID["hg-clock-skew-behind"]
    items = read(case_to_curl(case), case)
    assert items[0].record["time"] == http_date("Tue, 14 Nov 2023 22:13:20 GMT")
    assert category(items, case) != "clock_skew"


@pytest.mark.parametrize("case", SINGLE_PARAMS)
def test_without_bodies_the_response_body_is_unknown(case):
    """Without pasted response bodies a token exchange has response.body_read false (unless
    the headers say the body is empty); an API call classifies as with bodies."""
    items = read(case_to_curl(case, with_bodies=False, timestamps=True), case)
    record = items[-1].record
    if record["endpoint.kind"] == TOKEN_EXCHANGE:
        empty = case["exchanges"][-1]["response"]["headers"].get("content-length") == "0"
        assert record["response.body_read"] is empty
    else:
        assert category(items, case) == case["expected"]["category"]


@pytest.mark.parametrize("case", SINGLE_PARAMS)
def test_without_command_the_request_body_is_unknown(case):
    """Without the command line a POST's body is unknown: no request.body_* or assertion facts
    (never 'empty'); API calls still classify as expected."""
    items = read(case_to_curl(case, with_command=False, timestamps=True), case)
    record = items[-1].record
    if record["endpoint.kind"] == TOKEN_EXCHANGE and record["http.method"] == "POST":
        assert not any(k.startswith(("request.body", "form.", "assertion.")) for k in record)
    else:
        assert category(items, case) == case["expected"]["category"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_no_secret_of_the_case_survives(case):
    """No 8-character piece of any JWT, opaque token or secret of the case is in any record."""
    items = read(case_to_curl(case, timestamps=True), case)
    assert leaks(case_secrets(case), json.dumps([i.record for i in items])) == []


PASTED = """\
$ curl -sv -XPOST http://idp.example.test:8080/oauth2/v1/token \\
    --data-urlencode 'grant_type=client_credentials' --data-urlencode "scope=a b"
*   Trying 198.51.100.7:8080...
* Connected to idp.example.test (198.51.100.7) port 8080 (#0)\r
> POST /oauth2/v1/token HTTP/1.1\r
> Host: idp.example.test:8080\r
> User-Agent: curl/7.81.0\r
> Content-Length: 48\r
> Content-Type: application/x-www-form-urlencoded\r
> Expect: 100-continue\r
>\r
< HTTP/1.1 100 Continue\r
<\r
  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current
                                 Dload  Upload   Total   Spent    Left  Speed
  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0
< HTTP/1.1 400 Bad Request\r
< Date: Tue, 14 Nov 2023 22:13:20 GMT\r
< Content-Type: application/json\r
<\r
} [48 bytes data]
{"error":"invalid_scope","error_description":"scope a b"}* Connection #0 to host idp.example.test left intact
Thanks for looking!
"""


def test_pasted_http11_transcript():
    """HTTP/1.1 with CRLF, 100 Continue, progress meter lines, a body without final newline
    and prose after it: one record with the command's body, the real status and the error."""
    profile = {"name": "generic", "token_urls": {"default": "http://idp.example.test:8080/oauth2/v1/token"}}
    case = {"profile": profile, "client_id": "abc"}
    items = read(PASTED, case)
    assert [i.source for i in items] == ["t.txt:5"]
    record = items[0].record
    assert record["url"] == "http://idp.example.test:8080/oauth2/v1/token"
    assert record["http.status"] == 400 and record["response.error"] == "invalid_scope"
    assert record["form.grant_type"] == "client_credentials" and record["form.scope"] == "a b"
    assert record["request.body_bytes"] == len("grant_type=client_credentials&scope=a+b")


def test_trace_time_gives_duration_not_time():
    """--trace-time prefixes give the duration; the time stays the server Date."""
    lines = case_to_curl(BY_ID["hg-invalid-scope"]).splitlines()
    stamped = []
    for line in lines:
        tod = "23:59:59.900000" if not line.startswith("<") else "00:00:00.150000"
        stamped.append(f"{tod} {line}")
    record = read("\n".join(stamped), BY_ID["hg-invalid-scope"])[0].record
    assert record["duration_s"] == pytest.approx(0.25)
    assert record["time"] == http_date("Tue, 14 Nov 2023 22:13:20 GMT")


@pytest.mark.parametrize(("notes", "url"), [
    ("* Connected to sandbox.healthgorilla.com (203.0.113.1) port 80 (#0)",
     "http://sandbox.healthgorilla.com/oauth/token"),
    ("* Host sandbox.healthgorilla.com:443 was resolved.",
     "https://sandbox.healthgorilla.com/oauth/token"),
    ("* Connected to sandbox.healthgorilla.com (203.0.113.1) port 8443\n"
     "* SSL connection using TLSv1.3 / TLS_AES_128_GCM_SHA256",
     "https://sandbox.healthgorilla.com:8443/oauth/token"),
    ("* [HTTP/2] [1] [:scheme: https]\n* [HTTP/2] [1] [:authority: sandbox.healthgorilla.com]",
     "https://sandbox.healthgorilla.com/oauth/token"),
], ids=["port-80", "resolved-443", "tls-other-port", "h2-pseudo"])
def test_host_and_scheme_from_connection_notes(notes, url):
    """Without a Host header or command, curl's notes give the scheme and host; a request
    whose headers show no Content-Length sent no body."""
    text = (f"{notes}\n> GET /oauth/token HTTP/1.1\n> Accept: */*\n>\n"
            "< HTTP/1.1 400 Bad Request\n< Date: Tue, 14 Nov 2023 22:13:20 GMT\n<\n")
    profile = {"name": "generic", "token_urls": {"default": url}}
    record = read(text, {"profile": profile, "client_id": "abc"})[0].record
    assert record["url"] == url
    assert record["request.body_bytes"] == 0 and record["http.method"] == "GET"


def test_followed_redirect_gives_two_exchanges():
    """A -L transcript (301, 'Issue another request', POST turned GET) yields two records; the
    command's body belongs to the first request only, and the second is a bodiless GET."""
    case = BY_ID["hg-http-redirect"]
    first = case_to_curl(case).split("* Connection #0")[0]
    text = first + (
        "* Connection #0 to host sandbox.healthgorilla.com left intact\n"
        "* Issue another request to this URL: 'https://sandbox.healthgorilla.com/oauth/token'\n"
        "* Switch from POST to GET\n"
        "* Connected to sandbox.healthgorilla.com (203.0.113.10) port 443\n"
        "> GET /oauth/token HTTP/2\n> Host: sandbox.healthgorilla.com\n>\n"
        "< HTTP/2 400\n< date: Tue, 14 Nov 2023 22:13:20 GMT\n< content-type: application/json\n<\n"
        '{"error": "unsupported_grant_type"}\n')
    items = read(text, case)
    assert [i.record["http.method"] for i in items] == ["POST", "GET"]
    assert items[0].record["form.grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert items[1].record["url"] == "https://sandbox.healthgorilla.com/oauth/token"
    assert items[1].record["request.body_bytes"] == 0
    assert category(items, case) == "redirect_dropped_body"


def test_timeout_after_send_and_connect_tunnel():
    """'curl: (28)' after a request with no response records ReadTimeout; a proxy CONNECT is
    accounted for as a skip; a request with no time anywhere is a skip."""
    text = ("2023-11-14T22:13:20Z > CONNECT sandbox.healthgorilla.com:443 HTTP/1.1\n"
            "2023-11-14T22:13:20Z < HTTP/1.1 200 Connection established\n"
            "2023-11-14T22:13:21Z > POST /oauth/token HTTP/2\n"
            "2023-11-14T22:13:21Z > Host: sandbox.healthgorilla.com\n"
            "2023-11-14T22:14:21Z curl: (28) Operation timed out after 60000 milliseconds\n")
    items = read(text)
    assert items[0].reason == "proxy tunnel request (CONNECT), not an HTTP exchange"
    assert items[1].record["error.type"] == "ReadTimeout" and "http.status" not in items[1].record
    untimed = read("> GET /oauth/token HTTP/1.1\n> Host: sandbox.healthgorilla.com\n")
    assert untimed[0].reason == "no time: no timestamp and no Date header in the transcript"


@pytest.mark.parametrize(("command", "url", "body"), [
    ("curl -d a=1 -d b=2 https://h.test/t", "https://h.test/t", b"a=1&b=2"),
    ("curl --data-urlencode 'assertion=x y+z' --url https://h.test/t", "https://h.test/t",
     b"assertion=x+y%2Bz"),
    ("curl.exe -X POST --json '{\"a\": 1}' h.test/t", "http://h.test/t", b'{"a": 1}'),
    ("$ curl -vX POST -H 'Accept: */*' -d @body.txt https://h.test/t", "https://h.test/t", None),
    ("curl -F grant_type=x -F file=@secret.pem https://h.test/t", "https://h.test/t", None),
    ("curl -G -d a=1 https://h.test/t", "https://h.test/t", b""),
    ("curl -o out.json -A agent https://h.test/t", "https://h.test/t", b""),
])
def test_parse_command(command, url, body):
    """A command's URL and body are what curl sends; a body in a file is unknown (None)."""
    cmd = parse_command(command)
    assert cmd is not None and (cmd.url, cmd.body) == (url, body)


def test_stray_continuation_does_not_swallow_the_transcript():
    """A command ending in a stray backslash still gives its body, and the transcript after it
    is read as a transcript."""
    case = BY_ID["hg-invalid-scope"]
    lines = [line for line in case_to_curl(case).splitlines() if not line.startswith("*")]
    text = "\n".join(lines).replace("\n> POST", " \\\n> POST", 1)
    items = read(text, case)
    assert [i.source for i in items] == ["t.txt:5"]
    record = items[0].record
    assert record["form.scope"] and record["response.error"] == "invalid_scope"


def test_parse_command_multipart_and_unbalanced_quotes():
    """-F parts become a multipart body; unbalanced quotes make the command unreadable (None)."""
    cmd = parse_command("curl -F grant_type=x -F scope=y https://h.test/t")
    assert cmd is not None and b'name="grant_type"\r\n\r\nx\r\n' in (cmd.body or b"")
    assert parse_command("curl -d 'a=1 https://h.test/t") is None


@pytest.mark.parametrize(("data", "reasons"), [
    (b"", []),
    (b"\n\n", []),
    (b"\x00\xff\xfe\x89PNG\r\n\x1a\n" * 500, ["no curl -v request line found"]),
    (b"x" * 10_000_000, ["no curl -v request line found"]),
    (b"> GET /x HTTP/1.1\n> Host: \xff\xfe.test\n< HTTP/1.1 401 Unauthorized\n"
     b"< Date: Tue, 14 Nov 2023 22:13:20 GMT\n", ["request cannot be parsed (InvalidURL)"]),
], ids=["empty", "blank", "binary", "10MB-line", "non-utf8-host"])
def test_junk_never_breaks(data, reasons):
    """Junk, non-UTF-8 text and a 10 MB single line never raise; every request is one item."""
    assert [i.reason for i in read(data)] == reasons


def test_long_line_inside_a_transcript_is_cut():
    """A 10 MB body line is cut to the body cap; the exchange is still one record."""
    text = case_to_curl(BY_ID["hg-invalid-scope"]).replace(
        '{"error": "invalid_scope"}', '{"error": "invalid_scope", "x": "' + "a" * 10_000_000 + '"}')
    items = read(text, BY_ID["hg-invalid-scope"])
    assert len(items) == 1 and items[0].record["http.status"] == 400


def test_totals_reconcile():
    """Several transcripts in one file: one item per request line, records + skips = items."""
    text = "".join(case_to_curl(BY_ID[i]) for i in ("hg-success", "hg-rate-limited", "hg-mixed-flow"))
    text += "> CONNECT proxy.test:443 HTTP/1.1\n"
    items = read(text, BY_ID["hg-success"])
    result = classify(items, ctx_for(BY_ID["hg-success"]).profiles)
    assert result.read == len(items) == 5 and len(result.skipped) == 1


def test_sniff():
    """sniff claims transcripts (plain, timestamped, --trace-time) and not HAR, JSONL or logs."""
    text = case_to_curl(BY_ID["hg-success"])
    assert curl.sniff(text.encode()[:4096])
    assert curl.sniff(case_to_curl(BY_ID["hg-success"], timestamps=True).encode()[:4096])
    assert curl.sniff(b"12:00:00.123456 > POST /oauth/token HTTP/2\n")
    assert not curl.sniff(case_to_har(BY_ID["hg-success"])[:4096])
    assert not curl.sniff(b'{"schema": "hgobs.attempt/1"}\n')
    assert not curl.sniff(b"2024-03-01T12:00:00Z ERROR GET https://x.test/fhir -> 401\n")
    assert not textlog.sniff(text.encode()[:4096]) and not har.sniff(text.encode()[:4096])
    assert not jsonl.sniff(text.encode()[:4096])


def test_body_after_connection_note_belongs_to_the_exchange():
    """With `curl -v ... 2>&1` the JSON body printed after "left intact" is still read."""
    text = (
        "* Connected to sandbox.healthgorilla.com (192.0.2.1) port 443\n"
        "> POST /oauth/token HTTP/2\n> Host: sandbox.healthgorilla.com\n"
        "> content-type: application/x-www-form-urlencoded\n>\n"
        "< HTTP/2 400\n< content-type: application/json\n"
        "< date: Tue, 14 Nov 2023 22:13:20 GMT\n<\n"
        "* Connection #0 to host sandbox.healthgorilla.com left intact\n"
        '{"error":"invalid_grant","error_description":"Invalid JWT signature"}\n'
        "user@host:~$ \n")
    [item] = list(curl.read(io.BytesIO(text.encode()), "t.txt", ReadContext()))
    assert item.record["response.error"] == "invalid_grant"
    assert item.record["response.error_description"] == "Invalid JWT signature"
