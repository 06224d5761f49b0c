#!/usr/bin/env python
"""Run the reliability suite and write ``docs/reliability.md`` from what the run counted.

Usage::

    python scripts/reliability.py            # slow profile: every test, hypothesis "slow"
    python scripts/reliability.py --fast     # the CI profile (what pytest runs by default)
    python scripts/reliability.py --out docs/reliability.md

Runs ``pytest tests/reliability`` and the capture and install suites in ``SUITES`` (``test_never_break``,
``test_canary``, ``test_attribute_keys``)
(with ``-m ""`` and ``--hypothesis-profile slow`` unless ``--fast``) with
``HGOBS_RELIABILITY_OUT`` set, so ``tests/reliability/conftest.py`` records every test's outcome
and ``tests/reliability/tally.py`` the cases tried, faults injected and inputs fuzzed per
promise. Every number in the page comes from that run. Exit status: pytest's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SUITES = ["tests/reliability", "tests/capture/test_never_break.py", "tests/capture/test_canary.py",
          "tests/test_attribute_keys.py", "tests/capture/test_host_safety.py",
          "tests/capture/test_client_auth.py", "tests/capture/test_challenges.py",
          "tests/capture/test_foreign_spans.py", "tests/export/test_foreign_redaction.py",
          "tests/test_lean_install.py"]
PROMISES = {
    "secrets": "1. No secret leaves the process",
    "never-break": "2. The host application never breaks",
    "bad-input": "3. Bad input never loses a record",
}
EARLIER_SUITES = {"tests.capture.test_canary": "secrets", "tests.test_attribute_keys": "secrets",
                  "tests.capture.test_never_break": "never-break",
                  "tests.capture.test_host_safety": "never-break",
                  "tests.capture.test_challenges": "never-break",
                  "tests.test_lean_install": "never-break",
                  "tests.capture.test_client_auth": "secrets",
                  "tests.capture.test_foreign_spans": "secrets",
                  "tests.export.test_foreign_redaction": "secrets",
                  "tests.capture.test_late_planning": "never-break",
                  "tests.capture.test_span_redactor_guard": "secrets",
                  "tests.capture.test_span_ending_shortcut": "secrets"}
FIXED_EARLIER = [
    ("never-break", "a response event hook raising (``raise_for_status``) lost the response's "
     "facts; now recorded with the response", "tests/capture/test_never_break.py"),
    ("never-break", "spans could stay open when a step of hgobs failed; every span is ended",
     "tests/capture/test_never_break.py::test_internal_failure_never_leaves_a_span_open"),
    ("never-break", "gzip-encoded streamed token responses gave no body facts; decoded now",
     "tests/capture/test_never_break.py::test_streamed_gzip_exchange_keeps_body_facts"),
    ("never-break", "NaN, huge numbers and 30,000-deep JSON in bodies and claims raised inside "
     "hgobs; handled", "tests/capture/test_never_break.py"),
    ("secrets", "claim values echoed by the server and URL-encoded secrets in error text were "
     "emitted; scrubbed", "tests/capture/test_canary.py::test_echoed_claim_values_are_scrubbed"),
    ("secrets", "record keys named like secrets (``oauth.*``) were deleted by backend scrubbers; "
     "renamed ``response.error*``", "tests/test_attribute_keys.py"),
]
FOUND_HERE = [
    ("secrets", "a percent-encoded token or email in server text ('%2F', '%40') was split into "
     "runs too short to be recognised and a piece of it emitted",
     "tests/reliability/test_leaks_bugs.py::test_percent_encoded_secret_in_server_text"),
    ("secrets", "a server echoing the first characters of a client secret had them emitted",
     "tests/reliability/test_leaks_bugs.py::test_truncated_echo_of_a_client_secret"),
    ("bad-input", "JSON Lines: an 'endpoint.kind' that is a list or object raised TypeError",
     "tests/reliability/test_fuzz_bugs.py::test_bad_unit_is_a_skip_not_a_crash[jsonl"),
    ("bad-input", "Jaeger: a span whose 'processID' is a list raised TypeError",
     "tests/reliability/test_fuzz_bugs.py::test_bad_unit_is_a_skip_not_a_crash[jaeger"),
    ("bad-input", "curl -v: a Host header starting with '[' raised ValueError",
     "tests/reliability/test_fuzz_bugs.py::test_bad_unit_is_a_skip_not_a_crash[curl"),
    ("bad-input", "SIGTERM while the report was written left '.out.html.<random>.tmp' behind",
     "tests/reliability/test_interrupt.py::test_signal_while_writing_leaves_no_file[SIGTERM]"),
    ("bad-input", "scrubbing was quadratic: 64 KiB of '.', '-' or letters in an error text took "
     "3 s (e-mail and URL patterns), a WWW-Authenticate value of letters 29 s; texts are now "
     "cut first and every pattern is linear",
     "tests/reliability/test_linear_work.py"),
    ("secrets", "internationalised e-mail addresses (non-ASCII local part or domain) were "
     "emitted", "tests/reliability/test_leaks_shapes.py::test_internationalised_emails"),
    ("secrets", "an HTTP Basic client secret echoed by the server was emitted",
     "tests/reliability/test_leaks_shapes.py::test_basic_client_secret"),
    ("secrets", "multipart/form-data token bodies were not read, so their secrets echoed by "
     "the server were emitted", "tests/reliability/test_leaks_shapes.py::test_multipart"),
    ("secrets", "a 6- or 7-character client secret, password or token echoed by the server "
     "was emitted", "tests/reliability/test_leaks_shapes.py::test_short_request_secrets"),
    ("secrets", "a secret in a Content-Type parameter echoed by the server was emitted",
     "tests/reliability/test_leaks_shapes.py::test_secrets_in_header_values"),
    ("secrets", "a secret sent as a form or query parameter name was recorded in "
     "form.other_params and the url",
     "tests/reliability/test_leaks_shapes.py::test_secrets_in_parameter_names"),
    ("secrets", "a token after '://' in server text was kept as the URL's host",
     "tests/reliability/test_leaks_shapes.py::test_tokens_after_scheme_separator"),
    ("secrets", "CSV cells could start a spreadsheet formula; a JSON Lines skip reason quoted "
     "the record's schema value; service names reached reports unscrubbed",
     "tests/reliability/test_report_safety.py"),
    ("secrets", "a client secret sent with httpx's files= (a streamed multipart body) was not "
     "known, so the server's echo of it was emitted",
     "tests/capture/test_client_auth.py::"
     "test_multipart_built_by_httpx_from_files_is_read_and_its_echo_scrubbed"),
    ("secrets", "a path echoed in server text (a realm '/fhir/R4/Patient/123?family=Doe') kept "
     "resource ids and search values shorter than 6 characters",
     "tests/test_redaction.py::test_path_references_in_server_text_lose_ids_and_query_values"),
    ("secrets", "other instrumentations' spans kept the URL for spellings outside the API bases "
     "(double slash, trailing-dot host, padded port, dot segments, encoded path) and when a "
     "non-ASCII path made the scope test raise",
     "tests/capture/test_foreign_spans.py::"
     "test_every_url_to_a_profile_host_is_redacted_whatever_its_spelling"),
    ("secrets", "exception events and status descriptions of other instrumentations' spans "
     "quoted the query",
     "tests/capture/test_foreign_spans.py::"
     "test_exception_event_and_status_of_a_redacted_span_lose_the_query"),
    ("secrets", "a bad HGOBS_* setting turned off the redaction of other instrumentations' spans "
     "with capture", "tests/capture/test_foreign_spans.py::"
     "test_a_bad_setting_leaves_capture_off_but_other_spans_redacted"),
    ("never-break", "a request with many query values made scrubbing cost their number times the "
     "text (1,600 values: 448 ms); one pass now",
     "tests/reliability/test_linear_work.py::"
     "test_scrub_cost_is_not_multiplied_by_the_number_of_known_values"),
    ("never-break", "a clock returning None, a string, NaN or 10**400 lost the record",
     "tests/capture/test_host_safety.py::test_a_clock_that_returns_no_time_costs_no_record"),
    ("never-break", "a JSON Lines path with a NUL left the whole client uninstrumented",
     "tests/reliability/test_jsonl_sink.py::"
     "test_a_path_with_a_nul_is_reported_and_the_client_stays_instrumented"),
    ("never-break", "once every GET went out unplanned, a client whose own send returns no "
     "httpx.Response (a subclass, a test double) got an AttributeError for any host; the "
     "status is read guarded", "tests/capture/test_late_planning.py::"
     "test_a_send_that_returns_no_response_object_to_an_unrelated_host_passes_through"),
    ("never-break", "uninstrument racing the first request with an httpx.Auth flow left "
     "_send_handling_redirects wrapped; both take one lock", "tests/capture/"
     "test_late_planning.py::test_uninstrument_while_the_first_flow_wraps_inner_leaves_no_wrapper"),
    ("secrets", "a span redaction that failed replaced url.full and http.url but left an id "
     "in url.path and http.target and values in url.query; they are replaced too",
     "tests/capture/test_span_redactor_guard.py::"
     "test_a_failing_rewrite_redacts_the_url_whole_and_is_reported_once"),
]
"""Found by this suite (properties, fuzzers, interruption), fixed in hgobs, kept as tests."""
LIMITS = [
    "Free text from a server is scrubbed by shape (JWTs, 16+ character base64url and 24+ "
    "character base64 runs mixing letters and digits, any 40+ run, emails) and of the request's "
    "own values. A value only the server knows that has none of these shapes (a word, a short "
    "code) is not recognisable as a secret; the properties generate server-only secrets in the "
    "documented shapes only.",
    "Raw inputs (text logs, spans) that do not show the request cannot tell a word-shaped "
    "client value echoed by the server from ordinary words; for those inputs the properties "
    "check the secret-shaped values and the values the input shows being sent.",
    "A parameter name that is neither in the IANA OAuth Parameters registry nor plain "
    "snake_case is recorded as '[redacted]'; a word-shaped query parameter name with a value "
    "cannot be told from a FHIR search parameter and is kept.",
    "A multipart token body is read when httpx holds it in memory (``content=``, or ``files=``/"
    "``data=`` whose parts are all str or bytes) and is at most 64 KiB; one with a file object "
    "is recorded by its kind only (hgobs never reads the application's files), and its "
    "word-shaped secrets are then not among the values scrubbed from server text.",
    "A server echoing a secret in another letter case (upper-cased) is not recognised; exact "
    "echoes, URL-encoded ones and 8-character pieces are.",
    "With ``SimpleSpanProcessor`` the SDK exports on the request's thread by design: a slow "
    "exporter then delays each recorded attempt by one export (measured), as it would any span.",
]


def run(fast: bool, extra: list[str]) -> tuple[int, dict[str, Any], float]:
    """Run the suites; pytest's exit status, the recorded results, and the wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfExX",
               *SUITES, *extra]
        if not fast:
            cmd += ["-m", "", "--hypothesis-profile", "slow"]
        env = {**os.environ, "HGOBS_RELIABILITY_OUT": str(out)}
        print("+", " ".join(cmd[1:]), flush=True)
        started = time.monotonic()
        code = subprocess.call(cmd, cwd=REPO, env=env)
        elapsed = time.monotonic() - started
        if not out.exists():
            sys.exit(f"the run recorded nothing (pytest exit {code})")
        return code, json.loads(out.read_text()), elapsed


def promise_of(test: dict[str, Any]) -> str:
    if test["promise"] in PROMISES:
        return str(test["promise"])
    return EARLIER_SUITES.get(test["module"], "other")


def render(results: dict[str, Any], elapsed: float, fast: bool, code: int) -> str:
    """The Markdown page."""
    tests: dict[str, dict[str, Any]] = results["tests"]
    by_promise: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for node, test in sorted(tests.items()):
        by_promise[promise_of(test)].append((node, test))
    counts: dict[str, dict[str, int]] = results["counts"]
    profile = "fast (CI)" if fast else "slow"
    lines = [
        "# Reliability: the three promises, and what tried to break them",
        "",
        "Written by `python scripts/reliability.py` from one run of the reliability suite; every "
        "number below was counted by that run. Do not edit by hand: run the script again.",
        "",
        f"- profile: **{profile}** (hypothesis profile `{results['profile']}`, "
        f"{results['max_examples']} examples per property before per-test scaling)",
        f"- run: {time.strftime('%Y-%m-%d', time.gmtime())}, {elapsed / 60:.1f} minutes on "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, pytest exit status {code}",
        "- fast part (in CI, with every `pytest` run): `pytest` (the `slow` marker is deselected "
        "by default, hypothesis uses the `ci` profile)",
        "- slow part: `python scripts/reliability.py` (all tests, hypothesis profile `slow`); "
        "`python scripts/reliability.py --fast` counts the CI profile instead",
        "",
        "## Cases tried per promise",
        "",
    ]
    for key, title in PROMISES.items():
        entries = by_promise.get(key, [])
        outcomes = Counter(t["outcome"] for _, t in entries)
        seconds = sum(t["seconds"] for _, t in entries)
        lines += [f"### {title}", "",
                  f"{len(entries)} tests in {seconds:.0f} s: "
                  + ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) + ".", ""]
        tallied = counts.get(key, {})
        earlier = sum(1 for _, t in entries if t["module"] in EARLIER_SUITES)
        if tallied or earlier:
            lines += ["| what | count |", "|---|---:|"]
            lines += [f"| {what} | {n:,} |" for what, n in sorted(tallied.items())]
            if earlier:
                lines.append(f"| cases of the capture and install suites "
                             f"({', '.join(sorted(m for m, p in EARLIER_SUITES.items() if p == key))}) "
                             f"| {earlier:,} |")
            lines.append("")
        lines += ["| test | what must hold | outcome | s |", "|---|---|---|---:|"]
        for node, test in entries:
            if test["module"] in EARLIER_SUITES:
                continue
            name = node.split("::", 1)[1] if "::" in node else node
            module = node.split("::", 1)[0].rsplit("/", 1)[-1]
            doc = test["doc"].replace("|", "\\|")
            lines.append(f"| `{module}::{name}` | {doc} | {test['outcome']} | "
                         f"{test['seconds']:.1f} |")
        lines.append("")
    lines += ["## Found and fixed", "",
              "Found by this suite, fixed in hgobs, kept as regression tests (their outcome in "
              "this run after the colon):", ""]
    for promise, what, guard in FOUND_HERE:
        matching = [t["outcome"] for n, t in tests.items() if n.startswith(guard)]
        state = ", ".join(f"{n} {o}" for o, n in Counter(matching).items()) or "not run here"
        lines.append(f"- {PROMISES[promise].split('. ', 1)[1]}: {what} (`{guard}`: {state})")
    lines += ["", "Found by the adversarial capture tests before this suite, fixed in hgobs, "
              "guarded by the tests named:", ""]
    for promise, what, guard in FIXED_EARLIER:
        matching = [t["outcome"] for n, t in tests.items() if n.startswith(guard)]
        state = ", ".join(f"{n} {o}" for o, n in Counter(matching).items()) or "not run here"
        lines.append(f"- {PROMISES[promise].split('. ', 1)[1]}: {what} (`{guard}`: {state})")
    lines += ["", "## What remains (known limits, by design)", ""]
    lines += [f"- {text}" for text in LIMITS]
    failed = [(n, t) for n, t in sorted(tests.items()) if t["outcome"] in ("failed", "error")]
    if failed:
        lines += ["", "## Failing in this run", ""]
        lines += [f"- `{n}`: {t['doc']}" for n, t in failed]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="the CI profile instead of slow")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "reliability.md")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args(argv)
    code, results, elapsed = run(args.fast, args.pytest_args)
    page = render(results, elapsed, args.fast, code)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(page, "utf-8")
    tmp.replace(args.out)
    print(f"wrote {args.out}")
    return code


if __name__ == "__main__":
    sys.exit(main())
