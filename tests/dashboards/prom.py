"""A real Prometheus server for tests: own config and data folder, 127.0.0.1 only, bounded waits.

``PrometheusServer.start(binary, tmp, target)`` writes a config that scrapes ``target`` every
second as job ``hgobs``, starts the binary on a free loopback port and waits until it is ready;
``stop()`` terminates it (kill after a timeout). ``query`` and ``label_values`` use the HTTP API.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRAPE_INTERVAL_S = 1
JOB = "hgobs"
STARTUP_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
HTTP_TIMEOUT_S = 5.0


def find_binary() -> str | None:
    """The prometheus executable: ``PROMETHEUS_BIN``, else ``prometheus`` on ``PATH``."""
    for candidate in (os.environ.get("PROMETHEUS_BIN"), shutil.which("prometheus")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrometheusError(RuntimeError):
    """Prometheus did not start, or an API call failed."""


@dataclass
class PrometheusServer:
    """A running Prometheus: ``url`` of its HTTP API, the process, and its log file."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(cls, binary: str, folder: Path, target: str) -> PrometheusServer:
        """Start ``binary`` scraping ``target`` (``host:port``); data and logs go under ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "global": {"scrape_interval": f"{SCRAPE_INTERVAL_S}s",
                       "evaluation_interval": f"{SCRAPE_INTERVAL_S}s"},
            "scrape_configs": [{
                "job_name": JOB,
                "scrape_interval": f"{SCRAPE_INTERVAL_S}s",
                "scrape_timeout": f"{SCRAPE_INTERVAL_S}s",
                "static_configs": [{"targets": [target]}],
            }],
        }
        config_path = folder / "prometheus.yml"
        config_path.write_text(json.dumps(config, indent=2))  # JSON is YAML
        port = free_port()
        log_path = folder / "prometheus.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [binary, f"--config.file={config_path}", f"--storage.tsdb.path={folder / 'data'}",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        server = cls(f"http://127.0.0.1:{port}", process, log_path)
        try:
            server._wait_ready()
        except BaseException:
            server.stop()
            raise
        return server

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrometheusError(f"prometheus exited with {self.process.returncode}: {self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise PrometheusError(f"prometheus not ready after {STARTUP_TIMEOUT_S}s: {self.log()}")

    def log(self) -> str:
        """The last part of the server's log (for failure messages)."""
        try:
            return self.log_path.read_text("utf-8", "replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate the server; kill it when it does not exit within ``STOP_TIMEOUT_S``."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)

    def api(self, path: str, params: dict[str, Any] | list[tuple[str, Any]]) -> Any:
        """GET ``/api/v1/<path>`` and return ``data``; raises PrometheusError unless success."""
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            body = json.loads(e.read() or b"{}")
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, at: float) -> dict[str, Any]:
        """Evaluate ``expr`` at time ``at`` (epoch seconds): ``{"resultType", "result"}``."""
        return self.api("query", {"query": expr, "time": f"{at:.3f}"})

    def label_values(self, label: str, match: str, start: float, end: float) -> list[str]:
        """Values of ``label`` on series matching ``match`` between ``start`` and ``end``."""
        return self.api(f"label/{label}/values",
                        [("match[]", match), ("start", f"{start:.3f}"), ("end", f"{end:.3f}")])

    def version(self) -> str:
        """The server's version string (``2.42.0+ds`` ...)."""
        return str(self.api("status/buildinfo", {}).get("version", ""))

    def scrape_after(self, after: float, timeout_s: float) -> float:
        """Timestamp of the first stored scrape of job ``hgobs`` that started after ``after``.

        Waits (polling) up to ``timeout_s``; raises PrometheusError when none comes.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            data = self.query(f'up{{job="{JOB}"}}[30s]', time.time())
            stamps = [float(ts) for series in data["result"] for ts, value in series["values"]
                      if value == "1" and float(ts) > after]
            if stamps:
                return min(stamps)
            if time.monotonic() > deadline:
                raise PrometheusError(f"no successful scrape after {after} within {timeout_s}s: "
                                      f"{self.log()}")
            time.sleep(0.2)
