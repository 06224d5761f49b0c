"""No key hgobs emits contains a word that common scrubbers delete by default.

Backends and SDKs scrub attributes whose *key* matches a sensitive word: Logfire's default
scrubbing patterns and Sentry's default denylist substrings. A record field named like
``...token...`` would be blanked out downstream, so every key is checked: the schema's fields
and span attributes, and every key actually seen on spans, metric points, log records and JSON
Lines records when the shared cases are replayed, plus the metric names. Checks are
case-insensitive over the whole key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import hgobs
from hgobs.schema import FIELD_NAMES, FIELDS
from tests.support.cases import (
    build_origin_map,
    load_cases,
    mapped_profile,
    reply_for,
    request_kwargs,
)
from tests.support.emitted import Emitted, collect_logs, loop_profile
from tests.support.servers import LoopPool, closed_port

LOGFIRE_PATTERNS = {
    "password": r"password",
    "passwd": r"passwd",
    "mysql_pwd": r"mysql_pwd",
    "secret": r"secret",
    "auth": r"auth(?!ors?\b)",
    "credential": r"credential",
    "private key": r"private[._ -]?key",
    "api key": r"api[._ -]?key",
    "session": r"session",
    "cookie": r"cookie",
    "social security": r"social[._ -]?security",
    "credit card": r"credit[._ -]?card",
    "csrf": r"csrf",
    "xsrf": r"xsrf",
    "jwt": r"jwt",
    "ssn": r"ssn",
    # added in later Logfire releases
    "access/refresh/bearer/id token": r"(?:access|refresh|bearer|id)[._ -]?token",
    "passphrase": r"passphrase",
    "hmac key": r"hmac[._ -]?key",
}
SENTRY_SUBSTRINGS = (
    "auth", "token", "secret", "key", "jwt", "bearer", "session", "sid", "password", "passwd",
    "credentials", "api_key", "apikey", "private_key", "privatekey", "set_cookie", "csrftoken",
    "sessionid", "x_forwarded_for", "ip_address", "remote_addr",
)
_LOGFIRE = {name: re.compile(p, re.IGNORECASE) for name, p in LOGFIRE_PATTERNS.items()}

def scrubbed_by(key: str) -> list[str]:
    """Which default scrubber rules would delete an attribute called ``key``."""
    hits = [f"logfire:{name}" for name, rx in _LOGFIRE.items() if rx.search(key)]
    hits += [f"sentry:{s}" for s in SENTRY_SUBSTRINGS if s in key.lower()]
    return hits


def offenders(keys: set[str]) -> dict[str, list[str]]:
    return {k: scrubbed_by(k) for k in sorted(keys) if scrubbed_by(k)}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _replay(case: dict[str, Any], pool: LoopPool, telemetry: Any, jsonl: Path) -> None:
    omap = build_origin_map(case, pool)  # type: ignore[arg-type]
    exchanges = case["exchanges"]
    pool.script.load([reply_for(e["response"], omap) for e in exchanges])
    clock = Clock()
    with httpx.Client(verify=pool.ssl_context(), follow_redirects=True) as client:
        hgobs.instrument_client(client, profile=mapped_profile(case, omap),
                                client_id=case["client_id"], clock=clock, jsonl_path=jsonl,
                                tracer_provider=telemetry.tracer_provider,
                                meter_provider=telemetry.meter_provider)
        i = 0
        while i < len(exchanges):
            clock.now = float(exchanges[i]["time"])
            response = client.request(**request_kwargs(exchanges[i]["request"], omap))
            i += 1 + len(response.history)
        hgobs.uninstrument_client(client)


@pytest.fixture(scope="module")
def emitted(tmp_path_factory) -> Iterator[Emitted]:
    """Everything hgobs emitted while replaying every shared case, and a transport error."""
    from tests.conftest import Telemetry

    telemetry = Telemetry()
    jsonl = tmp_path_factory.mktemp("keys") / "attempts.jsonl"
    pool = LoopPool()
    try:
        with collect_logs() as logs:
            for case in load_cases():
                _replay(case, pool, telemetry, jsonl)
            origin = f"http://127.0.0.1:{closed_port()}"
            with httpx.Client() as client:
                hgobs.instrument_client(client, profile=loop_profile(origin), jsonl_path=jsonl,
                                        tracer_provider=telemetry.tracer_provider,
                                        meter_provider=telemetry.meter_provider)
                with pytest.raises(httpx.ConnectError):
                    client.post(f"{origin}/oauth/token", data={"grant_type": "x"})
        yield Emitted(telemetry, logs, jsonl)
    finally:
        pool.stop()
        telemetry.tracer_provider.shutdown()


def test_the_check_knows_what_scrubbers_delete():
    """The checker flags typical sensitive keys and spares near misses Logfire spares."""
    assert scrubbed_by("hgobs.access_token")
    assert scrubbed_by("Authorization")
    assert scrubbed_by("hgobs.client.Secret")
    assert scrubbed_by("hgobs.JWT.alg")
    assert scrubbed_by("x-api-key")
    assert scrubbed_by("user.sessionid")
    assert scrubbed_by("http.remote_addr")
    assert scrubbed_by("hgobs.authors") == ["sentry:auth"]  # Logfire spares "authors"
    assert scrubbed_by("hgobs.category") == []


@pytest.mark.parametrize("field", FIELDS, ids=[f.name for f in FIELDS])
def test_schema_field_and_attribute_key_survive_scrubbers(field):
    """Neither the field name nor its ``hgobs.<field>`` attribute key matches a scrubber rule."""
    assert offenders({field.name, field.attribute}) == {}


def test_response_error_keys_seen_in_the_replay_survive_scrubbers(emitted):
    """The error field keys actually emitted (spans, logs, JSON Lines) match no scrubber rule."""
    seen = {k for k in emitted.span_keys() | emitted.log_keys() | emitted.jsonl_keys()
            if "error" in k}
    assert {"hgobs.response.error", "response.error"} <= seen
    assert offenders(seen) == {}


def test_span_attribute_keys_survive_scrubbers(emitted):
    """No attribute key seen on an hgobs span matches a scrubber rule."""
    keys = emitted.span_keys()
    assert "url.full" in keys and "hgobs.category" in keys  # the replay really ran
    assert offenders(keys) == {}


def test_metric_names_and_attribute_keys_survive_scrubbers(emitted):
    """No metric name or metric attribute key matches a scrubber rule."""
    names = emitted.metric_names()
    assert {"hgobs.attempts", "hgobs.exchange.duration", "hgobs.assertion.expiry"} <= names
    assert offenders(names) == {}
    assert offenders(emitted.metric_keys()) == {}


def test_log_extra_keys_survive_scrubbers(emitted):
    """No ``extra`` key of an hgobs log record matches a scrubber rule."""
    keys = emitted.log_keys()
    assert "hgobs.category" in keys
    assert offenders(keys) == {}


def test_jsonl_keys_survive_scrubbers(emitted):
    """No key of a JSON Lines record matches a scrubber rule."""
    keys = emitted.jsonl_keys()
    assert len(emitted.jsonl_records()) >= len(load_cases())
    assert offenders(keys) == {}


def test_every_emitted_record_key_is_a_schema_field(emitted):
    """Records carry schema fields only, so checking the schema covers what is emitted."""
    assert emitted.jsonl_keys() - FIELD_NAMES == {"schema"}
    prefixed = {"hgobs." + name for name in FIELD_NAMES}
    semconv = {"http.request.method", "url.full", "server.address", "server.port",
               "http.response.status_code", "error.type"}
    assert emitted.span_keys() - prefixed <= semconv
    assert emitted.log_keys() <= prefixed
