"""Shared fixtures: loopback servers, in-memory OpenTelemetry providers, JSON Lines capture."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.servers import LoopPool

# Hypothesis profiles. "ci" (the default) keeps property tests quick and reproducible; "slow"
# (scripts/reliability.py) tries enough examples for the counts in docs/reliability.md.
# Select one with --hypothesis-profile NAME or HGOBS_TEST_PROFILE=NAME. No example database:
# failures print a reproduction blob instead of writing a folder into the work tree.
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True, database=None,
                          print_blob=True, suppress_health_check=_QUIET)
settings.register_profile("slow", max_examples=2500, deadline=None, database=None,
                          print_blob=True, suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HGOBS_TEST_PROFILE", "ci"))


@pytest.fixture(scope="session")
def pool() -> Iterator[LoopPool]:
    """Loopback http and https servers sharing one reply script."""
    p = LoopPool()
    yield p
    p.stop()


class Telemetry:
    """A tracer provider with an in-memory exporter and a meter provider with a reader."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(resource=Resource.create({"service.name": "case-replay"}))
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def spans(self):
        return list(self.exporter.get_finished_spans())

    def ours(self):
        return [s for s in self.spans() if s.instrumentation_scope.name == "hgobs"]


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    """Fresh in-memory OpenTelemetry providers for one test."""
    t = Telemetry()
    yield t
    t.tracer_provider.shutdown()
