"""``redact_url``'s plain-URL shortcut gives what the general ``urlsplit`` way gives, on any URL."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hgobs.redaction import _PLAIN_URL_RE, PrefixRedactor, _redact_url, redact_url
from tests.support import url_oracle

ODD = [
    "http://127.0.0.1:8080/fhir/R4/Patient/100000", "HTTPS://API.Example.ORG/fhir/R4/Patient/9",
    "https://a.example.org:0443/x/_history/2", "http://h:0/a", "http://h:00000/a",
    "http://h:65535/a", "http://h:65536/a", "http://h:99999/a", "http://h:/a", "http://h:1:2/a",
    "http://", "http:///p", "http:/p", "http:p", "a+b.c-d://x", "1http://h/a", "-x://h/a",
    "http://h/a//b/;c=d/$everything", "http://h/a/_history/$x", "http://h/Patient/_history/_x",
    "http://h/Patient/Patient/Patient", "http://h/Patient/$everything/1", "http://h/R4/v1/STU3",
    "http://h/fhir\n", "http://h/ fhir", " http://h/a", "http://h/a\t/b", "http://h/%41/Patient",
    "http://h/R4%2F/Patient/1", "http://eyJhbGciOi.eyJzdWIi.abc/x", "http://u:p@h/a",
    "http://h/a?b=c#d", "http://h#x", "http://[::1]:8080/token", "http://[::1/token",
    "http://h/Éclair/1", "http://h.é/a", "http://h/a/" + "x" * 41, "http://h/" + "a/" * 200,
    "http://h/Observation/123/_history", "http://h/abc-def.ghi_jkl", "http://h/_search",
    "http://h/a:b/c=d/e,f/g!h/i~j/k'l/m(n)/o*p/q+r/s&t", "ftp://h/Patient/1/", "//h/a", "",
]


@pytest.mark.parametrize("url", ODD)
def test_odd_urls_redact_as_the_general_way_and_the_old_one(url):
    """Each odd URL redacts the same by the shortcut, by ``urlsplit`` and as before."""
    expected = url_oracle.redact_url(url)
    assert redact_url(url) == _redact_url(url) == expected


def test_the_shortcut_takes_the_common_shapes():
    """An API call's and a token URL's shapes take the one-match split (the benchmark path)."""
    for url in ("https://api.example.org/fhir/R4/Patient/123", "http://127.0.0.1:8080/oauth/token"):
        assert _PLAIN_URL_RE.fullmatch(url) is not None
    assert redact_url("https://API.example.org:443/fhir/R4/Patient/123/_history/7") == \
        "https://api.example.org:443/fhir/R4/Patient/{id}/_history/{vid}"
    for url in ("https://a.example.org/p?x=1", "https://u@a.example.org/p", "https://a/p%2F"):
        assert _PLAIN_URL_RE.fullmatch(url) is None


SEGMENTS = st.one_of(
    st.sampled_from(["", "fhir", "R4", "v1", "Patient", "Observation", "_history", "$everything",
                     "_search", "123", "abc-def", "x.y", "Abc", "a" * 40, "a" * 41, "S3.1", ";p",
                     "%41", "%2F", "é", " ", ":", "@", "?", "#"]),
    st.text(alphabet="abAZ09_$.-~!&'()*+,;=:%@?#[] \t\né/", max_size=12),
)
HOSTS = st.one_of(
    st.sampled_from(["h", "api.example.org", "API.Example.ORG", "127.0.0.1", "", "eyJa.eyJb",
                     "[::1]", "u:p@h", "h:0", "h:443", "h:0080", "h:65536", "h:", "h:x", "é.org"]),
    st.text(alphabet="aZ09.-:@[]%", max_size=10),
)


@settings(max_examples=400)
@given(scheme=st.sampled_from(["http", "HTTPS", "a+b.c-d", "1x", "", "h t"]), host=HOSTS,
       path=st.lists(SEGMENTS, max_size=6),
       tail=st.sampled_from(["", "?a=1&b", "#f", "?", "/"]))
def test_generated_urls_redact_as_the_old_way(scheme, host, path, tail):
    """Generated URLs of many shapes redact exactly as the general way and the old one."""
    url = f"{scheme}://{host}" + "".join("/" + s for s in path) + tail
    assert redact_url(url) == url_oracle.redact_url(url) == _redact_url(url)


@settings(max_examples=300)
@given(st.text(alphabet=st.characters(codec="utf-8", max_codepoint=0x2FF), max_size=40))
def test_any_text_redacts_as_the_old_way(text):
    """Any text, URL-like or not, redacts exactly as before."""
    assert redact_url(text) == url_oracle.redact_url(text)
    assert redact_url("http://h/" + text) == url_oracle.redact_url("http://h/" + text)


BASES = ["http://127.0.0.1:8080/fhir", "https://api.example.org", "https://api.example.org/fhir/R4",
         "https://API.Example.org:443/fhir", "http://h:0080/fhir", "https://h/fhir/Patient",
         "https://h/a/_history", "https://h/ABC123/fhir", "http://[::1]:8080/fhir",
         "https://eyJa.eyJb/fhir", "https://h/%66hir", "https://h/fhir/"]


def _prefixes(base: str) -> list[str]:
    from hgobs.capture.urlscope import _base_prefixes

    return sorted(_base_prefixes(base))


@pytest.mark.parametrize("base", BASES)
def test_prefix_shortcut_gives_redact_url_under_every_base(base):
    """Under each base (odd ones included) the path-only shortcut gives ``redact_url`` exactly,
    or declines; the plain bases take it."""
    prefixes = _prefixes(base) or [base.rstrip("/") + "/"]
    under = PrefixRedactor(prefixes)
    for prefix in prefixes:
        for rest in ("", "R4/Patient/123", "Patient/1/_history/2", "x", "Patient", "_history/3",
                     "a//b", "/Patient/9", "R4/Patient?family=x", "R4/%41", "u@h", "a#b", "é",
                     "R4/Observation/$lastn", "a b"):
            url = prefix + rest
            clean = under.redact(url)
            assert clean is None or clean == redact_url(url) == url_oracle.redact_url(url), url
    if base in ("http://127.0.0.1:8080/fhir", "https://api.example.org"):
        url = prefixes[0] + "R4/Patient/123"
        assert under.redact(url) == prefixes[0] + "R4/Patient/{id}"


@settings(max_examples=400)
@given(base=st.sampled_from(BASES), scheme=st.sampled_from(["http", "https"]),
       path=st.lists(SEGMENTS, max_size=6), tail=st.sampled_from(["", "?a=1&b", "#f", "?", "/"]))
def test_prefix_shortcut_agrees_on_generated_urls(base, scheme, path, tail):
    """Generated URLs under generated bases: the shortcut gives ``redact_url`` or declines."""
    under = PrefixRedactor(_prefixes(base))
    url = f"{scheme}://" + base.split("://", 1)[1].rstrip("/") + "".join("/" + s for s in path) \
        + tail
    clean = under.redact(url)
    assert clean is None or clean == redact_url(url)


def test_scope_takes_the_shortcut_for_a_plain_api_url():
    """``UrlScope.redacted`` of a plain URL under an API base is the shortcut's result."""
    from hgobs.capture.urlscope import UrlScope
    from hgobs.profiles import profile_from_mapping

    profile = profile_from_mapping({"name": "t", "environments": {"sandbox": {
        "token_urls": ["https://auth.example.org/oauth/token"],
        "api_bases": ["https://api.example.org/fhir"]}}})
    scope = UrlScope([profile])
    url = "https://api.example.org/fhir/R4/Patient/123"
    assert scope.redacted(url) == scope.redacted(url) == redact_url(url) == \
        "https://api.example.org/fhir/R4/Patient/{id}"  # the second time by its head
    assert PrefixRedactor(["https://api.example.org/fhir/"]).redact(
        "https://auth.example.org/oauth/token") is None  # undecided, without a fallback
    assert scope.redacted("https://auth.example.org/oauth/token") == \
        "https://auth.example.org/oauth/token"
    assert scope.redacted("https://elsewhere.example.net/fhir/R4/Patient/1") is None
    assert scope.redacted("https://auth.example.org/oauth/token?x=1") == \
        "https://auth.example.org/oauth/token?x"


_SHARED = {base: PrefixRedactor(_prefixes(base)) for base in BASES}
"""One redactor per base for every example: heads remembered by one URL serve the next."""


@settings(max_examples=600)
@given(base=st.sampled_from(BASES), scheme=st.sampled_from(["http", "https"]),
       path=st.lists(SEGMENTS, max_size=6), last=SEGMENTS)
def test_remembered_heads_give_redact_url(base, scheme, path, last):
    """A URL whose head was seen before is redacted by its last segment alone, exactly as
    ``redact_url`` redacts it whole (the redactor is shared across examples, so heads come
    from earlier ones too)."""
    under = _SHARED[base]
    head = f"{scheme}://" + base.split("://", 1)[1].rstrip("/") + "".join("/" + s for s in path)
    for url in (head + "/" + last, head + "/" + last):  # the second finds the head if kept
        clean = under.redact(url)
        assert clean is None or clean == redact_url(url) == url_oracle.redact_url(url), url


def test_heads_are_kept_only_without_ids_and_up_to_the_bound():
    """A head with an id in it is not remembered; a read after a remembered head is redacted
    by its last segment; at most ``MAX_HEADS`` heads are kept."""
    under = PrefixRedactor(["https://api.example.org/fhir/"])
    assert under.redact("https://api.example.org/fhir/R4/Patient/123") == \
        "https://api.example.org/fhir/R4/Patient/{id}"
    assert under.redact("https://api.example.org/fhir/R4/Patient/123/_history/2") == \
        "https://api.example.org/fhir/R4/Patient/{id}/_history/{vid}"
    assert set(under._heads) == {"https://api.example.org/fhir/R4/Patient"}
    hits = 0
    for url, clean in [("R4/Patient/456", "R4/Patient/{id}"), ("R4/Patient/abc", "R4/Patient/{id}"),
                       ("R4/Patient/_history/abc", "R4/Patient/_history/{vid}"),
                       ("R4/Patient/_history/def", "R4/Patient/_history/{vid}"),
                       (".well-known/x.json", ".well-known/x.json"),
                       (".well-known/y.json", ".well-known/y.json"),
                       ("R4/Patient/_search", None),
                       ("R4/Patient/$everything", None), ("R4/Patient/", None),
                       ("R4/Patient/a%2Fb", None), ("R4/Patient/9?name=x", None)]:
        full = "https://api.example.org/fhir/" + url
        got = under.redact(full)
        assert got is None or got == redact_url(full)
        if clean is not None:
            assert got == "https://api.example.org/fhir/" + clean
        hits += full.rpartition("/")[0] in under._heads
    assert hits >= 8
    for i in range(PrefixRedactor.MAX_HEADS + 50):
        under.redact(f"https://api.example.org/fhir/R4/op{chr(97 + i % 26) * (i // 26 + 1)}/x")
    assert len(under._heads) == PrefixRedactor.MAX_HEADS


@pytest.mark.parametrize("text", ["FHIR", "http://h/api/FHIR/R4/Patient/1", "/OAUTH/x", "SMART"])
def test_provider_words_in_capitals_redact_as_the_oracle(text):
    """The upper-case words of providers' own paths (``KEEP_UPPER``: Epic's ``/api/FHIR/R4``)
    are kept by the rule and by the oracle alike (hypothesis found ``FHIR`` only by chance)."""
    assert redact_url(text) == url_oracle.redact_url(text)
