"""API-call scenarios: FHIR reads refused for what their ``Authorization`` header carries.

Same contract as ``hgobs.emulator.scenarios.exchange``: each function takes a
``ScenarioContext``, makes its requests through the instrumented client (a setup exchange, when
one is needed, is recorded as a successful attempt) and checks the emulator's answers.
"""

from __future__ import annotations

from hgobs.emulator.scenarios.kit import (
    ACCESS_TOKEN_TTL_S,
    MAIN,
    NARROW,
    RATE_LIMIT,
    ScenarioContext,
    ScenarioError,
    expect,
)


def environment_mismatch_access_token(ctx: ScenarioContext) -> None:
    """A sandbox access token used on the production API."""
    token = ctx.access_token(MAIN, "sandbox")
    ctx.tick()
    expect(ctx.read("production", "Patient/example", token=token), 401)


def assertion_as_access_token(ctx: ScenarioContext) -> None:
    """The assertion itself sent as the Bearer token of a FHIR read."""
    expect(ctx.read("sandbox", "Patient/example", token=ctx.mint()), 401)


def missing_access_token_absent(ctx: ScenarioContext) -> None:
    """A FHIR read with no Authorization header."""
    expect(ctx.read("sandbox", "Patient/example"), 401)


def missing_access_token_placeholder(ctx: ScenarioContext) -> None:
    """A FHIR read with 'Authorization: Bearer undefined' (an unset JavaScript variable)."""
    expect(ctx.read("sandbox", "Patient/example", token="undefined"), 401)


def missing_access_token_basic(ctx: ScenarioContext) -> None:
    """A FHIR read authenticated with HTTP Basic client id and secret instead of a token."""
    expect(ctx.read("sandbox", "Patient/example", authorization="Basic dXNlcjpwYXNz"), 401)


def access_token_expired(ctx: ScenarioContext) -> None:
    """A read that works, then the same token used again a minute after it expired."""
    token = ctx.access_token(MAIN, "sandbox")
    ctx.tick()
    expect(ctx.read("sandbox", "Patient/example", token=token), 200)
    ctx.tick(ACCESS_TOKEN_TTL_S + 60)
    expect(ctx.read("sandbox", "Patient/example", token=token), 401)


def insufficient_scope(ctx: ScenarioContext) -> None:
    """A client registered with patient360 only reads a DocumentReference."""
    token = ctx.access_token(NARROW, "sandbox")
    ctx.tick()
    response = ctx.read("sandbox", "DocumentReference/example", token=token, registration=NARROW)
    expect(response, 403)


def rate_limited(ctx: ScenarioContext) -> None:
    """A burst of production reads with one token, one more than the limit in one instant."""
    token = ctx.access_token(MAIN, "production")
    ctx.tick()
    for _ in range(RATE_LIMIT):
        expect(ctx.read("production", "Patient/example", token=token), 200)
    response = expect(ctx.read("production", "Patient/example", token=token), 429)
    if "retry-after" not in response.headers:
        raise ScenarioError("a 429 without Retry-After")


def unclassified_unknown_access_token(ctx: ScenarioContext) -> None:
    """An opaque token this process never obtained (another process's, or a stale copy)."""
    token = f"{ctx.rng.getrandbits(256):064x}"
    expect(ctx.read("sandbox", "Patient/example", token=token), 401)
