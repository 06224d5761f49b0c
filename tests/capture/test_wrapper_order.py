"""Late planning and the lazy ``INNER`` wrapper with per-client and global instrumentation together
(either order), a send that returns no response, and ``uninstrument`` racing the first flow."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

import hgobs
from tests.support.emitted import loop_profile
from tests.support.loopback import Reply
from tests.support.servers import LoopServer

OK = Reply(200, [("content-type", "application/fhir+json")], b'{"resourceType":"Patient"}')
UNAUTHORIZED = Reply(401, [("www-authenticate", 'Bearer error="invalid_token"')], b"")
BEARER = {"Authorization": "Bearer at-0123456789abcdef"}


@pytest.fixture(scope="module")
def server() -> Iterator[LoopServer]:
    s = LoopServer()
    yield s
    s.stop()


def _lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_client_instrumented_before_global_records_its_refusal_itself(server, telemetry,
                                                                     tmp_path):
    """A client instrumented on its own (client id ``own-client``) before the global
    instrumentation is turned on: once any other client's flow has wrapped ``INNER`` of the
    class, the client's refused read (no flow) must still be recorded by its own wrapper."""
    with httpx.Client() as client:
        hgobs.instrument_client(client, profile=loop_profile(server.origin),
                                client_id="own-client", jsonl_path=tmp_path / "own.jsonl",
                                tracer_provider=telemetry.tracer_provider)
        instrumentor = hgobs.HGAuthInstrumentor()
        instrumentor.instrument(profile=loop_profile(server.origin), client_id="global-client",
                                jsonl_path=tmp_path / "global.jsonl",
                                tracer_provider=telemetry.tracer_provider)
        try:
            with httpx.Client(auth=httpx.BasicAuth("u", "p")) as other:
                server.script.load([OK])
                other.get(f"{server.origin}/fhir/R4/Patient/9")  # a flow: global INNER wrapped
            server.script.load([UNAUTHORIZED])
            assert client.get(f"{server.origin}/fhir/R4/Patient/1",
                              headers=BEARER).status_code == 401
        finally:
            instrumentor.uninstrument()
            hgobs.uninstrument_client(client)
    own = _lines(tmp_path / "own.jsonl")
    glob = _lines(tmp_path / "global.jsonl")
    assert [(r["endpoint.kind"], r["http.status"]) for r in own] == [("api_call", 401)], \
        (own, glob)
    assert glob == []


def test_a_refusal_the_client_config_does_not_know_is_still_recorded_by_the_global_one(
        server, telemetry, tmp_path):
    """Global instrumentation for the loop server's API; a client instrumented over it for
    another provider (a host it does not call). A refused read to the loop server's API goes
    past the client's wrapper (nothing of its own) to the global one, which records it, as
    before late planning: it must not be lost between the two."""
    instrumentor = hgobs.HGAuthInstrumentor()
    instrumentor.instrument(profile=loop_profile(server.origin), client_id="global-client",
                            jsonl_path=tmp_path / "global.jsonl",
                            tracer_provider=telemetry.tracer_provider)
    try:
        with httpx.Client() as client:
            hgobs.instrument_client(client, profile=loop_profile("https://other.example.org"),
                                    client_id="own-client", jsonl_path=tmp_path / "own.jsonl",
                                    tracer_provider=telemetry.tracer_provider)
            server.script.load([UNAUTHORIZED])
            assert client.get(f"{server.origin}/fhir/R4/Patient/1",
                              headers=BEARER).status_code == 401
            hgobs.uninstrument_client(client)
    finally:
        instrumentor.uninstrument()
    glob = _lines(tmp_path / "global.jsonl")
    assert [(r["endpoint.kind"], r["http.status"]) for r in glob] == [("api_call", 401)]
    assert _lines(tmp_path / "own.jsonl") == []


class _Wrapped:
    """What a client subclass's own ``send`` may hand back (a cache entry, a test double)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response


class _WrappingClient(httpx.Client):
    def send(self, request, **kwargs):  # type: ignore[override]
        return _Wrapped(httpx.Response(200, request=request))


def test_a_send_that_returns_no_response_object_to_an_unrelated_host_passes_through(
        server, telemetry):
    """A GET to a host no profile names was passed through untouched before late planning;
    now the wrapper reads ``status_code`` on whatever the wrapped ``send`` returned, so an
    AttributeError reaches the application."""
    with _WrappingClient() as client:
        hgobs.instrument_client(client, profile=loop_profile(server.origin),
                                tracer_provider=telemetry.tracer_provider)
        try:
            got = client.send(client.build_request("GET", "https://elsewhere.example.net/x"))
        finally:
            hgobs.uninstrument_client(client)
    assert type(got) is _Wrapped


def test_uninstrument_while_the_first_flow_wraps_inner_leaves_no_wrapper(server, telemetry,
                                                                        monkeypatch):
    """``uninstrument`` in one thread while another thread's first request with a flow is
    wrapping ``INNER`` (past ``flows``' test of the recorder): ``INNER`` must not stay wrapped
    after ``uninstrument`` returns (it waits for the wrapping, then undoes it)."""
    import threading

    import wrapt

    from hgobs.capture.instrumentor import INNER

    instrumentor = hgobs.HGAuthInstrumentor()
    instrumentor.instrument(profile=loop_profile(server.origin),
                            tracer_provider=telemetry.tracer_provider)
    real = wrapt.wrap_function_wrapper
    raced: list[bool] = []

    threads: list[threading.Thread] = []

    def racing(owner, name, wrapper):
        if name == INNER and not raced:  # uninstrument starts while INNER is being wrapped
            raced.append(True)
            threads.append(threading.Thread(target=instrumentor.uninstrument))
            threads[0].start()
            threads[0].join(0.2)  # it waits for the wrapping to finish, or races it
        return real(owner, name, wrapper)

    monkeypatch.setattr(wrapt, "wrap_function_wrapper", racing)
    try:
        with httpx.Client(auth=httpx.BasicAuth("u", "p")) as client:
            server.script.load([OK])
            client.get(f"{server.origin}/fhir/R4/Patient/1")
        assert raced
        threads[0].join(10)
        assert not threads[0].is_alive()
        left = [cls.__name__ for cls in (httpx.Client, httpx.AsyncClient)
                if hasattr(getattr(cls, INNER), "__wrapped__")]
    finally:
        monkeypatch.undo()
        from opentelemetry.instrumentation.utils import unwrap
        for cls in (httpx.Client, httpx.AsyncClient):
            if hasattr(getattr(cls, INNER), "__wrapped__"):
                unwrap(cls, INNER)
        instrumentor._flows_wrapped = False
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    assert left == []
