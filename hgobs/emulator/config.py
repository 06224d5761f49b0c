"""Emulator options: the registered clients and the limits the emulated provider applies.

Both classes are frozen dataclasses; ``EmulatorConfig()`` with no arguments is a working
configuration with one freshly generated client (its secret is random and throwaway: it is an
emulator-only value, never a real credential).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hgobs.errors import ConfigError

ENVIRONMENTS: tuple[str, ...] = ("sandbox", "production")
"""The environments the emulator serves, each under its own path prefix (``/{env}/...``)."""

DEFAULT_SCOPES: tuple[str, ...] = ("patient360", "user/*.*")
"""Scopes given to a generated client (the scope string Health Gorilla API docs show)."""


@dataclass(frozen=True)
class ClientRegistration:
    """One client the emulated provider knows.

    ``client_id`` is what ``iss`` and ``sub`` must carry; ``client_secret`` is the HS256 key of
    its assertions (kept out of ``repr``); ``scopes`` are the most it may be granted;
    ``environments`` are the environments (of ``ENVIRONMENTS``) it is registered in.
    Raises ``ConfigError`` for an empty id or secret, or an unknown environment.
    """

    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    environments: tuple[str, ...] = ENVIRONMENTS

    def __post_init__(self) -> None:
        if not self.client_id or any(c.isspace() for c in self.client_id):
            raise ConfigError("client_id", "must be a non-empty string without whitespace")
        if not self.client_secret:
            raise ConfigError("client_secret", f"client {self.client_id!r} needs a secret")
        object.__setattr__(self, "scopes", tuple(self.scopes))
        object.__setattr__(self, "environments", tuple(self.environments))
        if any(not s or any(c.isspace() for c in s) for s in self.scopes):
            raise ConfigError("scopes", "each scope must be a non-empty string without spaces")
        unknown = sorted(set(self.environments) - set(ENVIRONMENTS))
        if unknown:
            raise ConfigError("environments", f"unknown environment(s) {', '.join(unknown)}")

    @classmethod
    def generate(cls, scopes: tuple[str, ...] = DEFAULT_SCOPES) -> ClientRegistration:
        """A new client: a random id of 20 lower-case hex characters and a random secret.

        The secret is ``secrets.token_urlsafe(32)`` (43 characters): an emulator-only value.
        """
        return cls(
            client_id=secrets.token_hex(10),
            client_secret=secrets.token_urlsafe(32),
            scopes=scopes,
        )


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulated provider behaves. Every duration is in seconds.

    - ``clients``: the registered clients; when empty, one is generated
      (``ClientRegistration.generate()``) and stored here, so ``config.clients[0]`` holds it.
    - ``access_token_ttl_s``: lifetime of an issued access token (``expires_in``), default 3600.
    - ``max_assertion_lifetime_s``: longest accepted ``exp - iat``, default 3600.
    - ``leeway_s``: clock skew tolerated on ``exp``, ``iat`` and ``nbf``, default 30.
    - ``clock``: returns the current Unix time in seconds; every time-dependent rule and the
      ``Date`` header read it once per request (inject a fixed clock in tests).
    - ``rate_limit`` / ``rate_limit_window_s``: production API calls allowed per access token in
      any sliding window of that length (default 20 per 1.0 s); None disables the limit.
    - ``max_body_bytes``: largest token-request body read (default 65536); larger gets 413.

    Raises ``ConfigError`` for a non-positive duration or limit, or duplicate client ids.
    """

    clients: tuple[ClientRegistration, ...] = ()
    access_token_ttl_s: int = 3600
    max_assertion_lifetime_s: float = 3600.0
    leeway_s: float = 30.0
    clock: Callable[[], float] = field(default=time.time, compare=False)
    rate_limit: int | None = 20
    rate_limit_window_s: float = 1.0
    max_body_bytes: int = 65536

    def __post_init__(self) -> None:
        clients = tuple(self.clients) or (ClientRegistration.generate(),)
        object.__setattr__(self, "clients", clients)
        ids = [c.client_id for c in clients]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ConfigError("clients", f"duplicate client id(s) {', '.join(duplicates)}")
        positive = {
            "access_token_ttl_s": self.access_token_ttl_s,
            "max_assertion_lifetime_s": self.max_assertion_lifetime_s,
            "rate_limit_window_s": self.rate_limit_window_s,
            "max_body_bytes": self.max_body_bytes,
        }
        if self.rate_limit is not None:
            positive["rate_limit"] = self.rate_limit
        for option, value in positive.items():
            if not value > 0:
                raise ConfigError(option, f"must be positive, got {value!r}")
        if not self.leeway_s >= 0:
            raise ConfigError("leeway_s", f"must be zero or positive, got {self.leeway_s!r}")

    def client(self, client_id: object) -> ClientRegistration | None:
        """The registered client whose id is ``client_id`` (a claim value of any type), or None."""
        if not isinstance(client_id, str):
            return None
        return next((c for c in self.clients if c.client_id == client_id), None)
