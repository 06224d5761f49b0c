"""Emulator options: the registered clients and the limits the emulated provider applies.

Both classes are frozen dataclasses; ``EmulatorConfig()`` with no arguments is a working
configuration with one freshly generated client (its secret is random and throwaway: it is an
emulator-only value, never a real credential; its JWKS is the public half of the emulator's
generated keys, ``hgobs.emulator.keys``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hgobs.emulator.keys import EmulatorKeys
from hgobs.emulator.provider import (
    generated_client_id,
    original_texts,
    placeholder_values,
    provider_rules,
)
from hgobs.emulator.tokenrules import TokenRules
from hgobs.errors import ConfigError
from hgobs.jwks import Jwks, load_jwks
from hgobs.profiles import Profile

ENVIRONMENTS: tuple[str, ...] = ("sandbox", "production")
"""The environments the emulator serves, each under its own path prefix (``/{env}/...``)."""

DEFAULT_SCOPES: tuple[str, ...] = ("patient360", "user/*.*")
"""Scopes given to a generated client (the scope string Health Gorilla API docs show)."""


@dataclass(frozen=True)
class ClientRegistration:
    """One client the emulated provider knows.

    ``client_id`` is what ``iss`` and ``sub`` must carry; ``client_secret`` is the HS* key of
    its assertions (kept out of ``repr``; may be empty when ``jwks`` is given); ``scopes`` are
    the most it may be granted; ``environments`` are the environments (of ``ENVIRONMENTS``) it
    is registered in; ``jwks`` is the public JWK Set it registered (RFC 7517; a mapping, JSON
    text, file path or ``hgobs.jwks.Jwks``, stored loaded), against which RS/PS/ES assertions
    are verified (SMART Backend Services registration).
    Raises ``ConfigError`` for an empty id, neither secret nor JWKS, a JWKS that does not
    load, or an unknown environment.
    """

    client_id: str
    client_secret: str = field(default="", repr=False)
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    environments: tuple[str, ...] = ENVIRONMENTS
    jwks: Jwks | Mapping[str, Any] | str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.client_id or any(c.isspace() for c in self.client_id):
            raise ConfigError("client_id", "must be a non-empty string without whitespace")
        if self.jwks is not None:
            object.__setattr__(self, "jwks", load_jwks(self.jwks))
        if not self.client_secret and self.jwks is None:
            raise ConfigError("client_secret",
                              f"client {self.client_id!r} needs a secret or a JWKS")
        object.__setattr__(self, "scopes", tuple(self.scopes))
        object.__setattr__(self, "environments", tuple(self.environments))
        if any(not s or any(c.isspace() for c in s) for s in self.scopes):
            raise ConfigError("scopes", "each scope must be a non-empty string without spaces")
        unknown = sorted(set(self.environments) - set(ENVIRONMENTS))
        if unknown:
            raise ConfigError("environments", f"unknown environment(s) {', '.join(unknown)}")

    @property
    def jwk_set(self) -> Jwks | None:
        """The registered JWKS, loaded (``jwks`` is always stored loaded), or None."""
        return self.jwks if isinstance(self.jwks, Jwks) else None

    @classmethod
    def generate(cls, scopes: tuple[str, ...] = DEFAULT_SCOPES,
                 jwks: Jwks | Mapping[str, Any] | None = None) -> ClientRegistration:
        """A new client: a random id of 20 lower-case hex characters, a random secret and
        ``jwks`` (None: none registered).

        The secret is ``secrets.token_urlsafe(32)`` (43 characters): an emulator-only value.
        """
        return cls(
            client_id=secrets.token_hex(10),
            client_secret=secrets.token_urlsafe(32),
            scopes=scopes,
            jwks=jwks,
        )


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulated provider behaves. Every duration is in seconds.

    - ``clients``: the registered clients; when empty, one is generated
      (``ClientRegistration.generate()``, its JWKS the public half of ``keys``) and stored
      here, so ``config.clients[0]`` holds it.
    - ``access_token_ttl_s``: lifetime of an issued access token (``expires_in``), default 3600.
    - ``max_assertion_lifetime_s``: longest accepted ``exp - iat``, default 3600.
    - ``leeway_s``: clock skew tolerated on ``exp``, ``iat`` and ``nbf``, default 30.
    - ``rules``: the token endpoint's demands and answers (``TokenRules``); None: Health
      Gorilla's, ``TokenRules.healthgorilla(max_assertion_lifetime_s, leeway_s)``. When given,
      its lifetime and leeway replace the two options above (one source for both).
    - ``keys``: the emulator's key pairs (``EmulatorKeys``), served as its JWKS; None: generated.
    - ``clock``: returns the current Unix time in seconds; every time-dependent rule and the
      ``Date`` header read it once per request (inject a fixed clock in tests).
    - ``rate_limit`` / ``rate_limit_window_s``: production API calls allowed per access token in
      any sliding window of that length (default 20 per 1.0 s); None disables the limit.
    - ``max_body_bytes``: largest token-request body read (default 65536); larger gets 413.
    - ``profile``: a provider profile to answer like (``hgobs.emulator.provider``); None: the
      Health Gorilla emulator (``/{env}/oauth/token``, sandbox and production). With a
      profile, each of its environments is served under ``/{env}`` at its token URLs' paths;
      ``rules`` default to ``provider_rules(profile)``, ``keys`` to keys for its algorithms,
      the generated client's id to the provider's shape, and a client left with the default
      ``environments`` is registered in every environment of the profile.
    - ``placeholders``: the value registered for each path placeholder of the profile's token
      URLs (``{"tenant": ..., "realm": ...}``); missing ones are generated and stored here.

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
    rules: TokenRules | None = None
    keys: EmulatorKeys | None = field(default=None, repr=False, compare=False)
    profile: Profile | None = field(default=None, repr=False, compare=False)
    placeholders: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.profile is not None:
            if self.rules is None:
                object.__setattr__(self, "rules", provider_rules(
                    self.profile, original_texts(self.profile.name)))
            object.__setattr__(self, "placeholders",
                               placeholder_values(self.profile, self.placeholders))
        if self.rules is None:
            object.__setattr__(self, "rules", TokenRules.healthgorilla(
                self.max_assertion_lifetime_s, self.leeway_s))
        else:
            lifetime = self.rules.max_assertion_lifetime_s
            object.__setattr__(self, "max_assertion_lifetime_s",
                               float("inf") if lifetime is None else lifetime)
            object.__setattr__(self, "leeway_s", self.rules.leeway_s)
        if self.keys is None:
            object.__setattr__(self, "keys", EmulatorKeys.generate() if self.profile is None
                               else EmulatorKeys.generate_for(self.rules.algorithms))
        keys = self.keys
        assert keys is not None
        generated = ClientRegistration.generate(jwks=keys.jwks())
        if self.profile is not None:
            generated = ClientRegistration(generated_client_id(self.profile),
                                           generated.client_secret, jwks=keys.jwks())
        clients = tuple(self.clients) or (generated,)
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

    @property
    def environments(self) -> tuple[str, ...]:
        """The environments served: the profile's (in its order), else ``ENVIRONMENTS``."""
        if self.profile is None:
            return ENVIRONMENTS
        return tuple(e.name for e in self.profile.environments)

    def registered(self, client: ClientRegistration, environment: str) -> bool:
        """True when ``client`` is registered in ``environment`` (with a profile, a client
        left with the default environments is registered in all of them)."""
        if environment in client.environments:
            return True
        return self.profile is not None and client.environments == ENVIRONMENTS

    def client(self, client_id: object) -> ClientRegistration | None:
        """The registered client whose id is ``client_id`` (a claim value of any type), or None."""
        if not isinstance(client_id, str):
            return None
        return next((c for c in self.clients if c.client_id == client_id), None)
