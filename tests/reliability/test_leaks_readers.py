"""Property: raw inputs full of secrets, and the reports made from them, show no piece of any.

The cases of ``test_leaks_capture`` (secrets in every request and response position) are written
as a HAR file, a ``curl -v`` transcript with its command line, an application log and plain
OpenTelemetry HTTP client spans in Zipkin JSON (``url.full`` and captured headers), with the
real Health Gorilla URLs. Every item the readers yield (records, skip reasons, sources) must hold
no 8-character piece of any secret and no email address. A second property runs cases through
capture and the readers, then renders every report format, and runs ``hgobs classify`` and
``hgobs analyze``: their output and error text must be as clean.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from hgobs.cli import cli
from hgobs.profiles import load_profile
from hgobs.readers import curl, har, read_paths, textlog, zipkin
from hgobs.readers.base import Item, ReadContext
from hgobs.reports import FORMATS, render
from hgobs.schema import SCHEMA_ID
from tests.reliability import leaks, shapes, tally
from tests.reliability.capture_cases import (
    EMAIL_RE,
    Harness,
    Step,
    api_step,
    cases,
    check,
    exchange_step,
    make_harness,
    run,
)
from tests.support.render_curl import exchange_to_curl
from tests.support.render_har import PlainExchange, har_entry, iso_time
from tests.support.whole import build_report, classify

PROMISE = tally.SECRETS
ORIGIN = "https://sandbox.healthgorilla.com"
WHEN = 1_764_000_000.0
_BUILDER = httpx.Client()


def exchanges(step: Step, origin: str = ORIGIN, when: float = WHEN) -> list[PlainExchange]:
    """The step as raw exchanges: one per reply (each redirect hop is an exchange)."""
    url = origin.replace("://", f"://{step.userinfo}", 1) + step.path
    request = _BUILDER.build_request(step.method, url, **step.kwargs)
    body = request.read() or None
    return [PlainExchange(time=when + i, method=step.method, url=str(request.url),
                          headers=[(k, v) for k, v in request.headers.multi_items()
                                   if k.lower() not in ("host", "accept", "accept-encoding",
                                                        "connection", "user-agent")],
                          body=body, status=r.status, response_headers=list(r.headers),
                          response_body=r.body)
            for i, r in enumerate(step.replies)]


def log_line(ex: PlainExchange) -> tuple[str, str]:
    """An application log line (time, method, URL, status, credential, challenge and body),
    and the part of it that shows what the client sent."""
    sent = [f'{n.lower()}="{v}"' for n, v in ex.headers
            if n.lower() in ("authorization", "authorisation", "x-authorization")]
    answer = [f"{n}: {v}" for n, v in ex.response_headers
              if n.lower() in ("www-authenticate", "retry-after", "location")]
    body = ex.response_body.decode("utf-8", "replace").replace("\n", " ")
    line = (f"{iso_time(ex.time)} ERROR {ex.method} {ex.url} -> {ex.status} {' '.join(sent)} "
            f"{' '.join(answer)} {body}")
    return line, f"{ex.method} {ex.url} {' '.join(sent)}"


def zipkin_span(ex: PlainExchange, n: int) -> dict[str, Any]:
    """A plain OpenTelemetry HTTP client span (no hgobs) with captured headers, Zipkin v2."""
    tags = {"http.request.method": ex.method, "url.full": ex.url,
            "http.response.status_code": str(ex.status)}
    for name, value in ex.headers:
        tags[f"http.request.header.{name.lower()}"] = json.dumps([value])
    for name, value in ex.response_headers:
        tags[f"http.response.header.{name.lower().replace('-', '_')}"] = json.dumps([value])
    return {"traceId": f"{n + 1:032x}", "id": f"{n + 1:016x}", "kind": "CLIENT",
            "name": ex.method, "timestamp": int(ex.time * 1e6), "duration": 120_000,
            "localEndpoint": {"serviceName": "claims-sync"}, "tags": tags}


def render_inputs(exs: list[PlainExchange]) -> dict[str, tuple[bytes, str]]:
    """The exchanges in each raw format, keyed by file name: the file, and the part of it that
    shows what the client sent (request lines, headers, URL and body as far as it shows them)."""
    entries = [har_entry(ex) for ex in exs]
    document = {"log": {"version": "1.2", "creator": {"name": "t", "version": "1"},
                        "entries": entries}}
    transcript = [line for i, ex in enumerate(exs) for line in exchange_to_curl(ex, connection=i)]
    spans = [zipkin_span(ex, i) for i, ex in enumerate(exs)]
    lines = [log_line(ex) for ex in exs]
    return {
        "capture.har": (json.dumps(document).encode(),
                        json.dumps([e["request"] for e in entries], ensure_ascii=False)),
        "curl.txt": (("\n".join(transcript) + "\n").encode(),
                     "\n".join(x for x in transcript if not x.startswith(("<", "{")))),
        "app.log": ("".join(line + "\n" for line, _ in lines).encode(),
                    "\n".join(sent for _, sent in lines)),
        "spans.json": (json.dumps(spans).encode(),
                       json.dumps([{k: v for k, v in sp["tags"].items()
                                    if k.startswith(("url.", "http.request."))} for sp in spans],
                                  ensure_ascii=False)),
    }


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Iterator[Harness]:
    with make_harness(tmp_path_factory.mktemp("leaks")) as h:
        yield h


READERS = {"capture.har": har, "curl.txt": curl, "app.log": textlog, "spans.json": zipkin}


def item_strings(name: str, items: list[Item]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        out.append((f"{name}: source", item.source))
        if item.reason is not None:
            out.append((f"{name}: reason", item.reason))
        if item.record is not None:
            out.append((f"{name}: record", json.dumps(item.record, ensure_ascii=False)))
    return out


@st.composite
def raw_cases(draw: Any) -> tuple[list[PlainExchange], shapes.Planted]:
    s = shapes.Secrets(draw(shapes.seeds), requests_unseen=True)
    steps = [(exchange_step if draw(st.booleans()) else api_step)(draw, s, ORIGIN)
             for _ in range(draw(st.integers(1, 3)))]
    return [ex for step in steps for ex in exchanges(step)], s.planted


def clean(strings: list[tuple[str, str]], planted: list[str]) -> None:
    found = leaks.find(strings, planted)
    assert found == [], leaks.report(found)
    emails = [(where, m.group(0)) for where, text in strings for m in EMAIL_RE.finditer(text)]
    assert emails == []


@settings(max_examples=settings.default.max_examples * 2)
@given(case=raw_cases())
def test_no_secret_piece_in_what_readers_yield(case):
    """Records, skip reasons and sources read from HAR, curl -v, text logs and plain spans
    full of secrets hold no 8-character piece of any, nor any email address."""
    exs, planted = case
    ctx = ReadContext(profile=load_profile())
    for name, (data, sent) in render_inputs(exs).items():
        items = list(READERS[name].read(io.BytesIO(data), name, ctx))
        assert items, f"{name}: nothing read"
        clean(item_strings(name, items), planted.visible_in(sent))
    tally.tried(PROMISE, "raw input cases")
    tally.tried(PROMISE, "raw input files", len(READERS))


def report_strings(paths: list[str]) -> list[tuple[str, str]]:
    """Every report format of ``paths``, and the CLI's output and errors for them."""
    result = classify(read_paths(paths), load_profile())
    report = build_report(result)
    out = []
    for fmt in FORMATS:
        out.append((f"report[{fmt}]", render(report, fmt)))
    runner = CliRunner()
    for args in (["classify", *paths], ["analyze", "--format", "markdown", *paths]):
        done = runner.invoke(cli, args)
        assert done.exit_code == 0, (args, done.output, done.exception)
        out.append((f"hgobs {args[0]} stdout", done.stdout))
        out.append((f"hgobs {args[0]} stderr", done.stderr))
    return out


@settings(max_examples=max(5, settings.default.max_examples // 5))
@given(data=st.data())
def test_no_secret_piece_in_any_report_format_or_cli_output(harness, data, tmp_path_factory):
    """Reports of every format, and hgobs classify/analyze output and errors, over the JSON
    Lines of captured cases and their HAR, curl and log files, hold no piece of any secret."""
    case, planted = data.draw(cases(harness.server.origin, faults=False, requests_unseen=True))
    emitted = run(harness, data.draw(st.sampled_from(sorted(harness.clients))), case)
    check(emitted, planted, expect_records=True)
    folder = Path(tmp_path_factory.mktemp("reports"))
    (folder / "attempts.jsonl").write_text(emitted.jsonl_text)
    raw = [ex for step in case.steps for ex in exchanges(step, harness.server.origin, time.time())]
    sent = ""
    for name, (content, shown) in render_inputs(raw).items():
        (folder / name).write_bytes(content)
        sent += shown
    paths = sorted(str(p) for p in folder.iterdir())
    tally.tried(PROMISE, "report cases (5 formats + CLI)")
    clean(report_strings(paths), planted.visible_in(sent))


def test_report_check_sees_a_planted_secret(tmp_path):
    """The report check itself finds a secret that a record carries into a report."""
    secret = "Zq7xLw93KpR2mN8vT4yB"
    # In the environment: service names pass the scrubber before reports hold them.
    line = {"schema": SCHEMA_ID, "time": WHEN, "endpoint.kind": "api_call",
            "environment": f"env-{secret}", "service.name": "svc"}
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(line) + "\n")
    found = leaks.find(report_strings([str(path)]), [secret])
    assert "report[json]" in {where for where, _, _ in found}
