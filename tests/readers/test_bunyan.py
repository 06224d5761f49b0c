"""Bunyan and pino logs (pino-http's request log among them): samples those libraries wrote
(``tests/data/applogs``, see its README), read back through detection to the categories."""

from __future__ import annotations

from pathlib import Path

import pytest

from hgobs.readers import bunyan
from tests.readers.applog_kit import categories, format_of, loop_profile, outcomes, records_text

DATA = Path(__file__).resolve().parents[1] / "data" / "applogs"
PROFILE = loop_profile(["http://127.0.0.1:8742", "http://127.0.0.1:8743"])
LOGGED_TOKEN = "at-loop-0a1b2c3d4e5f"


@pytest.mark.parametrize("name", ["pino.log", "bunyan.log"])
def test_a_client_services_log_is_classified(name):
    """The refused token request (its body logged), the rate-limited search and the refused
    connection (``err.code`` ECONNREFUSED) give their categories; the last line is no call."""
    path = DATA / name
    assert format_of(path) == bunyan.NAME
    assert outcomes(path, PROFILE) == [
        (f"{path}:1", "invalid_scope"), (f"{path}:2", "rate_limited"),
        (f"{path}:3", "network_failure"), (f"{path}:4", "skip: no HTTP exchange found")]


def test_pino_http_request_lines_are_read_from_path_and_host():
    """pino-http logs the path and the ``host`` header: the URL is put together, the response
    headers give 429 and the expired-token challenge, and a token refusal logged without its
    body stays unclassified rather than guessed."""
    path = DATA / "pino-http.log"
    assert format_of(path) == bunyan.NAME
    assert categories(path, PROFILE) == [
        "unclassified", "rate_limited", "access_token_expired", "unclassified", "rate_limited",
        "unclassified", "rate_limited"]


def test_the_logged_access_token_never_comes_out():
    """pino-http logs the ``Authorization`` header in clear: records hold its fingerprint."""
    text = records_text(DATA / "pino-http.log", PROFILE)
    assert LOGGED_TOKEN not in text and LOGGED_TOKEN[-8:] not in text
    assert "'presented.fp'" in text


def test_sniff_wants_a_numeric_level_and_time():
    """Bunyan's and pino's core fields; a JSON log with a level name is not theirs."""
    assert bunyan.sniff(b'{"level":30,"time":1700000000000,"pid":1,"hostname":"h","msg":"x"}\n')
    assert bunyan.sniff(b'{"name":"a","hostname":"h","pid":1,"level":50,"msg":"x",'
                        b'"time":"2025-01-01T00:00:00.000Z","v":0}\n')
    assert not bunyan.sniff(b'{"level":"error","time":"2025-01-01T00:00:00Z","msg":"x"}\n')
    assert not bunyan.sniff(b'{"level":35,"time":1,"msg":"x"}\n')
