"""The dask extra: the analyze extra alone never imports Dask, and says what --workers needs."""

from __future__ import annotations

from hgobs.storageopts import storage_options
from tests.test_lean_install import HGOBS, lean_run


def test_workers_without_the_dask_extra_names_it(tmp_path):
    done = lean_run(tmp_path, [str(HGOBS), "analyze", "samples/", "--workers", "2"],
                    extras=("analyze",))
    assert done.returncode == 2
    assert "hgobs analyze --workers/--scheduler needs pip install 'hgobs[dask]'" in done.stderr


def test_storage_options_nest_and_type_their_values():
    assert storage_options(["endpoint_url=http://127.0.0.1:9", "anon=true",
                            "client_kwargs.region_name=eu-west-1", "default_block_size=1024"]) == {
        "endpoint_url": "http://127.0.0.1:9", "anon": True,
        "client_kwargs": {"region_name": "eu-west-1"}, "default_block_size": 1024}
