"""The scenario kit: fixed registrations, settable clocks and the request helpers scenarios use.

Everything a scenario needs lives on one ``ScenarioContext``: the running emulator, one
instrumented ``httpx.Client`` per registered client (all writing to the same JSON Lines file),
the client clock (what hgobs and the assertion minting read) and the server clock (what the
emulator reads), and a seeded random source for ``jti`` values. Times are Unix seconds.

The registrations and secrets below are emulator-only values, fixed so that the samples are
reproducible; they are not credentials of any real service. Each secret is at least 64 bytes,
so that signing with HS512 (one scenario does) draws no key-length warning from PyJWT.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from hgobs.emulator.config import ClientRegistration, EmulatorConfig
from hgobs.emulator.rules import CLIENT_ASSERTION_TYPE, CLIENT_CREDENTIALS_GRANT, JWT_BEARER_GRANT
from hgobs.emulator.server import RunningEmulator

BASE_TIME = 1_764_000_000
"""Server time (Unix seconds, 2025-11-24T16:00:00Z) at which the first scenario starts."""
SCENARIO_SPACING_S = 7200
"""Seconds between the start times of consecutive scenarios (longer than any scenario runs)."""
ASSERTION_LIFETIME_S = 300
"""``exp - iat`` of a well-made assertion, seconds (the provider's helper uses five minutes)."""
ACCESS_TOKEN_TTL_S = 3600
"""Lifetime of an access token the emulator issues (``expires_in``), seconds."""
RATE_LIMIT = 5
"""Production API calls allowed per access token in one window."""
RATE_LIMIT_WINDOW_S = 1.0
"""Length of the sliding rate-limit window, seconds."""
HTTP_TIMEOUT_S = 10.0
"""Timeout of every scenario request, seconds."""

MAIN = ClientRegistration(
    "5f2a9c0e7b3d4a1e8c6f",
    "emulator-only-secret-of-the-main-client-0123456789abcdef0123456789",
    ("patient360", "user/*.*"),
)
"""The service's own client: registered in both environments with the documented scopes."""
NARROW = ClientRegistration(
    "7c1e4b8a2d9f0e3c5a6b",
    "emulator-only-secret-of-the-narrow-client-0123456789abcdef01234567",
    ("patient360",),
)
"""A second service, registered with ``patient360`` only (it covers the Patient type only)."""
SANDBOX_ONLY = ClientRegistration(
    "3b8d6f1a9e2c7d0b4f5e",
    "emulator-only-secret-of-the-sandbox-client-0123456789abcdef0123456",
    ("patient360", "user/*.*"),
    environments=("sandbox",),
)
"""A third service, registered in the sandbox only."""
REGISTRATIONS: tuple[ClientRegistration, ...] = (MAIN, NARROW, SANDBOX_ONLY)
WRONG_SECRET = "emulator-only-value-that-is-not-any-registered-secret-0123456789abc"
"""A signing key no client is registered with (for the bad-signature scenario)."""


class ScenarioError(RuntimeError):
    """The emulator did not answer as a scenario step assumes (the scenario is broken)."""


class SettableClock:
    """A clock returning ``now`` (Unix seconds) until it is set or advanced.

    Calling it is safe from another thread (the emulator reads it from its server thread).
    """

    def __init__(self, now: float) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def set(self, now: float) -> None:
        """Jump to ``now`` (Unix seconds)."""
        self.now = float(now)

    def advance(self, seconds: float) -> None:
        """Move forward by ``seconds``."""
        self.now += seconds


def emulator_config(clock: SettableClock) -> EmulatorConfig:
    """The emulator configuration of every scenario run, reading time from ``clock``."""
    return EmulatorConfig(
        clients=REGISTRATIONS,
        access_token_ttl_s=ACCESS_TOKEN_TTL_S,
        clock=clock,
        rate_limit=RATE_LIMIT,
        rate_limit_window_s=RATE_LIMIT_WINDOW_S,
    )


def expect(response: httpx.Response, status: int, error: str | None = None) -> httpx.Response:
    """Return ``response`` if it has ``status`` (and OAuth ``error``), else raise ScenarioError."""
    got_error: Any = None
    if error is not None:
        try:
            got_error = response.json().get("error")
        except ValueError:
            got_error = None
    if response.status_code != status or got_error != error:
        raise ScenarioError(
            f"{response.request.method} {response.request.url.path}: expected {status} "
            f"{error or ''}, got {response.status_code} {got_error or ''}".rstrip()
        )
    return response


@dataclass
class ScenarioContext:
    """What a scenario runs with (see the module docstring).

    ``clients`` maps each registered client id to its instrumented ``httpx.Client``; ``http``
    is the one of ``MAIN``, the service the samples mostly describe.
    """

    emulator: RunningEmulator
    clients: Mapping[str, httpx.Client]
    client_clock: SettableClock
    server_clock: SettableClock
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    @property
    def http(self) -> httpx.Client:
        """The instrumented client of ``MAIN``."""
        return self.clients[MAIN.client_id]

    def http_for(self, registration: ClientRegistration) -> httpx.Client:
        """The instrumented client configured with ``registration``'s client id."""
        return self.clients[registration.client_id]

    def start(self, when: float) -> None:
        """Set both clocks to ``when`` (Unix seconds): the start of a scenario."""
        self.client_clock.set(when)
        self.server_clock.set(when)

    def tick(self, seconds: float = 1.0) -> None:
        """Let ``seconds`` pass on both clocks."""
        self.client_clock.advance(seconds)
        self.server_clock.advance(seconds)

    def jti(self) -> str:
        """A fresh ``jti``: 32 hex characters from the seeded random source."""
        return f"{self.rng.getrandbits(128):032x}"

    def claims(
        self, registration: ClientRegistration = MAIN, env: str = "sandbox"
    ) -> dict[str, Any]:
        """Well-made claims for ``registration`` and ``env`` at the client clock's time."""
        now = int(self.client_clock())
        return {
            "iss": registration.client_id,
            "sub": registration.client_id,
            "aud": self.emulator.token_url(env),
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_S,
            "jti": self.jti(),
        }

    def mint(
        self,
        registration: ClientRegistration = MAIN,
        env: str = "sandbox",
        *,
        secret: str | None = None,
        algorithm: str = "HS256",
        **overrides: Any,
    ) -> str:
        """An assertion signed with ``registration``'s secret (or ``secret``).

        Keyword arguments override claims; a value of None removes the claim.
        """
        claims = self.claims(registration, env)
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = registration.client_secret if secret is None else secret
        return jwt.encode(claims, key, algorithm=algorithm)

    def post_token(
        self,
        env: str = "sandbox",
        *,
        registration: ClientRegistration = MAIN,
        url: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """POST to ``env``'s token URL (or ``url``) with httpx keyword arguments ``kwargs``."""
        target = url if url is not None else self.emulator.token_url(env)
        return self.http_for(registration).post(target, **kwargs)

    def exchange(
        self,
        assertion: str,
        env: str = "sandbox",
        *,
        registration: ClientRegistration = MAIN,
        **form: str,
    ) -> httpx.Response:
        """A jwt-bearer token request (RFC 7523 section 2.1); ``form`` adds or replaces fields."""
        data = {"grant_type": JWT_BEARER_GRANT, "assertion": assertion, **form}
        return self.post_token(env, registration=registration, data=data)

    def client_credentials(
        self, assertion: str, env: str = "sandbox", **form: str
    ) -> httpx.Response:
        """A client_credentials request authenticated by ``assertion`` (RFC 7523 section 2.2)."""
        data = {
            "grant_type": CLIENT_CREDENTIALS_GRANT,
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion,
            **form,
        }
        return self.post_token(env, data=data)

    def access_token(
        self, registration: ClientRegistration = MAIN, env: str = "sandbox", **form: str
    ) -> str:
        """Exchange a fresh assertion for an access token; raises ScenarioError if refused."""
        response = expect(self.exchange(self.mint(registration, env), env,
                                        registration=registration, **form), 200)
        token: str = response.json()["access_token"]
        return token

    def read(
        self,
        env: str = "sandbox",
        resource: str = "Patient/example",
        *,
        token: str | None = None,
        authorization: str | None = None,
        registration: ClientRegistration = MAIN,
    ) -> httpx.Response:
        """GET ``{fhir base}/{resource}`` with ``Bearer token`` (or a raw ``authorization``)."""
        headers: dict[str, str] = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if authorization is not None:
            headers["Authorization"] = authorization
        url = f"{self.emulator.fhir_base(env)}/{resource}"
        return self.http_for(registration).get(url, headers=headers)
