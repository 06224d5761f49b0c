"""Write ``examples/``: one small input file per format the analyzer reads.

Raw formats (HAR, ``curl -v``, an application log) are rendered from the synthetic test cases in
``tests/data/cases`` with the real Health Gorilla URLs; they hold made-up assertions and tokens,
as such files do in real life. Trace formats (OTLP JSON, Jaeger, Zipkin) are real spans of the
instrumented client running emulator scenarios. Needs the test extra (``pip install -e '.[test]'``)
and runs from the repository root: ``python scripts/make_examples.py``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

from hgobs.emulator.scenarios import run_all  # noqa: E402
from tests.readers.test_textlog import case_to_textlog  # noqa: E402
from tests.support.cases import load_cases  # noqa: E402
from tests.support.render_curl import case_to_curl  # noqa: E402
from tests.support.render_har import case_to_har  # noqa: E402
from tests.support.render_spans import jaeger_document, otlp_lines, zipkin_spans  # noqa: E402

OUT = ROOT / "examples"
SPAN_SCENARIOS = ("success_sandbox", "environment_mismatch_aud", "expired_assertion",
                  "assertion_as_access_token")
PORT = 8742


def main() -> None:
    OUT.mkdir(exist_ok=True)
    cases = {c["id"]: c for c in load_cases()}
    har = json.loads(case_to_har(cases["hg-assertion-as-bearer"]))
    har["log"]["entries"] += json.loads(case_to_har(cases["hg-env-mismatch"]))["log"]["entries"]
    (OUT / "browser-export.har").write_text(json.dumps(har, indent=2) + "\n")
    (OUT / "curl-verbose.txt").write_text(case_to_curl(cases["hg-expired-assertion"]))
    (OUT / "app.log").write_text("".join(case_to_textlog(cases[i]) for i in (
        "hg-bearer-undefined", "hg-insufficient-scope", "hg-rate-limited")))
    exporter = InMemorySpanExporter()
    with tempfile.TemporaryDirectory() as tmp:
        run_all(tmp, port=PORT, names=SPAN_SCENARIOS,
                span_processors=[SimpleSpanProcessor(exporter)])
    spans = list(exporter.get_finished_spans())
    (OUT / "otlp-traces.jsonl").write_text(otlp_lines(spans, "file"))
    (OUT / "jaeger-trace.json").write_text(json.dumps(jaeger_document(spans), indent=1) + "\n")
    (OUT / "zipkin-spans.json").write_text(json.dumps(zipkin_spans(spans), indent=1) + "\n")
    print(f"wrote {len(list(OUT.iterdir()))} files in {OUT.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
