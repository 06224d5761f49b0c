"""The logging sink: failures reach the ``hgobs`` logger at WARNING whatever the INFO setting.

Each test leaves the ``hgobs`` logger at its default (NOTSET: it takes the root logger's level)
and sets the root logger as an application would with ``logging.basicConfig(level=...)``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest

import hgobs
from tests.support.emitted import LogCollector, loop_profile
from tests.support.loopback import Reply
from tests.support.servers import LoopServer

JSON = ("content-type", "application/json")
SUCCESS = Reply(200, [JSON], json.dumps({"access_token": "at-0123456789abcdef",
                                         "token_type": "Bearer", "expires_in": 3600}).encode())
INVALID_CLIENT = Reply(401, [JSON], b'{"error": "invalid_client"}')
UNAUTHORIZED = Reply(401, [("www-authenticate", 'Bearer error="invalid_token"')], b"")
FORM = {"grant_type": "client_credentials", "client_id": "client-0001"}


@pytest.fixture(scope="module")
def server() -> Iterator[LoopServer]:
    s = LoopServer()
    yield s
    s.stop()


@pytest.fixture
def root_at(request) -> Iterator[LogCollector]:
    """The root logger at ``request.param`` (as ``basicConfig(level=...)`` sets it), with a
    collecting handler; the ``hgobs`` logger left at NOTSET. Both restored after."""
    root, ours = logging.getLogger(), logging.getLogger("hgobs")
    old_root, old_ours = root.level, ours.level
    handler = LogCollector()
    root.setLevel(request.param)
    ours.setLevel(logging.NOTSET)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_root)
        ours.setLevel(old_ours)


def _attempts(server: LoopServer, telemetry) -> None:
    """One successful token exchange, one refused, one refused API call."""
    server.script.load([SUCCESS, INVALID_CLIENT, UNAUTHORIZED])
    with httpx.Client() as c:
        hgobs.instrument_client(c, profile=loop_profile(server.origin),
                                tracer_provider=telemetry.tracer_provider,
                                meter_provider=telemetry.meter_provider)
        c.post(f"{server.origin}/oauth/token", data=FORM)
        c.post(f"{server.origin}/oauth/token", data=FORM)
        c.get(f"{server.origin}/fhir/R4/Patient/123", headers={"Authorization": "Bearer a1"})


def _ours(logs: LogCollector) -> list[logging.LogRecord]:
    return [r for r in logs.records if r.name == "hgobs"]


@pytest.mark.parametrize("root_at", [logging.WARNING], indirect=True, ids=["WARNING"])
def test_failures_are_logged_at_warning_under_the_default_level(server, telemetry, root_at):
    """Root at WARNING: both failures give one WARNING record each; the success gives none."""
    _attempts(server, telemetry)
    records = _ours(root_at)
    categories = [r.__dict__["hgobs.category"] for r in records]
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.WARNING, f"hgobs auth attempt token_exchange sandbox: {categories[0]}"),
        (logging.WARNING, f"hgobs auth attempt api_call sandbox: {categories[1]}"),
    ]
    assert set(categories) <= {c.id for c in hgobs.CATALOG}
    extras = root_at.extras(records[0])
    assert extras["hgobs.outcome"] == "failed"
    assert extras["hgobs.response.error"] == "invalid_client"
    assert extras["hgobs.endpoint.kind"] == "token_exchange"
    assert extras["hgobs.http.status"] == 401
    assert extras["hgobs.url"] == f"{server.origin}/oauth/token"
    assert root_at.extras(records[1])["hgobs.endpoint.kind"] == "api_call"


@pytest.mark.parametrize("root_at", [logging.INFO], indirect=True, ids=["INFO"])
def test_successes_are_logged_at_info_when_info_is_enabled(server, telemetry, root_at):
    """Root at INFO: the success is one INFO record, the failures stay at WARNING."""
    _attempts(server, telemetry)
    records = _ours(root_at)
    assert [(r.levelno, r.__dict__["hgobs.outcome"]) for r in records] == [
        (logging.INFO, "ok"), (logging.WARNING, "failed"), (logging.WARNING, "failed")]
    assert records[0].getMessage() == "hgobs auth attempt token_exchange sandbox: ok"


@pytest.mark.parametrize("root_at", [logging.ERROR], indirect=True, ids=["ERROR"])
def test_nothing_is_logged_when_warning_is_disabled(server, telemetry, root_at):
    """Root at ERROR: no record on the ``hgobs`` logger, and the spans are still there."""
    _attempts(server, telemetry)
    assert _ours(root_at) == []
    assert len(telemetry.ours()) == 3



@pytest.mark.parametrize("root_at", [logging.INFO], indirect=True, ids=["INFO"])
def test_log_fields_are_the_span_record_fields(server, telemetry, root_at):
    """Each log record carries exactly the ``hgobs.*`` record fields its span carries (made once
    for both), and names the logging sink as its source, as ``Logger.log`` would."""
    _attempts(server, telemetry)
    records = _ours(root_at)
    spans = telemetry.ours()
    assert len(records) == len(spans) == 3
    for record, span in zip(records, spans, strict=True):
        extras = root_at.extras(record)
        fields = {k: (list(v) if isinstance(v, tuple) else v)
                  for k, v in span.attributes.items() if k.startswith("hgobs.")}
        assert extras == fields
        assert len(extras) > 10
        assert (record.funcName, record.module) == ("log_record", "logging")
        assert record.pathname.endswith("logging.py") and record.lineno > 0
