"""Token requests by HTTP Basic and in multipart bodies: facts recorded, secrets not kept."""

from __future__ import annotations

import base64

import httpx
import pytest

from hgobs.facts import oauth
from hgobs.facts.record import _echoable_values
from hgobs.facts.request import client_method as client_auth_method

SECRET = "Zq8vN3kR7wT1yP5s"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_credentials_are_decoded_per_rfc_6749_2_3_1():
    """The form-encoded client id and secret of a Basic value; None for anything else."""
    assert oauth.basic_credentials(_basic("app%201", "s%3Acret+x")) == ("app 1", "s:cret x")
    for value in (None, "", "Bearer abc", "Basic", "Basic !!!", _basic("", "")[:-4] + "####",
                  "Basic " + base64.b64encode(b"no-colon").decode()):
        assert oauth.basic_credentials(value) is None


def test_basic_client_secret_is_known_and_the_method_recorded():
    """A Basic secret of 6+ characters is scrubbed from server text; the method is
    ``client_secret_basic``."""
    request = httpx.Request("POST", "https://idp.example.org/token",
                            headers={"Authorization": _basic("app-1", "s3cr3t")},
                            data={"grant_type": "client_credentials"})
    assert "s3cr3t" in _echoable_values(str(request.url), request.headers)
    assert client_auth_method(request.headers, ["client_id"]) == "client_secret_basic"


@pytest.mark.parametrize("names, method", [
    (["client_assertion"], "private_key_jwt"), (["client_id", "client_secret"], "client_secret_post"),
    (["client_id"], "none"), ([], None)])
def test_method_from_the_body_parameters(names, method):
    """RFC 7591 section 2 names from the parameters the body carried."""
    request = httpx.Request("POST", "https://idp.example.org/token")
    assert client_auth_method(request.headers, names) == method


def _multipart(fields: dict[str, str], boundary: str = "b0undary") -> tuple[str, bytes]:
    body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                    .encode() for k, v in fields.items()) + f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def test_multipart_token_request_is_read_and_its_secret_kept_private():
    """grant_type and parameter names are recorded; the secret goes to the scrub list only."""
    ctype, body = _multipart({"grant_type": "client_credentials", "client_id": "app-1",
                              "client_secret": SECRET})
    facts, private = oauth.request_facts(ctype, body)
    assert facts["request.body_kind"] == "multipart"
    assert facts["form.grant_type"] == "client_credentials"
    assert facts["form.other_params"] == ["client_id", "client_secret"]
    assert SECRET in private["_secrets"].split("\x00")
    assert SECRET not in repr(facts)


def test_a_multipart_body_past_the_cap_is_not_parsed():
    """Bodies over ``MAX_MULTIPART_BYTES`` are recorded by kind only."""
    ctype, body = _multipart({"grant_type": "x" * oauth.MAX_MULTIPART_BYTES})
    facts, _ = oauth.request_facts(ctype, body)
    assert facts["request.body_kind"] == "multipart" and "form.grant_type" not in facts


@pytest.mark.parametrize("name, recorded", [
    ("client_id", "client_id"), ("x_request_id", "x_request_id"), ("x-trace", "x-trace"),
    ("bokatuvi-farogu-sitize", "[redacted]"), ("password1", "[redacted]"),
    (SECRET, "[redacted]"), ("Ünïcode name", "[redacted]")])
def test_parameter_names_outside_the_registry_are_recorded_only_when_plain(name, recorded):
    """A registered or plain snake_case name is kept; any other may be a value: redacted."""
    assert oauth.param_name(name) == recorded


def test_a_short_secret_is_removed_whole_but_a_short_client_id_is_not_known():
    """6-7 character values of secret parameters are scrubbed; a 6-character client id is not."""
    _, private = oauth.request_facts(oauth.FORM_TYPE, b"grant_type=password&client_id=app-12"
                                     b"&password=pw1234")
    known = private["_secrets"].split("\x00")
    assert known == ["pw1234"]
    assert oauth.scrub_text("bad password pw1234 for app-12", known) == \
        "bad password [redacted] for app-12"


def test_multipart_built_by_httpx_from_files_is_read_and_its_echo_scrubbed(tmp_path):
    """A token request sent with ``files=`` (httpx streams it: no ``_content``) is read from its
    in-memory parts: the server's echo of the client secret is scrubbed from the record."""
    import json as _json

    from hgobs.capture.record import token_request_body
    from hgobs.sinks.jsonl import flush_all
    from tests.support.emitted import loop_profile
    from tests.support.loopback import Reply
    from tests.support.servers import LoopServer

    secret = "Zq7/Sec+ret=Val&ue9x"
    files = {"grant_type": (None, "client_credentials"), "client_id": (None, "cid"),
             "client_secret": (None, secret)}
    request = httpx.Request("POST", "https://idp.example.org/token", files=files)
    assert secret.encode() in (token_request_body(request) or b"")
    with open(__file__, "rb") as handle:
        with_file = httpx.Request("POST", "https://idp.example.org/token",
                                  files={"key": ("k.pem", handle)})
        assert token_request_body(with_file) is None  # a file object is never read by hgobs
        assert handle.tell() == 0

    server = LoopServer()
    try:
        echo = _json.dumps({"error": "invalid_client",
                            "error_description": f"bad client_secret {secret}"}).encode()
        server.script.load([Reply(400, [("content-type", "application/json")], echo)])
        path = tmp_path / "a.jsonl"
        with httpx.Client() as client:
            import hgobs
            hgobs.instrument_client(client, profile=loop_profile(server.origin), jsonl_path=path)
            client.post(f"{server.origin}/oauth/token", files=files)
        flush_all()
    finally:
        server.stop()
    (record,) = [_json.loads(line) for line in path.read_text().splitlines()]
    assert record["form.grant_type"] == "client_credentials"
    assert record["request.client_method"] == "client_secret_post"
    assert "Sec+ret" not in path.read_text()
    assert "[redacted]" in record["response.error_description"]
