"""Fixtures of the cluster tests: one local Dask cluster per test module, 2 workers of 1 thread."""

from __future__ import annotations

import pytest

from tests.cluster.kit import KEY


@pytest.fixture(scope="module")
def cluster():
    """``(client, scheduler address)`` of a LocalCluster on 127.0.0.1 whose workers (and this
    process, while the module runs) have ``HGOBS_FINGERPRINT_KEY`` set to ``KEY``."""
    from hgobs.cluster.run import local_cluster

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HGOBS_FINGERPRINT_KEY", KEY)
        with local_cluster(2, KEY.encode()) as client:
            yield client, client.scheduler.address
