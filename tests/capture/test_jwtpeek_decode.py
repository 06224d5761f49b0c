"""The direct decode of a plain token agrees with PyJWT on every token, odd ones included."""

from __future__ import annotations

import base64
import json
import random
import re

import jwt
import pytest

from hgobs.facts import jwtpeek
from hgobs.redaction import Fingerprinter

RND = random.Random(7523)
FP = Fingerprinter(b"decode-test-key-0123456789")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json_part() -> bytes:
    kind = RND.choice(["object", "object", "object", "array", "number", "bad", "bytes", "deep",
                       "nan", "utf16"])
    if kind == "object":
        obj: dict[str, object] = {"alg": RND.choice(["RS384", "HS256", "none"]), "iss": "c-1",
                                  "exp": RND.choice([1_700_000_300, 1.5e12, "x"])}
        for name in RND.sample(["kid", "crit", "b64", "typ", "aud", "nested"], RND.randint(0, 3)):
            obj[name] = RND.choice(["k1", 7, None, ["b64"], [], False, True, {"a": [1, "b"]}])
        return json.dumps(obj).encode()
    if kind == "array":
        return b'["a", 1]'
    if kind == "number":
        return b"42"
    if kind == "bad":
        return b'{"alg": "RS384",'
    if kind == "bytes":
        return RND.randbytes(RND.randint(0, 40))
    if kind == "deep":
        return b'{"a":' * 3000 + b"1" + b"}" * 3000
    if kind == "nan":
        return b'{"alg": "RS384", "exp": NaN}'
    return json.dumps({"alg": "RS384"}).encode("utf-16")


def _segment() -> str:
    seg = _b64(_json_part())
    if seg and RND.random() < 0.1:  # a last character with stray low bits: not canonical
        last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        seg = seg[:-1] + RND.choice(last)
    return seg


def _tokens(n: int) -> list[str]:
    out = []
    for _ in range(n):
        sig = RND.choice(["", _b64(RND.randbytes(32)), _b64(RND.randbytes(5))[:-1] + "B"])
        out.append(f"{_segment()}.{_segment()}.{sig}")
    return out


TOKENS = [t for t in _tokens(3000) if jwtpeek._defect(t) is None]


def _pyjwt(raw: str) -> tuple[object, object] | None:
    try:
        decoded = jwt.api_jwt.decode_complete(raw, options={"verify_signature": False},
                                              algorithms=None)
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
        return None
    return decoded["header"], decoded["payload"]


def test_the_generated_tokens_cover_both_paths():
    """Some tokens take the direct decode and some are left to PyJWT."""
    direct = sum(jwtpeek._plain_decode(t) is not None for t in TOKENS)
    assert 100 < direct < len(TOKENS) - 100


def test_direct_decode_returns_what_pyjwt_returns():
    """Whenever the direct decode answers, PyJWT decodes the token to equal header and claims."""
    for raw in TOKENS:
        plain = jwtpeek._plain_decode(raw)
        if plain is not None:
            assert repr(plain) == repr(_pyjwt(raw)), raw


@pytest.mark.parametrize("chunk", range(4))
def test_peek_facts_are_the_same_as_with_pyjwt_alone(chunk, monkeypatch):
    """``peek`` yields the same facts with the direct decode as with PyJWT deciding everything."""
    tokens = TOKENS[chunk::4]

    def facts() -> list[dict[str, object]]:
        return [jwtpeek.peek(t, source="assertion", now=1_700_000_000.0, fingerprint=FP,
                             client_id="c-1", known=[]) for t in tokens]

    fast = facts()
    monkeypatch.setattr(jwtpeek, "_plain_decode", lambda raw: None)
    assert repr(fast) == repr(facts())


def _defect_step_by_step(raw: str) -> tuple[str, str] | None:
    """The defect checks one by one, as ``_defect`` makes them when its one search fails."""
    if jwtpeek.not_shown(raw):  # a person's placeholder (``...``), before any shape check
        return "not_shown", "whole"
    if (space := re.search(r"\s", raw)) is not None:
        return "whitespace", jwtpeek._part_at(raw, space.start())
    segments = raw.split(".")
    if len(segments) == 1:
        return "not_jwt", "whole"
    if len(segments) != 3:
        if not jwtpeek._COMPACT_RE.match(raw):
            return "not_jwt", "whole"
        return "segments", "signature" if len(segments) < 3 else "whole"
    for name, seg in zip(("header", "payload", "signature"), segments, strict=True):
        if "=" in seg:
            return "padding", name
        if not re.match(r"^[A-Za-z0-9_-]*$", seg) or len(seg) % 4 == 1:
            return "base64url", name
    return None


def test_defect_is_what_the_checks_one_by_one_find():
    """On generated tokens and odd strings, every segment length among them, the same defect."""
    odd = ["", ".", "..", "...", "a.b.c", "ab.cd.ef", "a\n.b.c", "abc.def.ghi\n", "ab=.cd.ef", "ab.c+.d",
           "é.ab.cd", "ab.cd", "ab.cd.ef.gh", "abcde.abcd.abc", "abcd.abcde.ab", "abcd.abcd.abcde"]
    extra = [".".join("".join(RND.choice("Aa0-_=+/ é") for _ in range(RND.randint(0, 9)))
                      for _ in range(RND.randint(1, 4))) for _ in range(3000)]
    for raw in [*odd, *extra, *_tokens(500)]:
        assert jwtpeek._defect(raw) == _defect_step_by_step(raw), raw


def test_segment_bytes_and_canonical_check_are_base64s():
    """A segment's bytes, and whether it is canonical, are what decoding and encoding again say."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for _ in range(5000):
        seg = "".join(RND.choice(alphabet) for _ in range(RND.randint(0, 13)))
        try:
            data: bytes | None = base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4))
        except ValueError:
            data = None
        if data is not None and base64.urlsafe_b64encode(data).rstrip(b"=") != seg.encode():
            data = None
        assert jwtpeek._segment(seg) == data, seg
        assert jwtpeek._canonical(seg) == (data is not None), seg
