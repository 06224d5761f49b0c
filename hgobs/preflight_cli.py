"""The ``hgobs check-assertion`` command: its one argument parser, its output and exit codes.

Plain ``argparse``, no click, so the command runs from the lean install (``pip install hgobs``:
PyJWT and the light parts of hgobs; neither httpx nor click). The console script calls ``main``
directly; the click group of ``hgobs.cli`` hands its arguments over unparsed, so the options are
defined here only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from hgobs.config import profile_setting
from hgobs.errors import HgobsError, MissingExtraError
from hgobs.preflight import ERROR, check_assertion
from hgobs.profiles import DEFAULT, TOKEN_EXCHANGE, ProfileSet, load_profile

if TYPE_CHECKING:
    from hgobs.jwks import Jwks

SUMMARY = "Check an assertion before sending it."
DESCRIPTION = (
    f"{SUMMARY} TOKEN is the assertion, or '-' (the default) to read it from stdin so it stays "
    "out of shell history. Exit 0: no error found; 1: the exchange would fail; 2: usage error. "
    "The output never repeats the token.")


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``hgobs check-assertion`` (its usage errors exit 2)."""
    p = argparse.ArgumentParser(prog="hgobs check-assertion", description=DESCRIPTION)
    p.add_argument("token", nargs="?", default="-", metavar="TOKEN",
                   help="the assertion, or '-' to read it from stdin (default)")
    p.add_argument("--token-url", metavar="URL", help="The token URL the assertion is for.")
    p.add_argument("--env", dest="environment", metavar="NAME",
                   help="Take the token URL from this profile environment (sandbox, production).")
    p.add_argument("--profile", metavar="NAME|FILE",
                   help="Provider profile: a built-in name (hgobs profiles), a profile TOML "
                        "file, or 'auto' (the default, unless $HGOBS_PROFILE names one): the "
                        "built-in profile whose token URLs match --token-url, else 'generic' "
                        "(RFC 7523 alone); with --env and no profile, Health Gorilla.")
    p.add_argument("--client-id", metavar="ID", help="Your client id (iss and sub must equal it).")
    p.add_argument("--client-secret-env", metavar="VAR",
                   help="Name of an environment variable holding the client secret, to verify "
                        "the HS256 signature.")
    p.add_argument("--jwks", metavar="FILE",
                   help="A JWKS file (the public keys you registered) to verify an RS/PS/ES "
                        "signature against and check the header's kid; needs "
                        "pip install 'hgobs[crypto]'.")
    p.add_argument("--format", dest="fmt", choices=("text", "json"), default="text",
                   help="Output format (default: text).")
    return p


def load_jwks_option(p: argparse.ArgumentParser, path: str) -> Jwks:
    """The JWKS of ``--jwks PATH``; exits 2 with a message when ``cryptography`` is missing
    (naming ``hgobs[crypto]``) or the file is not a readable JWKS. Warns on stderr when the
    file holds private keys (a published JWKS must hold public keys only)."""
    try:
        from hgobs.jwks import load_jwks
    except MissingExtraError as exc:
        sys.stderr.write(f"hgobs: hgobs check-assertion --jwks needs pip install "
                         f"'hgobs[{','.join(exc.extras)}]' ({exc.module} is not installed)\n")
        raise SystemExit(2) from None
    try:
        jwks = load_jwks(path)
    except HgobsError as exc:
        p.error(f"--jwks: {exc}")
    if jwks.private_keys:
        sys.stderr.write(f"warning: {path} holds {jwks.private_keys} private key(s); only their "
                         "public parts are used. Register and publish public keys only.\n")
    return jwks


def main(argv: list[str] | None = None) -> int:
    """Run ``hgobs check-assertion`` with ``argv`` (default ``sys.argv[1:]``) and return the exit
    code: 0 no error found, 1 the exchange would fail. Usage errors (a bad option, profile,
    environment or missing assertion) raise ``SystemExit(2)`` after a message on stderr."""
    p = parser()
    args = p.parse_args(argv)
    try:
        chosen = profile_setting(args.profile, auto=True)
        if isinstance(chosen, ProfileSet):  # auto: by the token URL (Health Gorilla for --env)
            chosen = load_profile(DEFAULT) if args.environment or not args.token_url else \
                chosen.for_url(args.token_url) or load_profile("generic")
    except HgobsError as exc:
        p.error(str(exc))
    prof = chosen
    token_url = args.token_url
    if args.environment:
        env = prof.environment(args.environment)
        if env is None:
            names = ", ".join(e.name for e in prof.environments)
            p.error(f"--env {args.environment!r} is not in the profile ({names})")
        if token_url and prof.match(token_url) != (TOKEN_EXCHANGE, env.name):
            p.error(f"--token-url is not a token URL of --env {args.environment}")
        exact = [u for u in env.token_urls if "{" not in u]
        if not token_url and not exact:
            p.error(f"--env {args.environment}'s token URLs are patterns "
                    f"({', '.join(env.token_urls)}): give --token-url")
        token_url = token_url or exact[0]
    if not token_url:
        p.error("give --token-url URL or --env NAME")
    assertion = sys.stdin.read().rstrip("\n") if args.token == "-" else args.token
    if not assertion.strip():
        p.error("no assertion given (argument or stdin)")
    if assertion.strip().lower().startswith("bearer "):
        p.error("give the assertion itself, without the 'Bearer ' prefix")
    secret = None
    if args.client_secret_env:
        secret = os.environ.get(args.client_secret_env)
        if secret is None:
            p.error(f"environment variable {args.client_secret_env} is not set")
    jwks = load_jwks_option(p, args.jwks) if args.jwks else None
    findings = check_assertion(assertion, token_url=token_url, client_id=args.client_id,
                               profile=prof, client_secret=secret, jwks=jwks)
    if args.fmt == "json":
        print(json.dumps({"token_url": token_url, "profile": prof.name,
                          "findings": [f.as_dict() for f in findings]}, indent=2))
    elif not findings:
        skipped = [what for what, given in (("iss/sub against the client id (--client-id)",
                                             args.client_id),
                                            ("the signature (--client-secret-env or --jwks)",
                                             secret or jwks))
                   if not given]
        print(f"OK: no problem found for {token_url} ({prof.name} profile)"
              + (f"; not checked: {', '.join(skipped)}" if skipped else ""))
    else:
        for f in findings:
            print(f"{f.severity.upper()} {f.category}" + (f" ({f.claim})" if f.claim else "")
                  + f": {f.detail}\n  fix: {f.fix}")
    return 1 if any(f.severity == ERROR for f in findings) else 0
