"""``hgobs emulate``: run the emulator in the foreground until Ctrl-C.

The command is thin; its pieces (host check, client from options, profile file, banner) are
plain functions so they can be tested without starting a blocking server.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from hgobs.emulator.config import DEFAULT_SCOPES, ClientRegistration, EmulatorConfig
from hgobs.emulator.keys import EmulatorKeys
from hgobs.emulator.provider import generated_client_id, original_texts, provider_rules
from hgobs.emulator.server import RunningEmulator, loopback_address, serve
from hgobs.errors import ConfigError, HgobsError
from hgobs.profiles import DEFAULT, Profile, load_profile


def check_host(host: str) -> str:
    """The address to bind for ``--host``; ``click.BadParameter`` unless it is a loopback one."""
    try:
        return loopback_address(host)
    except ConfigError:
        raise click.BadParameter(
            f"{host!r} is not a loopback address; the emulator only listens on this machine "
            "(use 127.0.0.1, ::1 or localhost)",
            param_hint="--host",
        ) from None


def client_from_options(
    client_id: str | None,
    secret_env: str | None,
    scopes: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
    jwks: Mapping[str, Any] | None = None,
    profile: Profile | None = None,
) -> tuple[ClientRegistration, bool]:
    """The client to register, and whether its secret was generated here.

    ``client_id`` None: a generated id. ``secret_env`` names the environment variable holding
    the secret (``click.UsageError`` when unset or empty); None: a generated throwaway secret.
    Each ``scopes`` item may hold several space-separated scopes; none given: the defaults.
    ``jwks`` is the public JWK Set to register for the client too (None: none). With a
    provider ``profile``, a generated id has the provider's shape (``generated_client_id``).
    """
    environ = os.environ if environ is None else environ
    generated = ClientRegistration.generate()
    if profile is not None and client_id is None:
        client_id = generated_client_id(profile)
    secret = generated.client_secret
    if secret_env is not None:
        secret = environ.get(secret_env, "")
        if not secret:
            raise click.UsageError(f"environment variable {secret_env} is unset or empty")
    wanted = tuple(dict.fromkeys(s for item in scopes for s in item.split())) or DEFAULT_SCOPES
    try:
        client = ClientRegistration(
            client_id=client_id if client_id is not None else generated.client_id,
            client_secret=secret,
            scopes=wanted,
            jwks=jwks,
        )
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    return client, secret_env is None


def write_profile(path: Path, running: RunningEmulator) -> Path:
    """Write the running emulator's profile TOML to ``path``; ``click.FileError`` on failure."""
    try:
        path.write_text(running.profile_toml(), encoding="utf-8")
    except OSError as exc:
        raise click.FileError(str(path), hint=exc.strerror or str(exc)) from None
    return path


def write_keys(directory: Path, keys: EmulatorKeys) -> list[Path]:
    """Write each of the emulator's private keys as ``{kid}.pem`` (PKCS#8, mode 0600) in
    ``directory`` (created if needed) and return the paths; ``click.FileError`` on failure.
    They are generated for this run and only the emulator trusts them."""
    written = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for kid in keys.keys:
            path = directory / f"{kid}.pem"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(keys.private_pem(kid))
            written.append(path)
    except OSError as exc:
        raise click.FileError(str(directory), hint=exc.strerror or str(exc)) from None
    return written


def provider_config(spec: str, client: ClientRegistration, keys: EmulatorKeys | None = None
                    ) -> EmulatorConfig:
    """The emulator configuration for ``--profile SPEC`` (a built-in name or a TOML path)
    with ``client`` registered: ``healthgorilla`` is the default emulator; any other profile
    gets ``provider_rules`` (error texts in the provider's case) and ``keys`` (None: keys for
    the profile's algorithms). ``click.BadParameter`` when the profile does not load."""
    try:
        profile = load_profile(spec)
    except HgobsError as exc:
        raise click.BadParameter(str(exc), param_hint="--profile") from None
    if spec == DEFAULT:
        return EmulatorConfig(clients=(client,), keys=keys)
    rules = provider_rules(profile, original_texts(spec))
    return EmulatorConfig(clients=(client,), profile=profile, rules=rules,
                          keys=keys or EmulatorKeys.generate_for(rules.algorithms))


def _provider_lines(running: RunningEmulator) -> list[str]:
    """The banner lines naming a provider emulator's URLs, aud values, tenant values, keys."""
    profile = running.config.profile
    assert profile is not None
    lines = [f"{profile.title or profile.name} emulator (profile {profile.name}) listening on "
             f"{running.base_url}"]
    for env in running.environments:
        urls = running.token_urls(env)
        lines.append(f"  {env} token URL: {urls[0]}")
        lines += [f"    also: {u}" for u in urls[1:]]
        lines.append(f"    aud accepted: {', '.join(running.audiences(urls[0]))}")
        lines.append(f"    FHIR base: {running.fhir_base(env)}")
    for name, value in sorted(running.config.placeholders.items()):
        lines.append(f"  registered {{{name}}}: {value}")
    keys = running.config.keys
    if keys is not None:
        lines.append("  signing keys (kid, alg): "
                     + ", ".join(f"{kid} {keys.alg(kid)}" for kid in keys.keys))
    return lines


def banner(running: RunningEmulator, profile_path: Path | None, secret_generated: bool) -> str:
    """What ``hgobs emulate`` prints once listening.

    The secret appears only when it was generated here (it is throwaway); a secret taken from
    the environment is never printed. With a provider profile, every environment's token URLs
    (placeholders filled), accepted ``aud`` values and FHIR base, the registered tenant or
    realm values and the signing keys' ids and algorithms replace the Health Gorilla lines.
    """
    client = running.client
    if running.config.profile is not None:
        lines = [*_provider_lines(running), f"  JWKS URL:             {running.jwks_url()}",
                 f"  client id:            {client.client_id}",
                 f"  scopes:               {' '.join(client.scopes)}"]
        return "\n".join(_banner_tail(running, lines, profile_path, secret_generated, client))
    lines = [
        f"Health Gorilla emulator listening on {running.base_url}",
        f"  sandbox token URL:    {running.token_url('sandbox')}",
        f"  production token URL: {running.token_url('production')}",
        f"  sandbox FHIR base:    {running.fhir_base('sandbox')}",
        f"  production FHIR base: {running.fhir_base('production')}",
        f"  JWKS URL:             {running.jwks_url()}",
        f"  client id:            {client.client_id}",
        f"  scopes:               {' '.join(client.scopes)}",
    ]
    return "\n".join(_banner_tail(running, lines, profile_path, secret_generated, client))


def _banner_tail(running: RunningEmulator, lines: list[str], profile_path: Path | None,
                 secret_generated: bool, client: ClientRegistration) -> list[str]:
    if secret_generated:
        lines.append(f"  client secret:        {client.client_secret}")
        lines.append("    (generated for this run: an emulator-only value, not a real credential)")
    if profile_path is not None:
        lines.append(f"  profile written to:   {profile_path}")
    else:
        lines += ["", "Profile:", running.profile_toml().rstrip()]
    lines += ["", "Press Ctrl-C to stop."]
    return lines


@click.command("emulate")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option(
    "--port",
    default=8787,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0 picks a free one).",
)
@click.option("--client-id", default=None, help="Client id to register (default: generated).")
@click.option(
    "--client-secret-env",
    metavar="VAR",
    default=None,
    help="Environment variable holding the client secret (default: generated).",
)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    metavar="S",
    help="Scope to register (repeatable; default: patient360 user/*.*).",
)
@click.option(
    "--keys-out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the private keys behind the JWKS URL ({kid}.pem) to this folder, to sign "
    "RS384/ES384 assertions (generated for this run).",
)
@click.option(
    "--profile",
    "profile_spec",
    default=DEFAULT,
    show_default=True,
    metavar="NAME|FILE",
    help="Answer like this provider (a built-in profile name or a profile TOML file): its "
    "token URL paths, aud, lifetime, algorithms, header, jti and secret rules, and its error "
    "answers.",
)
@click.option(
    "--profile-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the emulator's provider profile (TOML) to this file.",
)
def emulate(
    host: str,
    port: int,
    client_id: str | None,
    client_secret_env: str | None,
    scopes: tuple[str, ...],
    keys_out: Path | None,
    profile_spec: str,
    profile_out: Path | None,
) -> None:
    """Run a local Health Gorilla-like auth server (sandbox and production) until Ctrl-C.
    With --profile, it answers like that provider instead."""
    address = check_host(host)
    profile = None
    if profile_spec != DEFAULT:
        try:
            profile = load_profile(profile_spec)
        except HgobsError as exc:
            raise click.BadParameter(str(exc), param_hint="--profile") from None
    keys = EmulatorKeys.generate() if profile is None \
        else EmulatorKeys.generate_for(provider_rules(profile).algorithms)
    client, generated = client_from_options(client_id, client_secret_env, scopes,
                                            jwks=keys.public_jwks(), profile=profile)
    config = provider_config(profile_spec, client, keys)
    try:
        with serve(config, host=address, port=port) as running:
            if profile_out is not None:
                write_profile(profile_out, running)
            if keys_out is not None:
                for path in write_keys(keys_out, keys):
                    click.echo(f"private key written to {path} (kid {path.stem}, "
                               f"{keys.alg(path.stem)})")
            click.echo(banner(running, profile_out, generated))
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                click.echo("Stopping.")
    except (OSError, RuntimeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise click.ClickException(f"cannot listen on {address}:{port}: {reason}") from None
