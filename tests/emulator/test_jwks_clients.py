"""The emulator with clients that register a JWKS: RS384/ES384 assertions over real sockets.

One loopback emulator runs SMART Backend Services-style rules (RS384/ES384, kid and typ
required, jti required, five-minute lifetime); a client signs with its own RSA and EC P-384
private keys (cryptography) and the emulator verifies against the public JWKS the client
registered. Every refusal is checked for its status, error code and description.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from hgobs.emulator import ClientRegistration, EmulatorConfig, serve
from hgobs.emulator.keys import EC_KID, RSA_KID, EmulatorKeys
from hgobs.emulator.rules import TokenRequest, evaluate
from hgobs.emulator.server import RunningEmulator
from hgobs.emulator.state import ReplayGuard
from hgobs.emulator.tokenrules import GENERIC_ERRORS, ErrorAnswer, TokenRules
from hgobs.errors import ConfigError
from hgobs.jwks import load_jwks

from .conftest import T0, FakeClock

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())
STRANGER_EC = ec.generate_private_key(ec.SECP384R1())
CLIENT_JWKS = {"keys": [
    {**RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True), "kid": "app-rs-1"},
    {**ECAlgorithm.to_jwk(EC_KEY.public_key(), as_dict=True), "kid": "app-es-1"},
]}
BACKEND = ClientRegistration("backend-service-app-01", scopes=("system/*.read",),
                             jwks=CLIENT_JWKS)
SMART_RULES = TokenRules(
    name="smart-test", algorithms=("RS384", "ES384"), header_required=("kid",), header_typ="JWT",
    require_jti=True, max_jti_length=64, max_assertion_lifetime_s=300.0, leeway_s=5.0,
    errors=GENERIC_ERRORS)


@pytest.fixture(scope="module")
def smart_clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture(scope="module")
def smart(smart_clock: FakeClock) -> Iterator[RunningEmulator]:
    config = EmulatorConfig(clients=(BACKEND,), rules=SMART_RULES, clock=smart_clock)
    with serve(config) as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


def assertion(running: RunningEmulator, key: Any = EC_KEY, alg: str = "ES384",
              headers: dict[str, Any] | None = None, client_id: str = BACKEND.client_id,
              **over: Any) -> str:
    """A client assertion valid at T0 for ``running``'s sandbox token URL."""
    claims = {"iss": client_id, "sub": client_id, "aud": running.token_url("sandbox"),
              "iat": int(T0), "exp": int(T0) + 240, "jti": uuid.uuid4().hex}
    claims.update(over)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=alg,
                      headers={"kid": "app-es-1" if alg.startswith("ES") else "app-rs-1",
                               **(headers or {})})


Post = Callable[[str], httpx.Response]


@pytest.fixture
def post(smart: RunningEmulator, http: httpx.Client, smart_clock: FakeClock) -> Post:
    smart_clock.now = T0

    def _post(client_assertion: str) -> httpx.Response:
        return http.post(smart.token_url("sandbox"), data={
            "grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": client_assertion, "scope": "system/*.read"})

    return _post


def refused(response: httpx.Response, error: str, description: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {"error": error, "error_description": description}


@pytest.mark.parametrize(("key", "alg"), [(RSA_KEY, "RS384"), (EC_KEY, "ES384")])
def test_rs384_and_es384_assertions_get_a_token_that_reads_fhir(smart, post, http, key, alg):
    """An assertion signed with the client's private key (kid naming it) gets an access token,
    and the token reads a FHIR resource."""
    response = post(assertion(smart, key, alg))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["token_type"], body["scope"], body["expires_in"]) == (
        "Bearer", "system/*.read", 3600)
    read = http.get(f"{smart.fhir_base('sandbox')}/Patient/p1",
                    headers={"Authorization": f"Bearer {body['access_token']}"})
    assert (read.status_code, read.json()) == (200, {"resourceType": "Patient", "id": "p1"})


@pytest.mark.parametrize(("make", "error", "description"), [
    (lambda s: assertion(s, headers={"kid": "app-es-0"}), "invalid_client",
     "Signing key not found: no key of the client's JWK Set has this kid"),
    (lambda s: jwt.encode({"iss": BACKEND.client_id, "sub": BACKEND.client_id,
                           "aud": s.token_url("sandbox"), "iat": int(T0), "exp": int(T0) + 60,
                           "jti": "j-no-kid"}, EC_KEY, algorithm="ES384"),
     "invalid_client", "Signing key not found: no kid in the header"),
    (lambda s: assertion(s, RSA_KEY, "RS256"), "invalid_client",
     "The signing algorithm is not accepted"),
    (lambda s: assertion(s, RSA_KEY, "PS384"), "invalid_client",
     "The signing algorithm is not accepted"),
    (lambda s: assertion(s, "a-shared-secret-of-32-bytes-or-more", "HS256"), "invalid_client",
     "The signing algorithm is not accepted"),
    (lambda s: assertion(s, STRANGER_EC), "invalid_client", "The assertion signature is invalid"),
    (lambda s: assertion(s, EC_KEY, headers={"kid": "app-rs-1"}), "invalid_client",
     "The assertion signature is invalid"),
    (lambda s: assertion(s, headers={"typ": None}), "invalid_client",
     "Assertion header rejected: typ must be JWT"),
    (lambda s: assertion(s, headers={"typ": "at+jwt"}), "invalid_client",
     "Assertion header rejected: typ must be JWT"),
    (lambda s: assertion(s, jti=None), "invalid_client", "Missing or invalid jti claim"),
    (lambda s: assertion(s, jti="j" * 65), "invalid_client", "Missing or invalid jti claim"),
    (lambda s: assertion(s, exp=int(T0) + 301), "invalid_client",
     "The exp claim is too far ahead"),
    (lambda s: assertion(s, aud=s.token_url("production")), "invalid_client",
     "The aud claim is not accepted"),
    (lambda s: assertion(s, aud=[s.token_url("sandbox")]), "invalid_client",
     "The aud claim is not accepted"),
    (lambda s: assertion(s, iat=int(T0) - 300, exp=int(T0) - 6), "invalid_client",
     "The assertion has expired"),
    (lambda s: assertion(s, iat=int(T0) + 6, exp=int(T0) + 60), "invalid_client",
     "The assertion is not yet valid"),
    (lambda s: assertion(s, client_id="someone-else"), "invalid_client",
     "Unknown client, or iss and sub differ from it"),
], ids=["unknown-kid", "missing-kid", "rs256-not-accepted", "ps384-not-accepted",
        "hs256-not-accepted", "bad-signature", "kid-of-other-key-type", "no-typ", "wrong-typ",
        "no-jti", "long-jti", "lifetime", "aud-other-env", "aud-array", "expired",
        "not-yet-valid", "unknown-client"])
def test_each_refusal_answers_as_the_rules_say(smart, post, make, error, description):
    """Each broken demand gets its category's answer (the generic RFC 7523 ones here)."""
    refused(post(make(smart)), error, description)


def test_a_reused_jti_is_refused_once_the_first_use_passed(smart, post):
    """The same jti twice: the second is refused (RFC 7523 section 3 item 7)."""
    first = assertion(smart, jti="fixed-jti-0001")
    assert post(first).status_code == 200
    refused(post(assertion(smart, RSA_KEY, "RS384", jti="fixed-jti-0001")), "invalid_client",
            "The jti was already used")


def test_the_emulator_serves_its_own_public_keys(smart, http):
    """GET /.well-known/jwks.json (and per environment) is the public half of the emulator's
    RSA and P-384 keys: it loads as a JWKS, holds no private parameter, and an unknown
    environment or a POST gets no keys."""
    for url in (smart.jwks_url(), smart.jwks_url("sandbox"), smart.jwks_url("production")):
        response = http.get(url)
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        doc = response.json()
        assert [(k["kid"], k["kty"], k["alg"], k["use"]) for k in doc["keys"]] == [
            (RSA_KID, "RSA", "RS384", "sig"), (EC_KID, "EC", "ES384", "sig")]
        assert not any({"d", "p", "q", "dp", "dq", "qi"} & set(k) for k in doc["keys"])
        assert load_jwks(doc).kids == (RSA_KID, EC_KID)
    assert http.get(f"{smart.base_url}/staging/.well-known/jwks.json").status_code == 404
    assert http.post(smart.jwks_url()).status_code == 405


def test_the_generated_client_signs_with_the_emulator_keys(http):
    """With no client configured, the generated one is registered with the emulator's JWKS: an
    ES384 or RS384 assertion signed with the emulator's private keys is accepted under rules
    that take them, and refused (as before, 'Invalid JWT signature') under Health Gorilla's."""
    keys = EmulatorKeys.generate()
    for rules, expected in ((SMART_RULES, 200), (None, 400)):
        with serve(EmulatorConfig(rules=rules, keys=keys, clock=FakeClock(T0))) as running:
            cid = running.client.client_id
            for kid in (RSA_KID, EC_KID):
                claims = {"iss": cid, "sub": cid, "aud": running.token_url("sandbox"),
                          "iat": int(T0), "exp": int(T0) + 60, "jti": uuid.uuid4().hex}
                token = jwt.encode(claims, keys.private_key(kid), algorithm=keys.alg(kid),
                                   headers={"kid": kid})
                response = http.post(running.token_url("sandbox"), data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    "assertion": token})
                assert response.status_code == expected, response.text
                if expected == 400:
                    assert response.json() == {"error": "invalid_grant",
                                               "error_description": "Invalid JWT signature"}


def test_private_pem_loads_back_as_the_same_key() -> None:
    """private_pem gives PKCS#8 PEM a signer can load; its public JWK is the served one."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    keys = EmulatorKeys.generate()
    loaded = load_pem_private_key(keys.private_pem(EC_KID), password=None)
    served = {k["kid"]: k for k in keys.public_jwks()["keys"]}[EC_KID]
    assert ECAlgorithm.to_jwk(loaded.public_key(), as_dict=True)["x"] == served["x"]
    with pytest.raises(ConfigError):
        EmulatorKeys({})
    with pytest.raises(ConfigError):
        EmulatorKeys({"k": ("HS256", b"secret")})


# --- the rules object, decided without a server -----------------------------------------------

TOKEN_URL = "http://127.0.0.1:9/sandbox/oauth/token"


def decide(rules: TokenRules, token: str, client: ClientRegistration = BACKEND) -> Any:
    config = EmulatorConfig(clients=(client,), rules=rules)
    body = ("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + token)
    request = TokenRequest("POST", "application/x-www-form-urlencoded", body.encode(), "sandbox",
                           TOKEN_URL)
    return evaluate(request, config, ReplayGuard(rules.leeway_s), T0)


def claims(**over: Any) -> dict[str, Any]:
    base = {"iss": BACKEND.client_id, "sub": BACKEND.client_id, "aud": TOKEN_URL, "iat": int(T0),
            "exp": int(T0) + 60, "jti": uuid.uuid4().hex}
    return {k: v for k, v in {**base, **over}.items() if v is not None}


def test_header_one_of_and_other_required_parameters() -> None:
    """header_one_of needs one member of each group; a required parameter other than kid that
    is missing is assertion_header_rejected."""
    rules = TokenRules(algorithms=("RS384",), header_one_of=(("x5t", "x5t#S256"),),
                       header_required=("kid", "jku"), errors=GENERIC_ERRORS)
    without = jwt.encode(claims(), RSA_KEY, algorithm="RS384", headers={"kid": "app-rs-1"})
    assert decide(rules, without).description == "Assertion header rejected: the header has no jku"
    rules = TokenRules(algorithms=("RS384",), header_one_of=(("x5t", "x5t#S256"),),
                       errors=GENERIC_ERRORS)
    assert decide(rules, without).description == (
        "Assertion header rejected: the header needs one of x5t, x5t#S256")
    with_thumb = jwt.encode(claims(), RSA_KEY, algorithm="RS384",
                            headers={"kid": "app-rs-1", "x5t#S256": "AAAA"})
    assert decide(rules, with_thumb).client_id == BACKEND.client_id


def test_audience_templates_and_arrays() -> None:
    """audiences fill {origin} and {token_url}; an array holding an accepted value passes only
    when audience_array_ok."""
    rules = TokenRules(algorithms=("ES384",), audiences=("{origin}",), audience_array_ok=True,
                       errors=GENERIC_ERRORS)
    assert rules.accepted_audiences(TOKEN_URL + "?x=1") == ("http://127.0.0.1:9",)
    sign = lambda **o: jwt.encode(claims(**o), EC_KEY, algorithm="ES384",  # noqa: E731
                                  headers={"kid": "app-es-1"})
    assert decide(rules, sign(aud=["urn:other", "http://127.0.0.1:9"])).scopes == ("system/*.read",)
    assert decide(rules, sign(aud=TOKEN_URL)).description == "The aud claim is not accepted"


def test_no_lifetime_limit_and_optional_iat() -> None:
    """max_assertion_lifetime_s None accepts a far exp; without require_iat a missing iat is
    fine and the lifetime is measured from now."""
    free = TokenRules(algorithms=("ES384",), max_assertion_lifetime_s=None, require_iat=False,
                      errors=GENERIC_ERRORS)
    far = jwt.encode(claims(iat=None, exp=int(T0) + 86400 * 365), EC_KEY, algorithm="ES384",
                     headers={"kid": "app-es-1"})
    assert decide(free, far).client_id == BACKEND.client_id
    capped = TokenRules(algorithms=("ES384",), max_assertion_lifetime_s=60, require_iat=False,
                        errors=GENERIC_ERRORS)
    assert decide(capped, far).description == "The exp claim is too far ahead"
    ms = jwt.encode(claims(exp=int(T0) * 1000), EC_KEY, algorithm="ES384",
                    headers={"kid": "app-es-1"})
    assert decide(capped, ms).description == "Missing or invalid exp claim"


def test_a_client_without_jwks_and_any_algorithm() -> None:
    """algorithms () takes any algorithm verified here: HS256 with the secret and ES384 with
    the JWKS; a public-key assertion from a client with no JWKS is signing_key_not_found."""
    both = ClientRegistration(BACKEND.client_id, "hs-secret-of-thirty-two-bytes-at-least",
                              jwks=CLIENT_JWKS)
    secret_only = ClientRegistration(BACKEND.client_id, "hs-secret-of-thirty-two-bytes-at-least")
    anything = TokenRules(algorithms=(), errors=GENERIC_ERRORS)
    hs = jwt.encode(claims(), "hs-secret-of-thirty-two-bytes-at-least", algorithm="HS256")
    es = jwt.encode(claims(), EC_KEY, algorithm="ES384", headers={"kid": "app-es-1"})
    assert decide(anything, hs, both).client_id == decide(anything, es, both).client_id
    assert decide(anything, es, secret_only).description == (
        "Signing key not found: the client registered no JWK Set")
    none = jwt.encode(claims(), None, algorithm="none")
    assert decide(anything, none, both).description == "The signing algorithm is not accepted"


def test_from_profile_takes_the_profile_fields_and_its_error_texts() -> None:
    """TokenRules.from_profile copies the profile's limits and header rules and answers each
    category with the first [[errors]] entry naming an error code."""
    entry = lambda text, error, status, category: SimpleNamespace(  # noqa: E731
        text=text, error=error, status=status, category=category, source="https://example.test")
    profile = SimpleNamespace(
        name="epic-like", max_assertion_lifetime_s=300, require_iat=False, require_jti=True,
        max_jti_length=151, leeway_s=0, algorithms=("RS384", "ES384"), secret_auth=False,
        header_required=("kid",), header_typ="JWT", header_one_of=(), audience_array_ok=False,
        errors=(entry("no matching key", None, None, "signing_key_not_found"),
                entry("Client assertion key not found", "invalid_client", 400,
                      "signing_key_not_found"),
                entry("second text", "invalid_client", 401, "signing_key_not_found"),
                entry("invalid signature", "invalid_client", None, "invalid_signature")))
    rules = TokenRules.from_profile(profile)
    assert (rules.name, rules.max_assertion_lifetime_s, rules.leeway_s, rules.require_iat,
            rules.require_jti, rules.max_jti_length, rules.algorithms, rules.header_required,
            rules.header_typ) == ("epic-like", 300.0, 0.0, False, True, 151, ("RS384", "ES384"),
                                  ("kid",), "JWT")
    assert rules.answer("signing_key_not_found") == ErrorAnswer(
        400, "invalid_client", "Client assertion key not found")
    assert rules.answer("invalid_signature") == ErrorAnswer(400, "invalid_client",
                                                            "invalid signature")
    assert rules.answer("expired_assertion") == GENERIC_ERRORS["expired_assertion"]
    unknown = jwt.encode(claims(), EC_KEY, algorithm="ES384", headers={"kid": "gone"})
    refusal = decide(rules, unknown)
    assert (refusal.status, refusal.error, refusal.description) == (
        400, "invalid_client", "Client assertion key not found")


def test_rules_and_registrations_refuse_unusable_values() -> None:
    """Negative leeway, zero lifetime, no audiences, a non-4xx answer, a client with neither
    secret nor JWKS, and a JWKS that does not load all raise ConfigError."""
    for bad in ({"leeway_s": -1}, {"max_assertion_lifetime_s": 0}, {"audiences": ()},
                {"errors": {"invalid_signature": ErrorAnswer(500, "x")}}):
        with pytest.raises(ConfigError):
            TokenRules(**bad)
    with pytest.raises(ConfigError, match="needs a secret or a JWKS"):
        ClientRegistration("no-credentials")
    with pytest.raises(ConfigError, match="is not a JWKS"):
        ClientRegistration("bad-jwks", jwks={"issuer": "x"})
    assert json.dumps(BACKEND.jwk_set.as_dict())  # stored loaded, public only


def test_rules_given_set_the_config_lifetime_and_leeway() -> None:
    """A config with rules takes its lifetime and leeway from them (one source), and the
    emulator profile says no limit when the rules have none."""
    config = EmulatorConfig(clients=(BACKEND,), rules=SMART_RULES, max_assertion_lifetime_s=9999)
    assert (config.max_assertion_lifetime_s, config.leeway_s) == (300.0, 5.0)
    unlimited = EmulatorConfig(clients=(BACKEND,),
                               rules=TokenRules(max_assertion_lifetime_s=None))
    from hgobs.emulator.server import emulator_profile

    assert emulator_profile("http://127.0.0.1:1", unlimited.max_assertion_lifetime_s) \
        .max_assertion_lifetime_s is None
    default = EmulatorConfig(clients=(BACKEND,), max_assertion_lifetime_s=120, leeway_s=3)
    assert default.rules == TokenRules.healthgorilla(120, 3)


def test_write_keys_gives_pems_that_sign_for_the_served_jwks(tmp_path) -> None:
    """hgobs emulate --keys-out: each private key as {kid}.pem, readable by the owner only, and
    an assertion signed with it verifies against the emulator's JWKS."""
    import stat

    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from hgobs.emulator.command import write_keys
    from hgobs.jwks import VERIFIED, check_compact

    keys = EmulatorKeys.generate()
    paths = write_keys(tmp_path / "keys", keys)
    assert [p.name for p in paths] == [f"{RSA_KID}.pem", f"{EC_KID}.pem"]
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        token = jwt.encode({"a": 1}, load_pem_private_key(path.read_bytes(), None),
                           algorithm=keys.alg(path.stem), headers={"kid": path.stem})
        assert check_compact(token, keys.jwks()).outcome == VERIFIED
