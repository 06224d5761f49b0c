"""The ``hgobs`` command: parse arguments, call the library, map errors to exit codes.

Exit codes: 0 success; 2 usage or input errors (``HgobsError.exit_code``, missing files), or
an extra that is not installed (``MissingExtraError``). Needs the ``analyze`` extra; the
console script is ``hgobs.dispatch``, which runs ``check-assertion`` without click.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from hgobs import __version__
from hgobs.analysis.classify import (
    Classified,
    Judged,
    classify,
    gc_paused,
    judge,
    judge_in_input_order,
)
from hgobs.analysis.report import Report, build_report
from hgobs.analysis.state import UNKNOWN, ReportState
from hgobs.catalog import CATALOG, CATEGORIES
from hgobs.config import profile_setting
from hgobs.errors import HgobsError
from hgobs.profiles import Profile, load_profile, profile_from_token_urls
from hgobs.readers import (
    Item,
    ReadContext,
    detect,
    expand,
    jsonl,
    open_input,
    read_paths,
    sniffed_head,
)
from hgobs.redaction import Fingerprinter
from hgobs.reports import FORMATS, counted, render

MAX_SKIPPED_SAID = 5
"""Skipped input lines named on stderr when the report goes to a file (the report lists more)."""


def _profile(profile: str | None, token_urls: tuple[str, ...]) -> Profile:
    if token_urls:
        return profile_from_token_urls(token_urls)
    return profile_setting(profile)


def _fingerprint_of(client_id: str | None) -> str | None:
    """The keyed fingerprint of ``client_id`` under ``HGOBS_FINGERPRINT_KEY`` (None without
    either)."""
    key = os.environ.get("HGOBS_FINGERPRINT_KEY")
    if not client_id or not key:
        return None
    return Fingerprinter(key.encode("utf-8"))(client_id)


def _client_fp(client_id: str | None) -> str | None:
    if client_id and not os.environ.get("HGOBS_FINGERPRINT_KEY"):
        click.echo("hgobs: --client-id needs HGOBS_FINGERPRINT_KEY (the key the records were "
                   "made with) to compare fingerprints; ignoring it", err=True)
    return _fingerprint_of(client_id)


def _say_client_mismatch(client_id: str | None, seen: Iterable[Any]) -> None:
    """Warn when ``client_id`` is given and the records carry client fingerprints
    (``client.fp``, ``seen``: for ``analyze`` those of the report window) of which none is that
    of ``client_id``: the key or the client id is not the one the records were made with, so
    judging iss/sub against it is unsound. The report is left as it is."""
    fp = _fingerprint_of(client_id)
    fps = {str(v) for v in seen if v is not None and v != UNKNOWN}
    if fp is None or not fps or fp in fps:
        return
    click.echo(f"hgobs: warning: the fingerprint of --client-id under HGOBS_FINGERPRINT_KEY is "
               f"none of the {counted(len(fps), 'client fingerprint')} (client.fp) of the "
               "records: the key or the client id is not the one the records were made with, "
               "so the iss/sub judgements against the client id (such as invalid_client_id) "
               "may be wrong", err=True)


def _say_skipped(report: Report, fmt: str, output: str) -> None:
    """Say on stderr how many input lines were skipped (the first few with their reason) and
    where the report written to ``output`` lists them."""
    total = int(report.totals["skipped"])
    if not total:
        return
    listed = len(report.skipped)
    if fmt == "csv":
        where = "the CSV report does not list them; hgobs classify does"
    elif listed < total:
        where = f"{output} lists the first {listed} under skipped input"
    else:
        where = f"{output} lists them under skipped input"
    click.echo(f"hgobs: {counted(total, 'input line')} skipped ({where})", err=True)
    for row in report.skipped.head(MAX_SKIPPED_SAID).itertuples(index=False):
        click.echo(f"  {row.source}: {row.reason}", err=True)
    if total > MAX_SKIPPED_SAID:
        click.echo(f"  ... and {total - MAX_SKIPPED_SAID} more", err=True)


def _context(profile: str | None, token_urls: tuple[str, ...], client_id: str | None
             ) -> ReadContext:
    key = os.environ.get("HGOBS_FINGERPRINT_KEY")
    return ReadContext(profile=_profile(profile, token_urls), client_id=client_id,
                       fingerprint=Fingerprinter(key.encode("utf-8") if key else None))


def _progress(items: Iterable[Item]) -> Iterator[Item]:
    """Pass ``items`` through, showing a running count on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield from items
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(SpinnerColumn(), TextColumn("reading: {task.completed} records"),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("read", total=None)
        for n, item in enumerate(items, start=1):
            if n % 1000 == 0:
                bar.update(task, completed=n)
            yield item


def _run(paths: tuple[str, ...], profile: str | None, token_urls: tuple[str, ...],
         client_id: str | None, *, input_order: bool = False) -> Iterator[Judged]:
    """Judge the records of ``paths`` as they are read (streaming, bounded memory): in time
    order within the reorder window, or in input order when ``input_order``."""
    try:
        ctx = _context(profile, token_urls, client_id)
        ignored: list[str] = []
        items = _progress(read_paths(paths, ctx, ignored))
        stream = judge_in_input_order if input_order else judge
        with gc_paused():
            # A verdict made by capture under these rules is kept unless the run names its own
            # profile, token URLs or client id: then every record is judged under those.
            yield from stream(items, ctx.profile, _client_fp(client_id),
                              trust=not (profile or token_urls or client_id))
        _say_ignored(ignored)
        _say_late(ctx)
    except FileNotFoundError as exc:
        raise click.UsageError(f"no such file or folder: {exc.args[0] if exc.args else exc}") \
            from None
    except HgobsError as exc:
        raise UsageFailure(str(exc)) from None


def _jsonl_files(paths: tuple[str, ...], ignored: list[str]) -> list[str] | None:
    """Every input file when all are hgobs JSON Lines files (the columnar engine's input),
    else None. Files found in folders that are in no known format are left out and named in
    ``ignored``, as the streaming readers do. Raises ``click.UsageError`` for a path that
    matches nothing."""
    files = []
    try:
        for name, named in expand(paths):
            if name == "-" or not os.path.isfile(name):  # a pipe is read once, as it comes
                return None
            try:
                with open_input(name) as stream:
                    head = sniffed_head(stream)
            except (OSError, EOFError):
                return None
            reader = detect(head, name) if head.strip() else jsonl
            if reader is not jsonl:
                if named or reader is not None:
                    return None
                ignored.append(name)
                continue
            files.append(name)
    except FileNotFoundError as exc:
        raise click.UsageError(f"no such file or folder: {exc.args[0] if exc.args else exc}") \
            from None
    return files


def _run_columnar(files: list[str], state: ReportState, profile: str | None,
                  token_urls: tuple[str, ...], client_id: str | None) -> None:
    """Reduce ``files`` (hgobs JSON Lines) into ``state`` with the columnar engine."""
    from hgobs.analysis.columnar import ColumnarAnalyzer

    try:
        ctx = _context(profile, token_urls, client_id)
    except HgobsError as exc:
        raise UsageFailure(str(exc)) from None
    engine = ColumnarAnalyzer(state, ctx.profile, _client_fp(client_id),
                              trust=not (profile or token_urls or client_id))
    with gc_paused():
        for name in files:
            try:
                open_input(name).close()
            except OSError as exc:
                state.add_skipped(Item(f"{name}:0", reason=(
                    f"cannot open file ({exc.strerror or type(exc).__name__})")))
                continue
            try:
                engine.feed_file(name)
            except (OSError, EOFError) as exc:
                state.add_skipped(Item(f"{name}:?",
                                       reason=f"file ends early ({type(exc).__name__})"))
        engine.finish()


def _say_ignored(ignored: list[str]) -> None:
    if ignored:
        click.echo(f"hgobs: left out {counted(len(ignored), 'file')} found in folders that are not "
                   f"logs: {', '.join(ignored[:5])}{' ...' if len(ignored) > 5 else ''}",
                   err=True)


def _say_late(ctx: ReadContext) -> None:
    """One line per file that held records out of time order beyond the lateness bound."""
    for name, late in sorted(ctx.late.items())[:5]:
        click.echo(f"hgobs: {counted(late, 'record')} in {name} more than {ctx.lateness_s:g} s "
                   "out of time order (read where they stand)", err=True)
    if len(ctx.late) > 5:
        click.echo(f"  ... and {counted(len(ctx.late) - 5, 'more file')}", err=True)


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename, so
    an interrupted run never leaves a partial file."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                               dir=target.parent if str(target.parent) else ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def fail_on_hit(spec: str | None, categories: Iterable[str]) -> list[str]:
    """The categories present that ``--fail-on`` names (``any``: every failure category)."""
    if not spec:
        return []
    present = {c for c in categories if c and c != "ok"}
    wanted = {c.strip() for c in spec.split(",") if c.strip()}
    if "any" in wanted:
        return sorted(present)
    unknown = wanted - set(CATEGORIES)
    if unknown:
        raise click.UsageError(f"--fail-on: unknown category {', '.join(sorted(unknown))}")
    return sorted(present & wanted)


def _iso(epoch: Any) -> str | None:
    if not isinstance(epoch, (int, float)):
        return None
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat().replace("+00:00", "Z")


FORMAT_SUFFIXES = {".html": "html", ".htm": "html", ".json": "json", ".md": "markdown",
                   ".markdown": "markdown", ".csv": "csv", ".txt": "text"}


def format_for(output: str | None) -> str:
    """The report format an output file's extension implies (text when none or unknown)."""
    return FORMAT_SUFFIXES.get(Path(output).suffix.lower(), "text") if output else "text"


def write_output(path: str, text: str) -> None:
    """``write_atomic``, with file-system errors turned into a clear usage error (exit 2)."""
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise UsageFailure(f"cannot write {path}: {exc.strerror or type(exc).__name__}") \
            from None


class UsageFailure(click.ClickException):
    """An error in what the user asked for (a file, a profile, an option): exit code 2."""

    exit_code = 2


class IsoTime(click.ParamType):
    """An ISO 8601 time (``2025-11-28T01:00:00Z``, ``+00:00``, fractions; a date alone)."""

    name = "time"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z"))
                                          else text)
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time (e.g. 2025-11-28T01:00:00Z)", param,
                      ctx)


_input_options = [
    click.argument("paths", nargs=-1, required=True),
    click.option("--profile", "profile", metavar="NAME|FILE",
                 help="Provider profile: 'healthgorilla' (default) or a profile TOML file."),
    click.option("--token-url", "token_urls", multiple=True, metavar="URL",
                 help="A provider known only by its token URL(s); repeatable."),
    click.option("--client-id", metavar="ID",
                 help="Your client id, to judge iss/sub (needs HGOBS_FINGERPRINT_KEY)."),
]


def input_options(func: Any) -> Any:
    """Decorate a command with the shared input arguments and options."""
    for option in reversed(_input_options):
        func = option(func)
    return func


class _LazyCli(click.Group):
    """The ``hgobs`` group, whose ``emulate`` command (and with it the emulator's web stack)
    is imported only when that command is run or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "emulate"})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "emulate" and cmd_name not in self.commands:
            from hgobs.emulator import emulate

            self.add_command(emulate)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyCli)
@click.version_option(__version__, prog_name="hgobs")
def cli() -> None:
    """Auth observability for services that call the Health Gorilla API."""


@cli.command()
@input_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Report format [default: from the -o file's extension, else text].")
@click.option("-o", "--output", metavar="FILE",
              help="Write the report to FILE (atomically: all of it or nothing).")
@click.option("--bucket", default="1d", show_default=True, metavar="ALIAS",
              help="Time bucket for trends: a pandas offset alias such as 15min, 1h, 1d.")
@click.option("--since", type=IsoTime(), metavar="TIME",
              help="Only records at or after TIME (ISO 8601, e.g. 2025-11-28T01:00:00Z; UTC if "
                   "no zone).")
@click.option("--until", type=IsoTime(), metavar="TIME",
              help="Only records before TIME (ISO 8601; UTC if no zone).")
@click.option("--recurring-min", "recurring_min", type=click.IntRange(min=1), default=2,
              show_default=True, help="Buckets a (client, category) must appear in to recur.")
@click.option("--fail-on", metavar="CATEGORY[,CATEGORY]|any",
              help="Exit 1 when any of these categories (or any failure) is among the "
                   "records the report counts: those inside --since/--until.")
@click.option("--engine", type=click.Choice(["auto", "columnar", "streaming"]), default="auto",
              show_default=True,
              help="columnar: polars reads the files and only records that need a judgement "
                   "are judged one by one (hgobs JSON Lines files only); streaming: every "
                   "record one by one (any input); auto: columnar when every input is an "
                   "hgobs JSON Lines file.")
def analyze(paths: tuple[str, ...], profile: str | None, token_urls: tuple[str, ...],
            client_id: str | None, fmt: str | None, output: str | None, bucket: str,
            since: datetime | None, until: datetime | None, recurring_min: int,
            fail_on: str | None, engine: str) -> None:
    """Classify the auth attempts in PATHS (files, folders, globs, '-') and report failures,
    trends and fixes. Exit 0; 1 when --fail-on matched; 2 on usage errors, unreadable
    options, or (with --fail-on) input that held no readable record."""
    fail_on_hit(fail_on, ())  # a bad --fail-on is a usage error before any reading
    fmt = fmt or format_for(output)
    try:
        state = ReportState(bucket=bucket, since=_utc(since), until=_utc(until),
                            recurring_min_buckets=recurring_min)
    except HgobsError as exc:
        raise click.UsageError(str(exc)) from None
    ignored: list[str] = []
    files = None if engine == "streaming" else _jsonl_files(paths, ignored)
    if files is not None:
        _run_columnar(files, state, profile, token_urls, client_id)
        _say_ignored(ignored)
    elif engine == "columnar":
        raise click.UsageError("--engine columnar reads hgobs JSON Lines files only (not '-', "
                               "not other formats); use --engine streaming or auto")
    else:
        for judged in _run(paths, profile, token_urls, client_id):
            state.add(judged)
    with gc_paused():  # the report's tables are many small objects, no cycles (see gc_paused)
        report = state.report()
        text = render(report, fmt)
    if output:
        write_output(output, text)
        click.echo(f"hgobs: {fmt} report written to {output}", err=True)
        _say_skipped(report, fmt, output)
    else:
        click.echo(text, nl=False)
    _say_client_mismatch(client_id, report.breakdown["client"]["value"])
    if fail_on and state.classified == 0:
        click.echo(f"hgobs: --fail-on: no readable record in the input ({state.skipped} "
                   "skipped); cannot vouch for it", err=True)
        sys.exit(2)
    # What the report counts: the failures inside --since/--until, whichever engine read them.
    hits = fail_on_hit(fail_on, (c for c in report.categories["category"] if isinstance(c, str)))
    if hits:
        click.echo(f"hgobs: --fail-on matched: {', '.join(hits)}", err=True)
        sys.exit(1)


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


@cli.command("classify")
@input_options
def classify_command(paths: tuple[str, ...], profile: str | None, token_urls: tuple[str, ...],
                     client_id: str | None) -> None:
    """Print one JSON object per record of PATHS, in input order; skipped lines go to stderr."""
    classified = skipped = 0
    clients: set[Any] = set()
    for judged in _run(paths, profile, token_urls, client_id, input_order=True):
        if not isinstance(judged, Classified):
            skipped += 1
            click.echo(f"{judged.source}: skipped: {judged.reason}", err=True)
            continue
        classified += 1
        r = judged.record
        clients.add(r.get("client.fp"))
        click.echo(json.dumps({
            "source": judged.source,
            "time": _iso(r.get("time")),
            "category": r.get("category"),
            "confidence": r.get("confidence"),
            "evidence": r.get("evidence", []),
            "also": r.get("also", []),
        }))
    click.echo(f"hgobs: {classified + skipped} read, {classified} classified, "
               f"{skipped} skipped", err=True)
    _say_client_mismatch(client_id, clients)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def categories(fmt: str) -> None:
    """List the failure catalog: id, title, symptom, cause, fix, evidence and source."""
    if fmt == "json":
        click.echo(json.dumps([c.__dict__ for c in CATALOG], indent=2))
        return
    for c in CATALOG:
        click.echo(f"{c.id}\n  {c.title}\n  symptom: {c.symptom}\n  cause: {c.cause}\n"
                   f"  fix: {c.fix}\n  evidence: {c.evidence}\n  source: {c.source}\n")


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
    result = classify(read_paths([str(attempts)]), load_profile())
    report_path = out / "report.html"
    write_output(str(report_path), render(build_report(result), "html"))
    categories = sorted({c.record.get("category", "") for c in result.classified} - {"ok"})
    click.echo(f"hgobs demo: {counted(len(results), 'scenario')}, "
               f"{counted(len(result.classified), 'auth attempt')} recorded, "
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
        click.echo(f"hgobs: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
