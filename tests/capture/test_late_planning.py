"""Planning late: an API call is planned only when refused; ``INNER`` is wrapped for flows.

A request that can only be an API call or nothing (not a POST, to none of
``Routes.token_paths``) is sent unplanned and unmarked when it comes without an ``httpx.Auth``
flow; the wrapper of ``_send_handling_redirects`` is installed at the first request with a
flow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hgobs
from hgobs.capture import foreign, send
from hgobs.capture.instrumentor import INNER
from hgobs.capture.recorder import Recorder
from hgobs.capture.routes import Routes
from hgobs.config import resolve_options
from hgobs.profiles import API_CALL, load_profile, profile_from_mapping
from hgobs.profiles.urls import url_parts
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


def _late(monkeypatch: pytest.MonkeyPatch, token_url: str, method: str, url: str) -> bool:
    """Whether the wrapped ``send`` sends ``method url`` unplanned, with a profile whose token
    URL is ``token_url`` (``_plan`` never called; a stand-in for the transport)."""
    profile = profile_from_mapping({"name": "t", "environments": {"sandbox": {
        "token_urls": [token_url], "api_bases": ["https://api.example.org/fhir"]}}})
    recorder = Recorder(resolve_options(profile=profile, client_id="c"), None, None)
    planned: list[str] = []
    general = send._plan

    def spy(*args: object) -> object:
        planned.append(method)
        return general(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(send, "_plan", spy)
    monkeypatch.setattr(foreign, "WAITING", False)  # no other test's provider to wait for
    try:
        response = send.sync_send(recorder, httpx.Client(), lambda r, **kw: httpx.Response(200),
                                  send.Outer(lambda client: None),
                                  httpx.Request(method, url, content=b"x=1"))
    finally:
        recorder.close()
        monkeypatch.undo()
    assert response.status_code == 200
    return not planned


def test_late_is_every_method_but_post_to_no_token_path(monkeypatch):
    """GET, PUT and DELETE to an API base or to any other host go unplanned; a POST, or any
    method to a token URL's path (whatever the host, and with a trailing slash), is planned
    before it is sent; with a token URL pattern every request is."""
    token = "https://auth.example.org/oauth2/token"
    for method, url in [("GET", "https://api.example.org/fhir/R4/Patient/1"),
                        ("PUT", "https://api.example.org/fhir/R4/Patient/1"),
                        ("DELETE", "https://elsewhere.example.net/x"),
                        ("GET", "https://auth.example.org/oauth2/token/x")]:
        assert _late(monkeypatch, token, method, url), (method, url)
    for method, url in [("POST", "https://api.example.org/fhir/R4/Patient"),
                        ("GET", "https://auth.example.org/oauth2/token"),
                        ("GET", "https://auth.example.org/oauth2/token/"),
                        ("HEAD", "https://elsewhere.example.net/oauth2/token")]:
        assert not _late(monkeypatch, token, method, url), (method, url)
    assert not _late(monkeypatch, "https://{*}.example.org/oauth2/token", "GET",
                     "https://api.example.org/fhir/R4/Patient/1")


def test_a_client_without_a_flow_is_never_wrapped_inside_and_records_refusals(server, telemetry,
                                                                              tmp_path):
    """Successful and refused reads without a flow leave ``INNER`` unwrapped; the refusal is
    recorded once, with its send time, as an API call; a refusal from another host records
    nothing."""
    jsonl = tmp_path / "attempts.jsonl"
    with httpx.Client() as client:
        hgobs.instrument_client(client, profile=loop_profile(server.origin), jsonl_path=jsonl,
                                tracer_provider=telemetry.tracer_provider,
                                meter_provider=telemetry.meter_provider)
        server.script.load([OK, UNAUTHORIZED, UNAUTHORIZED])
        assert client.get(f"{server.origin}/fhir/R4/Patient/1", headers=BEARER) \
            .status_code == 200
        assert client.get(f"{server.origin}/fhir/R4/Patient/2", headers=BEARER) \
            .status_code == 401
        other = server.origin.replace("127.0.0.1", "localhost")
        assert client.get(f"{other}/elsewhere/1", headers=BEARER).status_code == 401
        assert INNER not in vars(client)
        hgobs.uninstrument_client(client)
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [(r["endpoint.kind"], r["http.status"]) for r in records] == [("api_call", 401)]
    (span,) = telemetry.ours()
    assert span.start_time <= span.end_time and span.attributes["http.response.status_code"] == 401


class _Refreshing(httpx.Auth):
    """Sends the request, and once more with a new token if it is refused (refresh on 401)."""

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = "Bearer at-first-0123456789"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = "Bearer at-second-0123456789"
            yield request


def test_the_first_request_with_a_flow_wraps_inner_and_each_attempt_is_recorded(
        server, telemetry):
    """A request with a flow wraps the client's ``INNER`` (once), and the flow's refused first
    attempt is recorded beside the successful retry."""
    with httpx.Client() as client:
        hgobs.instrument_client(client, profile=loop_profile(server.origin),
                                tracer_provider=telemetry.tracer_provider,
                                meter_provider=telemetry.meter_provider)
        server.script.load([OK])
        client.get(f"{server.origin}/fhir/R4/Patient/1", headers=BEARER)
        assert INNER not in vars(client)
        server.script.load([UNAUTHORIZED, OK])
        assert client.get(f"{server.origin}/fhir/R4/Patient/1", auth=_Refreshing()) \
            .status_code == 200
        wrapper = vars(client)[INNER]
        server.script.load([UNAUTHORIZED, OK])
        client.get(f"{server.origin}/fhir/R4/Patient/1", auth=_Refreshing())
        assert vars(client)[INNER] is wrapper
        hgobs.uninstrument_client(client)
        assert INNER not in vars(client)
    assert [s.attributes["http.response.status_code"] for s in telemetry.ours()] == [401, 401]


def test_the_global_instrumentation_wraps_inner_at_the_first_flow_and_unwraps_it(
        server, telemetry):
    """Globally, ``INNER`` of both client classes is wrapped at the first request with a flow
    and unwrapped with the rest."""
    instrumentor = hgobs.HGAuthInstrumentor()
    instrumentor.instrument(profile=loop_profile(server.origin),
                            tracer_provider=telemetry.tracer_provider,
                            meter_provider=telemetry.meter_provider)
    try:
        with httpx.Client() as client:
            server.script.load([OK])
            client.get(f"{server.origin}/fhir/R4/Patient/1", headers=BEARER)
            assert not hasattr(getattr(httpx.Client, INNER), "__wrapped__")
            server.script.load([UNAUTHORIZED, OK])
            client.get(f"{server.origin}/fhir/R4/Patient/1", auth=_Refreshing())
            assert hasattr(getattr(httpx.Client, INNER), "__wrapped__")
            assert hasattr(getattr(httpx.AsyncClient, INNER), "__wrapped__")
    finally:
        instrumentor.uninstrument()
    assert not hasattr(getattr(httpx.Client, INNER), "__wrapped__")
    assert not hasattr(getattr(httpx.AsyncClient, INNER), "__wrapped__")
    assert [s.attributes["http.response.status_code"] for s in telemetry.ours()] == [401]


PROFILES = [profile_from_mapping({"name": "p", "environments": {"sandbox": {
    "token_urls": ["https://auth.example.org/oauth2/token", "https://api.example.org/fhir/token"],
    "api_bases": ["https://api.example.org/fhir", "http://127.0.0.1:8080/"]}}}),
    load_profile("healthgorilla")]


@settings(max_examples=300, deadline=None)
@given(profile=st.sampled_from(PROFILES),
       method=st.sampled_from(["GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "get"]),
       host=st.sampled_from(["auth.example.org", "api.example.org", "AUTH.example.org",
                             "127.0.0.1:8080", "api.healthgorilla.com",
                             "sandbox.healthgorilla.com", "elsewhere.example.net"]),
       path=st.lists(st.sampled_from(["oauth2", "oauth", "token", "fhir", "R4", "Patient", "1",
                                      "", "%74oken"]), max_size=4),
       form=st.sampled_from([b"", b"grant_type=client_credentials"]))
def test_a_late_request_is_never_planned_as_an_exchange(profile, method, host, path, form):
    """What capture sends unplanned (not a POST, to none of ``Routes.token_paths``) is never a
    token exchange by ``Routes.plan``, whatever its host, path or body."""
    routes = Routes.of(resolve_options(profile=profile, client_id="c"))
    url = httpx.URL(f"https://{host}/" + "/".join(path))
    paths = routes.token_paths
    late = paths is not None and method != "POST" and url_parts(url)[2] not in paths
    plan = routes.plan(method, url, {"content-type": "application/x-www-form-urlencoded"}, form)
    if late:
        assert plan is None or plan.kind == API_CALL, (method, str(url), plan)


# -- per-client and global instrumentation together, odd send results, uninstrument races --

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


@pytest.mark.parametrize("own_origin,recorded_by", [(None, "own"), ("https://other.example.org",
                                                                   "global")])
def test_a_client_instrumented_over_the_global_one_records_what_it_knows(
        server, telemetry, tmp_path, own_origin, recorded_by):
    """Global instrumentation for the loop server's API, and a client instrumented over it:
    a refused read is recorded once, by the client's own wrapper when its configuration
    knows the API, else by the global one (it is never lost between the two)."""
    instrumentor = hgobs.HGAuthInstrumentor()
    instrumentor.instrument(profile=loop_profile(server.origin), client_id="global-client",
                            jsonl_path=tmp_path / "global.jsonl",
                            tracer_provider=telemetry.tracer_provider)
    try:
        with httpx.Client() as client:
            hgobs.instrument_client(client, profile=loop_profile(own_origin or server.origin),
                                    client_id="own-client", jsonl_path=tmp_path / "own.jsonl",
                                    tracer_provider=telemetry.tracer_provider)
            server.script.load([UNAUTHORIZED])
            assert client.get(f"{server.origin}/fhir/R4/Patient/1",
                              headers=BEARER).status_code == 401
            hgobs.uninstrument_client(client)
    finally:
        instrumentor.uninstrument()
    lines = {name: _lines(tmp_path / f"{name}.jsonl") for name in ("own", "global")}
    assert [(r["endpoint.kind"], r["http.status"]) for r in lines.pop(recorded_by)] == \
        [("api_call", 401)]
    assert list(lines.values()) == [[]]


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
