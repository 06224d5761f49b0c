"""A ``curl`` command line pasted above a ``curl -v`` transcript -> its URL and request body.

curl never echoes the body it sends; the command line says it (``-d``/``--data*``/``--json``/
``-F``). Files the command names (``-d @file``) are never opened. Used by
``hgobs.readers.curl``.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote_plus

_DATA_OPTS = {"-d": "data", "--data": "data", "--data-ascii": "data", "--data-binary": "data",
              "--data-raw": "raw", "--data-urlencode": "urlencode", "--json": "json"}
_ARG_SHORT = frozenset("dHXFuoAebcmwExUTKrYyzCDQtP")
_ARG_LONG = frozenset("""--url --header --request --form --form-string --user --output --user-agent
    --referer --cookie --cookie-jar --max-time --connect-timeout --write-out --cacert --capath
    --cert --key --cert-type --key-type --ciphers --proxy --proxy-user --retry --retry-delay
    --resolve --connect-to --upload-file --config --limit-rate --range --interface --trace
    --trace-ascii --stderr --oauth2-bearer --dump-header --max-redirs --aws-sigv4 --variable
    --expand-url""".split()) | frozenset(_DATA_OPTS)


@dataclass(frozen=True)
class Command:
    """What a pasted ``curl`` command line says: its URL, and the body it sends (b"" for none;
    None when the body is in a file, which is never opened)."""

    url: str | None
    body: bytes | None


def _options(args: list[str]) -> Iterator[tuple[str, str | None]]:
    """``(option, value or None)`` for each curl argument; ``("", arg)`` for a positional one."""
    i = 1
    while i < len(args):
        arg, nxt = args[i], (args[i + 1] if i + 1 < len(args) else "")
        i += 1
        if arg.startswith("--"):
            opt, eq, inline = arg.partition("=")
            if opt in _ARG_LONG:
                yield opt, inline if eq else nxt
                i += 0 if eq else 1
            else:
                yield arg, None
        elif arg.startswith("-") and len(arg) > 1:
            for j, ch in enumerate(arg[1:], start=1):
                if ch in _ARG_SHORT:
                    yield "-" + ch, arg[j + 1:] or nxt
                    i += 0 if arg[j + 1:] else 1
                    break
                yield "-" + ch, None
        else:
            yield "", arg


def _data_arg(kind: str, arg: str) -> str | None:
    """One ``-d``-like argument as curl sends it; None when it names a file."""
    if kind == "urlencode":
        name, eq, content = arg.partition("=")
        if "@" in (name if eq else arg):
            return None
        return f"{name}={quote_plus(content)}" if eq and name else quote_plus(content if eq else arg)
    return None if kind == "data" and arg.startswith("@") else arg


def _multipart(parts: list[str]) -> str | None:
    """A multipart body for ``-F name=value`` parts; None when a part is a file."""
    pairs = [p.partition("=")[::2] for p in parts]
    if any(value.startswith(("@", "<")) for _, value in pairs):
        return None
    b = "------------------------hgobsformboundary"
    return "".join(f'--{b}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'
                   for n, v in pairs) + f"--{b}--\r\n"


def parse_command(text: str) -> Command | None:
    """The URL and body of one ``curl`` command line (continuations already joined); None when
    it cannot be split (unbalanced quotes)."""
    try:
        args = shlex.split(text)
    except ValueError:
        return None
    data: list[str | None] = []
    json_parts: list[str] = []
    form: list[str] = []
    urls: list[str] = []
    get = False
    for opt, value in _options(args):
        get = get or opt in ("-G", "--get")
        if value is None:
            continue
        if opt in ("", "--url"):
            urls.append(value)
        elif _DATA_OPTS.get(opt) == "json":
            json_parts.append(value)
        elif opt in _DATA_OPTS:
            data.append(_data_arg(_DATA_OPTS[opt], value))
        elif opt in ("-F", "--form", "--form-string"):
            form.append(value)
    url = next((u for u in urls if "://" in u), urls[0] if urls else None)
    body: str | None = ""
    if json_parts:
        body = "".join(json_parts)
    elif form:
        body = _multipart(form)
    elif data and not get:
        body = None if None in data else "&".join(d for d in data if d is not None)
    return Command(url if url is None or "://" in url else "http://" + url,
                   None if body is None else body.encode("utf-8", "surrogateescape"))
