"""Every sink the recorder writes to is a ``Sink``, and each delivers the record it is given."""

from __future__ import annotations

import json
import logging

from hgobs.capture.recorder import Recorder
from hgobs.config import Options
from hgobs.sinks import Sink
from hgobs.sinks.jsonl import JsonlSink
from hgobs.sinks.logging import LogSink

RECORD = {"time": 1_763_000_000.0, "endpoint.kind": "token_exchange", "environment": "sandbox",
          "outcome": "failed", "category": "expired_assertion", "http.status": 400}


def test_recorder_writes_through_the_protocol(tmp_path, caplog):
    """With a JSON Lines path the recorder's sinks are the file then logging, both ``Sink``s;
    writing through them puts the record in the file and on the ``hgobs`` logger."""
    path = tmp_path / "hgobs.jsonl"
    recorder = Recorder(Options(jsonl_path=str(path)))
    assert [step for step, _ in recorder.sinks] == ["jsonl", "log"]
    assert isinstance(recorder.sinks[0][1], JsonlSink) and isinstance(recorder.sinks[1][1], LogSink)
    assert all(isinstance(sink, Sink) for _, sink in recorder.sinks)
    with caplog.at_level(logging.WARNING, logger="hgobs"):
        for _, sink in recorder.sinks:
            sink.write(dict(RECORD))
    assert all(sink.flush(5.0) for _, sink in recorder.sinks)
    for _, sink in recorder.sinks:
        sink.close(5.0)
    assert [json.loads(line) for line in path.read_text().splitlines()] == [
        {"schema": "hgobs.attempt/1", **RECORD}]
    assert [r.getMessage() for r in caplog.records if r.name == "hgobs"] == [
        "hgobs auth attempt token_exchange sandbox: expired_assertion"]


def test_without_a_file_only_logging_is_a_sink():
    """No JSON Lines path: the one sink is logging."""
    recorder = Recorder(Options())
    assert [step for step, _ in recorder.sinks] == ["log"]


class _Sink:
    """A sink that notes what happened to it, and can fail to close."""

    def __init__(self, events: list[str], name: str, fail: bool = False) -> None:
        self.events, self.name, self.fail = events, name, fail

    def write(self, record, attributes=None) -> None:
        self.events.append(f"{self.name}.write:{sorted(attributes or {})}")

    def flush(self, timeout: float = 0.0) -> bool:
        return True

    def close(self, timeout: float = 0.0) -> None:
        self.events.append(f"{self.name}.close")
        if self.fail:
            raise OSError("disk gone")


def test_close_closes_every_sink_even_after_one_fails(caplog):
    """``Recorder.close`` closes each sink in order; one that raises is reported (once, on
    ``hgobs.internal``) and the next is closed all the same."""
    events: list[str] = []
    recorder = Recorder(Options())
    recorder.sinks = (("first", _Sink(events, "first", fail=True)), ("second", _Sink(events, "second")))
    with caplog.at_level(logging.DEBUG, logger="hgobs.internal"):
        recorder.close()
    assert events == ["first.close", "second.close"]
    assert any("first.close" in r.getMessage() for r in caplog.records if r.name == "hgobs.internal")
