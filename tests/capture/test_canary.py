"""No secret or patient datum planted in a request or response reaches anything hgobs emits.

Unique canaries go in every position an auth attempt carries secrets or patient data: the
assertion (``assertion``, ``client_assertion``), ``client_secret`` and other form fields, claims
of every kind, the Bearer value of API calls, FHIR URL paths and queries, token endpoint bodies,
``WWW-Authenticate`` and redirect ``Location`` headers. Then everything hgobs emitted (span
names, attributes, statuses and events; metric points; log records with their ``extra``; the
JSON Lines file) is searched for any 8-character piece of any canary, and for email addresses.

Two shapes of canary: token-shaped (letters and digits, as real credentials are), and word-shaped
(lower-case words and hyphens) for the positions hgobs promises never to emit at all - there the
redaction must not depend on the value looking like a token.
"""

from __future__ import annotations

import json
import random
import re
import string
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import trustme

import hgobs
from tests.support.cases import make_jwt
from tests.support.emitted import Emitted, collect_logs, find_leaks, loop_profile
from tests.support.loopback import Reply
from tests.support.servers import LoopServer

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JSON = ("content-type", "application/json")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
WORDS = ("quokka", "zephyr", "vermilion", "bramble", "xylophone", "marmalade", "juniper",
         "kumquat", "tamarind", "wombat", "gossamer", "fjord", "quince", "narwhal")


class Canaries:
    """Unique canary values, remembered so the test can look for every one of them."""

    def __init__(self, seed: str) -> None:
        self._rnd = random.Random(seed)
        self.planted: list[str] = []

    def token(self) -> str:
        """Token-shaped: 24 letters and digits (always both), like a real credential."""
        body = "".join(self._rnd.choices(string.ascii_letters + string.digits, k=20))
        value = f"Cn{self._rnd.randint(10, 99)}{body}"
        self.planted.append(value)
        return value

    def word(self) -> str:
        """Word-shaped: three lower-case words and a hyphen-separated tail, no digits."""
        value = "-".join(self._rnd.sample(WORDS, 3))
        self.planted.append(value)
        return value

    def email(self) -> str:
        """An address whose local part and domain label are word canaries (both planted)."""
        local, domain = self.word().replace("-", "."), self.word()
        self.planted.append(local)
        return f"{local}@{domain}.example.org"

    def add(self, *values: str) -> None:
        self.planted.extend(values)


@dataclass
class Ctx:
    """What a canary case drives: the instrumented client, the server and the canaries."""

    client: httpx.Client
    server: LoopServer
    canaries: Canaries
    origin: str = field(init=False)

    def __post_init__(self) -> None:
        self.origin = self.server.origin

    def jwt(self, header: dict[str, Any] | None = None, **claims: Any) -> str:
        now = int(time.time())
        token = make_jwt({"alg": "HS256", "typ": "JWT", **(header or {})},
                         {"aud": f"{self.origin}/oauth/token", "iat": now, "exp": now + 300,
                          **claims})
        self.canaries.add(token, *token.split("."))
        return token

    def full_jwt(self) -> str:
        """An assertion with a canary in every claim and header position."""
        c = self.canaries
        return self.jwt(
            {"kid": c.token(), "x-trace": c.word()},
            iss=c.email(), sub=c.email(), jti=c.token(),
            **{f"ext_{c.token()}": c.token(), "patient_name": c.word(),
               "mrn": c.token(), "nested": {"ssn": c.token(), "name": c.word()},
               "roles": [c.word(), c.token()], "org_email": c.email()})

    def exchange(self, form: dict[str, str], *replies: Reply, **kwargs: Any) -> httpx.Response:
        self.server.script.load(list(replies))
        return self.client.post(f"{self.origin}/oauth/token", data=form, **kwargs)

    def api(self, path: str, bearer: str, *replies: Reply, **kwargs: Any) -> httpx.Response:
        self.server.script.load(list(replies))
        return self.client.get(f"{self.origin}/fhir/R4/{path}",
                               headers={"Authorization": f"Bearer {bearer}"}, **kwargs)


def _err(error: str, description: str, status: int = 400) -> Reply:
    return Reply(status, [JSON], json.dumps({"error": error,
                                             "error_description": description}).encode())


INVALID_GRANT = _err("invalid_grant", "assertion expired")


def case_assertion(x: Ctx) -> None:
    """The whole assertion, echoed back in error_description, and every claim of it."""
    token = x.full_jwt()
    x.exchange({"grant_type": JWT_BEARER, "assertion": token},
               _err("invalid_grant", f"Invalid assertion {token} (iss mismatch)"))


def case_client_assertion(x: Ctx) -> None:
    """``client_assertion`` (client_credentials with a JWT client authentication)."""
    token = x.full_jwt()
    x.exchange({"grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": token},
               _err("invalid_client", f"client_assertion {token} rejected", 401))


def case_truncated_assertion_echo(x: Ctx) -> None:
    """An error_description echoing only the start of the assertion, and its payload alone."""
    token = x.full_jwt()
    _header, payload, _sig = token.split(".")
    x.exchange({"grant_type": JWT_BEARER, "assertion": token},
               _err("invalid_grant", f"cannot parse '{token[:60]}...'; payload was {payload}"))


def case_client_secret(x: Ctx) -> None:
    """``client_secret`` of both shapes, echoed back by the server."""
    c = x.canaries
    secret, word_secret = c.token(), c.word()
    x.exchange({"grant_type": "client_credentials", "client_id": c.token(),
                "client_secret": secret},
               _err("invalid_client", f"client_secret {secret} does not match", 401))
    x.exchange({"grant_type": "client_credentials", "client_id": c.token(),
                "client_secret": word_secret},
               _err("invalid_client", f"bad client_secret '{word_secret}'", 401))


def case_other_form_fields(x: Ctx) -> None:
    """Other form fields, of both shapes, and a token-shaped parameter name."""
    c = x.canaries
    x.exchange({"grant_type": JWT_BEARER, "assertion": x.full_jwt(), "client_id": c.token(),
                "username": c.email(), "password": c.word(), "refresh_token": c.token(),
                "code": c.word(), "redirect_uri": f"https://app.example.org/cb?state={c.token()}",
                "code_verifier": c.word(), c.token(): c.word()},
               INVALID_GRANT)


def case_json_body(x: Ctx) -> None:
    """The same secrets sent as a JSON body instead of a form."""
    c = x.canaries
    body = {"grant_type": JWT_BEARER, "assertion": x.full_jwt(), "client_secret": c.token(),
            "patient": {"name": c.word(), "mrn": c.token()}}
    x.server.script.load([INVALID_GRANT])
    x.client.post(f"{x.origin}/oauth/token", json=body)


def case_bearer_opaque(x: Ctx) -> None:
    """An opaque Bearer value of both shapes, echoed in WWW-Authenticate and the body."""
    c = x.canaries
    for value in (c.token(), c.word()):
        x.api("Patient/123", value, Reply(
            401, [("www-authenticate",
                   f'Bearer realm="fhir", error="invalid_token", '
                   f'error_description="token {value} is expired"'), JSON],
            json.dumps({"status": 401, "message": f"bad token {value}"}).encode()))


def case_bearer_jwt(x: Ctx) -> None:
    """A JWT as the Bearer value (claims full of canaries), refused 401 and 403."""
    token = x.full_jwt()
    x.api("Patient/123", token, Reply(401, [("www-authenticate", 'Bearer error="invalid_token"')]))
    x.api("Observation", token, Reply(
        403, [("www-authenticate", f'Bearer error="insufficient_scope", '
                                   f'error_description="{token} lacks scope"')]))


def case_fhir_url(x: Ctx) -> None:
    """Patient ids, history versions and search values in FHIR URLs, of both shapes."""
    c = x.canaries
    refused = Reply(401, [("www-authenticate", 'Bearer error="invalid_token"')])
    x.api(f"Patient/{c.token()}", "at-1234567890", refused)
    x.api(f"Patient/{c.word()}", "at-1234567890", refused)
    x.api(f"Patient/{c.token()}/_history/{c.token()}", "at-1234567890", refused)
    x.api(f"Patient/{c.word()}/$everything", "at-1234567890", refused)
    x.api("Patient", "at-1234567890", refused,
          params={"name": c.word(), "identifier": c.token(), "email": c.email(),
                  "birthdate": "1970-01-01"})
    x.api(f"Patient?name={c.word()}&_id={c.token()}", "at-1234567890", refused)


def case_token_success_body(x: Ctx) -> None:
    """The issued access, refresh and id tokens, and a scope naming a patient."""
    c = x.canaries
    access = c.token()
    x.exchange({"grant_type": JWT_BEARER, "assertion": x.full_jwt()},
               Reply(200, [JSON], json.dumps({
                   "access_token": access, "refresh_token": c.token(), "id_token": x.full_jwt(),
                   "token_type": "Bearer", "expires_in": 3600,
                   "patient": c.token(), "patient_name": c.word()}).encode()))
    x.api("Patient/123", access, Reply(401, [("www-authenticate",
                                              f'Bearer error_description="{access} expired"')]))


def case_error_bodies(x: Ctx) -> None:
    """``{status, message}`` bodies and OAuth errors naming secrets, emails and patients."""
    c = x.canaries
    token = x.full_jwt()
    x.exchange({"grant_type": JWT_BEARER, "assertion": token},
               Reply(400, [JSON], json.dumps({
                   "status": "error", "message": f"user {c.email()} key {c.token()} denied",
                   "patient": c.word()}).encode()))
    x.exchange({"grant_type": JWT_BEARER, "assertion": token},
               _err(c.token(), f"subject {c.email()} has no access; request id {c.token()}"))
    x.exchange({"grant_type": JWT_BEARER, "assertion": token},
               Reply(401, [JSON, ("www-authenticate",
                                  f'Bearer error="invalid_client", error_description="client '
                                  f'{c.token()} of {c.email()}", realm="{c.email()}"')],
                     json.dumps({"error": "invalid_client",
                                 "error_uri": f"https://idp.example.org/e/{c.token()}"
                                              f"?user={c.email()}"}).encode()))


def case_redirect_location(x: Ctx) -> None:
    """Redirect ``Location`` headers with secrets in path and query, followed and not."""
    c = x.canaries
    location = f"/oauth/token/{c.token()}?code={c.token()}&user={c.email()}&n={c.word()}"
    form = {"grant_type": JWT_BEARER, "assertion": x.full_jwt()}
    x.exchange(form, Reply(307, [("location", location)]), INVALID_GRANT, follow_redirects=True)
    x.exchange(form, Reply(302, [("location", f"https://{c.word()}.example.org{location}")]),
               follow_redirects=False)
    x.api("Patient/123", "at-1234567890",
          Reply(301, [("location", f"/fhir/R4/Patient/{c.token()}?name={c.word()}")]),
          Reply(401, []), follow_redirects=True)


def case_url_userinfo_and_fragment(x: Ctx) -> None:
    """Credentials in the URL's user info and a fragment never show."""
    c = x.canaries
    user, password = c.token(), c.word()
    x.server.script.load([INVALID_GRANT])
    url = f"https://{user}:{password}@127.0.0.1:{x.server.port}/oauth/token#{c.token()}"
    x.client.post(url, data={"grant_type": JWT_BEARER, "assertion": x.full_jwt()})


CASES: list[Callable[[Ctx], None]] = [
    case_assertion, case_client_assertion, case_truncated_assertion_echo, case_client_secret,
    case_other_form_fields, case_json_body, case_bearer_opaque, case_bearer_jwt, case_fhir_url,
    case_token_success_body, case_error_bodies, case_redirect_location,
    case_url_userinfo_and_fragment,
]


@pytest.fixture(scope="module")
def server() -> Iterator[LoopServer]:
    s = LoopServer(ca=trustme.CA())
    yield s
    s.stop()


def run_case(case: Callable[[Ctx], None], server: LoopServer, telemetry: Any,
             tmp_path: Any, otel_httpx: bool = False) -> tuple[Emitted, list[str]]:
    canaries = Canaries(case.__name__)
    jsonl = tmp_path / "attempts.jsonl"
    with collect_logs() as logs, httpx.Client(verify=server.tls) as client:
        if otel_httpx:
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

            HTTPXClientInstrumentor().instrument_client(
                client, tracer_provider=telemetry.tracer_provider)
        hgobs.instrument_client(client, profile=loop_profile(server.origin), jsonl_path=jsonl,
                                tracer_provider=telemetry.tracer_provider,
                                meter_provider=telemetry.meter_provider)
        case(Ctx(client, server, canaries))
        hgobs.uninstrument_client(client)
    return Emitted(telemetry, logs, jsonl), canaries.planted


def assert_clean(emitted: Emitted, planted: list[str]) -> None:
    assert emitted.spans, "nothing was recorded: the case did not exercise hgobs"
    assert emitted.jsonl_text, "no JSON Lines record was written"
    assert any(r.name == "hgobs" for r in emitted.logs), "no record was logged"
    strings = list(emitted.strings())
    leaks = find_leaks(strings, planted)
    assert leaks == [], "canary pieces leaked:\n" + "\n".join(map(str, leaks))
    emails = [(where, m.group(0)) for where, text in strings for m in EMAIL_RE.finditer(text)]
    assert emails == []


@pytest.mark.parametrize("otel_httpx", [False, True], ids=["hgobs-alone", "with-otel-httpx"])
@pytest.mark.parametrize("case", CASES, ids=[c.__name__.removeprefix("case_") for c in CASES])
def test_no_canary_reaches_any_output(case, otel_httpx, server, telemetry, tmp_path):
    """No 8-character piece of any planted canary, and no email address, is emitted anywhere."""
    emitted, planted = run_case(case, server, telemetry, tmp_path, otel_httpx)
    assert_clean(emitted, planted)


def test_all_positions_at_once_under_the_global_instrumentor(server, telemetry, tmp_path):
    """Every case through the global instrumentor: still nothing of any canary anywhere."""
    jsonl = tmp_path / "attempts.jsonl"
    planted: list[str] = []
    instrumentor = hgobs.HGAuthInstrumentor()
    with collect_logs() as logs:
        instrumentor.instrument(profile=loop_profile(server.origin), jsonl_path=jsonl,
                                tracer_provider=telemetry.tracer_provider,
                                meter_provider=telemetry.meter_provider)
        try:
            with httpx.Client(verify=server.tls) as client:
                for case in CASES:
                    canaries = Canaries(case.__name__ + "-global")
                    case(Ctx(client, server, canaries))
                    planted += canaries.planted
        finally:
            instrumentor.uninstrument()
    assert_clean(Emitted(telemetry, logs, jsonl), planted)


def test_echoed_claim_values_are_scrubbed(server, telemetry, tmp_path):
    """An error_description echoing the assertion's own ``sub`` does not emit the ``sub``."""

    def case(x: Ctx) -> None:
        subject = x.canaries.word()
        token = x.jwt(iss="client-0001", sub=subject, jti="jti-0001")
        x.exchange({"grant_type": JWT_BEARER, "assertion": token},
                   _err("invalid_grant", f"user {subject} is not authorized for this client"))

    emitted, planted = run_case(case, server, telemetry, tmp_path)
    assert_clean(emitted, planted)


def test_form_encoded_echo_of_a_secret_is_scrubbed(server, telemetry, tmp_path):
    """An error_description echoing the raw form body does not emit pieces of the secret."""

    def case(x: Ctx) -> None:
        c = x.canaries
        secret = f"{c.token()[:8]}/{c.token()[:9]}+{c.token()[:10]}/{c.token()[:8]}="
        x.canaries.add(secret)
        form = {"grant_type": "client_credentials", "client_id": "client-0001",
                "client_secret": secret}
        x.exchange(form, _err("invalid_request", f"cannot parse body {urlencode(form)}"))

    emitted, planted = run_case(case, server, telemetry, tmp_path)
    assert_clean(emitted, planted)


def test_error_description_keeps_plain_urls(server, telemetry, tmp_path):
    """A plain URL in error_description keeps its host and path: scrubbing is not over-eager."""

    def case(x: Ctx) -> None:
        x.exchange({"grant_type": JWT_BEARER, "assertion": x.jwt(iss="c-1", sub="c-1")},
                   _err("invalid_grant", "Audience must be https://api.healthgorilla.com/oauth/"
                                         "token - see https://developer.healthgorilla.com/docs/"
                                         "authentication for details"))

    emitted, _ = run_case(case, server, telemetry, tmp_path)
    (record,) = emitted.jsonl_records()
    description = record["response.error_description"]
    assert "https://api.healthgorilla.com/oauth/token" in description
    assert "https://developer.healthgorilla.com/docs/authentication" in description
    assert "for details" in description
    (span,) = emitted.spans
    assert span.attributes["hgobs.response.error_description"] == description


def test_harmless_words_in_messages_survive(server, telemetry, tmp_path):
    """Ordinary words, error codes and short numbers in server messages are kept."""

    def case(x: Ctx) -> None:
        x.exchange({"grant_type": JWT_BEARER, "assertion": x.jwt(iss="c-1", sub="c-1")},
                   _err("invalid_grant", "Assertion expired 35 seconds ago (max lifetime 300 s)"))

    emitted, _ = run_case(case, server, telemetry, tmp_path)
    (record,) = emitted.jsonl_records()
    assert record["response.error"] == "invalid_grant"
    assert record["response.error_description"] == (
        "Assertion expired 35 seconds ago (max lifetime 300 s)")


def test_canary_helper_finds_a_planted_piece():
    """The leak finder itself reports an 8-character piece of a canary inside longer text."""
    canary = "Cn42abcdefghijklmnopqrst"
    assert find_leaks([("x", f"prefix {canary[5:13]} suffix")], [canary])
    assert not find_leaks([("x", f"prefix {canary[5:12]} suffix")], [canary])
