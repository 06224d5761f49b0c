"""The shortcuts of a successful API call's planning give what the general way gives."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.instrumentation.utils import suppress_instrumentation

import hgobs
from hgobs.profiles.urls import split_url, url_parts
from tests.support.cases import make_jwt
from tests.support.emitted import loop_profile
from tests.support.loopback import Reply
from tests.support.servers import LoopServer

UNAUTHORIZED = Reply(401, [("www-authenticate", 'Bearer error="invalid_token"')], b"")
INVALID_GRANT = Reply(400, [("content-type", "application/json")],
                      b'{"error": "invalid_grant", "error_description": "expired"}')
URLS = ["https://API.Example.org:443/fhir/R4/Patient/1/", "http://h", "http://h:8080/a%2F/b?x=1",
        "http://[::1]:9/t?", "https://xn--fiqs8s.icom.museum/", "http://127.0.0.1:8999/fhir//",
        "HTTP://h:80/a/b/#frag", "https://h.example.org./a;b=c/d?e#f", "http://h/%7e/Ä"]


def _public_parts(url: httpx.URL) -> tuple[str, int | None, str]:
    """The parts as httpx's public properties give them (the general way)."""
    return (url.raw_host.decode("ascii").lower(), url.port,
            url.raw_path.split(b"?", 1)[0].decode("ascii").rstrip("/"))


@pytest.mark.parametrize("text", URLS)
def test_url_parts_of_an_httpx_url_are_the_public_properties(text):
    """The parsed parts read in one step equal ``raw_host``, ``port`` and ``raw_path`` read
    one by one, and ``split_url`` of the URL's text for a URL it spells plainly."""
    url = httpx.URL(text)
    assert url_parts(url) == _public_parts(url)
    if "%" not in text and "#" not in text and "Ä" not in text and not text.endswith("?"):
        assert url_parts(url) == split_url(str(url))


@settings(max_examples=300)
@given(host=st.sampled_from(["h", "API.example.org", "127.0.0.1", "[::1]", "a-b.c"]),
       port=st.sampled_from(["", ":80", ":443", ":8080"]),
       path=st.text(alphabet="aZ09/._~%?#;=&", max_size=20))
def test_url_parts_agree_on_generated_urls(host, port, path):
    """Generated httpx URLs: the one-step read and the public properties agree."""
    try:
        url = httpx.URL(f"https://{host}{port}/{path}")
    except httpx.InvalidURL:
        return
    assert url_parts(url) == _public_parts(url)


def test_an_object_without_parsed_parts_is_read_through_its_properties():
    """Something URL-like with odd parsed parts falls back to the public properties."""
    class Odd:
        _uri_reference = type("Ref", (), {"host": b"h", "port": None, "path": "/p"})()
        raw_host, port, raw_path = b"Real.Host", 8443, b"/fhir/R4/?x=1"

    assert url_parts(Odd()) == ("real.host", 8443, "/fhir/R4")


@pytest.fixture(scope="module")
def server() -> Iterator[LoopServer]:
    s = LoopServer()
    yield s
    s.stop()


def _form(origin: str) -> dict[str, str]:
    now = int(time.time())
    return {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": make_jwt(
        {"alg": "HS256", "typ": "JWT"},
        {"iss": "client-0001", "sub": "client-0001", "aud": f"{origin}/oauth/token",
         "iat": now, "exp": now + 300, "jti": f"jti-{time.perf_counter_ns()}"})}


def test_suppressed_instrumentation_records_no_refusal_and_no_exchange(server, telemetry,
                                                                       tmp_path):
    """Under ``suppress_instrumentation`` a refused API call and a failed token exchange leave
    no span and no record; the same calls after it are both recorded (the API call's
    suppression is read when its refusal arrives, the exchange's before it is sent)."""
    jsonl = tmp_path / "attempts.jsonl"
    with httpx.Client() as client:
        hgobs.instrument_client(client, profile=loop_profile(server.origin), jsonl_path=jsonl,
                                tracer_provider=telemetry.tracer_provider,
                                meter_provider=telemetry.meter_provider)
        bearer = {"Authorization": "Bearer at-0123456789abcdef"}
        server.script.load([UNAUTHORIZED, INVALID_GRANT, UNAUTHORIZED, INVALID_GRANT])
        with suppress_instrumentation():
            assert client.get(f"{server.origin}/fhir/R4/Patient/7", headers=bearer) \
                .status_code == 401
            assert client.post(f"{server.origin}/oauth/token", data=_form(server.origin)) \
                .status_code == 400
        assert telemetry.spans() == []
        assert not jsonl.exists() or jsonl.read_text() == ""
        client.get(f"{server.origin}/fhir/R4/Patient/7", headers=bearer)
        client.post(f"{server.origin}/oauth/token", data=_form(server.origin))
        hgobs.uninstrument_client(client)
    kinds = [json.loads(line)["endpoint.kind"] for line in jsonl.read_text().splitlines()]
    assert kinds == ["api_call", "token_exchange"]
    assert len(telemetry.spans()) == 2
