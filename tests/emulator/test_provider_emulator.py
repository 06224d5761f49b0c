"""The emulator with a provider profile, without capture: routes, tenants, answers, secrets, keys.

Each test runs an emulator for one built-in profile on 127.0.0.1 and checks what the provider's
documentation or reported answers say it does: token URLs shaped like the provider's, an
unknown tenant or realm refused the provider's way, error texts in the provider's own case and
status, a client secret accepted or refused by the profile's ``secret_auth``, a user ``sub``
for Salesforce, Google's fixed ``aud``, keys made for the profile's algorithms.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import click
import httpx
import jwt
import pytest

from hgobs.emulator import EmulatorConfig, serve
from hgobs.emulator.command import banner, client_from_options, provider_config
from hgobs.emulator.keys import EmulatorKeys
from hgobs.emulator.provider import (
    loopback_profile,
    original_texts,
    provider_answers,
    token_routes,
)
from hgobs.emulator.server import RunningEmulator
from hgobs.emulator.tokenrules import ErrorAnswer
from hgobs.profiles import load_profile

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


def _running(name: str, **options: Any) -> Any:
    return serve(EmulatorConfig(profile=load_profile(name), **options))


def _assertion(running: RunningEmulator, token_url: str, alg: str | None = None,
               **over: Any) -> str:
    keys = running.config.keys
    assert keys is not None
    kid = next(iter(keys.keys))
    now = int(time.time())
    claims = {"iss": running.client.client_id, "sub": running.client.client_id,
              "aud": running.audiences(token_url)[0], "iat": now, "exp": now + 120,
              "jti": uuid.uuid4().hex, **over}
    head = {"kid": kid}
    profile = running.config.profile
    if profile is not None and profile.header_typ:
        head["typ"] = profile.header_typ
    if profile is not None:
        for group in profile.header_one_of:
            head[group[0]] = "c29tZS10aHVtYnByaW50"
    return jwt.encode({k: v for k, v in claims.items() if v is not None},
                      keys.private_key(kid), algorithm=alg or keys.alg(kid), headers=head)


def _client_credentials(http: httpx.Client, url: str, assertion: str) -> httpx.Response:
    return http.post(url, data={"grant_type": "client_credentials",
                                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                                "client_assertion": assertion})


def test_token_urls_have_the_providers_paths_under_each_environment() -> None:
    """Entra ID's tenant path, Keycloak's realm path, Okta's authorization-server path and
    Epic's per-organisation path are served under /{env}, placeholders filled."""
    expected = {
        "entra": ("global", "/{tenant}/oauth2/v2.0/token"),
        "keycloak": ("current", "/realms/emulator/protocol/openid-connect/token"),
        "okta": ("production", "/oauth2/v1/token"),
        "epic": ("sandbox", "/interconnect-fhir-oauth/oauth2/token"),
        "smart": ("reference", "/auth/token"),
    }
    for name, (env, path) in expected.items():
        with _running(name) as running:
            tenant = running.config.placeholders.get("tenant", "")
            assert running.token_url() == (
                f"{running.base_url}/{env}{path.replace('{tenant}', tenant)}")
            assert running.environments[0] == env
    with _running("epic") as running:
        assert running.token_urls("production") == (
            f"{running.base_url}/production/emulator/oauth2/token",)


def test_unknown_paths_and_environments_answer_404(http: httpx.Client) -> None:
    """A path that fits no token URL of the environment, and an environment the profile does
    not have, answer 404 without reading the request."""
    with _running("keycloak") as running:
        for path in ("/current/oauth/token", "/sandbox/realms/emulator/protocol/openid-connect/token",
                     "/current/realms/emulator/protocol/openid-connect/userinfo"):
            assert http.post(running.base_url + path, data={"grant_type": "x"}).status_code == 404


@pytest.mark.parametrize(("name", "status", "body"), [
    ("keycloak", 404, {"error": "Realm does not exist"}),
    ("entra", 400, {"error": "invalid_request", "error_description":
                    "AADSTS90002: Tenant not found. Check the tenant ID and the cloud you sign "
                    "in to."}),
    ("oracle", 400, {"error": "invalid_grant", "error_uri":
                     "https://authorization.cerner.com/errors/urn%3Acerner%3Aerror%3A"
                     "authorization-server%3Aoauth2%3Atoken%3Ainvalid-tenant/instances/"
                     "00000000-0000-4000-8000-000000000000"}),
])
def test_an_unknown_tenant_or_realm_is_refused_as_the_provider_does(
        http: httpx.Client, name: str, status: int, body: dict[str, str]) -> None:
    """Another tenant id or realm name in the token URL gets the provider's wrong-tenant
    answer (Keycloak's 404, Entra ID's AADSTS90002, Oracle Health's invalid-tenant error_uri);
    the registered one gets a token. The realm compares case-sensitively, the tenant not."""
    with _running(name) as running:
        url = running.token_url(running.environments[-1])
        good = _client_credentials(http, url, _assertion(running, url))
        assert good.status_code == 200, good.text
        values = running.config.placeholders
        other = url.replace("/realms/emulator/", "/realms/Emulator/") if name == "keycloak" \
            else url.replace(values["tenant"], str(uuid.uuid4()))
        assert other != url
        refused = _client_credentials(http, other, _assertion(running, other))
        assert (refused.status_code, refused.json()) == (status, body)
        if name != "keycloak":
            upper = url.replace(values["tenant"], values["tenant"].upper())
            assert _client_credentials(http, upper, _assertion(running, upper)).status_code == 200


def test_answers_keep_the_providers_case_status_and_codes() -> None:
    """Okta's texts come back in Okta's case with 401 for invalid_client; Keycloak's
    'Token was issued in the future' answers an iat ahead of the clock; Epic answers a client
    secret with a bare invalid_client; a category the profile has no words for keeps the
    emulator's generic answer with the provider's invalid_client status."""
    okta = provider_answers(load_profile("okta"), original_texts("okta"))
    assert okta["signing_key_not_found"] == ErrorAnswer(
        401, "invalid_client", "The client_assertion JWT kid is invalid")
    assert okta["assertion_header_rejected"].status == 401
    keycloak = provider_answers(load_profile("keycloak"), original_texts("keycloak"))
    assert keycloak["assertion_not_yet_valid"] == ErrorAnswer(
        400, "invalid_client", "Token was issued in the future")
    assert keycloak["wrong_tenant"] == ErrorAnswer(404, "Realm does not exist", "")
    assert provider_answers(load_profile("epic"))["secret_instead_of_assertion"] == ErrorAnswer(
        400, "invalid_client")
    assert original_texts("no-such-profile.toml") == {}


def test_a_client_secret_is_refused_or_accepted_by_the_profile(http: httpx.Client) -> None:
    """SMART (secret_auth false) refuses HTTP Basic with a secret as the reference server does
    (401 invalid_client); Okta (secret_auth true) grants the registered secret, sent Basic or
    in the body, and refuses a wrong one as an unknown client."""
    with _running("smart") as running:
        client = running.client
        response = http.post(running.token_url(), data={"grant_type": "client_credentials"},
                             auth=(client.client_id, client.client_secret))
        assert (response.status_code, response.json()) == (401, {"error": "invalid_client"})
    with _running("okta") as running:
        client = running.client
        url = running.token_url()
        basic = http.post(url, data={"grant_type": "client_credentials"},
                          auth=(client.client_id, client.client_secret))
        assert basic.status_code == 200, basic.text
        post = http.post(url, data={"grant_type": "client_credentials",
                                    "client_id": client.client_id,
                                    "client_secret": client.client_secret})
        assert post.status_code == 200, post.text
        wrong = http.post(url, data={"grant_type": "client_credentials"},
                          auth=(client.client_id, "not-the-secret"))
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "invalid_client"
        assert "not-the-secret" not in wrong.text


def test_salesforce_and_google_take_their_own_claims(http: httpx.Client) -> None:
    """Salesforce's jwt-bearer assertion names a user in sub and its login host in aud;
    Google's iss is the service account's e-mail-shaped id and aud its fixed token URL; each
    is signed RS256 with the key made for that profile; a client id in sub of a client
    assertion is still required."""
    with _running("salesforce") as running:
        url = running.token_url()
        assert running.audiences(url)[0] == "https://login.salesforce.com"
        assertion = _assertion(running, url, sub="integration-user")
        ok = http.post(url, data={"grant_type": JWT_BEARER, "assertion": assertion})
        assert ok.status_code == 200, ok.text
        as_client = _client_credentials(http, url, _assertion(running, url, sub="someone"))
        assert as_client.status_code == 400
    with _running("google") as running:
        keys = running.config.keys
        assert keys is not None and [keys.alg(k) for k in keys.keys] == ["RS256"]
        assert running.client.client_id.endswith(".iam.gserviceaccount.com")
        url = running.token_url()
        assert running.audiences(url) == ("https://oauth2.googleapis.com/token",)
        ok = http.post(url, data={"grant_type": JWT_BEARER,
                                  "assertion": _assertion(running, url)})
        assert ok.status_code == 200, ok.text
        bad = http.post(url, data={"grant_type": JWT_BEARER,
                                   "assertion": _assertion(running, url, aud=url)})
        assert bad.status_code == 400


def test_epic_typ_is_checked_only_when_sent(http: httpx.Client) -> None:
    """Epic wants typ JWT if it is sent: no typ is accepted, another value refused."""
    with _running("epic") as running:
        keys = running.config.keys
        assert keys is not None
        kid = next(iter(keys.keys))
        url = running.token_url()
        now = int(time.time())
        claims = {"iss": running.client.client_id, "sub": running.client.client_id,
                  "aud": url, "exp": now + 120}
        for typ, status in ((None, 200), ("JWT", 200), ("at+jwt", 400)):
            head = {"kid": kid, **({"typ": typ} if typ else {})}
            token = jwt.encode({**claims, "jti": uuid.uuid4().hex}, keys.private_key(kid),
                               algorithm=keys.alg(kid), headers={"typ": None, **head})
            assert _client_credentials(http, url, token).status_code == status


def test_keys_follow_the_profiles_algorithms() -> None:
    """RS384/ES384 when accepted (the default pair), else the first accepted RSA and EC
    algorithms; no EC key when none is accepted."""
    assert list(EmulatorKeys.generate_for(()).keys) == ["emulator-rs384", "emulator-es384"]
    auth0 = EmulatorKeys.generate_for(("RS256", "RS384", "PS256"))
    assert [auth0.alg(k) for k in auth0.keys] == ["RS384"]
    entra = EmulatorKeys.generate_for(("RS256", "PS256"))
    assert list(entra.keys) == ["emulator-rs256"]
    es256 = EmulatorKeys.generate_for(("PS256", "ES256"))
    assert [es256.alg(k) for k in es256.keys] == ["PS256", "ES256"]


def test_the_loopback_profile_matches_the_emulators_urls() -> None:
    """The provider profile moved to the emulator classifies its token URLs (with captures)
    and computes Keycloak's issuer-shaped aud values on loopback."""
    profile = load_profile("keycloak")
    moved = loopback_profile(profile, "http://127.0.0.1:9")
    url = "http://127.0.0.1:9/current/realms/acme/protocol/openid-connect/token"
    assert moved.match(url) == ("token_exchange", "current")
    assert moved.captures(url) == {"realm": "acme"}
    assert "http://127.0.0.1:9/realms/acme" in moved.audiences(url)
    assert {r.environment for r in token_routes(profile)} == {"current", "legacy"}


def test_emulate_command_pieces_for_a_profile(tmp_path: Any) -> None:
    """--profile healthgorilla is the default emulator; an unknown profile is a usage error;
    the banner of a provider emulator names its tenant, keys and aud, never a secret taken
    from the environment."""
    client, generated = client_from_options(None, "SECRET_VAR", (),
                                            environ={"SECRET_VAR": "from-the-environment-0123"},
                                            profile=load_profile("entra"))
    assert generated is False
    assert provider_config("healthgorilla", client).profile is None
    with pytest.raises(click.BadParameter):
        provider_config(str(tmp_path / "missing.toml"), client)
    config = provider_config("entra", client)
    with serve(config) as running:
        text = banner(running, tmp_path / "p.toml", generated)
    tenant = config.placeholders["tenant"]
    assert f"registered {{tenant}}: {tenant}" in text
    assert "signing keys (kid, alg): emulator-rs256 RS256" in text
    assert f"aud accepted: {running.base_url}/global/{tenant}/oauth2/v2.0/token" in text
    assert "from-the-environment-0123" not in text


def test_emulate_refuses_an_unknown_profile_before_listening() -> None:
    """hgobs emulate --profile with a name that is neither built in nor a file exits 2 and
    names the option."""
    from click.testing import CliRunner

    from hgobs.cli import cli

    result = CliRunner().invoke(cli, ["emulate", "--port", "0", "--profile", "no-such-provider"])
    assert result.exit_code == 2
    assert "--profile" in result.output
