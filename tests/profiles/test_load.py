"""Loading profiles: the built-ins, extends, the round trip through TOML, and bad shapes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hgobs.errors import ProfileError
from hgobs.profiles import available_builtins, load_profile, profile_from_mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.mark.parametrize("name", available_builtins())
def test_every_builtin_loads_and_round_trips(name: str) -> None:
    prof = load_profile(name)
    assert prof.name == name
    again = profile_from_mapping(tomllib.loads(prof.to_toml()), name)
    assert again.content() == prof.content()


def test_health_gorilla_keeps_its_limits() -> None:
    hg = load_profile("healthgorilla")
    assert (hg.max_assertion_lifetime_s, hg.require_iat, hg.leeway_s) == (3600.0, True, 30.0)
    assert hg.audiences("https://api.healthgorilla.com/oauth/token") == (
        "https://api.healthgorilla.com/oauth/token",)
    assert not hg.generic


def test_generic_knows_only_the_rfcs() -> None:
    generic = load_profile("generic")
    assert generic.generic and generic.max_assertion_lifetime_s is None
    assert generic.match("https://idp.example.test/oauth2/v1/token") == ("token_exchange", "default")
    assert generic.audiences("https://idp.example.test:8443/oauth2/v1/token") == (
        "https://idp.example.test:8443/oauth2/v1/token", "https://idp.example.test:8443",
        "https://idp.example.test:8443/")


def test_extends_merges_tables_environments_and_errors(tmp_path: Path) -> None:
    base = tmp_path / "base.toml"
    base.write_text('name = "base"\n[limits]\nmax_assertion_lifetime_s = 300\nleeway_s = 5\n'
                    '[environments.prod]\ntoken_urls = ["https://idp.example.test/token"]\n'
                    '[[errors]]\ntext = "Bad Key"\ncategory = "signing_key_not_found"\n')
    child = tmp_path / "child.toml"
    child.write_text('name = "child"\nextends = "base.toml"\ncustom_domains = ["Auth.Mine.example"]\n'
                     '[limits]\nleeway_s = 0\n'
                     '[environments.test]\ntoken_urls = ["https://test.idp.example.test/token"]\n'
                     '[[errors]]\nerror = "invalid_client"\nstatus = 401\ncategory = "invalid_signature"\n'
                     '[fixes.invalid_signature]\nfix = "Rotate."\nlink = "https://idp.example.test/doc"\n')
    prof = load_profile(child)
    assert prof.name == "child"
    assert (prof.max_assertion_lifetime_s, prof.leeway_s) == (300.0, 0.0)
    assert [e.name for e in prof.environments] == ["test"]  # its own hosts replace the base's
    assert [(e.text, e.error, e.status) for e in prof.errors] == [
        ("bad key", "", None), ("", "invalid_client", 401)]
    assert prof.custom_domains == ("auth.mine.example",)
    assert prof.fixes["invalid_signature"].link == "https://idp.example.test/doc"


def test_a_copy_without_environments_keeps_the_bases(tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text('name = "my-epic"\nextends = "epic"\ncustom_domains = ["fhir.hospital.example"]\n')
    prof = load_profile(mine)
    assert [e.name for e in prof.environments] == [e.name for e in load_profile("epic").environments]
    assert prof.match("https://fhir.hospital.example/Proxy/oauth2/token")[0] == "token_exchange"


def test_a_profile_extending_generic_does_not_become_generic() -> None:
    prof = profile_from_mapping({"name": "x", "extends": "generic",
                                 "environments": {"p": {"token_urls": ["https://x.example/t"]}}})
    assert not prof.generic
    assert prof.audience == ("{token_url}", "{origin}", "{origin}/")


@pytest.mark.parametrize(("data", "says"), [
    ({"name": "x"}, "environments"),
    ({"name": "x", "extends": "nope.toml", "token_urls": {"d": "https://x/t"}}, "cannot be read"),
    ({"name": "x", "token_urls": {"d": "https://x/t"}, "errors": [{"category": "c"}]}, "without text"),
    ({"name": "x", "token_urls": {"d": "https://x/t"}, "claims": {"sub": "who"}}, "[claims]"),
    ({"name": "x", "token_urls": {"d": "https://x/{*}/a/{*}"}}, "once in a path"),
])
def test_a_bad_profile_says_what_is_wrong(data: dict, says: str) -> None:
    with pytest.raises(ProfileError) as info:
        profile_from_mapping(data, "my.toml")
    assert says in str(info.value)


def test_said_matches_literals_codes_and_statuses() -> None:
    prof = profile_from_mapping({"name": "x", "token_urls": {"d": "https://x.example/t"}, "errors": [
        {"text": "AADSTS700027", "category": "invalid_signature"},
        {"error": "invalid_client", "status": 401, "category": "signing_key_not_found"}]})
    record = {"response.error_description": "aadsts700027: the assertion (.*)+ was bad",
              "response.error": "invalid_client", "http.status": 400}
    assert [e.category for e in prof.said(record)] == ["invalid_signature"]
    record["http.status"] = 401
    assert [e.category for e in prof.said(record)] == ["invalid_signature", "signing_key_not_found"]


def test_a_file_that_cannot_be_a_profile_is_a_profile_error(tmp_path: Path) -> None:
    binary = tmp_path / "latin1.toml"
    binary.write_bytes(b'name = "caf\xe9"\n')
    for spec, says in ((str(binary), "not UTF-8"), ("a\x00b.toml", "not a file name")):
        with pytest.raises(ProfileError, match=says):
            load_profile(spec)


@pytest.mark.parametrize("key, value", [
    ("limits", {"leeway_s": "s3cr3t-client-value"}),
    ("limits", {"max_jti_length": "s3cr3t-client-value"}),
    ("errors", [{"category": "c", "status": "s3cr3t-client-value"}]),
    ("environments", {"a": "s3cr3t-client-value"}),
])
def test_a_wrong_type_is_named_without_quoting_the_value(key: str, value: object) -> None:
    """int() and float() quote the value they refuse; a profile error never does (a client id
    or secret pasted into the wrong key must not reach a log through the error)."""
    data = {"name": "x", "token_urls": {"d": "https://x/t"}, key: value}
    with pytest.raises(ProfileError) as info:
        profile_from_mapping(data, "my.toml")
    assert "wrong shape" in str(info.value) and "s3cr3t" not in str(info.value)


def test_a_device_a_fifo_or_a_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    """A profile path naming /dev/zero or a FIFO would never end or block: refused by its
    type; a file over MAX_PROFILE_BYTES is refused after one bounded read."""
    import os

    from hgobs.profiles.load import MAX_PROFILE_BYTES
    fifo = tmp_path / "p.toml"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"# " + b"x" * MAX_PROFILE_BYTES + b"\n")
    for spec, says in (("/dev/zero", "not a regular file"), (str(fifo), "not a regular file"),
                       (str(huge), "larger than")):
        with pytest.raises(ProfileError, match=says):
            load_profile(spec)
    with pytest.raises(ProfileError, match="not a regular file"):
        profile_from_mapping({"name": "x", "extends": str(fifo)}, "my.toml")


def test_a_profile_nested_too_deep_is_a_profile_error(tmp_path: Path) -> None:
    """tomllib recurses into nested arrays and inline tables: a file nested deeper than the
    stack is a ProfileError naming it, not a RecursionError out of the CLI or the config."""
    for name, value in (("arrays", "[" * 50000 + "]" * 50000),
                        ("tables", "{b=" * 50000 + "1" + "}" * 50000)):
        deep = tmp_path / f"{name}.toml"
        deep.write_text(f'name = "x"\na = {value}\n', encoding="utf-8")
        with pytest.raises(ProfileError, match="nested too deep"):
            load_profile(str(deep))


def test_an_unknown_name_says_it_is_no_built_in() -> None:
    with pytest.raises(ProfileError, match=r"is no built-in profile \(healthgorilla, .*generic\)"):
        load_profile("nosuch")
