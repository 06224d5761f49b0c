"""One live run for the dashboard tests: scenarios -> OpenTelemetry -> a real Prometheus and OTLP.

``live`` (package scope) starts the OTLP receiver, the scenario process (``scenario_app.py``)
and, when the binary is there, Prometheus scraping it every second. The scenarios run twice:
a warm-up pass creates every series, then the measured pass runs between two scrapes
(``start`` and ``end``), so ``increase(...[end - start])`` evaluated at ``end`` counts exactly the
measured pass. Its JSON Lines records and exported spans are what the tests compare with.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.dashboards.prom import PrometheusServer, find_binary
from tests.export.receiver import OtlpReceiver

APP = Path(__file__).with_name("scenario_app.py")
REPO = Path(__file__).resolve().parents[2]
LINE_TIMEOUT_S = 30.0
SCRAPE_TIMEOUT_S = 15.0
EXIT_TIMEOUT_S = 15.0
@dataclass
class LiveRun:
    """What the measured pass produced, and where to ask Prometheus about it."""

    records: list[dict[str, Any]]
    spans: list[dict[str, Any]]
    prometheus: PrometheusServer | None
    start: float
    end: float

    @property
    def window_ms(self) -> int:
        """Milliseconds from the scrape before the measured pass to the one after it."""
        return round((self.end - self.start) * 1000)


class _Lines:
    """Lines of a process's stdout, read by a thread, fetched with a timeout."""

    def __init__(self, stream: Any) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put("")

    def expect(self, word: str, timeout_s: float = LINE_TIMEOUT_S) -> str:
        """The rest of the next line starting with ``word``; fails the test on EOF or timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"scenario process: no '{word}' line within {timeout_s}s")
            if not line:
                pytest.fail(f"scenario process ended before '{word}'")
            head, _, rest = line.strip().partition(" ")
            if head == word:
                return rest


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        try:
            if process.stdin:
                process.stdin.write("exit\n")
                process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(EXIT_TIMEOUT_S)


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRun]:
    """The live run (see the module docstring); Prometheus is None when its binary is absent."""
    folder = tmp_path_factory.mktemp("live")
    receiver = OtlpReceiver()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "HGOBS_"))}
    env.update({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_SERVICE_NAME": "hgobs-dashboards"})
    app_log = (folder / "app.log").open("w")
    process = subprocess.Popen(
        [sys.executable, str(APP), str(folder / "out")], cwd=REPO, env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=app_log)
    prometheus: PrometheusServer | None = None
    try:
        lines = _Lines(process.stdout)
        port = int(lines.expect("metrics"))
        binary = find_binary()
        if binary is not None:
            prometheus = PrometheusServer.start(binary, folder / "prometheus", f"127.0.0.1:{port}")
        warm = float(lines.expect("warm"))
        start = prometheus.scrape_after(warm, SCRAPE_TIMEOUT_S) if prometheus else warm
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
        done = float(lines.expect("done"))
        end = prometheus.scrape_after(done, SCRAPE_TIMEOUT_S) if prometheus else done
        records_path = folder / "out" / "run" / "attempts.jsonl"
        records = [json.loads(line) for line in records_path.read_text("utf-8").splitlines()
                   if line.strip()]
        _stop(process)
        if not receiver.wait_for(lambda r: len([s for s in r.spans() if s["scope"] == "hgobs"])
                                 >= len(records)):
            pytest.fail("the scenario spans did not all reach the OTLP receiver")
        spans = [s for s in receiver.spans() if s["scope"] == "hgobs"]
        yield LiveRun(records, spans, prometheus, start, end)
    finally:
        _stop(process)
        if prometheus is not None:
            prometheus.stop()
        receiver.stop()
        app_log.close()


@pytest.fixture(scope="package")
def prometheus(live: LiveRun) -> PrometheusServer:
    """The live run's Prometheus; skipped when not installed, a failure when ``CI`` is set."""
    if live.prometheus is None:
        message = ("prometheus is not installed (Debian: apt-get install -y prometheus; or set "
                   "PROMETHEUS_BIN)")
        if os.environ.get("CI"):
            pytest.fail(message + "; CI is set, so the Prometheus tests must run")
        pytest.skip(message)
    return live.prometheus
