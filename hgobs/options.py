"""Option values the API and the command line share, read with the standard library alone.

``hgobs --help`` and option checks import this module, not pandas: times for ``since`` and
``until`` (ISO 8601, or a length of time before now such as ``24h``), report formats and their
aliases, and the format an output file's extension names.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from hgobs.errors import ConfigError

FORMATS = ("text", "json", "markdown", "csv", "html")
"""Report formats, as ``hgobs.reports.render`` takes them."""
FORMAT_ALIASES = {"md": "markdown"}
"""Other names accepted for a format (``--format md``)."""
FORMAT_SUFFIXES = {".html": "html", ".htm": "html", ".json": "json", ".md": "markdown",
                   ".markdown": "markdown", ".csv": "csv", ".txt": "text"}
"""Output file extension -> report format (``format_for``)."""

RELATIVE_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
"""Units of a relative time (``90s``, ``30m``, ``24h``, ``7d``, ``2w``), in seconds."""
_MAX_DIGITS = 9
"""Digits a relative time may have (a billion weeks is already out of any calendar)."""
TIME_FORMS = ("ISO 8601 (2025-11-28T01:00:00Z, +00:00 or no zone = UTC, or a date alone) or a "
              "length of time before now: digits and one of s, m, h, d, w (90s, 30m, 24h, 7d, "
              "2w)")
"""The forms ``parse_time`` accepts, as error messages name them."""


def relative_seconds(text: str) -> int | None:
    """Seconds of a relative time (digits then one unit of ``RELATIVE_UNITS``: ``24h`` is
    86,400), or None when ``text`` is not one. Reads each character once (no pattern)."""
    text = text.strip()
    if len(text) < 2 or text[-1] not in RELATIVE_UNITS:
        return None
    digits = text[:-1]
    if len(digits) > _MAX_DIGITS or not (digits.isascii() and digits.isdigit()):
        return None
    return int(digits) * RELATIVE_UNITS[text[-1]]


def parse_time(value: datetime | str, option: str = "time", now: datetime | None = None
               ) -> datetime:
    """``value`` as an aware datetime (naive means UTC): a datetime, an ISO 8601 text
    (``2025-11-28T01:00:00Z``, ``+00:00``, fractions; a date alone) or a relative time
    (``relative_seconds``: ``24h`` is 24 hours before ``now``, default the current time).

    Raises ``ConfigError`` naming ``option`` and the forms accepted (``TIME_FORMS``), without
    repeating the value.
    """
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        seconds = relative_seconds(text)
        if seconds is not None:
            ref = now or datetime.now(timezone.utc)
            ref = ref if ref.tzinfo is not None else ref.replace(tzinfo=timezone.utc)
            try:
                return ref - timedelta(seconds=seconds)
            except OverflowError:
                raise ConfigError(option, "that long before now is before year 1") from None
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z"))
                                            else text)
        except ValueError:
            raise ConfigError(option, f"not a time; give {TIME_FORMS}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def format_named(name: str) -> str:
    """The report format ``name`` or its alias (``FORMAT_ALIASES``) stands for. Raises
    ``ConfigError`` (option ``format``) naming the formats accepted."""
    fmt = FORMAT_ALIASES.get(name, name)
    if fmt not in FORMATS:
        raise ConfigError("format", f"not one of {', '.join(FORMATS)} "
                                    f"(or {', '.join(FORMAT_ALIASES)})")
    return fmt


def format_for(output: str | None) -> str:
    """The report format an output file's extension names (``FORMAT_SUFFIXES``, any case);
    ``text`` when there is no output file (standard output).

    Raises ``ConfigError`` (option ``output``) for an extension not in ``FORMAT_SUFFIXES``
    or none: the report's format would be a guess, so the caller names one (``--format``)."""
    if not output:
        return "text"
    suffix = Path(output).suffix.lower()
    if suffix not in FORMAT_SUFFIXES:
        what = f"the extension {suffix}" if suffix else "no extension"
        raise ConfigError("output", f"the file has {what}, which names no report format; "
                                    f"use one of {', '.join(FORMAT_SUFFIXES)} or give --format "
                                    f"({', '.join(FORMATS)})")
    return FORMAT_SUFFIXES[suffix]
