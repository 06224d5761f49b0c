"""Configuration: ``hgobs.config`` is the one module that reads ``HGOBS_*`` variables."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from hgobs.config import ENV_VARS, Provider, fingerprint_key_setting, parse_providers, resolve_options
from hgobs.errors import ConfigError, ProfileError
from hgobs.profiles import load_profile

PACKAGE = Path(__file__).resolve().parents[1] / "hgobs"
VARIABLE = re.compile(r"HGOBS_[A-Z0-9_]+")


def _names_in_code(path: Path) -> list[tuple[int, str]]:
    """``(line, text)`` of every string constant in ``path`` that is an ``HGOBS_*`` variable
    name (a message that mentions one is not), docstrings left out (they may name the variables they document)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                       ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and VARIABLE.fullmatch(node.value.strip())]


def test_no_module_but_config_names_an_hgobs_variable_in_code():
    """No module of the package other than hgobs/config.py holds an ``HGOBS_*`` name as a
    string to look up (messages and docstrings may mention them); config holds each one."""
    found = {str(p.relative_to(PACKAGE)): hits for p in sorted(PACKAGE.rglob("*.py"))
             if (hits := _names_in_code(p))}
    assert set(found) == {"config.py"}, found
    assert {name for _, name in found["config.py"]} == set(ENV_VARS.values())


def test_no_module_but_config_reads_the_environment_for_hgobs():
    """Outside config, no line reads ``os.environ``/``getenv`` with an ``HGOBS_`` name."""
    reads = re.compile(r"(environ|getenv)[^\n]*HGOBS_")
    offending = [f"{p.relative_to(PACKAGE)}:{n}" for p in sorted(PACKAGE.rglob("*.py"))
                 if p.name != "config.py" or p.parent != PACKAGE
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if reads.search(line)]
    assert offending == []


def test_fingerprint_key_setting_prefers_the_keyword_then_the_variable():
    """The analysis key: the keyword (str encoded as UTF-8), else HGOBS_FINGERPRINT_KEY
    stripped, else None; any length is taken (it must match the records', whatever it was)."""
    env = {"HGOBS_FINGERPRINT_KEY": "  from-the-environment \n"}
    assert fingerprint_key_setting(None, env) == b"from-the-environment"
    assert fingerprint_key_setting("short", env) == b"short"
    assert fingerprint_key_setting(b"\x00bytes", env) == b"\x00bytes"
    assert fingerprint_key_setting(None, {}) is None
    assert fingerprint_key_setting(None, {"HGOBS_FINGERPRINT_KEY": "   "}) is None


# -- HGOBS_PROVIDERS and providers= ----------------------------------------------------------

def test_providers_variable_is_parsed():
    """Names and paths with or without client ids, spaces ignored; the first is ``profile``."""
    options = resolve_options({"HGOBS_PROVIDERS": "healthgorilla=abc-1, generic"})
    assert [(p.profile.name, p.client_id) for p in options.providers] == \
        [("healthgorilla", "abc-1"), ("generic", None)]
    assert options.profile.name == "healthgorilla" and options.client_id == "abc-1"
    assert parse_providers("healthgorilla=a=b")[0].client_id == "a=b"


@pytest.mark.parametrize("value, says", [
    ("", None), ("healthgorilla=a,,generic=b", "entry 2 of 3 is empty"),
    ("=s3cr3t-client", "entry 1 of 1 names no profile"),
    ("nosuchprofile=s3cr3t-client", "entry 1: names no built-in profile"),
    ("healthgorilla,s3cr3t-client", "entry 2: names no built-in profile"),
    ("s3cr3t\x00client=x", "entry 1: names no built-in profile"),
    ("healthgorilla=s3cr3t-client,healthgorilla=other", "'healthgorilla' is given twice"),
])
def test_bad_providers_variable_is_a_config_error_naming_it(value, says):
    """A bad list is a ConfigError naming HGOBS_PROVIDERS, never echoing a client id; an empty
    variable is as if unset."""
    if says is None:
        assert resolve_options({"HGOBS_PROVIDERS": value}).profile.name == "healthgorilla"
        return
    with pytest.raises(ConfigError) as caught:
        resolve_options({"HGOBS_PROVIDERS": value})
    assert caught.value.option == "HGOBS_PROVIDERS"
    assert says in str(caught.value) and "s3cr3t" not in str(caught.value)


def test_providers_and_profile_are_not_mixed():
    """providers= with profile=/client_id=, or HGOBS_PROVIDERS with HGOBS_PROFILE or
    HGOBS_CLIENT_ID, is a ConfigError; keywords win over variables."""
    with pytest.raises(ConfigError, match="providers="):
        resolve_options({}, providers=[("generic", "x")], client_id="y")
    with pytest.raises(ConfigError, match="HGOBS_PROVIDERS"):
        resolve_options({"HGOBS_PROVIDERS": "generic=x", "HGOBS_CLIENT_ID": "y"})
    env = {"HGOBS_PROVIDERS": "generic=x"}
    assert resolve_options(env, client_id="kw").providers == \
        (Provider(load_profile("healthgorilla"), "kw"),)
    assert resolve_options(env, providers="healthgorilla=z").providers == \
        (Provider(load_profile("healthgorilla"), "z"),)


def test_providers_keyword_shapes():
    """Pairs, Provider values, a Profile alone, a string in the variable's syntax; bad shapes
    (a bare pair, not in a list, reads as two entries) are errors."""
    hg = load_profile("healthgorilla")
    options = resolve_options({}, providers=[("healthgorilla", "a"), Provider("generic", "b")])
    assert [(p.profile.name, p.client_id) for p in options.providers] == \
        [("healthgorilla", "a"), ("generic", "b")]
    assert resolve_options({}, providers=[hg]).providers == (Provider(hg, None),)
    assert resolve_options({}, providers="healthgorilla=a, generic").providers == \
        (Provider(hg, "a"), Provider("generic"))
    for bad in ([], [("healthgorilla", 5)], [42], 7, ("healthgorilla", "a")):
        with pytest.raises(ConfigError):
            resolve_options({}, providers=bad)
    with pytest.raises(ProfileError):
        Provider("nosuchprofile", "x")

def test_a_profile_file_that_does_not_load_is_named_with_its_reason(tmp_path):
    """An existing TOML file that is no profile: the error gives the loader's reason."""
    bad = tmp_path / "partner.toml"
    bad.write_text("name = [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        resolve_options({"HGOBS_PROVIDERS": f"healthgorilla=a,{bad}=partner-client-1"})
    assert "entry 2: profile" in str(caught.value) and "not valid TOML" in str(caught.value)
    assert "partner-client-1" not in str(caught.value)


def test_a_profile_setting_that_names_nothing_is_not_repeated(tmp_path):
    """HGOBS_PROFILE (or profile=) holding no built-in name nor a file may be a client id or
    secret put in the wrong variable: the error names the setting, never the value; a real
    file that does not load still says why."""
    from hgobs.config import profile_setting
    for call in (lambda: resolve_options({"HGOBS_PROFILE": "s3cr3t-client"}),
                 lambda: resolve_options({}, profile="s3cr3t-client"),
                 lambda: profile_setting(None, {"HGOBS_PROFILE": "s3cr3t-client"})):
        with pytest.raises(ProfileError) as caught:
            call()
        assert "names no built-in profile" in str(caught.value)
        assert "s3cr3t" not in str(caught.value)
    bad = tmp_path / "partner.toml"
    bad.write_text("name = [unclosed\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid TOML"):
        resolve_options({"HGOBS_PROFILE": str(bad)})
    assert profile_setting(None, {"HGOBS_PROFILE": "epic"}).name == "epic"


def test_an_entry_with_an_empty_client_id_is_refused():
    """``epic=`` (an '=' and nothing after it) is a mistake, not a profile without a client
    id (that is ``epic``); the error names the entry, not its value."""
    from hgobs.config import parse_providers

    with pytest.raises(ConfigError, match="entry 1 of 2 has '=' but no client id"):
        parse_providers("epic=,okta")
    assert parse_providers("epic,okta=0oa1")[0].client_id is None
