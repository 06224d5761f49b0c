"""Faults: a worker killed mid-run (Dask runs its partition again, the report stays exact) and
a run on separately started ``dask scheduler`` and ``dask worker`` processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster.kit import KEY, on_cluster, replicas, single
from tests.cluster.plugins import KillAfterFirstPart


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return replicas(tmp_path_factory.mktemp("faults"), records=3000)


def test_a_worker_killed_after_its_first_task_is_replaced_and_the_report_is_exact(
        inputs, cluster, tmp_path):
    client, address = cluster
    whole = single(inputs)
    log, flag = tmp_path / "tasks.log", tmp_path / "killed"
    client.register_plugin(KillAfterFirstPart(str(log), str(flag)))
    try:
        assert on_cluster(inputs, address, blocksize=150_000, parts=4) == whole
    finally:
        client.unregister_worker_plugin(KillAfterFirstPart.name)
    events = [line.split() for line in log.read_text().splitlines()]
    killed = [(key, pid) for event, key, pid in events if event == "kill"]
    assert len(killed) == 1, events
    key, pid = killed[0]
    # The killed worker's result was lost with it: the task ran again, in another process.
    runs = [p for event, k, p in events if event == "start" and k == key]
    assert len(runs) == 2 and runs[0] == pid and runs[1] != pid, events
    assert {k for event, k, _ in events if event == "done"} == {
        k for event, k, _ in events if event == "start"}
    assert len({k for _, k, _ in events}) == 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([str(Path(sys.executable).with_name("dask")), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_scheduler_option_against_separately_started_dask_processes(inputs, tmp_path):
    """``hgobs analyze --scheduler`` (the CLI, in a process of its own) on a ``dask scheduler``
    and two ``dask worker`` processes started here: the report equals the local one."""
    import json

    env = {**os.environ, "HGOBS_FINGERPRINT_KEY": KEY,
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_dask("scheduler", "--host", "127.0.0.1", "--port", str(port),
                   "--dashboard-address", "127.0.0.1:0", env=env)]
    try:
        procs += [_dask("worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                        "--dashboard-address", "127.0.0.1:0", env=env) for _ in range(2)]
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
        hgobs_cli = str(Path(sys.executable).with_name("hgobs"))
        args = [hgobs_cli, "analyze", *map(str, inputs), "--format", "json"]
        local = subprocess.run(args, env=env, capture_output=True, check=True, timeout=300)
        remote = subprocess.run([*args, "--scheduler", address], env=env, capture_output=True,
                                check=True, timeout=300)
        a, b = json.loads(local.stdout), json.loads(remote.stdout)
        a.pop("generated_at"), b.pop("generated_at")
        assert a == b and a["read"] == 6000
        wrong = subprocess.run([*args, "--scheduler", address],
                               env={**env, "HGOBS_FINGERPRINT_KEY": "not-the-workers"},
                               capture_output=True, timeout=300)
        assert wrong.returncode == 2
        assert b"a different HGOBS_FINGERPRINT_KEY" in wrong.stderr
        assert b"not-the-workers" not in wrong.stderr and KEY.encode() not in wrong.stderr
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
