"""Adversarial inputs: CPU hgobs adds per exchange, and the analyzer's time per line, by size.

Each shape is a text a server (or a log) may hold that made a backtracking pattern rescan:
runs of ``@``, ``.``, ``-``, letters, the base64 alphabet, ``eyJ`` (a JWT start without dots),
``a.`` pairs, quotes and backslashes, nested ``WWW-Authenticate`` parameters, and an HTML error
page. Capture: a loopback server (a child process, as in ``benchmarks.capture``) answers a
token exchange with the shape as the ``error_description`` of a 400 JSON body (1, 4, 16 and 64
KiB) and an API call with it as a ``WWW-Authenticate`` value (1, 4 and 15 KiB: h11 refuses a
response head over 16 KiB). The same client pair as ``benchmarks.capture`` (OpenTelemetry httpx
alone, and with hgobs) takes turns in rounds; a row is the median of the rounds' differences
in CPU microseconds per request (``time.process_time``). Analyzer: one text-log line of the
shape (64 KiB, 256 KiB and 1 MiB) read by ``hgobs.readers.textlog``; CPU milliseconds per line.

``python -m benchmarks.adversarial [--quick]`` writes its section of ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import statistics
import sys
import time
from pathlib import Path

from benchmarks import capture

UNITS = {
    "at": "@", "dot": ".", "dash": "-", "letters": "a", "base64": "Zm9vYmFy+/09",
    "eyJ": "eyJ", "a.": "a.", "quotes": '"\\', "params": 'x=", y="\\"', "html": "",
}
BODY_KIB = (1, 4, 16, 64)
HEADER_KIB = (1, 4, 15)
LINE_KIB = (64, 256, 1023)
TARGET_US = 2000.0
SECTION = "## Adversarial inputs"
NOTES = [
    "Reading the figures:", "",
    "- `scrub_text` cuts every text to its limit plus `SCAN_MARGIN` (1,024) characters before "
    "any pattern runs, and `WWW-Authenticate` is read for at most 4,096 characters and 64 "
    "items, so past a few KiB the cost stops growing. Before, on 64 KiB runs measured with "
    "`timeit`: the e-mail pattern took 3.0-3.2 s on dots, dashes, letters or `eyJ`, the URL "
    "pattern 1.6-3.1 s, the challenge parameter pattern 15-29 s; now each is linear (tested "
    "in `tests/reliability/test_linear_work.py`).",
    "- A 64 KiB body costs less than a 16 KiB one: capture reads at most `max_body_bytes` "
    "(64 KiB by default) of a response, a larger one not at all, "
    "so its error description is never parsed.",
    "- The analyzer's time grows linearly (4x the line, about 4x the time). The `html` page "
    "has a newline per table row, so it is read as some 15,000 short lines per MiB, each "
    "searched for a URL and a status: that, not one long line, is its cost.",
    "- The memo of clean texts in `hgobs.redaction` (`_CLEAN`) stays: without it a text seen "
    "before costs 2-8 us instead of 0.2-0.4 us (no known secrets), or 5-23 us instead of 1-12 "
    "us (with them), for the texts every exchange carries (the `grant_type` URN, the token URL "
    "as `aud`, a server's usual error description): some 10-30 us of the 300-550 us an "
    "exchange costs.",
]


def text(shape: str, size: int) -> str:
    """``size`` characters of ``shape`` (an HTML error page for ``html``)."""
    if shape == "html":
        row = '<tr><td class="x">a.b-c@d</td><td><a href="/e?f=g">h</a></td></tr>\n'
        page = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><table>\n"
        return (page + row * (size // len(row) + 1))[:size]
    unit = UNITS[shape]
    return (unit * (size // len(unit) + 1))[:size]


def _reply(path: bytes) -> bytes:
    """The response for ``/adv/<where>/<shape>/<bytes>`` (``where``: ``token`` or ``fhir``)."""
    where, shape, size = path.decode().split("/")[-3:]
    value = text(shape, int(size))
    if where == "fhir":
        header = value.replace("\r", " ").replace("\n", " ")
        return capture._response("401 Unauthorized", b"", extra=f"www-authenticate: Bearer {header}\r\n")
    if shape == "html":
        return capture._response("502 Bad Gateway", value.encode(), "text/html")
    body = json.dumps({"error": "invalid_grant", "error_description": value}).encode()
    return capture._response("400 Bad Request", body)


class _Server(capture._Server):
    """``benchmarks.capture``'s keep-alive server, answering ``_reply`` of each ``/adv/`` path."""

    def reply(self, path: bytes) -> bytes:
        """``_reply`` for an adversarial path, else the capture server's fixed bytes."""
        path = path.split(b"?")[0]
        return _reply(path) if b"/adv/" in path else capture.RESPONSES[path]


def serve(port: int) -> None:
    """Run the server on 127.0.0.1:``port`` until killed (the child process)."""
    capture.serve(port, _Server)


def _cases(body_kib: tuple[int, ...], header_kib: tuple[int, ...]) -> list[tuple[str, str, int]]:
    out = [("exchange", "plain", 0), ("api", "plain", 0)]
    out += [("exchange", s, k) for s in UNITS for k in body_kib]
    out += [("api", s, k) for s in UNITS if s != "html" for k in header_kib]
    return out


def capture_rows(rounds: int, requests: int, body_kib: tuple[int, ...] = BODY_KIB,
                 header_kib: tuple[int, ...] = HEADER_KIB) -> list[tuple[str, str, int, float]]:
    """``(where, shape, KiB, added CPU us per request)`` for every case (see module doc)."""
    rows = []
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    with capture.server("benchmarks.adversarial") as base:
        made, close = capture.clients(base)
        pool = capture._assertions(base, 16)
        try:
            for where, shape, kib in _cases(body_kib, header_kib):
                if where == "exchange":
                    url = f"{base}/oauth/bad/token" if shape == "plain" else \
                        f"{base}/adv/token/{shape}/{kib * 1024}"
                    def make(c, i, url=url):
                        return c.post(url, data={"grant_type": grant, "assertion": pool[i % 16]})
                else:
                    url = f"{base}/fhir/R4/Patient/401" if shape == "plain" else \
                        f"{base}/fhir/adv/fhir/{shape}/{kib * 1024}"
                    def make(c, i, url=url):
                        return c.get(url, headers={"authorization": "Bearer opaque-benchmark-value-0"})
                names = ("otel", "otel+hgobs")
                for name in names:
                    for i in range(3):
                        make(made[name], i).read()
                diffs = []
                for r in range(rounds):
                    took = {}
                    for name in (names if r % 2 else names[::-1]):
                        start = time.process_time()
                        for i in range(requests):
                            make(made[name], i).read()
                        took[name] = (time.process_time() - start) / requests * 1e6
                    diffs.append(took["otel+hgobs"] - took["otel"])
                rows.append((where, shape, kib, statistics.median(diffs)))
        finally:
            close()
    return rows


def analyzer_rows(repeat: int, line_kib: tuple[int, ...] = LINE_KIB) -> list[tuple[str, int, float]]:
    """``(shape, KiB, CPU ms)`` for the text-log reader reading one line of the shape."""
    from hgobs.readers import textlog

    rows = []
    for shape in UNITS:
        for kib in line_kib:
            value = text(shape, kib * 1024 - 200)
            line = ('2026-01-01T00:00:00Z POST https://api.example.org/oauth/token -> 400 '
                    '{"error":"invalid_grant","error_description":"' + value + '"}\n')
            data = line.encode()
            best = float("inf")
            for _ in range(repeat):
                start = time.process_time()
                list(textlog.read(io.BytesIO(data), "bench.log"))
                best = min(best, time.process_time() - start)
            rows.append((shape, kib, best * 1e3))
    return rows


def markdown(captured: list[tuple[str, str, int, float]], analyzed: list[tuple[str, int, float]],
             quick: bool) -> str:
    body_kib = sorted({k for w, s, k, _ in captured if w == "exchange" and s != "plain"})
    header_kib = sorted({k for w, s, k, _ in captured if w == "api" and s != "plain"})
    line_kib = sorted({k for _, k, _ in analyzed})
    """The section of ``docs/performance.md``."""
    worst = max(us for _, _, _, us in captured)
    lines = [SECTION, "", "Written by `python -m benchmarks.adversarial` (also run by "
             "`python -m benchmarks`)" + (" **--quick: numbers mean nothing**" if quick else "")
             + f", {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Shapes and method: the "
             "module doc of `benchmarks/adversarial.py`.", "",
             f"Worst CPU hgobs adds to a request: **{worst:,.0f} us** (target <= "
             f"{TARGET_US:,.0f} us: **{'met' if worst <= TARGET_US else 'missed'}**).", "",
             "CPU microseconds hgobs adds per request (OpenTelemetry httpx + hgobs minus "
             "OpenTelemetry httpx alone, median of paired rounds), by size of the input:", ""]
    for where, sizes, label in (("exchange", body_kib, "token exchange, `error_description` "
                                 "of a 400 body (`html`: a 502 HTML page)"),
                                ("api", header_kib, "API call, `WWW-Authenticate` value")):
        plain = next(us for w, s, _, us in captured if w == where and s == "plain")
        lines += [f"{label}; a plain one adds {plain:,.0f} us:", "",
                  "| shape | " + " | ".join(f"{k} KiB" for k in sizes) + " |",
                  "|---|" + "---:|" * len(sizes)]
        for shape in UNITS:
            got = {k: us for w, s, k, us in captured if w == where and s == shape}
            if got:
                lines.append(f"| `{shape}` | " + " | ".join(f"{got[k]:,.0f}" for k in sizes) + " |")
        lines.append("")
    lines += ["Analyzer: CPU milliseconds to read one text-log line holding the shape "
              "(best of the repeats):", "",
              "| shape | " + " | ".join(f"{k} KiB" for k in line_kib) + " |",
              "|---|" + "---:|" * len(line_kib)]
    for shape in UNITS:
        got = {k: ms for s, k, ms in analyzed if s == shape}
        lines.append(f"| `{shape}` | " + " | ".join(f"{got[k]:,.1f}" for k in line_kib) + " |")
    return "\n".join([*lines, "", *NOTES]) + "\n"


def write_section(path: Path, section: str, heading: str = SECTION) -> None:
    """Replace the section under ``heading`` (this benchmark's by default) of ``path`` (up to
    the next ``## ``), or append it."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: section + "\n", old, count=1) if pattern.search(old) else \
        old.rstrip("\n") + "\n\n" + section
    path.write_text(new, encoding="utf-8")


def run(out: Path, quick: bool = False) -> None:
    """Measure and write the section into ``out``."""
    if quick:  # every shape once, at the smallest size: checks the benchmark runs
        section = markdown(capture_rows(1, 1, (1,), (1,)), analyzer_rows(1, (64,)), quick)
    else:
        section = markdown(capture_rows(15, 20), analyzer_rows(5), quick)
    write_section(out, section)


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.adversarial [--quick] [--out FILE]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.adversarial")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).parent.parent / "docs" / "performance.md"))
    args = parser.parse_args(argv)
    run(Path(args.out), args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
