"""Facts of how a request carried its credentials: client proof, JOSE header names, Bearer
form, Authorization after redirects, Content-Type parameters; no value of a credential kept."""

from __future__ import annotations

import base64
import json

import httpx
import jwt
import pytest

import hgobs
from hgobs.facts import jwtpeek, oauth
from hgobs.facts.exchange import Redirects
from hgobs.facts.request import (
    MEDIA_TYPE_PARAMS,
    client_proof,
    content_type_params,
    origin,
    redirect_facts,
)
from hgobs.redaction import Fingerprinter
from hgobs.rfc import JWT_BEARER_GRANT
from hgobs.sinks.jsonl import flush_all
from tests.support.emitted import loop_profile
from tests.support.loopback import Reply
from tests.support.servers import LoopServer

FP = Fingerprinter(b"k" * 32)
TOKEN = "Zk3xQ9vT2mW8rB5nL1pD7sY4"
BASIC = {"authorization": "Basic " + base64.b64encode(b"app-1:s3cr3t-value").decode()}


@pytest.mark.parametrize("headers, names, grant, proof", [
    ({}, ["client_id", "client_secret"], "client_credentials", "client_secret_post"),
    (BASIC, ["client_id"], "client_credentials", "client_secret_basic"),
    (BASIC, None, None, "client_secret_basic"),
    ({}, ["username", "password", "client_id"], "password", "password"),
    (BASIC, ["username", "password"], "password", "password"),
    ({}, ["client_assertion", "client_id"], "client_credentials", "client_assertion"),
    ({}, ["client_assertion", "client_secret"], "client_credentials", "client_assertion"),
    (BASIC, ["assertion"], JWT_BEARER_GRANT, "assertion_grant"),
    ({}, ["assertion"], "client_credentials", "assertion_grant"),
    ({}, ["client_id"], "client_credentials", "none"),
    ({}, [], None, "none"),
    ({}, None, None, None),
    ({"authorization": "Bearer abc"}, None, None, None),
])
def test_client_proof_names_the_kind_of_credential(headers, names, grant, proof):
    """RFC 6749 2.3.1 / 4.3.2 and RFC 7523 2.1 / 2.2, from names only; a signed JWT beside a
    secret counts as the JWT; an unread body with no Basic header says nothing."""
    assert client_proof(headers, names, grant) == proof


@pytest.mark.parametrize("value, names", [
    ("application/x-www-form-urlencoded; charset=UTF-8", ["charset"]),
    ('multipart/form-data; boundary="a;b"; Charset=utf-8', ["boundary", "charset"]),
    ("application/x-www-form-urlencoded", []),
    (None, []),
    ("text/plain; =x; ;charset=a;CHARSET=b", ["charset"]),
    ("a/b; " + "; ".join(sorted(MEDIA_TYPE_PARAMS)), sorted(MEDIA_TYPE_PARAMS)[:8]),
    ("a/b; s3cr3t value with spaces=1; x=2", ["[redacted]"]),
    ("application/json; Zk3xQ9vT2mW8rB5nL1pD7sY4; hunter22=1; charset=utf-8",
     ["[redacted]", "charset"]),
    ("application/fhir+json; fhirVersion=4.0", ["fhirversion"]),
])
def test_content_type_params_keeps_plain_names_only(value, names):
    """Parameter names, lower-cased, repeats and non-token names dropped, 8 at most; a name no
    media type registers (a token put where a parameter goes) is one ``[redacted]``."""
    assert content_type_params(value) == names


def test_origin_fills_the_default_port():
    assert origin("https://A.example.org/x") == ("https", "a.example.org", 443)
    assert origin("http://a.example.org:8080/") == ("http", "a.example.org", 8080)
    assert origin("/relative") is None
    assert origin("http://[::1") is None


def _redirects(location: str, final_url: str = "", final_authorization: bool | None = None):
    return Redirects(1, 307, location, "GET", 0, final_url, final_authorization)


@pytest.mark.parametrize("url, location, final, cross, sent", [
    ("https://api.example.org/fhir/x", "/fhir/y", "", False, True),
    ("https://api.example.org/fhir/x", "https://cdn.example.org/fhir/x", "", True, False),
    ("https://api.example.org/fhir/x", "https://api.example.org:8443/fhir/x", "", True, False),
    ("http://api.example.org/fhir/x", "https://api.example.org/fhir/x", "", True, True),
    ("https://api.example.org/fhir/x", "http://api.example.org/fhir/x", "", True, False),
    ("https://api.example.org/fhir/x", "/fhir/y", "https://other.example.org/z", True, False),
])
def test_redirect_facts_follow_what_a_client_does_with_authorization(url, location, final, cross,
                                                                      sent):
    """A hop to another origin is cross-origin; Authorization survives it only as an upgrade
    of the same host to https (what httpx does)."""
    facts = redirect_facts(url, {"authorization": "Bearer x"}, _redirects(location, final))
    assert facts == {"redirect.cross_origin": cross, "presented.on_final_request": sent}


def test_what_capture_saw_on_the_final_request_wins_and_no_header_is_never_sent():
    url = "https://api.example.org/fhir/x"
    assert redirect_facts(url, {"authorization": "Bearer x"},
                          _redirects("/y", final_authorization=False)) == {
        "redirect.cross_origin": False, "presented.on_final_request": False}
    assert redirect_facts(url, {}, None) == {"presented.on_final_request": False}
    assert redirect_facts(url, {"authorization": "Bearer x"}, None) == {
        "presented.on_final_request": True}


@pytest.mark.parametrize("value, defect, kind", [
    (f"Bearer {TOKEN}", None, "opaque"),
    (f"Bearer Bearer {TOKEN}", "doubled", "opaque"),
    (f"bearer BEARER {TOKEN}", "doubled", "opaque"),
    ("Bearer Bearer", "doubled", "empty"),
    (f"Bearer{TOKEN}", "no_space", "non_bearer_scheme"),
    (f'Bearer "{TOKEN}"', "quoted", "opaque"),
    (f"Bearer  {TOKEN}", "extra_space", "opaque"),
    (f"bearer {TOKEN}", "case", "opaque"),
    (f"BEARER {TOKEN}", "case", "opaque"),
    (f"Basic {TOKEN}", None, "non_bearer_scheme"),
    ("Bearer undefined", None, "placeholder"),
])
def test_bearer_form_defects(value, defect, kind):
    """``presented.scheme_defect`` names the defect, the kind is that of the value inside, and
    the presented value is the token the server was meant to read."""
    facts, credential = oauth.presented_facts({"authorization": value})
    assert facts.get("presented.scheme_defect") == defect
    assert facts["presented.kind"] == kind
    if kind == "opaque":
        assert credential == TOKEN
        assert facts["presented.length"] == len(TOKEN)
    if defect == "no_space":
        assert facts["presented.scheme"] == "Bearer" and credential is None
    assert TOKEN not in json.dumps(facts)


def test_header_fields_are_sorted_registered_names_and_others_only_marked():
    """Names only: registered JOSE names as they are, any other (it may be a value in the name
    position) as one ``[redacted]``; values never."""
    header = {"kid": "key-2024", "typ": "JWT", "x5t#S256": "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6",
              "eyJhbGciOiJIUzI1NiJ9eyJzdWIiOiIxMjM0NTY3ODkwIn0": 1, "org_hint": "acme"}
    token = jwt.encode({"iss": "c", "sub": "c", "aud": "https://idp.example.org/token",
                        "exp": 2_000_000_000}, "k" * 32, algorithm="HS256", headers=header)
    facts = jwtpeek.peek(token, source="client_assertion", now=1_900_000_000.0, fingerprint=FP)
    assert facts["assertion.header_fields"] == ["[redacted]", "alg", "kid", "typ", "x5t#S256"]
    assert "q1w2e3r4" not in json.dumps(facts) and "org_hint" not in json.dumps(facts)
    bare = jwt.encode({"iss": "c"}, "k" * 32, algorithm="HS256", headers={"typ": None})
    assert jwtpeek.peek(bare, source="assertion", now=0.0, fingerprint=FP)[
        "assertion.header_fields"] == ["alg"]


def _capture_api(tmp_path, first: LoopServer, headers: dict[str, str]) -> dict:
    path = tmp_path / "a.jsonl"
    with httpx.Client(follow_redirects=True) as client:
        hgobs.instrument_client(client, profile=loop_profile(first.origin), jsonl_path=path)
        client.get(f"{first.origin}/fhir/Patient", headers=headers)
    flush_all()
    (record,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert TOKEN not in path.read_text()
    return record


def test_a_cross_origin_redirect_is_recorded_with_authorization_dropped(tmp_path):
    """Loopback: an API call redirected to another port loses Authorization (httpx drops it),
    and the record says so; the second server indeed received none."""
    first, second = LoopServer(), LoopServer()
    try:
        first.script.load([Reply(307, [("location", f"{second.origin}/fhir/Patient")])])
        second.script.load([Reply(401, [("www-authenticate", 'Bearer realm="fhir"')])])
        record = _capture_api(tmp_path, first, {"Authorization": f"Bearer {TOKEN}"})
        assert "authorization" not in second.script.received[0].headers
    finally:
        first.stop()
        second.stop()
    assert record["redirect.cross_origin"] is True
    assert record["presented.on_final_request"] is False
    assert record["presented.kind"] == "opaque"
    assert "presented.scheme_defect" not in record
    assert record["category"] == "authorization_not_received"
    assert record["confidence"] == "confirmed"


def test_a_same_origin_redirect_keeps_authorization(tmp_path):
    server = LoopServer()
    try:
        server.script.load([Reply(307, [("location", "/fhir/Patient2")]),
                            Reply(401, [("www-authenticate", 'Bearer error="invalid_token"')])])
        record = _capture_api(tmp_path, server, {"Authorization": f"bearer {TOKEN}"})
        assert server.script.received[1].headers["authorization"] == f"bearer {TOKEN}"
    finally:
        server.stop()
    assert record["redirect.cross_origin"] is False
    assert record["presented.on_final_request"] is True
    assert record["presented.scheme_defect"] == "case"
    assert record["category"] != "malformed_bearer_scheme"  # the server judged the token


TENANT_URL = ("https://authorization.cerner.com/tenants/{}/protocols/oauth2/profiles/smart-v1/"
              "token")
TENANT_A = "5d1f7c2a-9b3e-4a60-8c7d-2e4f6a8b0c19"
TENANT_B = "0b8e0a9d-7f3c-4d2e-9a51-3c6f2b1e8d47"


@pytest.mark.parametrize("auds, differ", [
    ([TENANT_URL.format(TENANT_B)], ["tenant"]),
    ([TENANT_URL.format(TENANT_A.upper())], []),
    ([TENANT_URL.format(TENANT_B), TENANT_URL.format(TENANT_A)], []),
    (["https://fhir-ehr.example.org/"], None),
])
def test_aud_differs_in_compares_raw_tenants_and_keeps_names_only(auds, differ):
    from hgobs.facts.claims import aud_differs_in
    from hgobs.profiles import load_profile
    oracle = load_profile("oracle")
    assert aud_differs_in(oracle, TENANT_URL.format(TENANT_A), auds) == differ
    assert aud_differs_in(load_profile("healthgorilla"), TENANT_URL.format(TENANT_A), auds) is None


def test_a_token_exchange_to_another_tenant_is_recorded_and_named_without_its_ids():
    """Through the record builder: the tenant ids are redacted in ``url`` and ``aud``, yet the
    record says the tenant differs, and the verdict names wrong_tenant."""
    from hgobs.diagnosis import diagnose
    from hgobs.facts.exchange import Exchange
    from hgobs.facts.record import RecordBuilder, plan
    from hgobs.profiles import load_profile
    oracle = load_profile("oracle")
    url = TENANT_URL.format(TENANT_A)
    assertion = jwt.encode({"iss": "app-1", "sub": "app-1", "aud": TENANT_URL.format(TENANT_B),
                            "iat": 1_900_000_000, "exp": 1_900_000_240, "jti": "j-1"},
                           "k" * 32, algorithm="HS256", headers={"kid": "k1", "typ": "JWT"})
    body = ("grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
            f"client-assertion-type%3Ajwt-bearer&client_assertion={assertion}").encode()
    headers = {"content-type": "application/x-www-form-urlencoded"}
    exchange = Exchange(1_900_000_000.0, "POST", url, headers, body, 400,
                        {"content-type": "application/json"},
                        b'{"error": "invalid_client"}')
    planned = plan(oracle, "POST", url, headers, body)
    record, _ = RecordBuilder(oracle, "app-1", FP).exchange(exchange, planned)
    assert record["assertion.aud_differs_in"] == ["tenant"]
    text = json.dumps(record)
    assert TENANT_A not in text and TENANT_B not in text
    verdict = diagnose(record, oracle)  # HS256: Oracle Health takes RS384/ES384 (from smart)
    assert verdict.category == "algorithm_not_accepted" and "wrong_tenant" in verdict.also
