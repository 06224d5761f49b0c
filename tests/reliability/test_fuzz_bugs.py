"""Reader crashes the fuzzers found: one minimal reproduction each, kept as regression tests.

Each test states what must hold; each bug is fixed, and the reproduction stays as a regression
test (the third element of each case says what the bug was).
"""

from __future__ import annotations

import json

import pytest

from hgobs.readers import ReadContext, read_paths
from tests.reliability import tally

PROMISE = tally.BAD_INPUT
JAEGER_SPAN = {"traceID": "e3e70682c2094cac629f6fbed82c07cd", "spanID": "0a5d2f346baa9455",
               "operationName": "x", "startTime": 1795968427852693, "duration": 1, "tags": []}
CASES = {
    "jsonl-unhashable-endpoint-kind": (
        "attempts.jsonl",
        b'{"schema":"hgobs.attempt/1","time":1764000000.0,"endpoint.kind":[]}\n',
        "bug: the JSON Lines reader tests 'endpoint.kind' for membership in a set, so a list or "
        "object value raises TypeError (unhashable) and ends the run"),
    "jaeger-unhashable-process-id": (
        "trace.json",
        json.dumps({"data": [{"traceID": JAEGER_SPAN["traceID"], "processes": {},
                              "spans": [{**JAEGER_SPAN, "processID": []}]}]}).encode(),
        "bug: the Jaeger reader looks a span's 'processID' up in the processes mapping without "
        "checking its type, so a list raises TypeError (unhashable) and ends the run"),
    "curl-invalid-host": (
        "curl.txt",
        b"> POST /oauth/token HTTP/1.1\n> Host:[ sandbox.healthgorilla.com\n>\n"
        b"< HTTP/1.1 400 Bad Request\n<\n",
        "bug: the curl -v reader builds the URL from a Host header with urlsplit, which raises "
        "ValueError ('Invalid IPv6 URL') for a host starting with '[', and ends the run"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_unit_is_a_skip_not_a_crash(name, tmp_path):
    """The malformed unit is read as one skip with a reason; reading never raises."""
    file_name, data, _ = CASES[name]
    path = tmp_path / file_name
    path.write_bytes(data)
    tally.tried(PROMISE, "bug reproductions")
    items = list(read_paths([str(path)], ReadContext()))
    assert len(items) == 1 and items[0].record is None and items[0].reason
