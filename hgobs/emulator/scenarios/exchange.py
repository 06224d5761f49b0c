"""Token-endpoint scenarios: one function per way a token exchange succeeds or fails.

Each function takes a ``ScenarioContext`` at the start of its time slot, sends its requests
through the instrumented client and checks that the emulator answered as the scenario intends
(``ScenarioError`` otherwise); what hgobs makes of the attempt is judged elsewhere. The first
docstring line of each function says what the scenario sends.
"""

from __future__ import annotations

import math

from hgobs.emulator.rules import CLIENT_ASSERTION_TYPE, CLIENT_CREDENTIALS_GRANT, JWT_BEARER_GRANT
from hgobs.emulator.scenarios.kit import (
    MAIN,
    SANDBOX_ONLY,
    WRONG_SECRET,
    ScenarioContext,
    expect,
)

ONE_YEAR_S = 365 * 24 * 3600
LINE_WRAP = 76
"""Column at which MIME-style base64 encoders break lines."""
MAX_BODY_PADDING = 70_000
"""Bytes of padding that push a token request over the emulator's 64 KiB body limit."""


# --- success ---------------------------------------------------------------------------------

def success_sandbox(ctx: ScenarioContext) -> None:
    """jwt-bearer exchange in the sandbox, then a FHIR read with the access token."""
    token = ctx.access_token(MAIN, "sandbox")
    ctx.tick()
    expect(ctx.read("sandbox", "Patient/example", token=token), 200)


def success_production(ctx: ScenarioContext) -> None:
    """jwt-bearer exchange in production, then a FHIR read with the access token."""
    token = ctx.access_token(MAIN, "production")
    ctx.tick()
    expect(ctx.read("production", "Patient/example", token=token), 200)


def success_client_credentials(ctx: ScenarioContext) -> None:
    """client_credentials with a JWT client assertion (RFC 7523 section 2.2) in the sandbox."""
    expect(ctx.client_credentials(ctx.mint()), 200)


# --- request shape ---------------------------------------------------------------------------

def redirect_dropped_body(ctx: ScenarioContext) -> None:
    """POST to the token URL plus '/', following the 301: the POST becomes a bodiless GET."""
    url = ctx.emulator.token_url("sandbox") + "/"
    data = {"grant_type": JWT_BEARER_GRANT, "assertion": ctx.mint()}
    expect(ctx.post_token(url=url, data=data, follow_redirects=True), 400,
           "unsupported_grant_type")


def redirect_not_followed(ctx: ScenarioContext) -> None:
    """POST to the token URL plus '/' with httpx's default (no redirects): a bare 301."""
    url = ctx.emulator.token_url("sandbox") + "/"
    data = {"grant_type": JWT_BEARER_GRANT, "assertion": ctx.mint()}
    expect(ctx.post_token(url=url, data=data), 301)


def token_request_as_get(ctx: ScenarioContext) -> None:
    """The token request sent as a GET with the parameters in the query string."""
    params = {"grant_type": JWT_BEARER_GRANT, "assertion": ctx.mint()}
    response = ctx.http.get(ctx.emulator.token_url("sandbox"), params=params)
    expect(response, 400, "unsupported_grant_type")


def wrong_body_encoding(ctx: ScenarioContext) -> None:
    """The token request parameters sent as a JSON body."""
    body = {"grant_type": JWT_BEARER_GRANT, "assertion": ctx.mint()}
    expect(ctx.post_token(json=body), 400, "unsupported_grant_type")


def grant_type_assertion_with_client_credentials(ctx: ScenarioContext) -> None:
    """grant_type=client_credentials with the jwt-bearer 'assertion' parameter."""
    data = {"grant_type": CLIENT_CREDENTIALS_GRANT, "assertion": ctx.mint()}
    expect(ctx.post_token(data=data), 400, "invalid_request")


def grant_type_client_assertion_without_type(ctx: ScenarioContext) -> None:
    """grant_type=client_credentials with client_assertion but no client_assertion_type."""
    data = {"grant_type": CLIENT_CREDENTIALS_GRANT, "client_assertion": ctx.mint()}
    expect(ctx.post_token(data=data), 400, "invalid_request")


def grant_type_client_assertion_with_jwt_bearer(ctx: ScenarioContext) -> None:
    """The jwt-bearer grant carrying client_assertion_type and client_assertion."""
    data = {
        "grant_type": JWT_BEARER_GRANT,
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": ctx.mint(),
    }
    expect(ctx.post_token(data=data), 400, "invalid_request")


def grant_type_wrong_assertion_type(ctx: ScenarioContext) -> None:
    """client_credentials whose client_assertion_type is the jwt-bearer grant URN."""
    data = {
        "grant_type": CLIENT_CREDENTIALS_GRANT,
        "client_assertion_type": JWT_BEARER_GRANT,
        "client_assertion": ctx.mint(),
    }
    expect(ctx.post_token(data=data), 400, "invalid_request")


def grant_type_unknown(ctx: ScenarioContext) -> None:
    """grant_type set to the client-assertion type URN (not a grant type)."""
    data = {"grant_type": CLIENT_ASSERTION_TYPE, "assertion": ctx.mint()}
    expect(ctx.post_token(data=data), 400, "unsupported_grant_type")


def grant_type_missing(ctx: ScenarioContext) -> None:
    """A form with the assertion but no grant_type."""
    expect(ctx.post_token(data={"assertion": ctx.mint()}), 400, "unsupported_grant_type")


# --- the assertion as a JWS ------------------------------------------------------------------

def malformed_assertion_truncated(ctx: ScenarioContext) -> None:
    """The assertion cut in half (a copy and paste that stopped short): two segments left."""
    assertion = ctx.mint()
    expect(ctx.exchange(assertion[: len(assertion) // 2]), 400)


def malformed_assertion_line_break(ctx: ScenarioContext) -> None:
    """The assertion wrapped at 76 columns by a base64 encoder: a newline inside it."""
    assertion = ctx.mint()
    expect(ctx.exchange(assertion[:LINE_WRAP] + "\n" + assertion[LINE_WRAP:]), 400)


def malformed_assertion_non_finite_exp(ctx: ScenarioContext) -> None:
    """exp = float('inf') ('never expires'): Python writes Infinity, which is not JSON."""
    expect(ctx.exchange(ctx.mint(exp=math.inf)), 400)


def invalid_signature_wrong_secret(ctx: ScenarioContext) -> None:
    """The assertion signed with a secret that is not the client's."""
    expect(ctx.exchange(ctx.mint(secret=WRONG_SECRET)), 400, "invalid_grant")


def invalid_signature_hs512(ctx: ScenarioContext) -> None:
    """The assertion signed with the right secret but HS512 (the provider takes HS256)."""
    expect(ctx.exchange(ctx.mint(algorithm="HS512")), 400, "invalid_grant")


# --- claims ----------------------------------------------------------------------------------

def timestamp_in_milliseconds(ctx: ScenarioContext) -> None:
    """iat and exp written in milliseconds (JavaScript Date.now())."""
    claims = ctx.claims()
    assertion = ctx.mint(iat=claims["iat"] * 1000, exp=claims["exp"] * 1000)
    expect(ctx.exchange(assertion), 400, "invalid_grant")


def missing_claim_exp(ctx: ScenarioContext) -> None:
    """An assertion without exp."""
    expect(ctx.exchange(ctx.mint(exp=None)), 400, "invalid_grant")


def missing_claim_iat(ctx: ScenarioContext) -> None:
    """An assertion without iat (the provider requires it)."""
    expect(ctx.exchange(ctx.mint(iat=None)), 400, "invalid_grant")


def environment_mismatch_aud(ctx: ScenarioContext) -> None:
    """An assertion for the sandbox token URL sent to the production token URL."""
    expect(ctx.exchange(ctx.mint(MAIN, "sandbox"), "production"), 400, "invalid_grant")


def environment_mismatch_registration(ctx: ScenarioContext) -> None:
    """A sandbox-only client that works in the sandbox, then exchanges in production."""
    ctx.access_token(SANDBOX_ONLY, "sandbox")
    ctx.tick()
    assertion = ctx.mint(SANDBOX_ONLY, "production")
    response = ctx.exchange(assertion, "production", registration=SANDBOX_ONLY)
    expect(response, 400, "invalid_client")


def audience_mismatch_trailing_slash(ctx: ScenarioContext) -> None:
    """aud is the sandbox token URL plus '/'; the request goes to the exact token URL."""
    aud = ctx.emulator.token_url("sandbox") + "/"
    expect(ctx.exchange(ctx.mint(aud=aud)), 400, "invalid_grant")


def audience_mismatch_bare_host(ctx: ScenarioContext) -> None:
    """aud is the bare server URL (scheme, host and port, no path)."""
    expect(ctx.exchange(ctx.mint(aud=ctx.emulator.base_url)), 400, "invalid_grant")


def audience_mismatch_array(ctx: ScenarioContext) -> None:
    """aud is a one-element array holding the right token URL (the provider wants a string)."""
    aud = [ctx.emulator.token_url("sandbox")]
    expect(ctx.exchange(ctx.mint(aud=aud)), 400, "invalid_grant")


def audience_mismatch_production(ctx: ScenarioContext) -> None:
    """In production, aud is the production token URL plus '/'."""
    aud = ctx.emulator.token_url("production") + "/"
    expect(ctx.exchange(ctx.mint(MAIN, "production", aud=aud), "production"), 400,
           "invalid_grant")


def invalid_client_id_email_sub(ctx: ScenarioContext) -> None:
    """sub is the developer's email address instead of the client id."""
    expect(ctx.exchange(ctx.mint(sub="developer@example.com")), 400, "invalid_client")


def invalid_client_id_unknown(ctx: ScenarioContext) -> None:
    """iss and sub are a client id the provider does not know (one character off)."""
    typo = MAIN.client_id[:-1] + ("0" if MAIN.client_id[-1] != "0" else "1")
    expect(ctx.exchange(ctx.mint(iss=typo, sub=typo)), 400, "invalid_client")


def assertion_lifetime_too_long(ctx: ScenarioContext) -> None:
    """An assertion valid for one year."""
    now = int(ctx.client_clock())
    expect(ctx.exchange(ctx.mint(exp=now + ONE_YEAR_S)), 400, "invalid_grant")


def expired_assertion(ctx: ScenarioContext) -> None:
    """An assertion minted, then sent ten minutes later by the same clock."""
    assertion = ctx.mint()
    ctx.tick(600)
    expect(ctx.exchange(assertion), 400, "invalid_grant")


def clock_skew(ctx: ScenarioContext) -> None:
    """The client clock 15 minutes behind the server's; the assertion is minted from it."""
    ctx.client_clock.set(ctx.server_clock() - 900)
    expect(ctx.exchange(ctx.mint()), 400, "invalid_grant")


def assertion_reuse(ctx: ScenarioContext) -> None:
    """One assertion exchanged twice, five seconds apart."""
    assertion = ctx.mint()
    expect(ctx.exchange(assertion), 200)
    ctx.tick(5)
    expect(ctx.exchange(assertion), 400, "invalid_grant")


def invalid_scope(ctx: ScenarioContext) -> None:
    """A scope the client is not registered for (system/*.read)."""
    response = ctx.exchange(ctx.mint(), scope="patient360 system/*.read")
    expect(response, 400, "invalid_scope")


# --- failures outside the catalog ------------------------------------------------------------

def unclassified_body_too_large(ctx: ScenarioContext) -> None:
    """A token request body over the provider's 64 KiB limit."""
    data = {"grant_type": JWT_BEARER_GRANT, "assertion": ctx.mint(),
            "state": "x" * MAX_BODY_PADDING}
    expect(ctx.post_token(data=data), 413, "invalid_request")


def unclassified_repeated_parameter(ctx: ScenarioContext) -> None:
    """The scope parameter sent twice (a list value in the form data)."""
    data = {"grant_type": JWT_BEARER_GRANT, "assertion": ctx.mint(),
            "scope": ["patient360", "user/*.*"]}
    expect(ctx.post_token(data=data), 400, "invalid_request")


def unclassified_misnamed_assertion(ctx: ScenarioContext) -> None:
    """The jwt-bearer grant with the assertion in a parameter named 'jwt'."""
    data = {"grant_type": JWT_BEARER_GRANT, "jwt": ctx.mint()}
    expect(ctx.post_token(data=data), 400, "invalid_request")


def unclassified_exp_as_string(ctx: ScenarioContext) -> None:
    """exp written as a string of digits instead of a number."""
    now = int(ctx.client_clock())
    expect(ctx.exchange(ctx.mint(exp=str(now + 300))), 400, "invalid_grant")


def assertion_not_yet_valid(ctx: ScenarioContext) -> None:
    """iat set to the expiry time by mistake (ten minutes ahead by the client's own clock)."""
    now = int(ctx.client_clock())
    expect(ctx.exchange(ctx.mint(iat=now + 600, exp=now + 900)), 400, "invalid_grant")
