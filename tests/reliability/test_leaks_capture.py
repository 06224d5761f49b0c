"""Property: no piece of any secret in a request or response reaches anything capture emits.

Hypothesis builds token exchanges and API calls with generated secrets (``tests.reliability.
shapes``) in every position an auth attempt carries them - form fields and JSON bodies
(``assertion``, ``client_assertion``, ``client_secret``, passwords, codes, a secret as a parameter
name), ``Authorization`` (Bearer, Basic, misspelled), other headers, query strings, URL paths,
user info and fragments, claims and header fields of every type, malformed tokens - and has the
loopback server answer with bodies, ``WWW-Authenticate`` parameters and redirect ``Location``
headers that echo them (whole, percent-encoded, inside URLs) next to secrets only the server
knows (issued tokens, emails). Sometimes an hgobs step is made to raise an exception whose
message is a secret. Then every string hgobs emitted (span names, attributes, status, events,
metric points, log records and their extras, the JSON Lines file) is searched for any
8-character piece of any secret, and for email addresses.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reliability import tally
from tests.reliability.capture_cases import Harness, cases, check, make_harness, run

PROMISE = tally.SECRETS


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Iterator[Harness]:
    with make_harness(tmp_path_factory.mktemp("leaks")) as h:
        yield h


@settings(max_examples=settings.default.max_examples * 2)
@given(data=st.data())
def test_no_secret_piece_reaches_spans_metrics_logs_or_jsonl(harness, data):
    """No 8-character piece of any secret of a generated case, nor any email, is emitted."""
    case, planted = data.draw(cases(harness.server.origin))
    client = data.draw(st.sampled_from(sorted(harness.clients)))
    tally.tried(PROMISE, "capture cases")
    tally.tried(PROMISE, "requests with secrets", len(case.steps))
    if case.fault is not None:
        tally.tried(PROMISE, "faults injected (an hgobs step raising a secret)")
    emitted = run(harness, client, case)
    check(emitted, planted, expect_records=case.fault is None)
