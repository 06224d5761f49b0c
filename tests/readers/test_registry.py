"""One registry of readers: each format once, each module a ``Reader``, detection by content."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from hgobs.readers import REGISTRY, detect
from hgobs.readers.base import Reader

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_every_reader_is_registered_once_under_its_own_name():
    """Thirteen formats, thirteen distinct names, each a different module."""
    names = [reader.NAME for reader in REGISTRY]
    assert names == ["hgobs-jsonl", "otlp-json", "har", "jaeger-json", "zipkin-json",
                     "ecs-json", "bunyan-pino", "otel-console", "json-app-log",
                     "curl-verbose", "python-log", "logfmt", "text-log"]
    assert len({id(reader) for reader in REGISTRY}) == 13


@pytest.mark.parametrize("reader", REGISTRY, ids=lambda r: r.NAME)
def test_each_registered_module_has_the_reader_protocol(reader: Reader):
    """``sniff(head, name)`` and ``read(stream, name, ctx)``, both documented."""
    assert list(inspect.signature(reader.sniff).parameters)[:2] == ["head", "name"]
    assert list(inspect.signature(reader.read).parameters)[:3] == ["stream", "name", "ctx"]
    assert reader.sniff.__doc__ and reader.read.__doc__


@pytest.mark.parametrize("name", ["attempts.txt", "hgobs.jsonl.1", "trace", "x.har.GZ"])
def test_the_name_of_a_file_never_decides_its_format(name):
    """The same first bytes are read by the same reader whatever the file is called."""
    head = b'{"schema":"hgobs.attempt/1","time":1.0,"endpoint.kind":"api_call"}\n'
    assert detect(head, name) is _named("hgobs-jsonl")
    assert detect(b'{"resourceSpans":[]}\n', name) is _named("otlp-json")


def _named(name: str):
    """The registered reader whose ``NAME`` is ``name``; ``KeyError`` when there is none."""
    readers = {reader.NAME: reader for reader in REGISTRY}
    return readers[name]
