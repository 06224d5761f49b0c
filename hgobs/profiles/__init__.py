"""Provider profiles: what hgobs knows about each OAuth 2.0 / RFC 7523 provider, as data.

``model`` holds the ``Profile`` (environments, URL patterns, limits, header and ``aud`` rules,
error texts, fixes), ``urls`` the URL patterns, ``load`` the TOML loader (built-ins in
``hgobs/data``), ``select`` the ``ProfileSet`` that picks a profile per URL or record
(``--profile auto``). Format: ``docs/profiles.md``.
"""

from __future__ import annotations

from hgobs.profiles.load import (
    BUILTIN,
    DEFAULT,
    available_builtins,
    load_profile,
    profile_from_mapping,
    profile_from_token_urls,
)
from hgobs.profiles.model import (
    API_CALL,
    TOKEN_EXCHANGE,
    Environment,
    ErrorText,
    Fix,
    Profile,
    fill_audiences,
)
from hgobs.profiles.select import AUTO, ProfileSet
from hgobs.profiles.urls import UrlPattern, split_url

__all__ = [
    "API_CALL",
    "AUTO",
    "BUILTIN",
    "DEFAULT",
    "TOKEN_EXCHANGE",
    "Environment",
    "ErrorText",
    "Fix",
    "Profile",
    "ProfileSet",
    "UrlPattern",
    "available_builtins",
    "fill_audiences",
    "load_profile",
    "profile_from_mapping",
    "profile_from_token_urls",
    "split_url",
]
