"""``jsontext.loads`` gives what ``json.loads`` gives, value, types and errors, on odd inputs."""

from __future__ import annotations

import json
import random
import sys

import pytest

from hgobs import jsontext

ODD = [
    b'{"a": NaN}', b'{"a": Infinity, "b": -Infinity}', b"NaN",
    b"1e400", b"-1e400", b"1.7976931348623159e308", b"1e-400", b"5e-324", b"2.2250738585072011e-308",
    b"18446744073709551615", b"18446744073709551616", b"-9223372036854775808", b"-9223372036854775809",
    b"9007199254740993", b'{"exp": 123456789012345678901234567890}', b"1" * 5000,
    b"-0", b"-0.0", b"1E2", b"0.30000000000000004", b"1.00000000000000011102230246251565404236316",
    b'"\\ud800"', b'"\\udfff x"', b'{"\\ud800": 1}', b'"\\ud83d\\ude00"', b'"\xed\xa0\x80"',
    b'"\xf4\x90\x80\x80"', b'"\xc0\x80"', b'"\xff"', b'"caf\xc3\xa9"', b'"\\u0000"', b'"\x00"', b'"\x01"',
    b'"\x7f"', b'"\\/"', b'"\\x"', b'{"a": 1, "a": 2}', b'{"a": 1, "b": 3, "a": 2}',
    b"\xef\xbb\xbf{}", b'\xef\xbb\xbf{"a": 1}', '{"a": "utf16"}'.encode("utf-16"),
    '{"a": "utf16be"}'.encode("utf-16-be"), '{"a": "utf32"}'.encode("utf-32"),
    b"[1,]", b"{}", b"[]", b"", b" ", b" \t\n\r1 ", b"\x0c1", b"1\x0c", b'{"a": 1}\x00', b'{"a": 1} x',
    b"true", b"null", b"1.", b".1", b"01", b"-", b"+1", b"1_0",
    b"[" * 30 + b"]" * 30, b"[" * 65 + b"]" * 65, b"[" * 900 + b"]" * 900, b"[" * 1000 + b"]" * 1000, b"[" * 1100 + b"]" * 1100,
    b'{"a":' * 900 + b"1" + b"}" * 900, b'["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]',
]


def _canonical(value: object) -> list[str]:
    """``value`` as a flat list of tokens that show every type (``1`` vs ``1.0``), made
    without recursion so that deeply nested values can be compared too."""
    out: list[str] = []
    todo: list[object] = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            out.append(f"{{{len(item)}")
            for k, v in reversed(item.items()):
                todo += [v, ("key", k)]
        elif isinstance(item, list):
            out.append(f"[{len(item)}")
            todo += reversed(item)
        else:
            out.append(f"{type(item).__name__}:{item!r}")
    return out


def _outcome(loads, data: bytes) -> tuple[str, list[str]]:
    """The decoded value as tokens, or the exception type."""
    try:
        value = loads(data)
    except (ValueError, RecursionError) as exc:
        return "error", [type(exc).__name__]
    return "ok", _canonical(value)


def _random_json(rnd: random.Random, depth: int = 0) -> str:
    pick = rnd.random()
    if depth > 4 or pick < 0.3:
        return rnd.choice([
            "0", "-0", str(rnd.randint(-10**25, 10**25)), repr(rnd.uniform(-1e10, 1e10)),
            f"{rnd.random()}e{rnd.randint(-330, 330)}", str(rnd.randint(0, 2**64 + 10)),
            "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 24))), "NaN", "-Infinity"])
    if pick < 0.55:
        return '"' + "".join(rnd.choice(["a", "é", "\\u00e9", "\\ud800", "\\udc00", "\\ud83d\\ude00",
                                         "\\n", '\\"', "\\\\", "\x7f", "\u2028", "\\u0000", "\x01"])
                             for _ in range(rnd.randint(0, 5))) + '"'
    if pick < 0.6:
        return rnd.choice(["true", "false", "null"])
    if pick < 0.8:
        return "[" + ",".join(_random_json(rnd, depth + 1) for _ in range(rnd.randint(0, 4))) + "]"
    return "{" + ",".join(f"{_random_json(rnd, 5)}:{_random_json(rnd, depth + 1)}"
                          for _ in range(rnd.randint(0, 4))) + "}"


def _mutated(rnd: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rnd.randint(1, 2)):
        if not out:
            break
        i = rnd.randrange(len(out))
        if rnd.random() < 0.5:
            out.insert(i, rnd.choice(b' ,:{}[]"\\0123456789eE.-+\x00\xff\xc3\xed\xef'))
        else:
            out[i] = rnd.randrange(256)
    return bytes(out)


@pytest.mark.parametrize("data", ODD, ids=range(len(ODD)))
def test_odd_inputs_decode_as_the_standard_library_decodes_them(data):
    """Each odd input gives the standard library's value (types included) or its error."""
    assert _outcome(jsontext.loads, data) == _outcome(json.loads, data)


@pytest.mark.parametrize("data", [b'{"a": NaN, "b": [Infinity]}', b'{"a": 1}', b"Infinity", b"[1e400]"])
def test_parse_constant_is_honoured(data):
    """With ``parse_constant`` the constants are read as the standard library reads them."""
    def constant(name: str) -> None:
        return None

    assert _outcome(lambda d: jsontext.loads(d, parse_constant=constant), data) == \
        _outcome(lambda d: json.loads(d, parse_constant=constant), data)


def test_nesting_follows_the_recursion_limit():
    """Nesting the standard library refuses under a low recursion limit is refused too."""
    data = b"[" * 200 + b"]" * 200
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100)
    try:
        expected = _outcome(json.loads, data)
        assert _outcome(jsontext.loads, data) == expected == ("error", ["RecursionError"])
    finally:
        sys.setrecursionlimit(limit)


def test_generated_and_damaged_documents_decode_as_the_standard_library_decodes_them():
    """On 20,000 generated documents, half of them damaged, both give the same outcome."""
    rnd = random.Random(8259)
    decoded = 0
    for _ in range(20_000):
        data = _random_json(rnd).encode("utf-8", "surrogatepass")
        if rnd.random() < 0.5:
            data = _mutated(rnd, data)
        expected = _outcome(json.loads, data)
        assert _outcome(jsontext.loads, data) == expected, data
        decoded += expected[0] == "ok"
    assert decoded > 5_000
