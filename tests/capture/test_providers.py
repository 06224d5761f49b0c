"""Several providers in one process: each request is judged under the profile and client id its
URL belongs to, and other instrumentations' spans are redacted for every provider's URLs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.trace import SpanKind

import hgobs
from hgobs.capture.routes import Routes
from hgobs.capture.urlscope import UrlScope, rewrites
from hgobs.config import Provider
from hgobs.profiles import API_CALL, TOKEN_EXCHANGE, load_profile, profile_from_mapping
from hgobs.redaction import Fingerprinter, redact_url
from tests.support.cases import make_jwt
from tests.support.emitted import Emitted
from tests.support.loopback import Received, Reply
from tests.support.servers import LoopServer

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JSON = ("content-type", "application/json")
KEY = "providers-test-fingerprint-key-0123"
CLIENT_A, CLIENT_B = "alpha-client-7f3a91", "beta-client-0c55e2"
TENANT = "contoso-tenant"
REFUSED = Reply(400, [JSON], b'{"error": "invalid_grant", "error_description": "rejected"}')
DENIED = Reply(401, [("www-authenticate", 'Bearer error="invalid_token"')], b"")


def _answer(received: Received) -> Reply:
    return DENIED if "/fhir" in received.target or "/FHIR" in received.target else REFUSED


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[LoopServer, LoopServer]]:
    a, b = LoopServer(_answer), LoopServer(_answer)
    yield a, b
    a.stop()
    b.stop()


def alpha(origin: str) -> Any:
    """An exact-URL profile whose ``aud`` may be the token URL or the server's origin."""
    return profile_from_mapping({
        "name": "alpha", "audience": {"accept": ["{token_url}", "{origin}"]},
        "environments": {"sandbox": {"token_urls": [f"{origin}/oauth/token"],
                                     "api_bases": [f"{origin}/fhir"]}}})


def beta(origin: str) -> Any:
    """A pattern profile (tenant in the path, Entra-like); ``aud`` must be the token URL."""
    return profile_from_mapping({
        "name": "beta",
        "environments": {"production": {
            "token_urls": [f"{origin}/{{tenant}}/oauth2/v2.0/token"],
            "api_bases": [f"{origin}/{{tenant}}/api/FHIR/R4"]}}})


def form(client_id: str, aud: str) -> dict[str, str]:
    now = int(time.time())
    return {"grant_type": JWT_BEARER, "assertion": make_jwt(
        {"alg": "RS384", "typ": "JWT", "kid": "k1"},
        {"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 300,
         "jti": f"jti-{time.perf_counter_ns()}"})}


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _requests(a: LoopServer, b: LoopServer) -> list[tuple[str, str, dict[str, Any]]]:
    """Interleaved: alpha exchange, beta exchange, beta API call, alpha API call; both
    assertions carry the server's origin as ``aud``."""
    beta_token = f"{b.origin}/{TENANT}/oauth2/v2.0/token"
    return [
        ("POST", f"{a.origin}/oauth/token", {"data": form(CLIENT_A, a.origin)}),
        ("POST", beta_token, {"data": form(CLIENT_B, b.origin)}),
        ("GET", f"{b.origin}/{TENANT}/api/FHIR/R4/Patient/p-1",
         {"headers": {"authorization": "Bearer opaque-beta-0000000000"}}),
        ("GET", f"{a.origin}/fhir/R4/Patient/p-2",
         {"headers": {"authorization": "Bearer opaque-alpha-000000000"}}),
    ]


def _check(records: list[dict[str, Any]], a: LoopServer, b: LoopServer) -> None:
    fp = Fingerprinter(KEY.encode())
    by = {(r["profile"], r["endpoint.kind"]): r for r in records}
    assert len(records) == 4 and set(by) == {("alpha", TOKEN_EXCHANGE), ("beta", TOKEN_EXCHANGE),
                                             ("alpha", API_CALL), ("beta", API_CALL)}
    for r in records:
        assert r["client.fp"] == fp(CLIENT_A if r["profile"] == "alpha" else CLIENT_B)
        assert r["diagnosis.profile"].startswith(r["profile"] + ":")
    assert by["alpha", TOKEN_EXCHANGE]["environment"] == "sandbox"
    assert by["beta", TOKEN_EXCHANGE]["environment"] == "production"
    # the same aud (the origin): accepted by alpha, not by beta
    assert by["alpha", TOKEN_EXCHANGE]["assertion.aud"] == a.origin
    assert by["beta", TOKEN_EXCHANGE]["assertion.aud"] == b.origin
    assert by["alpha", TOKEN_EXCHANGE]["category"] != "audience_mismatch"
    assert "audience_mismatch" not in by["alpha", TOKEN_EXCHANGE].get("also", [])
    assert by["beta", TOKEN_EXCHANGE]["category"] == "audience_mismatch"
    beta_api = by["beta", API_CALL]["url"]
    assert beta_api == redact_url(f"{b.origin}/{TENANT}/api/FHIR/R4/Patient/p-1")
    assert beta_api.endswith("/R4/Patient/{id}")


def test_two_providers_interleaved_sync(servers, telemetry, tmp_path):
    """Sync: each record names its profile, its client's fingerprint, and that profile's
    verdict; spans and metrics carry the profile too."""
    a, b = servers
    path = tmp_path / "attempts.jsonl"
    with httpx.Client() as client:
        hgobs.instrument_client(client, providers=[(alpha(a.origin), CLIENT_A),
                                                   (beta(b.origin), CLIENT_B)],
                                fingerprint_key=KEY, jsonl_path=path,
                                tracer_provider=telemetry.tracer_provider,
                                meter_provider=telemetry.meter_provider)
        for method, url, kw in _requests(a, b):
            client.request(method, url, **kw)
        hgobs.uninstrument_client(client)
    records = read_records(path)
    _check(records, a, b)
    assert sorted(s.attributes["hgobs.profile"] for s in telemetry.ours()) == \
        ["alpha", "alpha", "beta", "beta"]
    points = [p for m in Emitted(telemetry).metrics if m.name == "hgobs.attempts"
              for p in m.data.data_points if p.value]
    assert sorted((p.attributes["hgobs.profile"], p.attributes["hgobs.endpoint.kind"])
                  for p in points) == [("alpha", API_CALL), ("alpha", TOKEN_EXCHANGE),
                                       ("beta", API_CALL), ("beta", TOKEN_EXCHANGE)]


def test_two_providers_interleaved_async(servers, tmp_path):
    """Async, the four requests in flight at once: the same records as one after another."""
    a, b = servers
    path = tmp_path / "attempts.jsonl"

    async def run() -> None:
        async with httpx.AsyncClient() as client:
            hgobs.instrument_client(client, providers=[Provider(alpha(a.origin), CLIENT_A),
                                                       Provider(beta(b.origin), CLIENT_B)],
                                    fingerprint_key=KEY, jsonl_path=path)
            await asyncio.gather(*(client.request(m, u, **kw) for m, u, kw in _requests(a, b)))
            hgobs.uninstrument_client(client)

    asyncio.run(run())
    _check(read_records(path), a, b)


def test_providers_from_the_environment_variable(servers, tmp_path, monkeypatch):
    """HGOBS_PROVIDERS with two TOML paths routes as the keyword does."""
    a, b = servers
    files = []
    for profile in (alpha(a.origin), beta(b.origin)):
        file = tmp_path / f"{profile.name}.toml"
        file.write_text(profile.to_toml(), encoding="utf-8")
        files.append(file)
    monkeypatch.setenv("HGOBS_PROVIDERS", f" {files[0]}={CLIENT_A} , {files[1]} = {CLIENT_B} ")
    path = tmp_path / "attempts.jsonl"
    with httpx.Client() as client:
        hgobs.instrument_client(client, fingerprint_key=KEY, jsonl_path=path)
        for method, url, kw in _requests(a, b):
            client.request(method, url, **kw)
        hgobs.uninstrument_client(client)
    _check(read_records(path), a, b)


def test_every_record_names_its_profile_also_for_an_unknown_token_url(servers, tmp_path):
    """A token request to a URL no provider names is judged under ``generic`` with no client
    id when several providers are configured, and under the one provider when one is."""
    a, b = servers
    for providers, want in (([(alpha(a.origin), CLIENT_A), (beta(b.origin), CLIENT_B)],
                             ("generic", None)),
                            ([(alpha(a.origin), CLIENT_A)], ("alpha", CLIENT_A))):
        path = tmp_path / f"{want[0]}.jsonl"
        with httpx.Client() as client:
            hgobs.instrument_client(client, providers=providers, fingerprint_key=KEY,
                                    jsonl_path=path)
            client.post(f"{b.origin}/elsewhere/token", data=form("who-0000000001", b.origin))
            client.post(f"{a.origin}/oauth/token", data=form(CLIENT_A, a.origin))
            hgobs.uninstrument_client(client)
        first, second = read_records(path)
        assert first["profile"] == want[0] and first["environment"] == "unknown"
        assert first.get("client.fp") == (Fingerprinter(KEY.encode())(want[1]) if want[1]
                                          else first.get("assertion.iss_fp"))
        assert second["profile"] == "alpha" and second["environment"] == "sandbox"


# -- routing ---------------------------------------------------------------------------------

EXACT = profile_from_mapping({"name": "exact", "environments": {"prod": {
    "token_urls": ["https://login.example.org/acme/oauth2/v2.0/token"]}}})
TENANTED = profile_from_mapping({"name": "tenanted", "environments": {"prod": {
    "token_urls": ["https://login.example.org/{tenant}/oauth2/v2.0/token"],
    "api_bases": ["https://{*}.fhir.example.net/{*}/api/FHIR/R4"]}}})


def test_exact_urls_win_over_patterns_whatever_the_order():
    """An exact URL of a later provider beats a pattern of an earlier one; other URLs of the
    pattern stay with the pattern's provider; unrelated hosts match nothing."""
    routes = Routes((Provider(TENANTED, "t"), Provider(EXACT, "e")))
    assert routes.route("https://login.example.org/acme/oauth2/v2.0/token") == \
        (TOKEN_EXCHANGE, "prod", 1)
    assert routes.route("https://login.example.org/other/oauth2/v2.0/token") == \
        (TOKEN_EXCHANGE, "prod", 0)
    assert routes.route("https://org1.fhir.example.net/x/y/api/FHIR/R4/Patient/1") == \
        (API_CALL, "prod", 0)
    for url in ("https://fhir.example.net/x/api/FHIR/R4/Patient", "https://example.com/token",
                "https://login.example.org/acme/other"):
        assert routes.route(url) is None
    assert [p.name for p in routes.profiles] == ["tenanted", "exact"]
    assert routes.providers[routes.fallback].profile.name == "generic"


def test_first_provider_given_wins_a_url_two_name():
    """Two profiles naming the same exact URL: the first given wins it."""
    twin = profile_from_mapping({"name": "twin", "environments": {"other": {
        "token_urls": ["https://login.example.org/acme/oauth2/v2.0/token"]}}})
    routes = Routes((Provider(twin, None), Provider(EXACT, None)))
    assert routes.route("https://login.example.org/acme/oauth2/v2.0/token") == \
        (TOKEN_EXCHANGE, "other", 0)


def test_routes_give_what_profile_match_gives_for_one_provider():
    """With one provider, a route is that profile's ``match`` (the plan is as before)."""
    hg = load_profile("healthgorilla")
    routes = Routes((Provider(hg, None),))
    for url in ("https://sandbox.healthgorilla.com/oauth/token",
                "https://api.healthgorilla.com/fhir/R4/Patient/1", "https://api.healthgorilla.com/x",
                "https://www.healthgorilla.com:8443/oauth/token", "https://example.org/oauth/token",
                httpx.URL("https://API.healthgorilla.com/fhir?x=1")):
        found = routes.route(url)
        assert (found[:2] if found else (None, None)) == hg.match(url)


# -- other instrumentations' spans -----------------------------------------------------------

def test_other_spans_are_redacted_for_both_providers_over_loopback(servers, telemetry):
    """OpenTelemetry httpx spans to an exact-URL provider and to a pattern provider lose query
    values and ids; a host of neither keeps its URL."""
    a, b = servers
    with httpx.Client() as client:
        HTTPXClientInstrumentor().instrument_client(client,
                                                    tracer_provider=telemetry.tracer_provider)
        hgobs.instrument_client(client, providers=[(alpha(a.origin), CLIENT_A),
                                                   (beta(b.origin), CLIENT_B)],
                                tracer_provider=telemetry.tracer_provider)
        client.get(f"{a.origin}/fhir/R4/Patient?family=Plantedname")
        client.get(f"{b.origin}/{TENANT}/api/FHIR/R4/Patient/a7Planted9id?birthdate=1971")
        client.post(f"{b.origin}/{TENANT}/oauth2/v2.0/token?code=Planted-code-1",
                    data=form(CLIENT_B, b.origin))
        client.get(f"http://localhost:{a.port}/other/Patient/keep-1?q=keep")
        hgobs.uninstrument_client(client)
    urls = sorted(s.attributes.get("url.full") or s.attributes["http.url"] for s in telemetry.spans()
                  if s.kind is SpanKind.CLIENT and s.instrumentation_scope.name != "hgobs")
    assert urls == sorted([
        f"{a.origin}/fhir/R4/Patient?family",
        redact_url(f"{b.origin}/{TENANT}/api/FHIR/R4/Patient/x?birthdate=1"),
        f"{b.origin}/{TENANT}/oauth2/v2.0/token?code",
        f"http://localhost:{a.port}/other/Patient/keep-1?q=keep",
    ])
    assert "Planted" not in repr([dict(s.attributes) for s in telemetry.spans()])


@pytest.mark.parametrize("url, want", [
    ("https://fhir.hosp.epichosted.test/prd/api/FHIR/R4/Patient/123?family=x",
     redact_url("https://fhir.hosp.epichosted.test/prd/api/FHIR/R4/Patient/1?family=y")),
    ("https://login.entra.test/3f2a9c10-tenant-guid/oauth2/v2.0/token?client_secret=zz",
     "https://login.entra.test/{id}/oauth2/v2.0/token?client_secret"),
    ("https://user:pw-Planted@own.example.org/oauth/token", "https://own.example.org/oauth/token"),
    ("https://any.where.test/base/token?x=1", "https://any.where.test/base/token?x"),
    ("https://epichosted.test.evil.org/x?y=1", None),
    ("https://any.where.test/base/other?x=1", None),
])
def test_scope_covers_pattern_hosts_custom_domains_and_host_wide_patterns(url, want):
    """A host under a pattern's literal suffix, a literal pattern host, a custom domain and a
    URL a host-wide pattern matches are redacted; other URLs are left alone."""
    epic_like = profile_from_mapping({"name": "e", "custom_domains": ["own.example.org"],
                                      "environments": {"p": {
                                          "token_urls": ["https://{*}.epichosted.test/{*}/oauth2/token"],
                                          "api_bases": ["https://{*}.epichosted.test/{*}/api/FHIR/R4"]}}})
    entra_like = profile_from_mapping({"name": "m", "environments": {"p": {
        "token_urls": ["https://login.entra.test/{tenant}/oauth2/v2.0/token"]}}})
    wide = profile_from_mapping({"name": "w", "environments": {"p": {
        "token_urls": ["https://{*}/{*}/token"]}}})
    scope = UrlScope([epic_like, entra_like, wide])
    changes = rewrites(scope, {"url.full": url})
    assert changes.get("url.full") == want



def test_a_host_of_very_many_labels_costs_linear_time():
    """A host name of thousands of labels (no DNS name, but an httpx URL accepts it: a SMART
    launch's ``iss`` can be anything) is matched against every profile's host suffixes in
    time linear in its length: the tails looked up are those of a DNS name's length."""
    names = ("healthgorilla", "epic", "oracle", "okta", "entra", "keycloak", "generic")
    routes = Routes(tuple(Provider(load_profile(n), f"c-{n}") for n in names))
    scope = UrlScope([load_profile(n) for n in names])

    def cost(labels: int) -> float:
        url = "https://" + "a." * labels + "okta.com/oauth2/v1/token"
        parsed = httpx.URL(url)
        start = time.process_time()
        for _ in range(3):
            routes.route(url)
            routes.route(parsed)
            scope.covers(url)
            scope.redacted(url)
        return time.process_time() - start

    small, big = cost(2000), cost(8000)
    assert big <= 6 * small + 0.05, (small, big)
    assert routes.route("https://" + "a." * 8000 + "okta.com/oauth2/v1/token")[0] == "token_exchange"
