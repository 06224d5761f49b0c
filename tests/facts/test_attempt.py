"""A plain exchange becomes the record capture makes; what a raw input cannot hold is skipped."""

from __future__ import annotations

import json

import httpx
import jwt
import pytest

from hgobs.capture.record import RecordBuilder, plan_request
from hgobs.config import Options
from hgobs.facts.attempt import attempt
from hgobs.facts.exchange import Exchange, header_map, request_url, url_problem
from hgobs.profiles import load_profile
from hgobs.redaction import Fingerprinter

PROFILE = load_profile()
TOKEN_URL = "https://sandbox.healthgorilla.com/oauth/token"
API_URL = "https://sandbox.healthgorilla.com/fhir/R4/Patient?name=smith"
NOW = 1_763_000_000.0
CID = "3f9c2a7e1b5d4c08a6e2"
FP = Fingerprinter(b"k" * 32)


def _assertion() -> str:
    claims = {"iss": CID, "sub": CID, "aud": TOKEN_URL, "iat": int(NOW), "exp": int(NOW) + 300,
              "jti": "j-1"}
    return jwt.encode(claims, "not-a-real-key-but-long-enough-for-hs256", algorithm="HS256")


def _capture(request: httpx.Request, response: httpx.Response, body: bytes | None) -> dict:
    options = Options(profile=PROFILE, client_id=CID)
    plan = plan_request(request, options)
    assert plan is not None
    builder = RecordBuilder(options, FP)
    if plan.kind == "token_exchange":
        return builder.exchange(request, plan, NOW, response, body)[0]
    return builder.api_call(request, plan, NOW, response)


def _plain(request: httpx.Request, response: httpx.Response, body: bytes | None) -> Exchange:
    return Exchange(NOW, request.method, str(request.url), header_map(request.headers.items()),
                    request.content, response.status_code, header_map(response.headers.items()),
                    body)


RESPONSE_HEADERS = {"Date": "Thu, 13 Nov 2025 02:13:25 GMT", "Content-Type": "application/json",
                    "WWW-Authenticate": 'Bearer error="invalid_token", error_description="expired"'}


def test_token_exchange_record_is_the_one_capture_makes():
    """A token exchange with a signed assertion: ``attempt`` gives capture's record, field for
    field, and no raw secret."""
    assertion = _assertion()
    request = httpx.Request("POST", TOKEN_URL, data={
        "grant_type": "client_credentials", "client_assertion": assertion, "client_id": CID,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})
    body = json.dumps({"error": "invalid_client", "error_description": f"bad {assertion}"}).encode()
    response = httpx.Response(401, headers=RESPONSE_HEADERS, content=body, request=request)
    captured = _capture(request, response, body)
    read = attempt(_plain(request, response, body), PROFILE, CID, FP)
    assert read == captured
    assert captured["assertion.alg"] == "HS256" and captured["response.error"] == "invalid_client"
    assert captured["request.client_method"] == "client_secret_jwt"
    assert captured["clock.offset_s"] == round(NOW - 1_763_000_005.0, 3)
    assert assertion not in json.dumps(read)


def test_api_call_record_is_the_one_capture_makes():
    """A refused API call with a bearer JWT: the same record both ways, the query value gone."""
    request = httpx.Request("GET", API_URL, headers={"Authorization": f"Bearer {_assertion()}"})
    response = httpx.Response(401, headers=RESPONSE_HEADERS, request=request)
    captured = _capture(request, response, None)
    read = attempt(_plain(request, response, None), PROFILE, CID, FP)
    assert read == captured
    assert captured["presented.kind"] == "assertion_jwt"
    assert captured["url"] == "https://sandbox.healthgorilla.com/fhir/R4/Patient?name"
    assert captured["challenge.error"] == "invalid_token"


@pytest.mark.parametrize(("url", "reason"), [
    ("https://h\x01.test/oauth/token", "request cannot be parsed (InvalidURL)"),
    ("https://sandbox.healthgorilla.com:99999/oauth/token",
     "not an auth attempt (no token URL or API base of the profile)"),
    ("https://sandbox.healthgorilla.com:4x3/oauth/token", "request cannot be parsed (InvalidURL)"),
    ("https://[::1/oauth/token", "request cannot be parsed (InvalidURL)"),
    ("https://\udcff\udcfe.test/x", "request cannot be parsed (InvalidURL)"),
    ("https://example.org/other", "not an auth attempt (no token URL or API base of the profile)"),
], ids=["control", "port-range", "port-text", "ipv6-open", "surrogate-host", "unrelated"])
def test_requests_a_client_could_not_send_are_skipped(url, reason):
    """URLs httpx refuses are skipped with the exception name, never raising; a port out of
    range (httpx accepts it) matches no profile URL."""
    assert attempt(Exchange(NOW, "POST", url, {}), PROFILE, CID, FP) == reason


def test_non_ascii_headers_are_skipped_by_side():
    """A non-ASCII request header skips the request; a non-ASCII response header the response."""
    exchange = Exchange(NOW, "GET", API_URL, {"authorization": "Bearer caf\u00e9"}, status=401)
    assert attempt(exchange, PROFILE, CID, FP) == "request cannot be parsed (UnicodeEncodeError)"
    exchange = Exchange(NOW, "GET", API_URL, {}, status=401, response_headers={"x": "\u00e9"})
    assert attempt(exchange, PROFILE, CID, FP) == "response cannot be parsed (UnicodeEncodeError)"


def test_unknown_parts_are_left_out_and_a_missing_response_named():
    """No request body shown: no ``request.body_*`` facts; no response: ``error.type``; an API
    call without a response is skipped."""
    exchange = Exchange(NOW, "post", TOKEN_URL, {"content-type": "application/x-www-form-urlencoded"},
                        error="ConnectTimeout", duration_s=1.5)
    record = attempt(exchange, PROFILE, CID, FP)
    assert isinstance(record, dict)
    assert record["error.type"] == "ConnectTimeout" and record["http.method"] == "POST"
    assert record["duration_s"] == 1.5
    assert not [k for k in record if k.startswith("request.body")]
    assert attempt(Exchange(NOW, "GET", API_URL, {}), PROFILE, CID, FP) == \
        "API call without a response"


def test_default_port_is_dropped_and_headers_joined():
    """``https://h:443/p`` is ``https://h/p`` (another port kept); repeats join with ", "."""
    assert request_url("https://h.test:443/p?q=1") == "https://h.test/p?q=1"
    assert request_url("http://h.test:80/p") == "http://h.test/p"
    assert request_url("https://h.test:8443/p") == "https://h.test:8443/p"
    assert url_problem("https://h.test:443/p") is None
    assert header_map([("A", "1"), ("b", "2"), ("a", "3")]) == {"a": "1, 3", "b": "2"}


def test_dot_segments_are_removed_before_the_url_is_matched():
    """``/oauth/./x/../token`` is the token URL, as the client sends it (RFC 3986 5.2.4)."""
    assert request_url("https://h.test:443/./a/../token?q=1") == "https://h.test/token?q=1"
    assert request_url("https://h.test/a/.hidden/x") == "https://h.test/a/.hidden/x"
    exchange = Exchange(NOW, "POST", "https://sandbox.healthgorilla.com/oauth/x/../token", {},
                        error="ConnectError")
    record = attempt(exchange, PROFILE, CID, FP)
    assert isinstance(record, dict) and record["url"] == TOKEN_URL
