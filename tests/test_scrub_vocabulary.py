"""Scrubbing removes secrets, not vocabulary (issue 14 item 5).

Providers' error texts (written here in our own words after each provider's documented or
commonly reported messages) come out of ``scrub_text`` word for word, and a secret planted in
them does not: by its shape (a token, a JWT, an e-mail address, a value after ``password=`` or
``Bearer``), or because the request sent it (a known value, whole or a piece). Random tokens of
every shape the leak tests draw are never taken for vocabulary, and the new patterns are linear.
"""

from __future__ import annotations

import json
import random
import string
import time
import uuid
from urllib.parse import unquote

import pytest

from hgobs import knownsecrets, scrub, secretshape
from hgobs.profiles import BUILTIN, load_profile
from hgobs.redaction import REDACTED, redact_url
from hgobs.scrub import scrub_text
from hgobs.secretshape import assignment_spans, credential_spans, is_secret_shaped, is_vocabulary
from tests.reliability.shapes import TOKEN_KINDS, _token
from tests.support.emitted import refused_exchange
from tests.support.servers import LoopServer

RND = random.Random(20261205)
ALNUM = string.ascii_letters + string.digits


def _secret(n: int = 28) -> str:
    """A token-shaped secret: letters of both cases and digits (always some of each)."""
    return "Qx7" + "".join(RND.choices(ALNUM, k=n - 3))


PROVIDER_TEXTS: dict[str, list[str]] = {
    "healthgorilla": [
        "invalid_grant: the assertion has expired or is not valid yet",
        "Audience must be https://api.healthgorilla.com/oauth/token",
        "invalid_client: Client authentication failed",
        "unsupported_grant_type: expected urn:ietf:params:oauth:grant-type:jwt-bearer",
    ],
    "smart": [
        "invalid_client: no_valid_keys_or_signatures",
        "The client_assertion_type is invalid: use "
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "invalid_client: could not fetch https://app.example.org/.well-known/jwks.json",
        "invalid_client: jti was seen before (client_assertion_jti_replay_detected_v2)",
        "x5t#S256 header values are not accepted; send kid",
    ],
    "epic": [
        "invalid_client: the signature of client_assertion does not verify "
        "(RS384_or_ES384_required)",
        "unauthorized_client: backend_services_not_enabled_for_this_organization",
        "invalid_client: Key not found: kid sandbox-signing-key-2024",
        "invalid_request: unsupported_grant_type",
    ],
    "oracle": [
        "invalid_client: Invalid JWT Signature.",
        "invalid_request: oauth2:token:invalid-tenant",
        "invalid_grant: the assertion was issued in the future (iat_after_server_time)",
        "unauthorized_client: Client is unauthorized to retrieve access tokens using this method",
    ],
    "salesforce": [
        "invalid_grant: audience is invalid",
        "invalid_grant: user hasn't approved this consumer",
        "invalid_client_id: client identifier invalid",
        "invalid_grant: invalid assertion",
    ],
    "google": [
        "invalid_grant: Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
        "reasonable timeframe. Check your iat and exp values in the JWT claim.",
        "invalid_grant: Invalid JWT Signature.",
        "invalid_grant: Invalid grant: account not found",
        "unauthorized_client: Client is unauthorized to retrieve access tokens using this "
        "method, or client not authorized for any of the scopes requested.",
    ],
    "okta": [
        "invalid_client: The client_assertion signature is invalid.",
        "invalid_client: The client_assertion JWT kid is invalid.",
        "invalid_client: The client_assertion token has already been used.",
        "E0000011: Invalid token provided",
        "invalid_dpop_proof: DPoP proof JWT has an invalid_signature_algorithm_ES256K",
    ],
    "entra": [
        "AADSTS700027: Client assertion contains an invalid signature. "
        "[Reason - The key was not found.]",
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
        "request is the client secret value, not the client secret ID.",
        "AADSTS700024: Client assertion is not within its valid time range.",
        "AADSTS90002: Tenant not found. Check to make sure you have the correct tenant ID.",
        "IDX10503: Signature validation failed. SecurityTokenSignatureKeyNotFoundException",
    ],
    "keycloak": [
        "invalid_client: Invalid client or Invalid client credentials",
        "Invalid token issuer. Expected 'https://kc.example.test/realms/acme'",
        "unauthorized_client: Client not enabled to retrieve service account",
        "invalid_client: Signature on JWT token failed validation",
        "invalid_client: Token is not active",
    ],
    "auth0": [
        "access_denied: Unauthorized",
        "invalid_client: client_assertion_type_invalid_or_unsupported_for_this_endpoint",
        "invalid_request: The claim must specify a time that is no more than 5 minutes after "
        "the current time",
        "invalid_grant: Invalid authorization code (ClientAssertionSignatureValidationFailed)",
    ],
}
ALL_TEXTS = [(name, text) for name, texts in PROVIDER_TEXTS.items() for text in texts]


def test_every_provider_has_texts():
    """Texts for every built-in provider profile (``generic`` has no words of its own)."""
    assert set(PROVIDER_TEXTS) == set(BUILTIN) - {"generic"}
    assert all(len(texts) >= 4 for texts in PROVIDER_TEXTS.values())


@pytest.mark.parametrize(("provider", "text"), ALL_TEXTS,
                         ids=[f"{p}-{i}" for i, (p, _) in enumerate(ALL_TEXTS)])
def test_provider_text_survives_word_for_word(provider, text):
    """A provider's error text holds no secret: it comes back exactly as it was said, with
    or without the request's known secrets."""
    known = (_secret(), "eyJhbGciOiJSUzM4NCJ9." + _secret(120) + "." + _secret(86))
    assert scrub_text(text) == text
    assert scrub_text(text, known) == text


@pytest.mark.parametrize(("provider", "text"), ALL_TEXTS,
                         ids=[f"{p}-{i}" for i, (p, _) in enumerate(ALL_TEXTS)])
def test_secrets_planted_in_provider_text_go_and_its_words_stay(provider, text):
    """Secrets of every shape put into a provider's text are removed and every word of the
    text is still there, in order."""
    server_token, client_secret, assertion = _secret(), _secret(32), (
        "eyJhbGciOiJSUzM4NCIsImtpZCI6ImsxIn0." + _secret(140) + "." + _secret(86))
    planted = (f"{text} (request {server_token}; client_secret={client_secret}; "
               f"echo '{assertion[40:90]}'; user jo.doe@example.org; Bearer {_secret(24)})")
    out = scrub_text(planted, (assertion, client_secret), limit=2048)
    assert out == (f"{text} (request {REDACTED}; client_secret={REDACTED}; "
                   f"echo '{REDACTED}'; user {REDACTED}; Bearer {REDACTED})")


@pytest.mark.parametrize("name", [n for n in BUILTIN if load_profile(n).errors])
def test_each_profile_still_finds_its_own_words_after_scrubbing(name):
    """Every ``[[errors]]`` text of every built-in profile, said by a server next to
    planted secrets and scrubbed as capture scrubs it, is still found by ``Profile.said``."""
    profile = load_profile(name)
    secret = _secret()
    for entry in profile.errors:
        if not entry.text:
            continue
        said = f"{entry.text} (key {secret}, client_secret={secret[::-1]})"
        record = {"response.error": entry.error or None, "http.status": entry.status,
                  "response.error_description": scrub_text(said, (secret,))}
        assert secret not in record["response.error_description"]
        assert secret[::-1] not in record["response.error_description"]
        # Percent-encoding is undone before any text is judged: an encoded entry is found
        # by its decoded twin.
        expected = entry if "%" not in entry.text else next(
            e for e in profile.errors if e.text == unquote(entry.text))
        assert expected in profile.said(record), (name, entry.text, record)


@pytest.mark.parametrize("run", [
    "no_valid_keys_or_signatures", "invalid_client_assertion_type", "AADSTS700027",
    "AADSTS7000215_invalid_client_secret", "ClientAssertionSignatureValidationFailed",
    "InvalidClientAssertionSignatureOrKeyIdentifier", "RS384_or_ES384_required",
    "IDX10503_signature_validation_failed", "client_assertion_type_v2", "oauth2_token_endpoint",
    "sha256_thumbprint", "x-ms-client-request-id", "JWTSignatureInvalid", "ClientIDs",
    "E0000011_invalid_token", "INVALID_CLIENT_ASSERTION_SIGNATURE",
    "client_assertion_type_invalid_or_unsupported_for_this_endpoint",
])
def test_identifiers_read_as_vocabulary(run):
    """Error codes, snake_case, kebab-case and CamelCase names are vocabulary, and a long or
    digit-holding one is therefore not secret-shaped."""
    assert is_vocabulary(run)
    assert not is_secret_shaped(run)
    assert is_secret_shaped(run, strict=True) == (
        len(run) >= 40 or (any(c.isdigit() for c in run) and any(c.isalpha() for c in run)))


@pytest.mark.parametrize("run", [
    "Qx7aB3dEfGh12345678", "FrBdBwSv8g_VxkcqZmjOO-a", "7c1f7d3e-2b1a-4c5d-9e8f-0a1b2c3d4e5f",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "0oa1b2c3d4e5f6g7h8i9", "9F3A2B7C1D4E5F60718293A4B5C6D7E8F9012345",
    "YWJjZGVmZ2hpamtsbW5vcA==", "qWeRtYuIoPaSdFgHjKlZxCvBnMqWeRtYuIoPaSdF", "x" * 45,
    "xoxb-1234567890-abcdefghij", "invalid__client_v2", "Invalid_client_v2",
])
def test_random_and_malformed_runs_are_secret_shaped(run):
    """Tokens, hex, UUIDs, base64, vendor-prefixed keys, a 40+ run of one letter and
    identifiers with a doubled separator or mixed word cases are secret-shaped."""
    assert not is_vocabulary(run)
    assert is_secret_shaped(run)


@pytest.mark.parametrize("kind", TOKEN_KINDS)
def test_no_random_token_of_any_shape_reads_as_vocabulary(kind):
    """20,000 random tokens of each shape the leak tests plant (16 to 48 characters; hex and
    UUIDs as they come): every one is secret-shaped. (Three million base64url tokens, drawn
    while the rule was tuned, gave none.)"""
    rnd = random.Random(f"vocabulary-{kind}")
    missed = [t for t in (_token(rnd, kind, rnd.randint(16, 48)) for _ in range(20000))
              if not is_secret_shaped(t)]
    assert missed == []


def test_a_host_is_judged_strictly():
    """In a URL's host, a digit-holding run is a token even when it reads as a name: the host
    is lower-cased, so a lower-case token could read as words there."""
    assert scrub_text("see https://oauth2-token-endpoint-v2.example.org/x") == \
        "see https://[redacted].example.org/x"
    assert scrub_text("oauth2-token-endpoint-v2 down") == "oauth2-token-endpoint-v2 down"


@pytest.mark.parametrize(("text", "expected"), [
    ("client_secret=hunter2 is wrong", "client_secret=[redacted] is wrong"),
    ('{"access_token":"abc","token_type":"Bearer"}', '{"access_token":"[redacted]","token_type":"Bearer"}'),
    ("password = 'two words' rejected", "password = '[redacted]' rejected"),
    ("assertion: signature invalid", "assertion: signature invalid"),
    ("error_code=E0000011 status code=401", "error_code=E0000011 status code=401"),
    ("code=SplxlOBe&state=x", "code=[redacted]&state=x"),
    ("refresh_token=null", "refresh_token=null"),
    ("Secret='open", "Secret='[redacted]"),
    ("clientSecret=abcdef123456 bad", "clientSecret=[redacted] bad"),
    ("client-secret=abcdef123456", "client-secret=[redacted]"),
    ('{"ClientSecret": "abcdef123456"}', '{"ClientSecret": "[redacted]"}'),
    ('{"accessToken":"tok12345678"}', '{"accessToken":"[redacted]"}'),
    ("X-Api-Key=abcdef123456", "X-Api-Key=[redacted]"),
    ("Cookie: session=abcdef123456; theme=dark", "Cookie: session=[redacted]; theme=dark"),
    ("sessions=3 session_state=ok", "sessions=3 session_state=ok"),
])
def test_values_assigned_to_secret_keys_go(text, expected):
    """A value after ``key=`` (or ``"key":``) for a secret key is replaced, whatever its shape;
    a key inside a longer name, an HTTP status ``code``, prose after ``:`` and literals stay."""
    assert scrub_text(text) == expected
    assert len(assignment_spans(text)) == expected.count(REDACTED)


@pytest.mark.parametrize(("text", "expected"), [
    ("Bearer at-1234567890 expired", "Bearer [redacted] expired"),
    ("bearer quokka-zephyr-vermilion was refused", "bearer [redacted] was refused"),
    ("Missing Bearer token", "Missing Bearer token"),
    ('Bearer realm="fhir", error="invalid_token"', 'Bearer realm="fhir", error="invalid_token"'),
    ("Bearer error=invalid_token", "Bearer error=invalid_token"),
    ("malformed: Bearer Bearer at-1234567890", "malformed: Bearer Bearer [redacted]"),
    ("Basic dXNlcjpwYXNz rejected", "Basic [redacted] rejected"),
    ("Basic authentication is not allowed", "Basic authentication is not allowed"),
    ("DPoP proof missing", "DPoP proof missing"),
])
def test_credentials_after_a_scheme_go_and_words_after_it_stay(text, expected):
    """The credential after ``Bearer``/``Basic``/``DPoP`` goes (a doubled scheme too); a word,
    or an auth-param after the scheme, stays."""
    assert scrub_text(text) == expected
    assert len(credential_spans(text)) == expected.count(REDACTED)


def test_a_known_url_is_reduced_not_deleted():
    """A URL the request carried (a bearer token's ``iss``, a ``redirect_uri``) and the server
    repeats is reduced by the URL rule: its host and path words stay, its secrets go."""
    issuer = "https://kc.example.test/realms/other"
    text = "Invalid token issuer. Expected 'https://kc.example.test/realms/acme'"
    assert scrub_text(text, (issuer, "preferred-user-7")) == text
    state = _secret(20)
    redirect = f"https://app.example.org/cb/{state}?state={state}"
    out = scrub_text(f"redirect_uri {redirect} is not registered", (redirect,))
    assert out == "redirect_uri https://app.example.org/cb/{id}?state is not registered"
    assert knownsecrets.secret_parts(redirect) == (state, state)
    assert scrub_text(f"bad {state[2:12]}!", (redirect,)) == f"bad {REDACTED}!"


def test_credential_header_and_protocol_word_known_values():
    """A known ``Bearer X`` header value stands for ``X`` (``Bearer token`` in the server's
    words stays); a known protocol word (a Keycloak token's ``typ`` claim ``Bearer``, its
    ``offline_access`` role) is never looked for."""
    token = "tk_" + _secret(30)
    known = (f"Bearer {token}", "Bearer", "offline_access")
    assert knownsecrets.secret_parts(f"Bearer {token}") == (token,)
    assert knownsecrets.secret_parts("offline_access") == ()
    text = f"Bearer token {token[:20]} lacks offline_access"
    assert scrub_text(text, known) == f"Bearer token {REDACTED} lacks offline_access"


def test_well_known_file_names_are_kept_by_the_url_rule():
    """``/.well-known/jwks.json`` keeps its name; a dotted name elsewhere is still an id."""
    assert redact_url("https://idp.example.org/.well-known/jwks.json") == \
        "https://idp.example.org/.well-known/jwks.json"
    assert redact_url("https://idp.example.org/files/jane.doe.json") == \
        "https://idp.example.org/files/{id}"
    assert redact_url("https://idp.example.org/.well-known/Jane.json") == \
        "https://idp.example.org/.well-known/{id}"


def _cpu(fn, text: str) -> float:
    """Least of three CPU-time means of ``fn(text)`` over at least 5 ms each."""
    best = float("inf")
    for _ in range(3):
        calls, start = 0, time.process_time()
        while (spent := time.process_time() - start) < 0.005 or calls == 0:
            fn(text)
            calls += 1
        best = min(best, spent / calls)
    return best


@pytest.mark.parametrize("fn", [assignment_spans, credential_spans, is_vocabulary],
                         ids=["assignments", "credentials", "vocabulary"])
def test_new_patterns_are_linear(fn):
    """Four times the characters of each adversarial shape cost at most about five times the
    CPU (a pattern that rescans from each start would cost sixteen)."""
    units = ["password=", "password", "Bearer ", "Bearer Bearer ", "bearer a=", "a_", "Ab",
             "aB1_", '"code": "', "x-", "a" * 7 + "1_"]
    for unit in units:
        small = (unit * (16384 // len(unit) + 1))[:16384]
        big = (unit * (65536 // len(unit) + 1))[:65536]
        assert _cpu(fn, big) <= 5 * _cpu(fn, small) + 0.001, unit


def test_the_cap_bounds_the_new_passes():
    """The new passes read only what ``scrub_text`` keeps after its cut."""
    text = "password=" * 20000
    out = scrub_text(text)
    assert out is not None and len(out) <= scrub.MAX_TEXT_CHARS + 3
    assert secretshape.MAX_VALUE_CHARS >= scrub.MAX_TEXT_CHARS


@pytest.fixture(scope="module")
def server():
    s = LoopServer()
    yield s
    s.stop()


@pytest.mark.parametrize("provider", ["epic", "entra", "keycloak", "okta"])
def test_capture_keeps_a_providers_words_and_drops_the_echoed_secrets(provider, server,
                                                                       telemetry, tmp_path):
    """Through capture over a loopback server: a provider's error text that also echoes the
    client secret and a server-side token reaches the record with its words intact, and
    nothing of either secret reaches any output."""
    text = PROVIDER_TEXTS[provider][0]
    secret, server_token = _secret(), str(uuid.UUID(int=RND.getrandbits(128), version=4))
    emitted = refused_exchange(server, telemetry, tmp_path,
                               f"{text} (secret {secret[:12]}..., trace {server_token})",
                               client_id="app-0001", client_secret=secret)
    (record,) = emitted.jsonl_records()
    assert record["response.error_description"] == (
        f"{text} (secret {REDACTED}..., trace {REDACTED})")
    leaked = [(where, s) for where, s in emitted.strings()
              if secret[:8] in s or server_token[:8] in s]
    assert leaked == []


@pytest.mark.parametrize(("text", "expected"), [
    ("Resource Patient/abc-123 not found", "Resource Patient/{id} not found"),
    ("see fhir/Patient/123", "see fhir/Patient/{id}"),
    ("(Observation/smith-john)", "(Observation/{id})"),
    ("search Patient?family=Doe&birthdate=1970 failed", "search Patient?family&birthdate failed"),
    ("use RS384/ES384 or PS384", "use RS384/ES384 or PS384"),
    ("Content-Type application/json and/or text/plain", "Content-Type application/json and/or text/plain"),
    ("what? yes/no", "what? yes/no"),
    ("group=x:400:Patient/123", "group=x:400:Patient/{id}"),  # after a colon, as evidence joins
    ("error:Patient?family=Doe", "error:Patient?family"),
    ("urn:ietf:params:oauth:grant-type:jwt-bearer", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
    ("at 12:30/45 today", "at 12:30/45 today"),
])
def test_relative_fhir_references_lose_their_ids_and_search_values(text, expected):
    """A server naming ``Patient/123`` (no leading ``/``) or ``Patient?family=Doe`` gives the
    resource id or search value away as a rooted path would: it is reduced the same way; a
    relative reference without a FHIR resource type keeps its words."""
    assert scrub_text(text) == expected


def test_relative_references_are_linear():
    """Long words, slashes and question marks cost linear time in the path pass."""
    from hgobs.textpaths import redact_paths
    for unit in ["a", "Patient/", "a?", "Patient?x=", "aa/" * 30 + " "]:
        small = (unit * (16384 // len(unit) + 1))[:16384]
        big = (unit * (65536 // len(unit) + 1))[:65536]
        assert _cpu(redact_paths, big) <= 5 * _cpu(redact_paths, small) + 0.001, unit


@pytest.mark.parametrize(("uri", "known", "expected"), [
    ("https://fhir.example/urn:cerner:error:authorization-server:oauth2:token:invalid-tenant",
     (), "urn:cerner:error:authorization-server:oauth2:token:invalid-tenant"),
    ("https://x.example/urn:acme:error:v2:401", (), "urn:acme:error:v2:401"),
    ("https://x.example/urn:acme:patient:1234567890:unknown", (), None),
    ("https://x.example/urn:acme:client:correcthorse:refused", ("correcthorse",), None),
    ("https://x.example/urn:acme:client:Xk9pQ2Lm:refused", (), None),
])
def test_error_urn_keeps_words_not_numbers_or_known_secrets(uri, known, expected):
    """``response.error_urn`` keeps a server's reason words; a long number (a record or patient
    number) or a request's secret among its parts drops it, as a token-shaped part does."""

    from hgobs.facts.oauth import error_urn, response_body_facts
    assert error_urn(uri, known) == expected
    body = json.dumps({"error": "invalid_client", "error_uri": uri}).encode()
    assert response_body_facts(body, known)[0].get("response.error_urn") == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("client_secret%253Dcorrecthorse bad", "client_secret=[redacted] bad"),
    ("user canary.person%2540example.org", "user [redacted]"),
    ("ref Patient%252F123", "ref Patient/{id}"),
    ("100%25 sure", "100% sure"),
])
def test_text_encoded_twice_is_judged_as_it_reads(text, expected):
    """A URL echoed inside a URL parameter is percent-encoded twice: an e-mail, an assignment
    or a resource id under two layers goes as under one."""
    assert scrub_text(text) == expected


@pytest.mark.parametrize("others", [(), ("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln", "user@acme.example")],
                         ids=["alone", "among-many-known"])
def test_a_word_of_a_known_value_said_as_a_word_is_kept(others):
    """Salesforce says "user hasn't approved this consumer" when the client id (a known
    value) is `3MVG9.example_consumer_key_...`: the server's own word stays; the value, or a
    run of it longer than one of its words, is still removed."""
    client_id = "3MVG9.example_consumer_key_A1b2C3d4E5f6G7h8J9k0"
    known = (client_id, *others)
    assert scrub_text("user hasn't approved this consumer", known) == \
        "user hasn't approved this consumer"
    assert "example_consumer_key" not in scrub_text("echo example_consumer_key here", known)
    assert client_id not in scrub_text(f"client {client_id} unknown", known)
    assert "consumerX" not in scrub_text("prefix consumerX", ("aconsumerXb-12345678",))
