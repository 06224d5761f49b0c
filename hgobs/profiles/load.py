"""Load a provider profile from a built-in name, a TOML file or a mapping, following ``extends``.

The built-in profiles are ``hgobs/data/<name>.toml``. A profile may start from another
(``extends = "epic"``, a built-in name or a TOML path relative to the file): its tables are
merged key by key, its ``errors`` appended to the other's and its ``fixes`` merged by category;
its environments, when it declares any, replace the other's. Format: ``docs/profiles.md``.
"""

from __future__ import annotations

import stat
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from hgobs.errors import ProfileError
from hgobs.profiles.model import Environment, ErrorText, Fix, Profile

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

BUILTIN = ("healthgorilla", "epic", "oracle", "salesforce", "google", "okta", "entra", "keycloak",
           "auth0", "smart", "generic")
"""Built-in profile names, in the order ``--profile auto`` tries their URL patterns: the
providers first, then ``smart`` (the HL7 specification, for SMART servers not named here),
then ``generic``, which matches any ``.../token`` URL."""
DEFAULT = "healthgorilla"
_MAX_EXTENDS = 4


def available_builtins() -> tuple[str, ...]:
    """The built-in names whose TOML ships with this install (``BUILTIN`` order)."""
    folder = resources.files("hgobs.data")
    return tuple(n for n in BUILTIN if folder.joinpath(f"{n}.toml").is_file())


def _builtin_data(name: str) -> dict[str, Any]:
    try:
        raw = resources.files("hgobs.data").joinpath(f"{name}.toml").read_text("utf-8")
    except OSError:
        raise ProfileError(name, "is a built-in profile missing from this install") from None
    return tomllib.loads(raw)


MAX_PROFILE_BYTES = 1 << 20
"""Largest profile file read (the built-in ones are a few KB): a larger one is refused before
it is parsed, so a wrong path (a log, ``/dev/zero``) costs one bounded read."""


def _file_data(path: Path, source: str) -> dict[str, Any]:
    """The parsed TOML of the regular file ``path`` (``MAX_PROFILE_BYTES`` at most); a FIFO,
    device or directory is refused without reading it (it could block or never end)."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise ProfileError(source, "is not a regular file")
        with path.open("rb") as handle:
            data = handle.read(MAX_PROFILE_BYTES + 1)
        if len(data) > MAX_PROFILE_BYTES:
            raise ProfileError(source, f"is larger than {MAX_PROFILE_BYTES} bytes")
        raw = data.decode("utf-8")
    except OSError as exc:
        raise ProfileError(source, f"cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ProfileError(source, "is not UTF-8 text") from None
    except ValueError:  # a NUL in the path, which no file system accepts
        raise ProfileError(source, "is not a file name") from None
    try:
        return tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(source, f"is not valid TOML ({exc})") from None
    except RecursionError:  # arrays or inline tables nested deeper than the parser's stack
        raise ProfileError(source, "is nested too deep to be a profile") from None


def _merge(base: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """``child`` laid over ``base``: tables key by key, errors appended; the child's
    environments replace the base's when it declares any (a provider's hosts are its own),
    else it keeps the base's (a copy of a built-in that adds ``custom_domains``)."""
    out = dict(base)
    for key, value in child.items():
        if key == "extends":
            continue
        if key in ("limits", "claims", "header", "audience", "fixes") and isinstance(value, Mapping):
            out[key] = {**dict(base.get(key, {}) or {}), **dict(value)}
        elif key == "errors" and isinstance(value, list):
            out[key] = [*list(base.get(key, []) or []), *value]
        else:
            out[key] = value
    for own in ("generic", "pick_by_url"):  # marks of the profile itself, not inherited
        if own not in child:
            out.pop(own, None)
    return out


def _resolve_extends(data: Mapping[str, Any], source: str, depth: int = 0) -> Mapping[str, Any]:
    parent = data.get("extends")
    if not parent:
        return data
    if depth >= _MAX_EXTENDS:
        raise ProfileError(source, f"extends more than {_MAX_EXTENDS} profiles deep")
    parent = str(parent)
    if parent in BUILTIN:
        base = _builtin_data(parent)
        base_source = parent
    else:
        path = Path(parent) if Path(parent).is_absolute() else Path(source).parent / parent
        base = _file_data(path, str(path))
        base_source = str(path)
    base = _resolve_extends(base, base_source, depth + 1)
    return _merge(base, data)


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def profile_from_mapping(data: Mapping[str, Any], source: str = "<mapping>") -> Profile:
    """Build a profile from parsed TOML (or JSON) data of the shape in ``docs/profiles.md``,
    following ``extends``.

    Also accepts the short form ``{"name": N, "token_urls": {ENV: URL, ...}}``. Raises
    ``ProfileError`` naming ``source`` when the shape is wrong or an extended profile is
    missing.
    """
    try:
        data = _resolve_extends(data, source)
        name = str(data.get("name") or Path(source).stem)
        limits = data.get("limits", {}) or {}
        header = data.get("header", {}) or {}
        audience = data.get("audience", {}) or {}
        claims = data.get("claims", {}) or {}
        envs_data = data.get("environments")
        if envs_data is None and "token_urls" in data:
            envs_data = {env: {"token_urls": _strings(url)}
                         for env, url in dict(data["token_urls"]).items()}
        if not isinstance(envs_data, Mapping) or not envs_data:
            raise ProfileError(source, "needs an [environments.NAME] table with token_urls")
        envs = tuple(
            Environment(name=str(env_name), token_urls=_strings(env.get("token_urls")),
                        api_bases=_strings(env.get("api_bases")),
                        audience=_strings(env.get("audience")))
            for env_name, env in envs_data.items())
        lifetime = limits.get("max_assertion_lifetime_s", 3600)
        jti_len = limits.get("max_jti_length")
        errors = tuple(
            ErrorText(category=str(e["category"]), text=str(e.get("text", "")).lower(),
                      original=str(e.get("text", "")), error=str(e.get("error", "")),
                      status=int(e["status"]) if e.get("status") is not None else None,
                      source=str(e.get("source", "")))
            for e in data.get("errors", ()) or ())
        if any(not (e.text or e.error or e.status is not None) for e in errors):
            raise ProfileError(source, "has an [[errors]] entry without text, error or status")
        fixes = {str(cat): Fix(str(f["fix"]), str(f.get("link", "")))
                 for cat, f in (data.get("fixes", {}) or {}).items()}
        return Profile(
            name=name, title=str(data.get("title", "")), environments=envs,
            max_assertion_lifetime_s=None if lifetime in (None, 0) else float(lifetime),
            require_iat=bool(limits.get("require_iat", False)),
            docs=_strings(data.get("docs")), grants=_strings(data.get("grants")),
            custom_domains=tuple(h.lower() for h in _strings(data.get("custom_domains"))),
            require_jti=bool(limits.get("require_jti", False)),
            max_jti_length=int(jti_len) if jti_len else None,
            leeway_s=float(limits.get("leeway_s", 30)),
            algorithms=_strings(limits.get("algorithms")),
            secret_auth=bool(limits.get("secret_auth", False)),
            header_required=_strings(header.get("required")),
            header_typ=str(header["typ"]) if header.get("typ") else None,
            header_one_of=tuple(_strings(g) for g in header.get("one_of", ()) or ()),
            audience=_strings(audience.get("accept")) or ("{token_url}",),
            audience_array_ok=bool(audience.get("array_ok", False)),
            errors=errors, fixes=fixes, generic=bool(data.get("generic", False)),
            pick_by_url=bool(data.get("pick_by_url", True)),
            claim_iss=_claim(claims.get("iss", "client_id"), source),
            claim_sub=_claim(claims.get("sub", "client_id"), source),
        )
    except ProfileError:
        raise
    except KeyError as exc:  # a key the format requires (its name, never a value)
        raise ProfileError(source, f"has the wrong shape (no {exc} key)") from None
    except (AttributeError, TypeError, ValueError):
        # The message of int(), float() and the like quotes the value, which may be anything
        # (a client id pasted in the wrong place): only the kind of fault is said.
        raise ProfileError(source, "has the wrong shape (a value of the wrong type: see "
                                   "docs/profiles.md)") from None


CLAIM_KINDS = ("client_id", "email", "user", "any")
"""What ``[claims] iss``/``sub`` may say an assertion grant's claim must be."""


def _claim(value: Any, source: str) -> str:
    if value not in CLAIM_KINDS:
        raise ProfileError(source, f"[claims] must be one of {', '.join(CLAIM_KINDS)}")
    return str(value)


def profile_from_token_urls(urls: list[str] | tuple[str, ...], name: str = "custom") -> Profile:
    """A profile known only by its token URL(s), one environment each (``env1``, ``env2`` ...)."""
    if not urls:
        raise ProfileError(name, "needs at least one token URL")
    envs = tuple(
        Environment(name="default" if len(urls) == 1 else f"env{i + 1}", token_urls=(u,))
        for i, u in enumerate(urls)
    )
    return Profile(name=name, environments=envs)


_loaded: dict[str, Profile] = {}


def load_profile(spec: str | Path | Mapping[str, Any] | Profile = DEFAULT) -> Profile:
    """Load a profile: a built-in name (``BUILTIN``), a TOML file path, or a mapping.

    A built-in is loaded once per process (the same object each time). Raises
    ``ProfileError`` when the file is missing, is not TOML, or has the wrong shape.
    """
    if isinstance(spec, Profile):
        return spec
    if isinstance(spec, Mapping):
        return profile_from_mapping(spec)
    text_spec = str(spec)
    if text_spec in BUILTIN:
        cached = _loaded.get(text_spec)
        if cached is None:
            cached = _loaded[text_spec] = profile_from_mapping(_builtin_data(text_spec), text_spec)
        return cached
    path = Path(text_spec)
    if not path.suffix and "/" not in text_spec and "\\" not in text_spec and not path.exists():
        raise ProfileError(text_spec, f"is no built-in profile ({', '.join(BUILTIN)}) and no "
                           "file; a profile file is a TOML path (docs/profiles.md)")
    return profile_from_mapping(_file_data(path, text_spec), text_spec)
