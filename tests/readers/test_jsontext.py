"""``fast_loads`` reads every document it accepts as ``json.loads`` does, and leaves the rest."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest

from hgobs.jsontext import REFUSED, fast_loads


def _standard(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        return REFUSED


def _same(a: Any, b: Any) -> bool:
    """Equal values of equal types all the way down (``-0.0`` is not ``0``, NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return repr(a) == repr(b)
    return bool(a == b)


ODD = [b'{"a":1,"a":2}', b'{"a":123456789012345678901234}', b'{"a":-9223372036854775809}',
       b'18446744073709551616', b'-0', b'0e0', b'1E-0', b'-0.0', b'"\\ud834\\udd1e"',
       b'"\\u0000"', b'\t\n\r 1 \t\n\r', b"9" * 400, b"1." + b"1" * 400,
       b"0." + b"0" * 400 + b"1", b"1e-99999999", b"4.9406564584124654e-324",
       b"1.7976931348623157e308", b'{"k":[{"n":null,"t":true,"f":false}]}']
REFUSED_HERE = [b'{"a":1e400}', b'{"a":NaN}', b"Infinity", b"-Infinity", b'"\\ud800"',
                b'\xef\xbb\xbf{"a":1}', b'"\xed\xa0\x80"', b"\xff", b'{"a":1,}', b"[1,2,]",
                b"01", b"1.", b".5", b'"\x01"', b"+1", b"1 2", b"[" * 5000 + b"]" * 5000,
                b"", b" ", b'{"a":1}\x00']


@pytest.mark.parametrize("data", ODD)
def test_documents_it_reads_have_the_standard_librarys_values(data):
    value = fast_loads(data)
    assert value is not REFUSED
    assert _same(value, _standard(data))


@pytest.mark.parametrize("data", REFUSED_HERE)
def test_what_only_the_standard_library_may_accept_is_left_to_it(data):
    assert fast_loads(data) is REFUSED
    standard = _standard(data)  # accepted (NaN, 1e400 as inf, a lone surrogate) or refused
    if data == b'{"a":NaN}':
        assert math.isnan(standard["a"])
    if data == b'"\\ud800"':
        assert standard == "\ud800"


def test_random_byte_strings_agree_wherever_it_reads_them():
    rng = random.Random(5)
    alphabet = b'{}[]",:0123456789-+.eE truefalsnul\\u\t\n\x00\x7f\xc3\xa9\xff'
    read = 0
    for _ in range(50_000):
        data = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        value = fast_loads(data)
        if value is not REFUSED:
            read += 1
            assert _same(value, _standard(data)), data
    assert read > 1000


def test_random_documents_read_back_to_their_values():
    rng = random.Random(9)

    def value(depth: int) -> Any:
        pick = rng.randrange(8 if depth < 4 else 5)
        if pick == 0:
            return rng.choice([None, True, False])
        if pick == 1:
            return rng.randint(-2**70, 2**70)
        if pick == 2:
            return rng.uniform(-1e300, 1e300) * rng.choice([1, 1e-300, 1e-10])
        if pick in (3, 4):
            return "".join(chr(rng.choice([rng.randrange(0x20, 0x7f), rng.randrange(0xa0, 0xd7ff),
                                           rng.randrange(0x10000, 0x10ffff), 0x22, 0x5c, 0x0a]))
                           for _ in range(rng.randrange(6)))
        if pick in (5, 6):
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {f"k{rng.randrange(5)}": value(depth + 1) for _ in range(rng.randrange(4))}

    for _ in range(3000):
        doc = value(0)
        data = json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode("utf-8")
        assert _same(fast_loads(data), _standard(data)), data
