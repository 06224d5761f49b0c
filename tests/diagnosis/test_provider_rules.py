"""The rules of the categories other providers show, one record at a time under real profiles."""

from __future__ import annotations

import pytest

from hgobs.diagnosis import CONFIRMED, LIKELY, POSSIBLE, diagnose
from hgobs.diagnosis import provider_rules as pr
from hgobs.diagnosis.rules import Context
from hgobs.profiles import load_profile

T = 1_764_000_000.0
EPIC_TOKEN = "https://fhir.epic.com/interconnect-fhir-oauth/oauth2/token"
ENTRA_TOKEN = "https://login.microsoftonline.com/{}/oauth2/v2.0/token"
ENTRA_GONE = "The certificate with identifier used to sign the client assertion is not registered on application"


TENANTED = {
    "name": "tenanted", "extends": "generic", "grants": ["client_credentials"],
    "limits": {"algorithms": ["RS256", "PS256"], "secret_auth": True},
    "header": {"typ": "JWT", "one_of": [["x5t", "x5t#S256"]]},
    "environments": {"global": {"token_urls": [ENTRA_TOKEN.replace("{}", "{tenant}")]}},
    "errors": [{"text": ENTRA_GONE, "error": "invalid_client", "category": "signing_key_not_found",
                "source": "https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes"}],
}
"""A profile shaped like Microsoft Entra ID's certificate credentials (a tenant in the token URL,
RS256/PS256, typ JWT, x5t or x5t#S256, secrets also accepted), written here so these tests
hold whichever built-in profiles exist."""


def ctx(name) -> Context:
    return Context(load_profile(name))


def exchange(url: str = EPIC_TOKEN, **facts) -> dict:
    return {"time": T, "endpoint.kind": "token_exchange", "http.method": "POST", "url": url,
            "http.status": 400, **facts}


def signed(url: str = EPIC_TOKEN, alg: str = "RS384", fields=("alg", "kid", "typ"), **facts) -> dict:
    return exchange(url, **{"assertion.source": "client_assertion", "assertion.alg": alg,
                            "assertion.typ": "JWT", "assertion.header_fields": sorted(fields),
                            "request.client_proof": "client_assertion", **facts})


def api(**facts) -> dict:
    return {"time": T, "endpoint.kind": "api_call", "http.method": "GET", "http.status": 401,
            "url": "https://fhir.epic.com/interconnect-fhir-oauth/api/FHIR/R4/Patient",
            "presented.kind": "opaque", "presented.scheme": "Bearer", **facts}


# --- secret_instead_of_assertion -----------------------------------------------------------

@pytest.mark.parametrize("proof", ["client_secret_basic", "client_secret_post", "password"])
def test_a_secret_where_epic_wants_a_signed_jwt(proof):
    """Epic authenticates backend apps only by a signed JWT: a secret kind and no assertion is
    confirmed by invalid_client, likely with another answer."""
    record = exchange(**{"request.client_proof": proof, "response.error": "invalid_client"})
    conf, ev = pr.secret_instead_of_assertion(record, ctx("epic"))
    assert conf == CONFIRMED and f"request.client_proof={proof}" in ev
    record["response.error"] = "server_error"
    assert pr.secret_instead_of_assertion(record, ctx("epic"))[0] == LIKELY


def test_no_secret_verdict_where_secrets_are_accepted_or_an_assertion_was_sent():
    """Entra takes client secrets; a request that carried an assertion is not this case."""
    record = exchange(ENTRA_TOKEN.format("contoso.onmicrosoft.com"), **{
        "request.client_proof": "client_secret_post", "response.error": "invalid_client"})
    assert pr.secret_instead_of_assertion(record, ctx(TENANTED)) is None
    assert pr.secret_instead_of_assertion(
        signed(**{"request.client_proof": "client_secret_basic", "response.error": "invalid_client"}),
        ctx("epic")) is None
    assert pr.secret_instead_of_assertion(
        exchange(**{"request.client_proof": "none", "response.error": "invalid_client"}),
        ctx("epic")) is None


@pytest.mark.parametrize("code, expected", [
    ("invalid_client", LIKELY), ("unauthorized_client", LIKELY), ("invalid_grant", None), ("", None)])
def test_under_the_generic_profile_a_secret_is_only_likely_and_only_on_a_client_error(code, expected):
    record = exchange("https://idp.example.org/token",
                      **{"request.client_proof": "client_secret_basic", "response.error": code})
    verdict = pr.secret_instead_of_assertion(record, ctx("generic"))
    assert (verdict[0] if verdict else None) == expected


# --- client_not_authorized ------------------------------------------------------------------

def test_unauthorized_client_is_the_server_refusing_the_grant():
    record = signed(**{"response.error": "unauthorized_client"})
    assert pr.client_not_authorized(record, ctx("epic")) == (
        CONFIRMED, ["response.error=unauthorized_client"])
    assert pr.client_not_authorized(signed(**{"response.error": "invalid_client"}), ctx("epic")) is None
    assert pr.client_not_authorized(api(**{"challenge.error": "unauthorized_client"}),
                                    ctx("epic")) is None


# --- algorithm_not_accepted -----------------------------------------------------------------

@pytest.mark.parametrize("profile, alg, expected", [
    ("epic", "HS256", CONFIRMED), ("epic", "RS384", None), ("epic", "ES384", None),
    ("generic", "none", CONFIRMED), ("google", "none", CONFIRMED), ("google", "RS256", None),
    ("smart", "RS256", CONFIRMED), ("smart", "ES384", None), ("healthgorilla", "RS256", None),
    (TENANTED, "ES256", CONFIRMED), (TENANTED, "PS256", None)])
def test_alg_against_the_profiles_accepted_algorithms(profile, alg, expected):
    record = signed(alg=alg, **{"response.error": "invalid_client"})
    verdict = pr.algorithm_not_accepted(record, ctx(profile))
    assert (verdict[0] if verdict else None) == expected
    if verdict:
        assert f"assertion.alg={alg}" in verdict[1]


def test_an_undecoded_assertion_or_a_bearer_jwt_has_no_algorithm_verdict():
    assert pr.algorithm_not_accepted(exchange(**{"assertion.source": "client_assertion",
                                                 "assertion.defect": "segments"}), ctx("epic")) is None
    assert pr.algorithm_not_accepted(api(**{"assertion.source": "bearer", "assertion.alg": "HS256"}),
                                     ctx("epic")) is None


# --- signing_key_not_found ------------------------------------------------------------------

def test_no_kid_where_smart_requires_one_is_likely():
    smart = "https://ehr.example.org/auth/token"
    record = signed(smart, fields=("alg", "typ"), **{"response.error": "invalid_client"})
    assert pr.signing_key_not_found(record, ctx("smart")) == (
        LIKELY, ["assertion.kid absent", "profile smart requires kid"])
    assert pr.signing_key_not_found(signed(smart, **{"response.error": "invalid_client"}),
                                    ctx("smart")) is None


def test_the_word_signature_alone_never_names_the_key_but_a_mapped_text_does():
    """A kid present and "invalid signature": not this category; Entra's text for a
    certificate not registered on the app confirms it."""
    url = ENTRA_TOKEN.format("contoso.onmicrosoft.com")
    record = signed(url, alg="RS256", fields=("alg", "kid", "typ", "x5t"), **{
        "response.error": "invalid_client", "response.error_description": "invalid signature"})
    assert pr.signing_key_not_found(record, ctx(TENANTED)) is None
    record["response.error_description"] = f"AADSTS700027: {ENTRA_GONE} 'app'."
    conf, ev = pr.signing_key_not_found(record, ctx(TENANTED))
    assert conf == CONFIRMED and "assertion.kid present" in ev


def test_healthgorilla_needs_no_kid():
    record = signed("https://sandbox.healthgorilla.com/oauth/token", alg="HS256",
                    fields=("alg", "typ"), **{"response.error": "invalid_grant"})
    assert pr.signing_key_not_found(record, ctx("healthgorilla")) is None
    assert pr.algorithm_not_accepted(record, ctx("healthgorilla")) is None
    assert pr.assertion_header_rejected(record, ctx("healthgorilla")) is None


# --- assertion_header_rejected --------------------------------------------------------------

@pytest.mark.parametrize("fields, typ, problems", [
    (("alg", "typ"), "JWT", ["header has none of x5t x5t#S256"]),
    (("alg", "typ", "x5t"), "JWT", []),
    (("alg", "typ", "x5t#S256"), "jwt", []),
    (("alg", "typ", "x5t"), "at+jwt", ["assertion.typ=at+jwt (wanted JWT)"]),
    (("alg", "x5t"), None, ["assertion.typ=- (wanted JWT)"]),
])
def test_entra_header_rules(fields, typ, problems):
    url = ENTRA_TOKEN.format("contoso.onmicrosoft.com")
    record = signed(url, alg="RS256", fields=fields, **{"response.error": "invalid_client"})
    if typ is None:
        del record["assertion.typ"]
    else:
        record["assertion.typ"] = typ
    verdict = pr.assertion_header_rejected(record, ctx(TENANTED))
    assert (verdict or (None, []))[1] == problems
    if problems:
        assert verdict[0] == CONFIRMED


# --- wrong_tenant ---------------------------------------------------------------------------

@pytest.mark.parametrize("aud, expected", [
    (ENTRA_TOKEN.format("fabrikam.onmicrosoft.com"), CONFIRMED),
    (ENTRA_TOKEN.format("CONTOSO.onmicrosoft.com"), None),
    ([ENTRA_TOKEN.format("fabrikam.onmicrosoft.com"), ENTRA_TOKEN.format("contoso.onmicrosoft.com")],
     None),
    ("https://graph.microsoft.com/", None),
])
def test_the_tenant_in_aud_against_the_tenant_called(aud, expected):
    url = ENTRA_TOKEN.format("contoso.onmicrosoft.com")
    record = signed(url, alg="RS256", fields=("alg", "typ", "x5t"),
                    **{"assertion.aud": aud, "response.error": "invalid_client"})
    verdict = pr.wrong_tenant(record, ctx(TENANTED))
    assert (verdict[0] if verdict else None) == expected
    if verdict:
        assert verdict[1] == ["assertion.aud_differs_in=tenant"]


def test_the_fact_made_before_redaction_decides_when_present():
    """Recorded tenant ids are redacted to ``{id}``; ``assertion.aud_differs_in`` (made by the
    record builder from the raw values) decides then."""
    url = "https://authorization.cerner.com/tenants/{id}/protocols/oauth2/profiles/{id}/token"
    record = signed(url, **{"assertion.aud": url, "response.error": "invalid_client"})
    assert pr.wrong_tenant(record, ctx("oracle")) is None
    record["assertion.aud_differs_in"] = ["tenant"]
    assert pr.wrong_tenant(record, ctx("oracle")) == (CONFIRMED, ["assertion.aud_differs_in=tenant"])
    record["assertion.aud_differs_in"] = []
    assert pr.wrong_tenant(record, ctx("oracle")) is None
    said = exchange(url, **{"response.error": "invalid_grant",
                            "response.error_description": "urn:cerner:error:authorization-server:"
                                                          "oauth2:token:invalid-tenant"})
    assert pr.wrong_tenant(said, ctx("oracle"))[0] == CONFIRMED


def test_wrong_tenant_is_first_before_the_audience_mismatch_it_causes():
    url = ENTRA_TOKEN.format("contoso.onmicrosoft.com")
    record = signed(url, alg="RS256", fields=("alg", "typ", "x5t"), **{
        "assertion.aud": ENTRA_TOKEN.format("fabrikam.onmicrosoft.com"),
        "response.error": "invalid_client", "http.status": 401})
    verdict = diagnose(record, load_profile(TENANTED))
    assert verdict.category == "wrong_tenant"


# --- media_type_refused ---------------------------------------------------------------------

def test_415_and_a_refused_charset():
    params = {"request.content_type": "application/x-www-form-urlencoded",
              "request.content_type_params": ["charset"]}
    conf, ev = pr.media_type_refused(exchange(**params, **{"http.status": 415}), ctx("epic"))
    assert conf == CONFIRMED and "request.content_type_params=charset" in ev
    said = exchange(**params, **{"response.error": "invalid_request",
                                 "response.error_description": "Charset parameter not allowed"})
    assert pr.media_type_refused(said, ctx("generic"))[0] == LIKELY
    plain = exchange(**params, **{"response.error": "invalid_grant"})
    assert pr.media_type_refused(plain, ctx("generic")) is None
    assert pr.media_type_refused(api(**{"http.status": 415}), ctx("epic"))[0] == CONFIRMED


# --- malformed_bearer_scheme ----------------------------------------------------------------

@pytest.mark.parametrize("defect, challenge_error, expected", [
    ("doubled", "invalid_token", CONFIRMED), ("no_space", None, CONFIRMED),
    ("quoted", "invalid_request", CONFIRMED), ("case", None, POSSIBLE),
    ("extra_space", "invalid_request", POSSIBLE), ("case", "invalid_token", None),
    ("extra_space", "insufficient_scope", None), (None, None, None)])
def test_bearer_form_defects_and_how_sure(defect, challenge_error, expected):
    """Unreadable forms are confirmed; forms RFC 9110 allows are possible, and not at all when
    the server read and judged the token."""
    record = api(**{"presented.scheme_defect": defect, "challenge.scheme": "Bearer",
                    "challenge.error": challenge_error})
    record = {k: v for k, v in record.items() if v is not None}
    verdict = pr.malformed_bearer_scheme(record, ctx("epic"))
    assert (verdict[0] if verdict else None) == expected


def test_a_bearer_without_its_space_is_named_before_the_missing_token_it_looks_like():
    record = api(**{"presented.scheme_defect": "no_space", "presented.kind": "non_bearer_scheme",
                    "url": "https://sandbox.healthgorilla.com/fhir/R4/Patient"})
    verdict = diagnose(record, load_profile("healthgorilla"))
    assert (verdict.category, verdict.also) == ("malformed_bearer_scheme", ("missing_access_token",))


# --- authorization_not_received -------------------------------------------------------------

def test_a_bare_bearer_challenge_to_a_well_formed_token_is_likely_a_stripped_header():
    """RFC 6750 section 3.1: no error code means the server saw no credentials."""
    record = api(**{"challenge.scheme": "Bearer", "challenge.realm": "fhir"})
    assert pr.authorization_not_received(record, ctx("epic"))[0] == LIKELY
    for extra in ({"challenge.error": "invalid_token"}, {"presented.scheme_defect": "case"},
                  {"presented.kind": "absent"}, {"challenge.scheme": "Basic"}, {"http.status": 403}):
        assert pr.authorization_not_received({**record, **extra}, ctx("epic")) is None
    assert pr.authorization_not_received(api(), ctx("epic")) is None  # no challenge: no telling


def test_a_cross_origin_redirect_that_dropped_the_header_is_confirmed():
    record = api(**{"redirect.count": 1, "redirect.status": 302, "redirect.cross_origin": True,
                    "presented.on_final_request": False, "challenge.scheme": "Bearer",
                    "challenge.error": "invalid_request"})
    conf, ev = pr.authorization_not_received(record, ctx("epic"))
    assert conf == CONFIRMED and ev[:2] == ["redirect.cross_origin=true",
                                             "presented.on_final_request=false"]
    record["presented.on_final_request"] = True
    assert pr.authorization_not_received(record, ctx("epic")) is None


def test_a_provider_text_naming_another_cause_comes_before_the_bare_unauthorized_client():
    """Entra-like: unauthorized_client with a text the profile maps to wrong_tenant gives
    wrong_tenant first, client_not_authorized after it (late in fix order)."""
    profile = dict(TENANTED, errors=[*TENANTED["errors"], {
        "text": "was not found in the directory", "category": "wrong_tenant",
        "source": "https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes"}])
    record = signed(ENTRA_TOKEN.format("fabrikam.onmicrosoft.com"), alg="RS256",
                    fields=("alg", "typ", "x5t"), **{
                        "response.error": "unauthorized_client",
                        "response.error_description": "AADSTS700016: Application with identifier "
                                                      "'x' was not found in the directory 'y'."})
    verdict = diagnose(record, load_profile(profile))
    assert (verdict.category, verdict.also) == ("wrong_tenant", ("client_not_authorized",))
