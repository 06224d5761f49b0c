"""Python logging text: httpx's own ``HTTP Request:`` lines joined with the error text logged
beside them, and tracebacks of requests that got no answer, from real calls to a loopback
provider, read back through detection to the analyzer's categories."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from hgobs.readers import pylog, textlog
from tests.readers.applog_kit import (
    SECRET,
    format_of,
    loopback,
    outcomes,
    records_text,
)

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@pytest.fixture(scope="module")
def python_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("pylog") / "billing.log"
    handler = logging.FileHandler(path)
    formatter = logging.Formatter(FORMAT)
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    loggers = [logging.getLogger("httpx"), logging.getLogger("test_pylog.billing")]
    saved = [(logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    app = loggers[1]
    try:
        app.info("service started")
        with loopback() as loop, httpx.Client(timeout=5) as client:
            for method, url, kwargs in _requests(loop):
                try:
                    response = client.request(method, url, **kwargs)
                except httpx.TransportError:
                    app.exception("token request to %s failed", url)
                    continue
                if response.status_code >= 400:
                    app.error("request refused: %s", response.text or "(no body)")
        yield path, loop.profile
    finally:
        for logger, (level, propagate) in zip(loggers, saved, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
        handler.close()


def _requests(loop):
    """The four calls of ``Loopback.calls``, as (method, URL, keyword arguments)."""
    form = {"grant_type": "client_credentials", "client_id": "loop-client", "scope": "patient360"}
    bearer = {"headers": {"Authorization": f"Bearer {SECRET}"}}
    return [("POST", f"{loop.origin}/oauth/token", {"data": form}),
            ("GET", f"{loop.origin}/fhir/R4/Patient?family=Rivera", bearer),
            ("GET", f"{loop.origin}/fhir/R4/Observation", bearer),
            ("POST", loop.closed_url, {"data": form})]


def test_httpx_lines_and_tracebacks_are_detected_and_classified(python_log):
    """The token refusal and the 429 get their bodies from the service's next line (a skip saying
    so); 429 and the connect error's traceback give their categories; a 401 whose challenge
    no line shows is unclassified, not guessed."""
    path, profile = python_log
    assert format_of(path) == pylog.NAME
    found = outcomes(path, profile)
    assert [o for _, o in found if not o.startswith("skip: ")] == \
        ["invalid_scope", "rate_limited", "unclassified", "network_failure"]
    reasons = [o for _, o in found if o.startswith("skip: ")]
    assert reasons.count(f"skip: {pylog.JOINED}") == 2  # the 400 and the 429 bodies
    assert reasons.count(f"skip: {pylog.CONTINUATION}") > 10  # the traceback's lines
    assert len(found) == len([line for line in path.read_text().splitlines() if line.strip()])
    assert SECRET not in records_text(path, profile)


def test_a_text_log_without_httpx_lines_or_tracebacks_stays_a_text_log():
    """Sniffing takes only what holds httpx lines or tracebacks: today's text logs keep their
    reader."""
    line = b"2024-03-01T12:00:00Z ERROR POST https://sandbox.healthgorilla.com/oauth/token -> 400\n"
    assert not pylog.sniff(line * 3) and textlog.sniff(line * 3)
    httpx_line = (b'2024-03-01 12:00:00,001 INFO httpx: HTTP Request: POST https://a/oauth/token'
                  b' "HTTP/1.1 400 Bad Request"\n')
    assert pylog.sniff(httpx_line) and pylog.sniff(b"INFO:httpx:" + httpx_line[33:])
    assert not pylog.sniff(b"Traceback (most recent call last):\n  File x\nKeyError: 1\n")


def test_requests_connection_errors_name_their_url(tmp_path):
    """A requests traceback whose line names no URL: the pool's host and ``url:`` give it."""
    path = tmp_path / "app.log"
    path.write_text(
        "2025-11-25 10:00:00,000 ERROR app: token request failed\n"
        "Traceback (most recent call last):\n"
        '  File "app.py", line 9, in token\n'
        "requests.exceptions.ConnectTimeout: HTTPSConnectionPool(host='sandbox.healthgorilla."
        "com', port=443): Max retries exceeded with url: /oauth/token (Caused by Connect"
        "TimeoutError())\n")
    assert outcomes(path) == [(f"{path}:1", "network_failure"),
                              (f"{path}:2", f"skip: {pylog.CONTINUATION}"),
                              (f"{path}:3", f"skip: {pylog.CONTINUATION}"),
                              (f"{path}:4", f"skip: {pylog.CONTINUATION}")]
