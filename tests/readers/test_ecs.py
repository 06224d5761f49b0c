"""ECS JSON logs as ``ecs-logging`` writes them: real calls to a loopback provider, logged with
the ECS fields, read back through detection to the analyzer's categories."""

from __future__ import annotations

from pathlib import Path

import ecs_logging
import pytest

from hgobs.readers import ecs
from tests.readers.applog_kit import (
    SECRET,
    Call,
    assert_read_as,
    file_logger,
    logged,
    records_text,
)


def _log_calls(path: Path, calls: list[Call]) -> None:
    """Each call logged as a service using ecs-logging would: ECS fields in ``extra`` (the
    formatter nests the dotted names), the exception with ``logger.exception``."""
    with file_logger(path, ecs_logging.StdlibFormatter(), "test_ecs.billing") as logger:
        logger.info("service started")
        for call in calls:
            fields = {"http.request.method": call.method, "url.full": call.url}
            if call.response is None:
                try:
                    raise call.error  # type: ignore[misc]
                except Exception:
                    logger.exception("token request failed", extra=fields)
                continue
            fields["http.response.status_code"] = call.response.status_code
            if call.response.text:
                fields["http.response.body.content"] = call.response.text
            fields["http.response.headers"] = dict(call.response.headers)
            logger.error("request refused", extra=fields)


@pytest.fixture(scope="module")
def ecs_log(tmp_path_factory):
    yield from logged(tmp_path_factory.mktemp("ecs") / "billing.json", _log_calls)


def test_ecs_logging_output_is_detected_and_classified(ecs_log):
    """The four ECS events give the four categories; the startup line is a skip naming why."""
    path, profile = ecs_log
    assert_read_as(path, profile, ecs.NAME)


def test_the_network_failure_names_the_exception(ecs_log):
    """``error.type`` of the ECS event (``ConnectError``) is the record's ``error.type``."""
    path, profile = ecs_log
    text = records_text(path, profile)
    assert "'error.type': 'ConnectError'" in text and SECRET not in text


def test_sniff_wants_the_ecs_version():
    """A JSON line without ``ecs.version`` is no ECS; the nested spelling counts too."""
    assert ecs.sniff(b'{"@timestamp":"2025-01-01T00:00:00Z","ecs.version":"1.6.0"}\n')
    assert ecs.sniff(b'{"@timestamp":"2025-01-01T00:00:00Z","ecs":{"version":"8.11"}}\n')
    assert not ecs.sniff(b'{"@timestamp":"2025-01-01T00:00:00Z","message":"x"}\n')
    assert not ecs.sniff(b'{"schema":"hgobs.attempt/1","ecs.version":"1"}\n')
