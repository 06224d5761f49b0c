"""The instrumented process the dashboard tests scrape: scenarios in, Prometheus metrics out.

Run as ``python scenario_app.py OUT_DIR SCENARIO...`` (no names: every scenario). It exposes
the global meter provider with the OpenTelemetry Prometheus exporter on 127.0.0.1 (free port),
exports spans with the standard OTLP exporter configured by ``OTEL_*`` env vars, and speaks a
line protocol with the test:

- prints ``metrics <port>``, runs the scenarios once into ``OUT_DIR/warm`` (so every series
  exists before the measured pass), prints ``warm <epoch seconds>``;
- waits for ``go`` on stdin, runs them again into ``OUT_DIR/run`` with spans exported, prints
  ``done <epoch seconds>``;
- keeps serving metrics until stdin closes or says ``exit``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from opentelemetry import metrics
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client import start_http_server

from hgobs.emulator.scenarios import run_all


def say(*words: object) -> None:
    print(*words, flush=True)


def main(out_dir: str, names: list[str]) -> None:
    reader = PrometheusMetricReader()
    metrics.set_meter_provider(MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": "hgobs-dashboards"})))
    server, _ = start_http_server(0, addr="127.0.0.1")
    say("metrics", server.server_port)
    selected = names or None
    run_all(Path(out_dir) / "warm", names=selected)
    say("warm", time.time())
    if sys.stdin.readline().strip() != "go":
        return
    run_all(Path(out_dir) / "run", names=selected,
            span_processors=[BatchSpanProcessor(OTLPSpanExporter())])
    say("done", time.time())
    for line in sys.stdin:
        if line.strip() == "exit":
            break
    server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
