"""The ``hgobs`` command: parse arguments, call the library, map errors to exit codes.

Exit codes: 0 success; 2 usage or input errors (``HgobsError.exit_code``, missing files), or
an extra that is not installed (``MissingExtraError``). Needs the ``analyze`` extra; the
console script is ``hgobs.dispatch``, which runs ``check-assertion`` without click. The
analyzer (``hgobs.api``, and pandas with it) is imported inside the commands that use it, so
``--help`` and shell completion stay fast.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hgobs import __version__
from hgobs.cliparts import IsoTime, LazyGroup, classify_totals, say, skipped_line
from hgobs.diagnosis.catalog import CATALOG
from hgobs.errors import ConfigError, HgobsError, ProfileError
from hgobs.live.options import is_stream, live_options, summary_options
from hgobs.options import FORMAT_ALIASES, FORMATS, format_for, format_named
from hgobs.profiles import Profile, available_builtins, load_profile
from hgobs.progress import Progress
from hgobs.reports import counted
from hgobs.reports.terminal import text_layout
from hgobs.storageopts import storage_options

if TYPE_CHECKING:
    from hgobs import api

MAX_SKIPPED_SAID = 5
"""Skipped input lines named on stderr when the report goes to a file (the report lists more)."""


def _say_skipped(report: api.Report, fmt: str, output: str | None) -> None:
    """Say on stderr how many input lines were skipped and where their reasons are listed:
    with ``output``, the first few with their reason too (one line without)."""
    total = int(report.totals["skipped"])
    if not total:
        return
    listed = len(report.skipped)
    shown = output or "the report"
    if fmt == "csv":
        where = "the CSV report does not list them; hgobs classify does"
    elif listed < total:
        where = f"{shown} lists the first {listed} under skipped input"
    else:
        where = f"{shown} lists them under skipped input"
    say(f"hgobs: {counted(total, 'input line')} skipped ({where})")
    if not output:
        return
    for row in report.skipped.head(MAX_SKIPPED_SAID).itertuples(index=False):
        say(f"  {row.source}: {row.reason}")
    if total > MAX_SKIPPED_SAID:
        say(f"  ... and {total - MAX_SKIPPED_SAID} more")


def _say(caught: Iterable[warnings.WarningMessage]) -> None:
    """Each ``AnalysisWarning`` caught, one line on stderr after its class's ``said_as`` (a
    client id mismatch as a ``warning:``); other warnings as Python shows them."""
    from hgobs import api

    for w in caught:
        if issubclass(w.category, api.AnalysisWarning):
            say(f"{w.category.said_as}{w.message}")
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


@contextlib.contextmanager
def _usage_errors() -> Iterator[None]:
    """Map what the API raises to exit 2: a missing path and a bad option (``ConfigError``)
    as usage errors, any other ``HgobsError`` (a profile) as ``UsageFailure``."""
    try:
        yield
    except FileNotFoundError as exc:
        raise click.UsageError(f"no such file or folder: {exc.args[0] if exc.args else exc}") \
            from None
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    except HgobsError as exc:
        raise UsageFailure(str(exc)) from None


def write_output(path: str, text: str) -> None:
    """``api.write_atomic``, with file-system errors turned into a clear usage error (exit 2)."""
    from hgobs import api

    try:
        api.write_atomic(path, text)
    except OSError as exc:
        raise UsageFailure(f"cannot write {path}: {exc.strerror or type(exc).__name__}") \
            from None


class UsageFailure(click.ClickException):
    """An error in what the user asked for (a file, a profile, an option): exit code 2."""

    exit_code = 2


_input_options = [
    click.argument("paths", nargs=-1, required=True),
    click.option("--profile", "profile", metavar="NAME|FILE",
                 help="Provider profile: 'auto' (default: each record's own, else the "
                      "built-in one its URL matches, else 'generic'), a built-in name (see "
                      "'hgobs profiles') or a profile TOML file."),
    click.option("--token-url", "token_urls", multiple=True, metavar="URL",
                 help="A provider known only by its token URL(s), instead of --profile (no "
                      "built-in profile applies then); repeatable."),
    click.option("--client-id", metavar="ID",
                 help="Your client id, to judge iss/sub (needs HGOBS_FINGERPRINT_KEY)."),
    click.option("--rejudge", is_flag=True,
                 help="Judge every record with the current rules, also those whose verdict "
                      "capture stamped with them."),
]


def input_options(func: Any) -> Any:
    """Decorate a command with the shared input arguments and options."""
    for option in reversed(_input_options):
        func = option(func)
    return func


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="hgobs")
def cli() -> None:
    """Auth observability for services that call Health Gorilla and other RFC 7523 providers."""


@cli.command()
@input_options
@click.option("--format", "fmt", type=click.Choice([*FORMATS, *FORMAT_ALIASES]), default=None,
              help="Report format (md is markdown) [default: from the -o file's extension, "
                   "else text].")
@click.option("-o", "--output", metavar="FILE",
              help="Write the report to FILE (atomically: all of it or nothing); its extension "
                   "names the format unless --format does (.txt .md .json .csv .html).")
@click.option("--bucket", default="1d", show_default=True, metavar="ALIAS",
              help="Time bucket for trends: a pandas offset alias such as 15min, 1h, 1d.")
@click.option("--since", type=IsoTime(), metavar="TIME",
              help="Only records at or after TIME: ISO 8601 (2025-11-28T01:00:00Z; UTC if no "
                   "zone) or that long before now (90s, 30m, 24h, 7d, 2w).")
@click.option("--until", type=IsoTime(), metavar="TIME",
              help="Only records before TIME (as --since).")
@click.option("--recurring-min", "recurring_min", type=click.IntRange(min=1), default=2,
              show_default=True, help="Buckets a (client, category) must appear in to recur.")
@click.option("--fail-on", metavar="CATEGORY[,CATEGORY]|any",
              help="Exit 1 when any of these categories (or any failure) is among the "
                   "records the report counts: those inside --since/--until.")
@click.option("--engine", type=click.Choice(["auto", "columnar", "streaming"]), default=None,
              help="Deprecated and ignored: there is one engine (removed in the next release).")
@live_options
@summary_options
@click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N",
              help="Run on a local Dask cluster of N worker processes (hgobs[dask]).")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on the dask.distributed cluster whose scheduler is at ADDRESS.")
@click.option("--storage-option", "storage", multiple=True, metavar="KEY=VALUE",
              help="An fsspec storage option for URL paths (s3://...); repeatable.")
def analyze(paths: tuple[str, ...], profile: str | None, token_urls: tuple[str, ...],
            client_id: str | None, rejudge: bool, fmt: str | None, output: str | None,
            bucket: str, since: str | None, until: str | None, recurring_min: int,
            fail_on: str | None, engine: str | None, follow: bool, from_end: bool,
            lateness: float | None, window: str, interval: float, workers: int | None,
            scheduler: str | None, storage: tuple[str, ...]) -> None:
    """Classify the auth attempts in PATHS (files, folders, globs, '-') and report failures,
    trends and fixes. Exit 0; 1 when --fail-on matched; 2 on usage errors, unreadable
    options, or (with --fail-on) input that held no readable record. With --follow, a
    summary of the last --window (what is failing now, with fixes) is redrawn on a terminal
    every --interval seconds; Ctrl-C prints the report of everything read."""
    if engine is not None:
        say("hgobs: warning: --engine is deprecated and ignored (there is one engine)")
    from hgobs import api

    with _usage_errors():  # an -o extension that names no format fails before any reading
        fmt = format_named(fmt) if fmt else format_for(output)
    with _usage_errors(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", api.AnalysisWarning)
        api.failing_categories(fail_on, ())  # a bad --fail-on fails before any reading
        if follow:
            from hgobs.live.analyze import analyze_live

            report = analyze_live(paths, profile=profile, token_urls=token_urls,
                                  client_id=client_id, since=since, until=until, bucket=bucket,
                                  recurring_min=recurring_min, rejudge=rejudge,
                                  lateness_s=lateness, from_end=from_end, window=window,
                                  interval_s=interval)
        else:
            report = api.analyze(paths, profile=profile, token_urls=token_urls,
                                 client_id=client_id, since=since, until=until, bucket=bucket,
                                 recurring_min=recurring_min, rejudge=rejudge,
                                 progress=Progress(), workers=workers, scheduler=scheduler,
                                 storage_options=storage_options(storage))
        layout = text_layout(to_file=bool(output))  # width and colour of a text report
        text = report.render(fmt, **layout)
    _say(w for w in caught if not issubclass(w.category, api.ClientIdMismatchWarning))
    if output:
        write_output(output, text)
        say(f"hgobs: {fmt} report written to {output}")
    else:
        click.echo(text, nl=False, color=layout["color"])
    _say_skipped(report, fmt, output)
    _say(w for w in caught if issubclass(w.category, api.ClientIdMismatchWarning))
    if fail_on and report.totals["classified"] == 0:
        say(f"hgobs: --fail-on: no readable record in the input "
            f"({report.totals['skipped']} skipped); cannot vouch for it")
        sys.exit(2)
    # What the report counts: the failures inside --since/--until.
    hits = api.failing_categories(fail_on, report.categories["category"])
    if hits:
        say(f"hgobs: --fail-on matched: {', '.join(hits)}")
        sys.exit(1)


@cli.command("classify")
@input_options
@live_options
def classify_command(paths: tuple[str, ...], profile: str | None, token_urls: tuple[str, ...],
                     client_id: str | None, rejudge: bool, follow: bool, from_end: bool,
                     lateness: float | None) -> None:
    """Print one JSON object per record of PATHS, in time order; skipped lines go to stderr.
    A record whose time is out of range (NaN, milliseconds) is skipped, with its reason.
    With --follow, or '-' alone on a pipe, each line is printed as its record arrives
    ("late": true when it came later than --lateness allows)."""
    if follow or (paths == ("-",) and is_stream()):
        from hgobs.live.classify import classify_live

        with _usage_errors():
            classify_live(paths, profile=profile, token_urls=token_urls, client_id=client_id,
                          rejudge=rejudge, follow=follow, from_end=from_end,
                          lateness_s=lateness)
        return
    from hgobs import api

    classified = skipped = 0
    with _usage_errors(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", api.AnalysisWarning)
        for verdict in api.classify(paths, profile=profile, token_urls=token_urls,
                                    client_id=client_id, rejudge=rejudge):
            if isinstance(verdict, api.Skipped):
                skipped += 1
                say(skipped_line(verdict.source, verdict.reason))
            else:
                classified += 1
                click.echo(json.dumps(verdict.as_dict()))
    _say(w for w in caught if not issubclass(w.category, api.ClientIdMismatchWarning))
    say(classify_totals(classified, skipped))
    _say(w for w in caught if issubclass(w.category, api.ClientIdMismatchWarning))


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--profile", "profile", metavar="NAME|FILE", default=None,
              help="Also give each fix in this provider's own terms, where it has one.")
def categories(fmt: str, profile: str | None) -> None:
    """List the failure catalog: id, title, symptom, cause, fix, evidence and source."""
    own = _load_profile(profile).fixes if profile else {}
    rows = [{**c.__dict__, **({"provider_fix": own[c.id].fix, "provider_link": own[c.id].link}
                              if c.id in own else {})} for c in CATALOG]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for c in rows:
        extra = (f"  {profile} fix: {c['provider_fix']} {c['provider_link']}".rstrip() + "\n"
                 if "provider_fix" in c else "")
        click.echo(f"{c['id']}\n  {c['title']}\n  symptom: {c['symptom']}\n  cause: {c['cause']}\n"
                   f"  fix: {c['fix']}\n{extra}  evidence: {c['evidence']}\n"
                   f"  source: {c['source']}\n")


def _load_profile(spec: str) -> Profile:
    """One profile by name or file, a ``ProfileError`` as a usage error (exit code 2)."""
    try:
        return load_profile(spec)
    except ProfileError as exc:
        raise click.UsageError(str(exc)) from None


@cli.command()
@click.argument("action", type=click.Choice(["list", "show"]), default="list")
@click.argument("name", required=False, metavar="[NAME|FILE]")
def profiles(action: str, name: str | None) -> None:
    """List the built-in provider profiles, or show one (a name or a TOML file) as hgobs reads
    it: 'hgobs profiles show epic'. Format: docs/profiles.md."""
    if action == "show":
        if not name:
            raise click.UsageError("name a profile: hgobs profiles show NAME|FILE")
        click.echo(_load_profile(name).to_toml(), nl=False)
        return
    for builtin in available_builtins():
        prof = load_profile(builtin)
        urls = ", ".join(u for e in prof.environments for u in e.token_urls[:1])
        click.echo(f"{builtin:14} {prof.title}\n{'':14} {urls}")


@cli.command("check-assertion", add_help_option=False,
             context_settings={"ignore_unknown_options": True},
             short_help="Check an assertion before sending it.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def check_assertion_command(args: tuple[str, ...]) -> None:
    """Check an assertion before sending it (options: hgobs check-assertion --help).

    The arguments go unparsed to ``hgobs.preflight_cli``, the one definition of its options,
    which the console script also runs without click (the lean install)."""
    from hgobs.preflight_cli import main as check_assertion_main

    sys.exit(check_assertion_main(list(args)))


@cli.command()
@click.option("--out", "out_dir", default="hgobs-demo", show_default=True, metavar="DIR",
              help="Folder for the capture records and the report.")
def demo(out_dir: str) -> None:
    """Start the emulator, run an instrumented client through every documented failure and a
    success, and write the capture records and an HTML report to DIR. Offline; takes seconds."""
    from hgobs import api
    from hgobs.emulator.scenarios import ATTEMPTS_FILE, run_all

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageFailure(f"--out {out_dir} exists and is not a folder")
    try:
        results = run_all(out)
    except OSError as exc:
        raise UsageFailure(f"cannot write to {out_dir}: {exc.strerror or type(exc).__name__}") \
            from None
    attempts = out / ATTEMPTS_FILE
    report = api.analyze(attempts)
    report_path = out / "report.html"
    write_output(str(report_path), report.render("html"))
    categories = set(report.categories["category"])
    click.echo(f"hgobs demo: {counted(len(results), 'scenario')}, "
               f"{counted(int(report.totals['classified']), 'auth attempt')} recorded, "
               f"{counted(len(categories), 'failure category', 'failure categories')}")
    click.echo(f"  capture records: {attempts}")
    click.echo(f"  HTML report:     {report_path}")
    click.echo(f"  try: hgobs analyze {attempts}")


@cli.command()
def schema() -> None:
    """Print the auth attempt record schema as Markdown (the text of docs/schema.md)."""
    from hgobs.schema import markdown

    click.echo(markdown(), nl=False)


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM ends the run like Ctrl-C: the exception unwinds, so a report being written is
    removed (``write_atomic``) rather than left half-written."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Run the click group with ``argv`` (default ``sys.argv[1:]``); the console script
    (``hgobs.dispatch``) calls it once the command's extra is known to be installed."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        cli.main(args=argv, prog_name="hgobs", standalone_mode=True)
    except HgobsError as exc:  # MissingExtraError (demo without the emulator); others converted
        say(f"hgobs: {exc}")
        sys.exit(exc.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
