"""Which profile judges a URL or a record: one chosen profile, or ``auto`` over the built-ins.

``ProfileSet`` is what readers and the judge consult. With one profile (``--profile NAME``)
every record is judged under it. With ``auto`` (the analyzer's default, ``docs/profiles.md``)
a record's own ``profile`` field names its profile first, then the first profile whose URLs or
URL patterns match the URL called, then the fallback (``generic``, RFC 7523 alone). Capture
uses the same set for several providers in one process, each with its client id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hgobs.profiles.load import DEFAULT, available_builtins, load_profile
from hgobs.profiles.model import Profile

AUTO = "auto"
MAX_UNKNOWN_NAMES = 16


class ProfileSet:
    """Profiles tried in order, with an optional fallback.

    ``profiles`` are tried in the order given (but for one whose ``pick_by_url`` is False,
    which only a record naming it gets); ``fallback`` judges what none of them matches
    (None: such URLs are no auth attempt); ``unknown`` judges a record whose ``profile``
    field names a profile not in the set (None: its URL decides). ``only`` is True for a set
    of one chosen profile: then ``for_record`` gives that profile whatever the record says.
    """

    def __init__(self, profiles: Iterable[Profile], fallback: Profile | None = None,
                 unknown: Profile | None = None) -> None:
        given = tuple(profiles)
        self.only = len(given) == 1 and fallback is None
        self.profiles: tuple[Profile, ...] = given if self.only else tuple(
            p for p in given if p.pick_by_url)
        self.fallback = fallback
        self.unknown = unknown
        self.unknown_names: set[str] = set()
        """Names of the profiles records named that the set does not have (at most
        ``MAX_UNKNOWN_NAMES``), for the analyzer to say so."""
        self._by_name: dict[str, Profile] = {p.name: p for p in given}
        if fallback is not None:
            self._by_name.setdefault(fallback.name, fallback)

    @classmethod
    def auto(cls) -> ProfileSet:
        """Every built-in profile in ``BUILTIN`` order, with ``generic`` as the fallback and the
        default profile (Health Gorilla) for records captured under a profile not built in."""
        names = [n for n in available_builtins() if n != "generic"]
        return cls([load_profile(n) for n in names], load_profile("generic"),
                   unknown=load_profile(DEFAULT))

    @classmethod
    def of(cls, spec: Any) -> ProfileSet:
        """A set from ``spec``: a ``ProfileSet`` as it is, ``"auto"``, or one profile (a
        ``Profile``, a built-in name, a TOML path or a mapping; ``load_profile`` raises
        ``ProfileError`` for a bad one)."""
        if isinstance(spec, ProfileSet):
            return spec
        if spec == AUTO:
            return cls.auto()
        return cls([load_profile(spec)])

    @property
    def first(self) -> Profile:
        """The first profile (the chosen one for a set of one; else the fallback if none)."""
        return self.profiles[0] if self.profiles else self.fallback  # type: ignore[return-value]

    def named(self, name: str) -> Profile | None:
        """The profile of the set called ``name`` (a built-in not in an ``auto`` set is not
        loaded), or None."""
        return self._by_name.get(name)

    def for_url(self, url: Any) -> Profile | None:
        """The profile for which ``url`` is a token URL or under an API base: the first whose
        exact URLs name it, else the first whose URL patterns match it (so one profile's
        pattern never takes another's exact URL, as in capture's ``Routes``), else the
        fallback when it matches, else None."""
        for patterns in (False, True):
            for profile in self.profiles:
                if profile.resolve(url, patterns=patterns) is not None:
                    return profile
        if self.fallback is not None and self.fallback.match(url)[0] is not None:
            return self.fallback
        return None

    def match(self, url: Any) -> tuple[str | None, str | None]:
        """``Profile.match`` of the profile ``for_url`` finds: ``(kind, environment)``."""
        profile = self.for_url(url)
        return profile.match(url) if profile is not None else (None, None)

    def for_record(self, record: Mapping[str, Any]) -> Profile:
        """The profile that judges ``record``: the chosen one; else the one its ``profile``
        field names, the one its ``url`` matches, or the fallback (the first profile when
        there is none)."""
        if self.only:
            return self.profiles[0]
        name = record.get("profile")
        if isinstance(name, str) and name:
            named = self._by_name.get(name)
            if named is not None:
                return named
            if self.unknown is not None:
                # Captured under a profile of the user's own that this run does not have:
                # the default profile judges it, as every record was judged before profiles
                # were picked per record (the record's own limits facts still apply).
                return self.unknown
        url = record.get("url")
        if isinstance(url, str):
            found = self.for_url(url)
            if found is not None:
                return found
        return self.fallback or self.first

    def foreign(self, record: Mapping[str, Any]) -> str | None:
        """The name of the profile ``record`` was captured under when this set (``auto``)
        does not have it, else None: such a record keeps its verdict while the rules are the
        same (``hgobs.analysis.classify``), and is judged under ``unknown`` otherwise."""
        if self.only or self.unknown is None:
            return None
        name = record.get("profile")
        if isinstance(name, str) and name and name not in self._by_name:
            return name
        return None

    def note_foreign(self, name: str) -> None:
        """Remember that a record of profile ``name`` was judged under ``unknown`` (at most
        ``MAX_UNKNOWN_NAMES`` names)."""
        if len(self.unknown_names) < MAX_UNKNOWN_NAMES:
            self.unknown_names.add(name)

    def __repr__(self) -> str:
        names = ",".join(p.name for p in self.profiles)
        return f"ProfileSet({names}; fallback={self.fallback.name if self.fallback else None})"


