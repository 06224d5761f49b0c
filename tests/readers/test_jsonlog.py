"""Flat JSON application logs as structlog's ``JSONRenderer`` and python-json-logger's
``JsonFormatter`` write them: real calls to a loopback provider, logged with the key spellings
people use, read back through detection to the analyzer's categories."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog
from pythonjsonlogger.json import JsonFormatter

from hgobs.readers import jsonlog
from tests.readers.applog_kit import (
    SECRET,
    Call,
    assert_read_as,
    file_logger,
    logged,
    outcomes,
    records_text,
)


def _fields(call: Call, status_key: str, body_key: str) -> dict[str, object]:
    """The keyword arguments a service logs for a refused call."""
    assert call.response is not None
    fields: dict[str, object] = {"method": call.method, "url": call.url,
                                 status_key: call.response.status_code}
    if call.response.text:
        fields[body_key] = call.response.text
    for header in ("www-authenticate", "retry-after"):
        if header in call.response.headers:
            fields[header.replace("-", "_")] = call.response.headers[header]
    return fields


def _structlog(path: Path, calls: list[Call]) -> None:
    """structlog's JSON output: ISO timestamps, ``format_exc_info`` for the traceback."""
    with path.open("w") as out:
        log = structlog.wrap_logger(
            structlog.PrintLogger(out), processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso"),
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer()])
        log.info("service started", version="1.4.2")
        for call in calls:
            if call.response is None:
                try:
                    raise call.error  # type: ignore[misc]
                except Exception:
                    log.exception("token request failed", method=call.method, url=call.url)
            else:
                log.error("request refused", **_fields(call, "status_code", "response"))


def _python_json_logger(path: Path, calls: list[Call]) -> None:
    """python-json-logger's output: ``asctime`` (no zone), ``extra`` fields, ``exc_info``."""
    formatter = JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    with file_logger(path, formatter, "test_jsonlog.billing") as logger:
        logger.info("service started")
        for call in calls:
            if call.response is None:
                try:
                    raise call.error  # type: ignore[misc]
                except Exception:
                    logger.exception("token request failed",
                                     extra={"request_url": call.url, "method": call.method})
            else:
                logger.error("request refused", extra=_fields(call, "status", "body"))


@pytest.fixture(scope="module", params=[_structlog, _python_json_logger],
                ids=["structlog", "python-json-logger"])
def json_log(request, tmp_path_factory):
    yield from logged(tmp_path_factory.mktemp("jsonlog") / "billing.log", request.param)


def test_library_output_is_detected_and_classified(json_log):
    """The four events give the four categories; the startup line is a skip naming why."""
    path, profile = json_log
    assert_read_as(path, profile, jsonlog.NAME)


def test_the_traceback_names_the_transport_failure(json_log):
    """The traceback's last line (``httpx.ConnectError: ...``) gives ``error.type``; the
    logged access token never comes out."""
    path, profile = json_log
    text = records_text(path, profile)
    assert "'error.type': 'ConnectError'" in text and SECRET not in text


def test_a_traceback_of_another_error_is_no_network_failure(tmp_path):
    """A ``KeyError`` logged beside a token URL says nothing about the network."""
    path = tmp_path / "app.log"
    path.write_text('{"event": "parse failed", "url": "https://sandbox.healthgorilla.com/oauth/'
                    'token", "timestamp": "2025-11-25T10:00:00Z", "exception": "Traceback (most'
                    ' recent call last):\\n  File \\"x.py\\", line 1\\nKeyError: \'access_token\'"}\n')
    assert outcomes(path) == [(f"{path}:1", "skip: request URL without a status")]


def test_sniff_wants_a_message_url_or_status_key():
    """The first line must be a JSON object naming a message, URL or status; hgobs records
    and objects of other shapes are left to their readers."""
    assert jsonlog.sniff(b'{"event": "x", "level": "info"}\n')
    assert jsonlog.sniff(b'{"Message": "x"}\n{"Message": "y"}\n')
    assert not jsonlog.sniff(b'{"id": 1, "name": "x"}\n')
    assert not jsonlog.sniff(b'{"schema":"hgobs.attempt/1","message":"x"}\n')
    assert not jsonlog.sniff(b'[{"event": "x"}]\n')
