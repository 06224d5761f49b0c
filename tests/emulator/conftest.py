"""Fixtures for the emulator tests: one loopback server per module, a fixed clock, JWT minting."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest

from hgobs.emulator import ClientRegistration, EmulatorConfig, serve
from hgobs.emulator.server import RunningEmulator

T0 = 1_700_000_000.0
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"

MAIN = ClientRegistration(
    "0123456789abcdef0123", "main-secret-" + "m" * 60, ("patient360", "user/*.*")
)
NARROW = ClientRegistration(
    "narrowclient00000000", "narrow-secret-of-at-least-thirty-two-bytes", ("patient360",)
)
SANDBOX_ONLY = ClientRegistration(
    "sandboxonly000000000",
    "sandbox-secret-of-at-least-thirty-two-bytes",
    ("user/*.read",),
    environments=("sandbox",),
)
TTL_S = 600
RATE_LIMIT = 5


class FakeClock:
    """A settable clock: returns ``now`` (Unix seconds)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="session")
def clients() -> SimpleNamespace:
    """The registered clients: ``main`` (all scopes), ``narrow`` (patient360), ``sandbox_only``."""
    return SimpleNamespace(main=MAIN, narrow=NARROW, sandbox_only=SANDBOX_ONLY)


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture(autouse=True)
def _reset_clock(clock: FakeClock) -> None:
    clock.now = T0


@pytest.fixture(scope="module")
def emulator(clock: FakeClock) -> Iterator[RunningEmulator]:
    config = EmulatorConfig(
        clients=(MAIN, NARROW, SANDBOX_ONLY),
        access_token_ttl_s=TTL_S,
        clock=clock,
        rate_limit=RATE_LIMIT,
        rate_limit_window_s=1.0,
    )
    with serve(config) as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


Mint = Callable[..., str]


@pytest.fixture
def mint(emulator: RunningEmulator, clock: FakeClock) -> Mint:
    """Make an HS256 assertion valid at the clock's time for ``client`` and ``env``.

    Keyword arguments override claims (None removes one); ``secret`` and ``headers`` override
    the signing key and JWS header; ``algorithm`` the signing algorithm. A unique ``jti`` is
    added unless overridden, so assertions never collide across tests.
    """

    def _mint(
        client: ClientRegistration = MAIN,
        env: str = "sandbox",
        *,
        secret: str | None = None,
        algorithm: str = "HS256",
        headers: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        claims: dict[str, Any] = {
            "iss": client.client_id,
            "sub": client.client_id,
            "aud": emulator.token_url(env),
            "iat": int(clock.now),
            "exp": int(clock.now) + 300,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = client.client_secret if secret is None else secret
        return jwt.encode(claims, key, algorithm=algorithm, headers=headers)

    return _mint


Exchange = Callable[..., httpx.Response]


@pytest.fixture
def exchange(emulator: RunningEmulator, http: httpx.Client) -> Exchange:
    """POST a jwt-bearer token request with ``assertion`` to ``env``; extra form fields merge in."""

    def _exchange(assertion: str, env: str = "sandbox", **form: str) -> httpx.Response:
        data = {"grant_type": JWT_BEARER, "assertion": assertion, **form}
        return http.post(emulator.token_url(env), data=data)

    return _exchange


@pytest.fixture
def access_token(mint: Mint, exchange: Exchange) -> Callable[..., str]:
    """Obtain a fresh access token for ``client`` in ``env`` (optionally with ``scope``)."""

    def _token(client: ClientRegistration = MAIN, env: str = "sandbox", **form: str) -> str:
        response = exchange(mint(client, env), env, **form)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    return _token
