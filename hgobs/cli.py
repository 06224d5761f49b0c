"""The ``hgobs`` command: parse arguments, call the library, map errors to exit codes.

Exit codes: 0 success; 2 usage or input errors (``HgobsError.exit_code``, missing files).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from typing import Any

import click

from hgobs import __version__
from hgobs.analysis import summary
from hgobs.analysis.classify import Result, classify
from hgobs.catalog import CATALOG
from hgobs.errors import HgobsError
from hgobs.profiles import Profile, load_profile, profile_from_token_urls
from hgobs.readers import read_paths
from hgobs.redaction import Fingerprinter
from hgobs.reports import text as text_report


def _profile(profile: str | None, token_urls: tuple[str, ...]) -> Profile:
    if token_urls:
        return profile_from_token_urls(token_urls)
    return load_profile(profile or os.environ.get("HGOBS_PROFILE") or "healthgorilla")


def _client_fp(client_id: str | None) -> str | None:
    if not client_id:
        return None
    key = os.environ.get("HGOBS_FINGERPRINT_KEY")
    if not key:
        click.echo("hgobs: --client-id needs HGOBS_FINGERPRINT_KEY (the key the records were "
                   "made with) to compare fingerprints; ignoring it", err=True)
        return None
    return Fingerprinter(key.encode("utf-8"))(client_id)


def _run(paths: tuple[str, ...], profile: str | None, token_urls: tuple[str, ...],
         client_id: str | None) -> Result:
    try:
        prof = _profile(profile, token_urls)
        return classify(read_paths(paths), prof, _client_fp(client_id))
    except FileNotFoundError as exc:
        raise click.UsageError(f"no such file or folder: {exc.args[0] if exc.args else exc}") \
            from None
    except HgobsError as exc:
        raise click.ClickException(str(exc)) from None


def _iso(epoch: Any) -> str | None:
    if not isinstance(epoch, (int, float)):
        return None
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat().replace("+00:00", "Z")


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


@click.group()
@click.version_option(__version__, prog_name="hgobs")
def cli() -> None:
    """Auth observability for services that call the Health Gorilla API."""


@cli.command()
@input_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Report format.")
def analyze(paths: tuple[str, ...], profile: str | None, token_urls: tuple[str, ...],
            client_id: str | None, fmt: str) -> None:
    """Classify the auth attempts in PATHS (files, folders, globs, '-') and report failures."""
    result = _run(paths, profile, token_urls, client_id)
    df = summary.frame(c.record for c in result.classified)
    table = summary.by_category(df)
    totals = summary.totals(df)
    if fmt == "json":
        doc = {
            "schema": "hgobs.report/1",
            "read": result.read,
            "totals": totals,
            "skipped": [{"source": i.source, "reason": i.reason} for i in result.skipped],
            "categories": [
                {**{k: v for k, v in row.items() if k not in ("first_seen", "last_seen")},
                 "count": int(row["count"]),
                 "first_seen": _iso(row["first_seen"].timestamp()),
                 "last_seen": _iso(row["last_seen"].timestamp())}
                for row in table.to_dict("records")
            ],
        }
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(text_report.render(table, totals, result.skipped), nl=False)


@cli.command("classify")
@input_options
def classify_command(paths: tuple[str, ...], profile: str | None, token_urls: tuple[str, ...],
                     client_id: str | None) -> None:
    """Print one JSON object per record of PATHS, in input order; skipped lines go to stderr."""
    result = _run(paths, profile, token_urls, client_id)
    for item in result.classified:
        r = item.record
        click.echo(json.dumps({
            "source": item.source,
            "time": _iso(r.get("time")),
            "category": r.get("category"),
            "confidence": r.get("confidence"),
            "evidence": r.get("evidence", []),
            "also": r.get("also", []),
        }))
    for skipped in result.skipped:
        click.echo(f"{skipped.source}: skipped: {skipped.reason}", err=True)
    click.echo(f"hgobs: {result.read} read, {len(result.classified)} classified, "
               f"{len(result.skipped)} skipped", err=True)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def categories(fmt: str) -> None:
    """List the failure catalog: id, title, and the fix."""
    if fmt == "json":
        click.echo(json.dumps([c.__dict__ for c in CATALOG], indent=2))
        return
    for c in CATALOG:
        click.echo(f"{c.id}\n  {c.title}\n  symptom: {c.symptom}\n  cause: {c.cause}\n"
                   f"  fix: {c.fix}\n  evidence: {c.evidence}\n  source: {c.source}\n")


@cli.command()
def schema() -> None:
    """Print the auth attempt record schema as Markdown (the text of docs/schema.md)."""
    from hgobs.schema import markdown

    click.echo(markdown(), nl=False)


def _add_emulate() -> None:
    from hgobs.emulator import emulate

    cli.add_command(emulate)


_add_emulate()


def main() -> None:
    """Entry point of the ``hgobs`` console script."""
    try:
        cli.main(prog_name="hgobs", standalone_mode=True)
    except HgobsError as exc:  # pragma: no cover - commands convert these already
        click.echo(f"hgobs: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
