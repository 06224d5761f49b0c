"""The exception hierarchy of hgobs: one root, one leaf per condition.

::

    HgobsError
    +-- ConfigError          an option or environment variable has a value hgobs cannot use
    +-- ProfileError         a provider profile file is missing, unreadable or inconsistent
    +-- InputError           a record in an input file cannot be read (carries file and line)
    +-- MissingExtraError    a part of hgobs needs an extra that is not installed (also an
                             ImportError)

The CLI maps these to exit codes in one place (``hgobs.cli``); the capture layer never lets any
of them reach the host application.
"""

from __future__ import annotations


class HgobsError(Exception):
    """Root of every error hgobs raises on purpose."""

    exit_code = 2


class ConfigError(HgobsError):
    """An option has a value hgobs cannot use; ``option`` names it."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option


class ProfileError(HgobsError):
    """A provider profile cannot be loaded; ``source`` names the file or built-in profile."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"profile {source}: {message}")
        self.source = source


class InputError(HgobsError):
    """One record of an input cannot be read.

    ``source`` is ``<file>:<line>`` (or ``<file>#<entry>``) and ``reason`` says why, in words
    that never repeat the record's content (it may hold secrets).
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class MissingExtraError(HgobsError, ImportError):
    """A part of hgobs needs libraries its install lacks: ``extras`` names the extras that bring
    them (``pip install 'hgobs[analyze,emulator]'``), ``module`` the first missing import.

    Also an ``ImportError``, so ``import hgobs.analysis`` without the ``analyze`` extra fails the
    way a missing library does, with a message that says what to install.
    """

    def __init__(self, extras: tuple[str, ...], module: str, needed_by: str) -> None:
        super().__init__(f"{needed_by} needs pip install 'hgobs[{','.join(extras)}]' "
                         f"({module} is not installed)")
        self.extras = extras
        self.module = module
        self.needed_by = needed_by
