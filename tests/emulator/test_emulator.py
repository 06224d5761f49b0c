"""The emulator over real loopback sockets: one test per documented rule."""

from __future__ import annotations

import base64
import json
import logging
import sys
import time
from email.utils import formatdate
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click
import httpx
import jwt
import pytest
from click.testing import CliRunner

import hgobs.emulator as emulator_pkg
from hgobs.emulator import ClientRegistration, EmulatorConfig, create_app, emulate, serve
from hgobs.emulator.access import scope_covers
from hgobs.emulator.command import banner, check_host, client_from_options, write_profile
from hgobs.emulator.server import RunningEmulator
from hgobs.errors import ConfigError
from hgobs.profiles import API_CALL, TOKEN_EXCHANGE, load_profile

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def assert_oauth_error(
    response: httpx.Response, error: str, description: str | None = None
) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == error
    if description is not None:
        assert body["error_description"] == description


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- package surface -------------------------------------------------------------------------


def test_all_is_sorted_and_complete() -> None:
    """The package re-exports its public names once, in a sorted ``__all__``."""
    assert emulator_pkg.__all__ == sorted(emulator_pkg.__all__)
    expected = {"ClientRegistration", "EmulatorConfig", "create_app", "emulate", "serve"}
    assert expected <= set(emulator_pkg.__all__)
    assert all(hasattr(emulator_pkg, name) for name in emulator_pkg.__all__)


def test_default_config_generates_a_client() -> None:
    """With no clients configured, one is generated: 20 hex id, random secret, default scopes."""
    config = EmulatorConfig()
    (client,) = config.clients
    assert len(client.client_id) == 20 and int(client.client_id, 16) >= 0
    assert client.client_id == client.client_id.lower()
    assert len(client.client_secret) >= 43
    assert client.scopes == ("patient360", "user/*.*")
    assert client.client_secret not in repr(config)
    assert EmulatorConfig().clients[0].client_secret != client.client_secret
    assert (config.rate_limit, config.rate_limit_window_s) == (20, 1.0)
    assert (config.access_token_ttl_s, config.max_assertion_lifetime_s) == (3600, 3600)
    assert config.leeway_s == 30


@pytest.mark.parametrize(
    "kwargs",
    [
        {"access_token_ttl_s": 0},
        {"rate_limit": 0},
        {"leeway_s": -1},
        {"clients": (ClientRegistration("a", "s" * 32), ClientRegistration("a", "t" * 32))},
    ],
    ids=["ttl", "rate-limit", "leeway", "duplicate-client"],
)
def test_config_rejects_unusable_values(kwargs: dict[str, Any]) -> None:
    """An unusable option raises ConfigError naming it."""
    with pytest.raises(ConfigError):
        EmulatorConfig(**kwargs)


def test_registration_rejects_unknown_environment() -> None:
    """A client can only be registered in sandbox and/or production."""
    with pytest.raises(ConfigError):
        ClientRegistration("abc", "s" * 32, environments=("staging",))


# --- server -----------------------------------------------------------------------------------


def test_serve_binds_a_real_port_and_describes_itself(emulator: RunningEmulator) -> None:
    """serve(port=0) reports the real port and a profile that classifies its own URLs."""
    assert emulator.base_url.startswith("http://127.0.0.1:")
    assert int(emulator.base_url.rsplit(":", 1)[1]) > 0
    profile = emulator.profile
    assert profile.name == "emulator"
    assert [e.name for e in profile.environments] == ["sandbox", "production"]
    assert profile.require_iat is True and profile.max_assertion_lifetime_s == 3600
    for env in ("sandbox", "production"):
        assert profile.match(emulator.token_url(env)) == (TOKEN_EXCHANGE, env)
        assert profile.match(f"{emulator.fhir_base(env)}/Patient/1") == (API_CALL, env)
        assert profile.environment(env).api_bases == (f"{emulator.base_url}/{env}/fhir",)


def test_profile_toml_round_trips(emulator: RunningEmulator) -> None:
    """profile_toml() is TOML that load_profile reads back into the same profile."""
    data = tomllib.loads(emulator.profile_toml())
    assert load_profile(data) == emulator.profile


def test_serve_refuses_non_loopback_host() -> None:
    """serve() never listens beyond loopback."""
    with pytest.raises(ConfigError), serve(host="0.0.0.0"):
        pass


def test_serve_stops_on_exit(clients: SimpleNamespace) -> None:
    """Leaving the with-block stops the server; the default clock is real time."""
    with serve(EmulatorConfig(clients=(clients.main,))) as running, httpx.Client() as http:
        now = int(time.time())
        claims = {
            "iss": clients.main.client_id,
            "sub": clients.main.client_id,
            "aud": running.token_url(),
            "iat": now,
            "exp": now + 300,
        }
        assertion = jwt.encode(claims, clients.main.client_secret, algorithm="HS256")
        response = http.post(
            running.token_url(), data={"grant_type": JWT_BEARER, "assertion": assertion}
        )
        assert response.status_code == 200
        url = running.token_url()
    with pytest.raises(httpx.ConnectError):
        httpx.post(url, data={"grant_type": JWT_BEARER})


def test_create_app_is_a_plain_asgi_app() -> None:
    """create_app() works without serve() and exposes its memory on app.state."""
    app = create_app()
    assert len(app.state.emulator.config.clients) == 1


# --- token endpoint, rule by rule --------------------------------------------------------------


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"method": "GET"},
        {"method": "POST"},
        {"method": "POST", "json": {"grant_type": JWT_BEARER, "assertion": "x.y.z"}},
        {"method": "POST", "files": {"grant_type": (None, JWT_BEARER)}},
        {"method": "POST", "data": {"assertion": "x.y.z"}},
        {"method": "POST", "data": {"grant_type": ""}},
    ],
    ids=["get", "empty-body", "json-body", "multipart", "no-grant-type", "blank-grant-type"],
)
def test_rule1_no_form_grant_type_is_unsupported_grant_type(
    emulator: RunningEmulator, http: httpx.Client, request_kwargs: dict[str, Any]
) -> None:
    """A non-POST or a body without a form-encoded grant_type -> 400 unsupported_grant_type."""
    response = http.request(url=emulator.token_url(), **request_kwargs)
    assert_oauth_error(response, "unsupported_grant_type")


def test_oversized_body_is_413(emulator: RunningEmulator, http: httpx.Client) -> None:
    """A body over max_body_bytes -> 413 invalid_request, without reading it all."""
    limit = emulator.config.max_body_bytes
    data = {"grant_type": JWT_BEARER, "assertion": "a" * limit}
    response = http.post(emulator.token_url(), data=data)
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"


def test_rule2_trailing_slash_redirects_and_drops_the_body(
    emulator: RunningEmulator, http: httpx.Client, mint: Any
) -> None:
    """POST to token URL + '/' -> 301 to the token URL; following it ends in a bodiless GET."""
    data = {"grant_type": JWT_BEARER, "assertion": mint()}
    direct = http.post(emulator.token_url() + "/", data=data)
    assert direct.status_code == 301
    assert direct.headers["location"] == emulator.token_url()
    assert direct.content == b""
    with httpx.Client(follow_redirects=True) as following:
        response = following.post(emulator.token_url("production") + "/", data=data)
    assert response.history[0].status_code == 301
    assert response.request.method == "GET"
    assert str(response.url) == emulator.token_url("production")
    assert_oauth_error(response, "unsupported_grant_type")


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": JWT_BEARER}, "invalid_request"),
        ({"grant_type": JWT_BEARER, "assertion": "A", "client_assertion": "A"}, "invalid_request"),
        (
            {"grant_type": JWT_BEARER, "assertion": "A", "client_assertion_type": "x"},
            "invalid_request",
        ),
        ({"grant_type": "client_credentials", "client_assertion": "A"}, "invalid_request"),
        (
            {
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:x",
                "client_assertion": "A",
            },
            "invalid_request",
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": "A",
                "assertion": "A",
            },
            "invalid_request",
        ),
        (
            {"grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE},
            "invalid_request",
        ),
        ({"grant_type": "password", "assertion": "A"}, "unsupported_grant_type"),
        ({"grant_type": "jwt-bearer", "assertion": "A"}, "unsupported_grant_type"),
        ({"grant_type": [JWT_BEARER, JWT_BEARER], "assertion": "A"}, "invalid_request"),
    ],
    ids=[
        "jwt-bearer-no-assertion",
        "jwt-bearer-with-client-assertion",
        "jwt-bearer-with-client-assertion-type",
        "client-credentials-no-type",
        "client-credentials-wrong-type",
        "client-credentials-with-assertion",
        "client-credentials-no-client-assertion",
        "other-grant",
        "shortened-grant",
        "repeated-parameter",
    ],
)
def test_rule3_request_shape(
    emulator: RunningEmulator, http: httpx.Client, mint: Any, form: dict[str, Any], error: str
) -> None:
    """Each grant needs its own parameters and none of the other flow's -> the exact code."""
    assertion = mint()
    data = {k: (assertion if v == "A" else v) for k, v in form.items()}
    response = http.post(emulator.token_url(), data=data)
    assert_oauth_error(response, error)


NAN_PAYLOAD = b64(b'{"exp": NaN}')
MALFORMED = [
    "two-segments",
    "four-segments",
    "truncated",
    "newline-inside",
    "space-inside",
    "padding",
    "bad-base64-char",
    "impossible-length",
    "header-not-object",
    "payload-not-json",
    "payload-nan",
    "empty-header",
]


def _malformed(valid: str, case: str) -> str:
    """``valid`` damaged in the way ``case`` names."""
    header, payload, signature = valid.split(".")
    whole = payload[: len(payload) - len(payload) % 4]
    return {
        "two-segments": f"{header}.{payload}",
        "four-segments": f"{valid}.{signature}",
        "truncated": valid[: len(header) + 12],
        "newline-inside": f"{header}.{payload[:10]}\n{payload[10:]}.{signature}",
        "space-inside": f"{header}. {payload}.{signature}",
        "padding": f"{header}==.{payload}.{signature}",
        "bad-base64-char": f"{header}.{payload[:-1]}*.{signature}",
        "impossible-length": f"{header}.{whole}A.{signature}",
        "header-not-object": f"{b64(b'[1]')}.{payload}.{signature}",
        "payload-not-json": f"{header}.{b64(b'not json')}.{signature}",
        "payload-nan": f"{header}.{NAN_PAYLOAD}.{signature}",
        "empty-header": f".{payload}.{signature}",
    }[case]


@pytest.mark.parametrize("case", MALFORMED)
def test_rule4_malformed_assertion_is_a_silent_400(case: str, mint: Any, exchange: Any) -> None:
    """A malformed compact JWS -> 400 with an empty body (Content-Length 0, no JSON)."""
    assertion = _malformed(mint(), case)
    response = exchange(assertion)
    assert response.status_code == 400
    assert response.content == b""
    assert response.headers["content-length"] == "0"
    assert "content-type" not in response.headers


def test_rule4_applies_to_client_assertion_too(
    emulator: RunningEmulator, http: httpx.Client, mint: Any
) -> None:
    """The client_credentials flow's client_assertion gets the same silent failure."""
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": mint()[:-1] + " ",
    }
    response = http.post(emulator.token_url(), data=data)
    assert (response.status_code, response.content) == (400, b"")


def test_rule5_unknown_client_is_invalid_client(mint: Any, exchange: Any) -> None:
    """Neither iss nor sub names a registered client -> invalid_client 'improper client id'."""
    response = exchange(mint(iss="someone@example.com", sub="someone@example.com"))
    assert_oauth_error(response, "invalid_client", "improper client id")


@pytest.mark.parametrize("case", ["wrong-secret", "hs512", "alg-none"])
def test_rule5_bad_signature_is_invalid_grant(case: str, mint: Any, exchange: Any) -> None:
    """A signature that is not HS256 under the client's secret -> invalid_grant."""
    if case == "wrong-secret":
        assertion = mint(secret="a-different-secret-of-at-least-32-bytes")
    elif case == "hs512":
        assertion = mint(algorithm="HS512")
    else:
        assertion = _unsigned(mint())
    assert_oauth_error(exchange(assertion), "invalid_grant", "Invalid JWT signature")


def _unsigned(assertion: str) -> str:
    """The same claims under an ``alg: none`` header with an empty signature."""
    _, payload, _ = assertion.split(".")
    return f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{payload}."


@pytest.mark.parametrize(
    "claims",
    [{"sub": "dev@example.com"}, {"iss": "https://client.example.com"}],
    ids=["email-as-sub", "url-as-iss"],
)
def test_rule6_iss_and_sub_must_be_the_client_id(
    claims: dict[str, str], mint: Any, exchange: Any
) -> None:
    """iss or sub other than the client id (e.g. an email) -> invalid_client."""
    assert_oauth_error(exchange(mint(**claims)), "invalid_client", "improper client id")


def test_rule6_client_not_registered_in_environment(
    clients: SimpleNamespace, mint: Any, exchange: Any
) -> None:
    """A sandbox-only client at the production token URL -> invalid_client."""
    response = exchange(mint(clients.sandbox_only, "production"), "production")
    assert_oauth_error(response, "invalid_client")


@pytest.mark.parametrize(
    "aud",
    [
        "other-env",
        "trailing-slash",
        "https",
        "array",
        "localhost",
        "real-provider",
    ],
)
def test_rule7_audience_must_be_this_token_url(
    emulator: RunningEmulator, aud: str, mint: Any, exchange: Any
) -> None:
    """aud differing from this environment's token URL in any way -> invalid_grant."""
    url = emulator.token_url("sandbox")
    value: Any = {
        "other-env": emulator.token_url("production"),
        "trailing-slash": url + "/",
        "https": url.replace("http://", "https://"),
        "array": [url],
        "localhost": url.replace("127.0.0.1", "localhost"),
        "real-provider": "https://sandbox.healthgorilla.com/oauth/token",
    }[aud]
    assert_oauth_error(exchange(mint(aud=value)), "invalid_grant", "Invalid audience")


@pytest.mark.parametrize(
    ("offsets", "description"),
    [
        ({"exp": None}, "Invalid exp"),
        ({"exp": "soon"}, "Invalid exp"),
        ({"exp": "ms"}, "Invalid exp"),
        ({"iat": None}, "Invalid iat"),
        ({"iat": "ms"}, "Invalid iat"),
        ({"nbf": "ms"}, "Invalid nbf"),
        ({"iat": -400, "exp": -30}, "Assertion expired"),
        ({"iat": 31, "exp": 300}, "Assertion not yet valid"),
        ({"nbf": 31}, "Assertion not yet valid"),
        ({"iat": 0, "exp": 3601}, "exp too far in the future"),
    ],
    ids=[
        "no-exp",
        "exp-string",
        "exp-ms",
        "no-iat",
        "iat-ms",
        "nbf-ms",
        "expired",
        "iat-future",
        "nbf-future",
        "too-long",
    ],
)
def test_rule8_time_claims(
    offsets: dict[str, Any], description: str, clock: Any, mint: Any, exchange: Any
) -> None:
    """Bad, expired, future or too long-lived time claims -> invalid_grant with the reason."""
    now = int(clock.now)
    claims: dict[str, Any] = {}
    for name, offset in offsets.items():
        if offset == "ms":
            claims[name] = now * 1000
        elif isinstance(offset, int):
            claims[name] = now + offset
        else:
            claims[name] = offset
    assert_oauth_error(exchange(mint(**claims)), "invalid_grant", description)


def test_rule8_leeway_tolerates_small_skew(clock: Any, mint: Any, exchange: Any) -> None:
    """iat up to leeway_s ahead and exp up to leeway_s behind the clock are accepted."""
    now = int(clock.now)
    assert exchange(mint(iat=now + 30, exp=now + 330)).status_code == 200
    assert exchange(mint(iat=now - 300, exp=now - 29)).status_code == 200


def test_rule9_same_jti_is_refused(clock: Any, mint: Any, exchange: Any) -> None:
    """A second assertion with an already-seen jti for the client -> invalid_grant."""
    assert exchange(mint(jti="once")).status_code == 200
    again = mint(jti="once", exp=int(clock.now) + 200)
    assert_oauth_error(exchange(again), "invalid_grant", "Assertion already used")


def test_rule9_same_assertion_without_jti_is_refused(
    clients: SimpleNamespace, mint: Any, exchange: Any
) -> None:
    """The same assertion text twice, even a failed first time -> invalid_grant the second."""
    assertion = mint(clients.narrow, jti=None)
    assert_oauth_error(exchange(assertion, scope="user/*.*"), "invalid_scope")
    assert_oauth_error(exchange(assertion), "invalid_grant", "Assertion already used")


def test_rule9_memory_forgets_expired_assertions(
    emulator: RunningEmulator, clock: Any, mint: Any, exchange: Any
) -> None:
    """Used assertions are forgotten once past exp + leeway, keeping the memory bounded."""
    for _ in range(3):
        assert exchange(mint()).status_code == 200
    before = len(emulator.state.replay)
    clock.now += 300 + emulator.config.leeway_s + 1
    assert exchange(mint()).status_code == 200
    assert len(emulator.state.replay) < before


def test_rule10_scope_beyond_registration_is_invalid_scope(
    clients: SimpleNamespace, mint: Any, exchange: Any
) -> None:
    """Asking for a scope the client is not registered for -> invalid_scope."""
    response = exchange(mint(clients.narrow), scope="patient360 user/*.*")
    assert_oauth_error(response, "invalid_scope")


def test_rule11_success(emulator: RunningEmulator, clock: Any, mint: Any, exchange: Any) -> None:
    """A valid exchange -> 200 Bearer token, expires_in = TTL, scope granted, no-store."""
    response = exchange(mint(), scope="patient360")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["date"] == formatdate(clock.now, usegmt=True)
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == emulator.config.access_token_ttl_s
    assert body["scope"] == "patient360"
    assert len(body["access_token"]) >= 43 and "." not in body["access_token"]


def test_rule11_default_scope_is_all_registered(mint: Any, exchange: Any) -> None:
    """Without a scope parameter the client gets all its registered scopes."""
    assert exchange(mint()).json()["scope"] == "patient360 user/*.*"


def test_rule11_client_credentials_flow(
    emulator: RunningEmulator, http: httpx.Client, mint: Any
) -> None:
    """grant_type=client_credentials with a jwt-bearer client_assertion also succeeds."""
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": mint(env="production"),
    }
    response = http.post(emulator.token_url("production"), data=data)
    assert response.status_code == 200, response.text


def test_fixed_clock_drives_time_rules_and_date(
    emulator: RunningEmulator, http: httpx.Client, clock: Any, mint: Any, exchange: Any
) -> None:
    """The injected clock, not wall time, decides validity and stamps every Date header."""
    clock.now = 1_500_000_000.0
    assert exchange(mint()).status_code == 200
    missing = http.get(f"{emulator.base_url}/nowhere")
    assert missing.status_code == 404
    assert missing.headers["date"] == "Fri, 14 Jul 2017 02:40:00 GMT"
    assert "server" not in missing.headers


# --- FHIR endpoints ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}],
    ids=["none", "basic", "empty-bearer"],
)
def test_api_without_bearer_credentials_is_401_without_error(
    emulator: RunningEmulator, http: httpx.Client, headers: dict[str, str]
) -> None:
    """No Bearer credentials -> 401, challenge with realm only, OperationOutcome body."""
    response = http.get(f"{emulator.fhir_base()}/Patient", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="sandbox"'
    assert response.headers["content-type"] == "application/fhir+json"
    assert response.json()["resourceType"] == "OperationOutcome"


INVALID = (
    'Bearer realm="{}", error="invalid_token", error_description="The access token is invalid"'
)


def test_api_with_assertion_as_token_is_invalid_token(
    emulator: RunningEmulator, http: httpx.Client, mint: Any
) -> None:
    """A JWT (e.g. the assertion) used as the access token -> 401 invalid_token."""
    response = http.get(f"{emulator.fhir_base()}/Patient", headers=bearer(mint()))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == INVALID.format("sandbox")


def test_api_with_unknown_token_is_invalid_token(
    emulator: RunningEmulator, http: httpx.Client
) -> None:
    """A token never issued -> 401 invalid_token."""
    response = http.get(f"{emulator.fhir_base()}/Patient/1", headers=bearer("not-issued-here"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == INVALID.format("sandbox")


def test_api_with_other_environment_token_is_invalid_token(
    emulator: RunningEmulator, http: httpx.Client, access_token: Any
) -> None:
    """A sandbox token used against production -> 401 invalid_token (realm production)."""
    token = access_token()
    response = http.get(f"{emulator.fhir_base('production')}/Patient", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == INVALID.format("production")


def test_api_with_expired_token_says_expired(
    emulator: RunningEmulator, http: httpx.Client, clock: Any, access_token: Any
) -> None:
    """A token used at or after its expiry -> 401 invalid_token 'The access token expired'."""
    token = access_token()
    clock.now += emulator.config.access_token_ttl_s
    response = http.get(f"{emulator.fhir_base()}/Patient", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer realm="sandbox", error="invalid_token", '
        'error_description="The access token expired"'
    )


def test_api_insufficient_scope_is_403(
    emulator: RunningEmulator, http: httpx.Client, clients: SimpleNamespace, access_token: Any
) -> None:
    """patient360 alone reads Patient but not Observation -> 403 insufficient_scope."""
    token = access_token(clients.narrow)
    assert http.get(f"{emulator.fhir_base()}/Patient/7", headers=bearer(token)).status_code == 200
    response = http.get(f"{emulator.fhir_base()}/Observation", headers=bearer(token))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer realm="sandbox", error="insufficient_scope", scope="user/Observation.read"'
    )


@pytest.mark.parametrize(
    ("scopes", "resource_type", "covered"),
    [
        (("user/*.*",), "Observation", True),
        (("user/*.read",), "Observation", True),
        (("patient/Observation.*",), "Observation", True),
        (("system/Observation.read",), "Observation", True),
        (("user/Patient.read",), "Observation", False),
        (("user/Observation.write",), "Observation", False),
        (("patient360",), "Patient", True),
        (("patient360",), "Observation", False),
        (("openid", "launch"), "Patient", False),
    ],
)
def test_scope_coverage(scopes: tuple[str, ...], resource_type: str, covered: bool) -> None:
    """Resource scopes cover their type (or all with *); patient360 covers Patient only."""
    assert scope_covers(scopes, resource_type) is covered


def test_api_read_and_search_shapes(
    emulator: RunningEmulator, http: httpx.Client, access_token: Any
) -> None:
    """A read returns the resource; a search returns a searchset Bundle (one entry for _id)."""
    headers = bearer(access_token())
    read = http.get(f"{emulator.fhir_base()}/Patient/abc-1", headers=headers)
    assert read.headers["content-type"] == "application/fhir+json"
    assert read.json() == {"resourceType": "Patient", "id": "abc-1"}
    empty = http.get(f"{emulator.fhir_base()}/Observation", headers=headers).json()
    assert (empty["resourceType"], empty["type"], empty["total"]) == ("Bundle", "searchset", 0)
    one = http.get(f"{emulator.fhir_base()}/Patient?_id=p9", headers=headers).json()
    assert one["total"] == 1 and one["entry"][0]["resource"] == {
        "resourceType": "Patient",
        "id": "p9",
    }


def test_api_only_get_and_known_paths(
    emulator: RunningEmulator, http: httpx.Client, access_token: Any
) -> None:
    """Non-GET -> 405 Allow: GET; unknown environment or bad type -> 404."""
    headers = bearer(access_token())
    post = http.post(f"{emulator.fhir_base()}/Patient", headers=headers, json={})
    assert (post.status_code, post.headers["allow"]) == (405, "GET")
    assert http.get(f"{emulator.base_url}/staging/fhir/R4/Patient").status_code == 404
    assert http.get(f"{emulator.fhir_base()}/patient", headers=headers).status_code == 404
    assert http.post(f"{emulator.base_url}/staging/oauth/token").status_code == 404


def test_rate_limit_in_production_only(
    emulator: RunningEmulator, http: httpx.Client, clock: Any, access_token: Any
) -> None:
    """Production: more than rate_limit calls per token per window -> 429; sandbox: never."""
    limit = emulator.config.rate_limit
    assert limit is not None
    prod = bearer(access_token(env="production"))
    url = f"{emulator.fhir_base('production')}/Patient"
    assert [http.get(url, headers=prod).status_code for _ in range(limit)] == [200] * limit
    throttled = http.get(url, headers=prod)
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "1"
    assert throttled.json() == {"error": "rate_limited"}
    clock.now += emulator.config.rate_limit_window_s
    assert http.get(url, headers=prod).status_code == 200
    sandbox = bearer(access_token())
    statuses = {
        http.get(f"{emulator.fhir_base()}/Patient", headers=sandbox).status_code
        for _ in range(limit * 2)
    }
    assert statuses == {200}


def test_no_secret_or_token_is_logged(
    emulator: RunningEmulator,
    http: httpx.Client,
    caplog: pytest.LogCaptureFixture,
    clients: SimpleNamespace,
    mint: Any,
    exchange: Any,
) -> None:
    """A full exchange and API call leave no secret, assertion or token in any log record."""
    caplog.set_level(logging.DEBUG)
    assertion = mint()
    token = exchange(assertion).json()["access_token"]
    http.get(f"{emulator.fhir_base()}/Patient", headers=bearer(token))
    exchange(assertion)
    for secret in (clients.main.client_secret, assertion, token):
        assert secret not in caplog.text


# --- command ----------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.com", ""])
def test_command_refuses_non_loopback_host(host: str) -> None:
    """--host must be a loopback address."""
    with pytest.raises(click.BadParameter):
        check_host(host)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.5", "127.0.0.5"),
        ("::1", "::1"),
        ("localhost", "127.0.0.1"),
    ],
)
def test_command_accepts_loopback_host(host: str, address: str) -> None:
    """Loopback literals bind as given; localhost binds 127.0.0.1."""
    assert check_host(host) == address


def test_emulate_exits_2_on_public_host() -> None:
    """`hgobs emulate --host 0.0.0.0` fails with a usage error before listening."""
    result = CliRunner().invoke(emulate, ["--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "loopback" in result.output


def test_emulate_reports_a_busy_port(emulator: RunningEmulator) -> None:
    """`hgobs emulate` on a port already listening fails with exit code 1, no traceback."""
    port = emulator.base_url.rsplit(":", 1)[1]
    result = CliRunner().invoke(emulate, ["--port", port])
    assert result.exit_code == 1
    assert "cannot listen" in result.output


def test_client_from_options_reads_secret_from_environment() -> None:
    """--client-secret-env takes the secret from that variable; it is then not 'generated'."""
    client, generated = client_from_options(
        "myclient", "HG_SECRET", ("patient360 user/*.read",), {"HG_SECRET": "s3cr3t" * 6}
    )
    assert (client.client_id, client.client_secret) == ("myclient", "s3cr3t" * 6)
    assert client.scopes == ("patient360", "user/*.read")
    assert generated is False
    with pytest.raises(click.UsageError):
        client_from_options("myclient", "HG_SECRET", (), {})


def test_client_from_options_generates_missing_values() -> None:
    """Without options: generated id and throwaway secret, default scopes, flagged generated."""
    client, generated = client_from_options(None, None, (), {})
    assert len(client.client_id) == 20 and generated is True
    assert client.scopes == ("patient360", "user/*.*")


def test_write_profile_and_banner(emulator: RunningEmulator, tmp_path: Path) -> None:
    """The written profile loads back; the banner shows a secret only when it was generated."""
    path = write_profile(tmp_path / "emulator.toml", emulator)
    assert load_profile(path).token_urls == emulator.profile.token_urls
    secret = emulator.client.client_secret
    shown = banner(emulator, path, secret_generated=True)
    assert secret in shown and "emulator-only" in shown and str(path) in shown
    hidden = banner(emulator, None, secret_generated=False)
    assert secret not in hidden and emulator.client.client_id in hidden
    assert "[environments.sandbox]" in hidden
    assert f"sandbox FHIR base:    {emulator.base_url}/sandbox/fhir/R4" in hidden.splitlines()[3]
    with pytest.raises(click.FileError):
        write_profile(tmp_path / "missing-dir" / "x.toml", emulator)
