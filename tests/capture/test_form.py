"""``oauth.parse_form`` reads every form body as ``parse_qsl(keep_blank_values=True)`` does."""

from __future__ import annotations

import random
from urllib.parse import parse_qsl, urlencode

import pytest

from hgobs.facts import oauth

ODD = [
    "", "&", "&&", "=", "==", "a", "a=", "=b", "a=b=c", "a=1&&b=2", "a=1&", "&a=1", "a=1;b=2",
    "a+b=c+d", "a%2Bb=c%2bd", "a%20b=%41%42", "k=%zz", "k=%4", "k=%", "%=%", "k=%C3%A9", "k=%C3",
    "k=%FF%FE", "k=caf\u00e9", "k=%E2%82%AC+%26+%3D", "%26=%3D", "grant_type=urn%3Aietf%3Aparams%3Aoauth"
    "%3Agrant-type%3Ajwt-bearer&assertion=eyJ.eyJ.sig", "scope=a+b%20c&scope=d", "grant_type=%zz",
    "grant_type=a%2", "client_secret=s%3Dcr%26t&grant_type=client_credentials", "\u00e9=%C3%A9+",
]


@pytest.mark.parametrize("text", ODD, ids=range(len(ODD)))
def test_odd_bodies_parse_as_parse_qsl_parses_them(text):
    """Each odd body gives parse_qsl's pairs."""
    assert oauth.parse_form(text) == parse_qsl(text, keep_blank_values=True)


def test_generated_bodies_parse_as_parse_qsl_parses_them():
    """On 5,000 generated bodies, encoded and raw, twice each (remembered values), the same."""
    rnd = random.Random(6749)
    names = ["grant_type", "assertion", "scope", "client_assertion_type", "client_id", "a b", "k&", "=",
             "\u00e9"]
    values = ["urn:ietf:params:oauth:grant-type:jwt-bearer", "client_credentials", "a b+c", "x%y", "",
              "%zz", "eyJhbGciOiJSUzM4NCJ9.eyJpc3MiOiJjIn0.c2ln", "caf\u00e9 & =", "100%"]
    for _ in range(5_000):
        pairs = [(rnd.choice(names), rnd.choice(values)) for _ in range(rnd.randint(0, 5))]
        if rnd.random() < 0.5:
            text = urlencode(pairs)
        else:
            text = "&".join(f"{k}={v}" if rnd.random() < 0.9 else k for k, v in pairs)
        expected = parse_qsl(text, keep_blank_values=True)
        assert oauth.parse_form(text) == expected, text
        assert oauth.parse_form(text) == expected, text
