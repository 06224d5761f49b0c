"""``hgobs analyze s3://bucket/logs/ --workers 2`` against an S3 server on 127.0.0.1 (moto's,
started here on a free port) gives the report of the local single-process run of the same
files; an object that cannot be read is skipped with a reason naming it, as a local file is.

moto's server shares the test process: nothing is timed through it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster.kit import KEY, replicas

BUCKET = "hgobs-logs"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """``(endpoint URL, local folder)``: the folder's files uploaded under ``logs/``."""
    from moto.server import ThreadedMotoServer

    folder = tmp_path_factory.mktemp("s3logs")
    replicas(folder, records=2500)
    (folder / "broken.jsonl.gz").write_bytes(b"\x1f\x8b" + b"\xff" * 64)  # no gzip header
    (folder / "notes.md").write_text("not a log\n")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        with pytest.MonkeyPatch.context() as mp:
            for name, value in CREDENTIALS.items():
                mp.setenv(name, value)
            import s3fs

            fs = s3fs.S3FileSystem(endpoint_url=endpoint)
            fs.mkdir(BUCKET)
            for path in sorted(folder.iterdir()):
                fs.put_file(str(path), f"{BUCKET}/logs/{path.name}")
            yield endpoint, folder
    finally:
        server.stop()


def _analyze(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **CREDENTIALS, "HGOBS_FINGERPRINT_KEY": KEY}
    return subprocess.run([str(Path(sys.executable).with_name("hgobs")), "analyze", *args,
                           "--format", "json"], env=env, capture_output=True, timeout=300)


def test_s3_with_two_workers_equals_the_local_single_process_run(s3):
    endpoint, folder = s3
    local = _analyze(str(folder))
    remote = _analyze(f"s3://{BUCKET}/logs/", "--workers", "2",
                      "--storage-option", f"endpoint_url={endpoint}")
    assert local.returncode == remote.returncode == 0, remote.stderr.decode()[-2000:]
    text = remote.stdout.decode().replace(f"s3://{BUCKET}/logs/", f"{folder}/")
    a, b = json.loads(local.stdout), json.loads(text)
    a.pop("generated_at"), b.pop("generated_at")
    assert a == b
    assert a["read"] == 5001
    skipped = [row for row in b["skipped"] if "broken.jsonl.gz" in row["source"]]
    assert skipped == [{"source": f"{folder}/broken.jsonl.gz:0",
                        "reason": "cannot open file (BadGzipFile)"}]
    assert endpoint.encode() not in remote.stderr


def test_a_bad_storage_option_is_a_usage_error_that_quotes_nothing(s3):
    result = _analyze(f"s3://{BUCKET}/logs/", "--workers", "1", "--storage-option",
                      "secret-value-without-equals")
    assert result.returncode == 2
    assert b"--storage-option" in result.stderr and b"secret-value" not in result.stderr


def test_s3_objects_split_by_byte_range_equal_the_local_run(s3, cluster):
    """Workers read byte ranges of the objects themselves (the endpoint a storage option,
    the credentials from their environment)."""
    from tests.cluster.kit import on_cluster, single

    endpoint, folder = s3
    _, address = cluster
    whole = single([folder])
    report = on_cluster([f"s3://{BUCKET}/logs/"], address, blocksize=120_000, parts=3,
                        storage_options={"endpoint_url": endpoint})
    text = json.dumps(report).replace(f"s3://{BUCKET}/logs/", f"{folder}/")
    assert json.loads(text) == whole
