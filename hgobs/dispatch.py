"""The ``hgobs`` console script: pick the command's implementation by what is installed.

``hgobs check-assertion`` runs from the lean install (``pip install hgobs``) through
``hgobs.preflight_cli``, without importing click: click makes a service's own ``import httpx``
load httpx's command line (click, then rich and pygments), about 18 ms and up for nothing.
Every other command is the click group of ``hgobs.cli`` and needs its extra (``NEEDS``); when
it is missing the command exits 2 with one line that says what to install.

Shell completion is click's: ``_HGOBS_COMPLETE=bash_source hgobs`` (or ``zsh_source``,
``fish_source``) prints the script, and the shell then runs ``hgobs`` with that variable set
and no arguments, which reaches the click group like any run. It needs the ``analyze`` extra
(click); without it the script is an error on stderr, never the lean help on stdout (a shell
would run that text).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from hgobs import __version__
from hgobs.errors import MissingExtraError
from hgobs.extras import absent, require

NEEDS: dict[str, tuple[str, ...]] = {
    "check-assertion": (),
    "emulate": ("emulator",),
    "demo": ("analyze", "emulator"),
}
"""The extras each command needs; a command not listed (``analyze``, ``classify``,
``categories``, ``schema``, the group's own ``--help``) needs ``analyze``."""
COMPLETE_VAR = "_HGOBS_COMPLETE"
"""The environment variable click's shell completion sets (``_<PROG>_COMPLETE``)."""
COMMANDS = frozenset({*NEEDS, "analyze", "classify", "categories", "profiles", "schema"})
"""Every command of ``hgobs`` (``tests/test_lean_install.py`` checks it against the group)."""

LEAN_HELP = f"""\
usage: hgobs check-assertion [--env NAME | --token-url URL] [options] [TOKEN]

hgobs {__version__}: auth observability for services that call Health Gorilla and other RFC 7523 providers.
This install has capture and pre-flight only; the other commands need an extra:
  hgobs check-assertion                        (installed; hgobs check-assertion --help)
  hgobs check-assertion --jwks FILE            pip install 'hgobs[crypto]'
  hgobs analyze, classify, categories, schema  pip install 'hgobs[analyze]'
  hgobs analyze --workers N / --scheduler ADDR  pip install 'hgobs[analyze,dask]'
  hgobs emulate                                pip install 'hgobs[emulator]'
  hgobs demo                                   pip install 'hgobs[analyze,emulator]'
"""


def _command(args: list[str]) -> str | None:
    """The command named in ``args``: the first argument that is not an option."""
    return next((a for a in args if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> None:
    """Run ``hgobs`` with ``argv`` (default ``sys.argv[1:]``); always ends in ``SystemExit``.

    Exit 2 with ``hgobs: <command> needs pip install 'hgobs[<extra>]' (...)`` on stderr when
    the command's extra is not installed (``MissingExtraError``, raised here or by the command).
    """
    args = sys.argv[1:] if argv is None else list(argv)
    command = _command(args)
    if command == "check-assertion" and args[0] == command:
        from hgobs.preflight_cli import main as check_assertion_main

        sys.exit(_closed_pipe_quiet(check_assertion_main, args[1:]))
    try:
        require(NEEDS.get(command or "", ("analyze",)), f"hgobs {command}" if command else "hgobs")
    except MissingExtraError as exc:
        if command is not None and command not in COMMANDS:
            sys.stderr.write(f"hgobs: no such command {command!r} (commands: "
                             f"{', '.join(sorted(COMMANDS))})\n")
            sys.exit(2)
        if command is None and args in ([], ["--help"], ["-h"], ["--version"]) \
                and not os.environ.get(COMPLETE_VAR):
            sys.stdout.write(f"hgobs, version {__version__}\n" if args == ["--version"]
                             else LEAN_HELP)
            sys.exit(0 if args else 2)
        sys.stderr.write(f"hgobs: {exc}\n")
        sys.exit(2)
    if command == "emulate" and absent("analyze") is not None:
        # The group imports the analyzer; the emulator's own command does not need it.
        from hgobs.emulator import emulate

        emulate.main(args[args.index(command) + 1:], prog_name="hgobs emulate")
    from hgobs.cli import main as cli_main

    cli_main(args)


def _closed_pipe_quiet(run: Any, args: list[str]) -> int:
    """``run(args)``'s exit status; when standard output is a pipe closed early (``| head``),
    1 and no traceback, as the Python documentation's note on SIGPIPE recommends (standard
    output is pointed at ``os.devnull`` so the interpreter's final flush cannot fail again)."""
    try:
        status = int(run(args) or 0)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
