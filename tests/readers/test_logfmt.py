"""logfmt logs as structlog's ``LogfmtRenderer`` writes them: real calls to a loopback
provider, read back through detection to the analyzer's categories; the splitter is linear."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import structlog

from hgobs.readers import logfmt, textlog
from hgobs.readers.logfmt import pairs
from tests.readers.applog_kit import (
    SECRET,
    Call,
    assert_read_as,
    logged,
    records_text,
)


def _log_calls(path: Path, calls: list[Call]) -> None:
    with path.open("w") as out:
        log = structlog.wrap_logger(structlog.PrintLogger(out), processors=[
            structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            structlog.processors.LogfmtRenderer(key_order=["timestamp", "level", "event"])])
        log.info("service started", version="1.4.2")
        for call in calls:
            if call.response is None:
                try:
                    raise call.error  # type: ignore[misc]
                except Exception:
                    log.exception("token request failed", method=call.method, url=call.url)
                continue
            fields: dict[str, object] = {"method": call.method, "url": call.url,
                                         "status": call.response.status_code}
            if call.response.text:
                fields["error"] = call.response.text
            for header in ("www-authenticate", "retry-after"):
                if header in call.response.headers:
                    fields[header.replace("-", "_")] = call.response.headers[header]
            log.error("request refused", **fields)


@pytest.fixture(scope="module")
def logfmt_log(tmp_path_factory):
    yield from logged(tmp_path_factory.mktemp("logfmt") / "billing.log", _log_calls)


def test_structlog_logfmt_output_is_detected_and_classified(logfmt_log):
    path, profile = logfmt_log
    assert_read_as(path, profile, logfmt.NAME)
    assert SECRET not in records_text(path, profile)


def test_pairs_reads_quotes_and_escapes():
    """Quoted values keep their spaces; ``\\"`` and ``\\n`` are unescaped; a bare word is
    counted as no pair; a repeated key keeps its first value."""
    found, other = pairs('a=1 msg="two words" body="{\\"error\\":\\"x\\"}" bare a=2 tb="l1\\nl2"')
    assert found == {"a": "1", "msg": "two words", "body": '{"error":"x"}', "tb": "l1\nl2"}
    assert other == 1


def test_pairs_is_linear_on_hostile_lines():
    """Unclosed quotes and runs of ``=`` and backslashes: time grows with the line, no more."""
    for line in ('k="' + "\\" * 400_000, "=" * 400_000, 'a=" ' * 100_000):
        started = time.perf_counter()
        pairs(line)
        assert time.perf_counter() - started < 2.0


def test_sniff_leaves_timestamped_text_logs_to_the_text_reader():
    """A line that starts with a timestamp is a text log, even with ``key=value`` pairs in it;
    logfmt wants a first ``key=``, three pairs and a time, message or level key."""
    text = b"2024-03-01T12:00:00Z ERROR request done status=401 method=GET url=https://a/b\n"
    assert not logfmt.sniff(text) and textlog.sniff(text + text)
    assert logfmt.sniff(b'time=2024-03-01T12:00:00Z level=error msg="x" status=400\n')
    assert logfmt.sniff(b'level=info ts=1 caller=main.go:1 msg=started\n')
    assert not logfmt.sniff(b"a=1 b=2 c=3\n")
    assert not logfmt.sniff(b"level=info words that are not pairs here\n")
