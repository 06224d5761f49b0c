"""Fixtures of the export tests: a loopback OTLP/HTTP receiver per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.export.receiver import OtlpReceiver


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    """An OTLP/HTTP receiver on 127.0.0.1, stopped after the test."""
    r = OtlpReceiver()
    yield r
    r.stop()
