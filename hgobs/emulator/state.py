"""The emulator's memory: issued access tokens, used assertions and per-token request counts.

Every structure is bounded by time: entries are forgotten once they can no longer change an
answer, and pruning happens on each write, so memory grows only with live tokens and
assertions. Each method takes ``now`` (Unix seconds, from the configured clock) instead of
reading a clock itself. A lock guards each structure, so tests may read them from another thread.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import secrets
import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class IssuedToken:
    """An access token the emulator handed out: environment, client, scopes, expiry (Unix s)."""

    environment: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float

    def expired(self, now: float) -> bool:
        """True from the instant ``expires_at`` is reached."""
        return now >= self.expires_at


class TokenStore:
    """Issued access tokens, by value.

    A token is remembered until ``retention_s`` after its expiry, so that within that time an
    API call with it reads as "expired" rather than "unknown"; after that it is forgotten.
    """

    def __init__(self, retention_s: float) -> None:
        self._retention_s = retention_s
        self._tokens: dict[str, IssuedToken] = {}
        self._lock = threading.Lock()

    def issue(
        self, environment: str, client_id: str, scopes: tuple[str, ...], now: float, ttl_s: float
    ) -> str:
        """Mint and remember a new opaque token (``secrets.token_urlsafe(32)``); return it."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            cutoff = now - self._retention_s
            for value in [v for v, t in self._tokens.items() if t.expires_at <= cutoff]:
                del self._tokens[value]
            self._tokens[token] = IssuedToken(environment, client_id, scopes, now + ttl_s)
        return token

    def get(self, token: str) -> IssuedToken | None:
        """The record of ``token``, or None when it was never issued (or is forgotten)."""
        with self._lock:
            return self._tokens.get(token)

    def __len__(self) -> int:
        with self._lock:
            return len(self._tokens)


class ReplayGuard:
    """Assertions already presented, so that each can be used once (RFC 7523 section 3, item 7).

    An assertion is known by two keys: its ``jti`` scoped to its client (when it has one), and
    the SHA-256 of the whole assertion string (only the digest is kept). Both keys are forgotten
    once ``now >= exp + leeway_s``: from then on the expiry rule rejects the assertion anyway.
    """

    def __init__(self, leeway_s: float) -> None:
        self._leeway_s = leeway_s
        self._seen: dict[tuple[str, ...], float] = {}
        self._expiries: list[tuple[float, tuple[str, ...]]] = []
        self._lock = threading.Lock()

    @staticmethod
    def _keys(client_id: str, jti: object, assertion: str) -> list[tuple[str, ...]]:
        digest = hashlib.sha256(assertion.encode("utf-8")).hexdigest()
        keys: list[tuple[str, ...]] = [("assertion", digest)]
        if isinstance(jti, str) and jti:
            keys.append(("jti", client_id, jti))
        return keys

    def first_use(
        self, client_id: str, jti: object, assertion: str, exp: float, now: float
    ) -> bool:
        """Record the assertion; True when neither of its keys was seen before."""
        keys = self._keys(client_id, jti, assertion)
        forget_at = exp + self._leeway_s
        with self._lock:
            while self._expiries and self._expiries[0][0] <= now:
                _, key = heapq.heappop(self._expiries)
                if self._seen.get(key, math.inf) <= now:
                    del self._seen[key]
            fresh = not any(key in self._seen for key in keys)
            for key in keys:
                if self._seen.get(key, -math.inf) < forget_at:
                    self._seen[key] = forget_at
                    heapq.heappush(self._expiries, (forget_at, key))
            return fresh

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


class RateLimiter:
    """A sliding-window request counter per access token.

    At most ``limit`` requests are admitted in any ``window_s`` seconds; a refused request is
    not counted. A token with no request in the last window is forgotten.
    """

    def __init__(self, limit: int, window_s: float) -> None:
        self._limit = limit
        self._window_s = window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, token: str, now: float) -> int | None:
        """Count a request; None when admitted, else the whole seconds to wait (at least 1)."""
        with self._lock:
            for other in [t for t, h in self._hits.items() if h and h[-1] <= now - self._window_s]:
                del self._hits[other]
            hits = self._hits.setdefault(token, deque())
            while hits and hits[0] <= now - self._window_s:
                hits.popleft()
            if len(hits) >= self._limit:
                return max(1, math.ceil(hits[0] + self._window_s - now))
            hits.append(now)
            return None
