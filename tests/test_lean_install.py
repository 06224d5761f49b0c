"""The lean install: ``pip install hgobs`` brings capture and pre-flight only, and says the rest.

The core requirements of ``pyproject.toml`` are resolved against the installed distributions'
metadata; commands run in child processes where an import hook makes every module outside
that closure unimportable, as if only the lean install (plus what the case names) were there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from functools import cache
from importlib import metadata
from pathlib import Path

import jwt
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from hgobs.capture.instrumentor import HGAuthInstrumentor
from hgobs.errors import MissingExtraError
from hgobs.extras import MODULES, absent, require

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
HGOBS = Path(sys.executable).with_name("hgobs")
MiB = 1024 * 1024
CORE_BUDGET = 25 * MiB
HEAVY = {"click", "rich", "pygments", "pandas", "polars", "numpy", "plotly", "starlette",
         "uvicorn", "httpx", "opentelemetry-sdk", "opentelemetry-instrumentation-httpx", "orjson"}
CID = "3f9c2a7e1b5d4c08a6e2"
SANDBOX = "https://sandbox.healthgorilla.com/oauth/token"


@cache
def project() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def requirements(extra: str | None = None) -> list[Requirement]:
    """The requirements of the core (``extra`` None) or of one extra, as pyproject declares
    them, markers applied to this interpreter."""
    specs = project()["dependencies"] if extra is None else project()["optional-dependencies"][extra]
    reqs = [Requirement(s) for s in specs]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def closure(reqs: list[Requirement]) -> set[str]:
    """Canonical names of the installed distributions ``reqs`` need, transitively (no extras of
    the dependencies, markers applied). Raises ``PackageNotFoundError`` for one not installed."""
    seen: set[str] = set()
    todo = list(reqs)
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        for spec in metadata.distribution(name).requires or []:
            dep = Requirement(spec)
            if dep.marker is None or dep.marker.evaluate({"extra": ""}):
                todo.append(dep)
    return seen


def installed_bytes(name: str) -> int:
    """Bytes of the files a distribution installed (its RECORD, located and measured)."""
    total = 0
    for file in metadata.distribution(name).files or []:
        path = Path(str(file.locate()))
        if path.is_file():
            total += path.stat().st_size
    return total


def modules_of(names: set[str]) -> set[str]:
    """Every importable dotted name (packages, namespace packages, modules, extensions) that the
    distributions ``names`` installed."""
    found: set[str] = set()
    for name in names:
        for file in metadata.distribution(name).files or []:
            parts = list(file.parts)
            if parts[0] == ".." or any(p.endswith((".dist-info", ".egg-info")) or p == "__pycache__"
                                       for p in parts) or not parts[-1].endswith((".py", ".so")):
                continue
            parts[-1] = parts[-1].split(".")[0]
            if parts[-1] == "__init__":
                parts.pop()
            found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return found


BLOCKER = textwrap.dedent('''
    """Make every module outside the allowed set unimportable (test helper)."""
    import json, os, sys, sysconfig
    from importlib.machinery import PathFinder
    ALLOWED = frozenset(json.loads(open(os.environ["HGOBS_TEST_ALLOWED"]).read()))
    STDLIB = sys.stdlib_module_names | set(sys.builtin_module_names)
    STDLIB_DIRS = [sysconfig.get_path("stdlib"), os.path.join(sysconfig.get_path("platstdlib"),
                                                              "lib-dynload")]

    class Blocker:
        @staticmethod
        def find_spec(name, path=None, target=None):
            top = name.split(".")[0]
            if name in ALLOWED or top in STDLIB or top == "hgobs" or (
                    "." not in name and PathFinder.find_spec(name, STDLIB_DIRS) is not None):
                return None
            parent = sys.modules.get(name.rpartition(".")[0])
            if parent is not None and parent.__name__ in ALLOWED and not getattr(parent, "__path__", 0):
                return None  # a plain module's own import hook (six.moves): nothing on disk
            raise ModuleNotFoundError(f"No module named {name!r} (not in this install)", name=name)

    sys.meta_path.insert(0, Blocker)
''')


@cache
def allowed_json(extras: tuple[str, ...]) -> str:
    """The modules of the core closure and that of ``extras``, as a JSON list."""
    names = closure(requirements() + [r for e in extras for r in requirements(e)])
    return json.dumps(sorted(modules_of(names)))


def lean_run(tmp_path: Path, args: list[str], *, extras: tuple[str, ...] = (), stdin: str = "",
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``args`` where only the core closure (and the closure of ``extras``) imports."""
    allowed = tmp_path / "allowed.json"
    allowed.write_text(allowed_json(extras))
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    full_env = {**os.environ, "PYTHONPATH": str(tmp_path), "HGOBS_TEST_ALLOWED": str(allowed),
                **(env or {})}
    return subprocess.run(args, input=stdin, capture_output=True, text=True, env=full_env,
                          cwd=ROOT, timeout=60)


def test_core_closure_is_small_and_lean():
    """The core requirements' closure holds none of the heavy libraries and is <= 25 MiB."""
    names = closure(requirements())
    assert names & HEAVY == set()
    assert {"opentelemetry-api", "opentelemetry-instrumentation", "wrapt", "pyjwt",
            "msgspec"} <= names
    size = sum(installed_bytes(n) for n in names)
    size += sum(p.stat().st_size for p in (ROOT / "hgobs").rglob("*")
                if p.is_file() and "__pycache__" not in p.parts)
    assert size <= CORE_BUDGET, f"{size / MiB:.1f} MiB"


def test_the_blocker_blocks(tmp_path):
    """In a lean child process httpx, click and the SDK do not import; the core does."""
    probe = ("import importlib.util as u\n"
             "for m in ('httpx', 'click', 'opentelemetry.sdk', 'pandas', 'jwt', 'wrapt',"
             " 'opentelemetry.instrumentation.instrumentor', 'msgspec'):\n"
             "    try: print(m, u.find_spec(m) is not None)\n"
             "    except ImportError: print(m, False)\n")
    done = lean_run(tmp_path, [sys.executable, "-c", probe])
    assert done.stdout.split() == ["httpx", "False", "click", "False", "opentelemetry.sdk", "False",
                                   "pandas", "False", "jwt", "True", "wrapt", "True",
                                   "opentelemetry.instrumentation.instrumentor", "True",
                                   "msgspec", "True"], done.stderr


def _fresh_token(**over: int) -> str:
    now = int(time.time())
    claims = {"iss": CID, "sub": CID, "aud": SANDBOX, "iat": now, "exp": now + 300, **over}
    return jwt.encode(claims, "lean-install-secret-0123456789abcdef", algorithm="HS256")


def test_check_assertion_runs_from_the_lean_install_without_httpx(tmp_path):
    """hgobs check-assertion works with the core alone: exit 0 on a good assertion, 1 on an
    expired one, output in JSON too (usage errors: tests/test_preflight.py)."""
    cmd = [str(HGOBS), "check-assertion", "--env", "sandbox", "--client-id", CID]
    good = lean_run(tmp_path, cmd, stdin=_fresh_token())
    assert (good.returncode, good.stdout, good.stderr) == (
        0, f"OK: no problem found for {SANDBOX} (healthgorilla profile); not checked: the signature "
           "(--client-secret-env or --jwks)\n", "")
    stale = lean_run(tmp_path, [*cmd, "--format", "json"], stdin=_fresh_token(iat=1000, exp=1300))
    assert stale.returncode == 1, stale.stderr
    assert [f["category"] for f in json.loads(stale.stdout)["findings"]] == ["expired_assertion"]


@pytest.mark.parametrize(("args", "hint"), [
    (["analyze", "samples/"], "pip install 'hgobs[analyze]'"),
    (["emulate"], "pip install 'hgobs[emulator]'"),
    (["demo"], "pip install 'hgobs[analyze,emulator]'"),
], ids=["analyze", "emulate", "demo"])
def test_other_commands_on_the_lean_install_name_their_extra(tmp_path, args, hint):
    """Every command but check-assertion exits 2 with one line naming the extra to install."""
    done = lean_run(tmp_path, [str(HGOBS), *args])
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and hint in done.stderr, done.stderr
    assert done.stderr.startswith(f"hgobs: hgobs {args[0]} needs {hint} (")


@pytest.mark.parametrize(("extras", "args", "code", "says"), [
    (("emulator",), ["emulate", "--help"], 0, "Usage: hgobs emulate [OPTIONS]"),
    (("emulator",), ["demo"], 2, "hgobs demo needs pip install 'hgobs[analyze]' ("),
    (("analyze",), ["analyze", "samples/"], 0,
     "hgobs report: 54 records read, 54 classified (9 ok, 45 failed), 0 skipped\n"),
    (("analyze",), ["emulate"], 2, "hgobs emulate needs pip install 'hgobs[emulator]' ("),
    (("analyze",), ["demo"], 2, "hgobs demo needs pip install 'hgobs[emulator]' ("),
], ids=["emulate", "emulator-demo", "analyze-samples", "analyze-emulate", "analyze-demo"])
def test_one_extra_runs_its_commands_and_names_the_other(tmp_path, extras, args, code, says):
    """With one extra installed its commands run (the README's first set-up command, hgobs
    analyze samples/, with the analyze extra alone; emulate without the analyzer) and the others
    name the extra they lack."""
    done = lean_run(tmp_path, [str(HGOBS), *args], extras=extras)
    assert done.returncode == code, done.stderr
    assert says in (done.stdout if code == 0 else done.stderr)


def test_lean_help_and_version(tmp_path):
    """On the lean install, hgobs --help lists what each extra brings; --version works."""
    helped = lean_run(tmp_path, [str(HGOBS), "--help"])
    assert helped.returncode == 0
    assert "hgobs check-assertion" in helped.stdout
    assert "pip install 'hgobs[emulator]'" in helped.stdout
    version = lean_run(tmp_path, [str(HGOBS), "--version"])
    assert (version.returncode, version.stdout) == (0, "hgobs, version 0.1.0\n")


def test_analysis_api_without_its_extra_says_which_to_install(tmp_path):
    """Importing hgobs.analysis, hgobs.reports or hgobs.emulator without its libraries raises
    MissingExtraError, an ImportError whose message names the extra."""
    probe = ("import hgobs, importlib\n"
             "for m in ('hgobs.analysis.classify', 'hgobs.reports', 'hgobs.emulator'):\n"
             "    try: importlib.import_module(m)\n"
             "    except ImportError as e: print(type(e).__name__, e.extras, e)\n")
    done = lean_run(tmp_path, [sys.executable, "-c", probe], extras=("instruments",))
    assert done.stdout.splitlines() == [
        "MissingExtraError ('analyze',) hgobs.analysis needs pip install 'hgobs[analyze]' "
        "(click is not installed)",
        "MissingExtraError ('analyze',) hgobs.reports needs pip install 'hgobs[analyze]' "
        "(click is not installed)",
        "MissingExtraError ('emulator',) hgobs.emulator needs pip install 'hgobs[emulator]' "
        "(click is not installed)",
    ], done.stderr


CAPTURE = textwrap.dedent('''
    import json, sys, threading, time
    from http.server import BaseHTTPRequestHandler, HTTPServer
    import httpx, jwt
    from hgobs import instrument_client

    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["content-length"]))
            body = b'{"error": "invalid_grant", "error_description": "assertion expired"}'
            self.send_response(400)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/oauth/token"
    cid = "3f9c2a7e1b5d4c08a6e2"
    assertion = jwt.encode({"iss": cid, "sub": cid, "aud": url, "iat": 1000, "exp": 1300},
                           "lean-install-secret-0123456789abcdef", algorithm="HS256")
    with httpx.Client() as client:
        instrument_client(client, client_id=cid, jsonl_path=sys.argv[1])
        response = client.post(url, data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion})
    server.shutdown()
    record = json.loads(open(sys.argv[1]).read())
    loaded = sorted(m for m in ("click", "rich", "pygments", "opentelemetry.sdk", "pandas")
                    if m in sys.modules)
    print(json.dumps({"status": response.status_code, "category": record["category"],
                      "loaded": loaded}))
''')


def test_capture_works_with_the_core_and_httpx_alone(tmp_path):
    """With the core and the instruments extra (httpx) only, an instrumented client records a
    refused token exchange, and neither click, rich, pygments nor the SDK is imported."""
    script = tmp_path / "capture.py"
    script.write_text(CAPTURE)
    done = lean_run(tmp_path, [sys.executable, str(script), str(tmp_path / "a.jsonl")],
                    extras=("instruments",))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"status": 400, "category": "expired_assertion",
                                       "loaded": []}


def test_instrumentation_dependencies_are_the_instruments_extra():
    """instrumentation_dependencies() equals pyproject's instruments extra (httpx alone), and
    OpenTelemetry's loader finds no conflict with the installed httpx."""
    from opentelemetry.instrumentation.dependencies import get_dist_dependency_conflicts

    deps = [str(Requirement(d)) for d in HGAuthInstrumentor().instrumentation_dependencies()]
    assert deps == [str(r) for r in requirements("instruments")] == ["httpx>=0.27"]
    assert get_dist_dependency_conflicts(metadata.distribution("hgobs")) is None


def test_no_hard_dependency_on_otel_httpx_instrumentation():
    """opentelemetry-instrumentation-httpx and the SDK are not core requirements."""
    names = {canonicalize_name(r.name) for r in requirements()}
    assert names == {"opentelemetry-api", "opentelemetry-instrumentation", "wrapt", "pyjwt",
                     "msgspec"} | ({"tomli"} if sys.version_info < (3, 11) else set())


@cache
def _packages_distributions() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())


def _distribution_of(module: str) -> str:
    """The canonical name of the installed distribution that holds ``module``."""
    top = module.split(".")[0]
    names = _packages_distributions()[top]
    if len(names) == 1:
        return canonicalize_name(names[0])
    inside = module.replace(".", "/") + "/"
    [name] = [n for n in names
              if any(str(f).startswith(inside) for f in metadata.distribution(n).files or [])]
    return canonicalize_name(name)


@pytest.mark.parametrize("extra", sorted(MODULES))
def test_extra_modules_match_pyproject(extra):
    """hgobs.extras.MODULES names one import of each library the extra brings, and no other."""
    assert {_distribution_of(m) for m in MODULES[extra]} == {
        canonicalize_name(r.name) for r in requirements(extra)}


def test_all_and_test_extras_bring_every_extra():
    """hgobs[all] is instruments + analyze + emulator; hgobs[test] includes all."""
    assert project()["optional-dependencies"]["all"] == ["hgobs[instruments,analyze,emulator]"]
    assert "hgobs[all]" in project()["optional-dependencies"]["test"]


def test_require_passes_when_installed_and_names_every_missing_extra():
    """require() is silent with the extras installed (this test environment); an unknown
    module makes it raise MissingExtraError naming each missing extra."""
    assert absent("analyze") is None and absent("emulator") is None
    require(("analyze", "emulator"), "x")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(MODULES, "analyze", ("hgobs_no_such_module",))
        mp.setitem(MODULES, "emulator", ("hgobs_no_such.sub",))
        with pytest.raises(MissingExtraError) as caught:
            require(("analyze", "emulator"), "hgobs demo")
    assert str(caught.value) == ("hgobs demo needs pip install 'hgobs[analyze,emulator]' "
                                 "(hgobs_no_such_module is not installed)")
    assert isinstance(caught.value, ImportError) and caught.value.exit_code == 2


def test_click_group_hands_check_assertion_to_the_one_parser():
    """hgobs check-assertion through the click group (the analyze extra installed) is the
    argparse parser of hgobs.preflight_cli: same help, same usage errors."""
    from click.testing import CliRunner

    from hgobs.cli import cli
    from hgobs.preflight_cli import parser

    helped = CliRunner().invoke(cli, ["check-assertion", "--help"])
    assert helped.exit_code == 0
    assert helped.stdout == parser().format_help()
    bad = CliRunner().invoke(cli, ["check-assertion", "--env", "staging"], input="x.y.z")
    assert bad.exit_code == 2
    assert "--env 'staging' is not in the profile (sandbox, production)" in bad.stderr


def test_a_mistyped_command_on_the_lean_install_is_called_unknown(tmp_path):
    """hgobs analyse (a typo) on the lean install says there is no such command, listing the
    commands, instead of asking for the analyze extra."""
    done = lean_run(tmp_path, [str(HGOBS), "analyse", "samples/"])
    assert done.returncode == 2
    assert done.stderr.startswith("hgobs: no such command 'analyse' (commands: analyze, ")


def test_dispatch_knows_every_command_of_the_group():
    """The lean dispatcher's list of commands is the click group's."""
    import click

    from hgobs.cli import cli
    from hgobs.dispatch import COMMANDS

    assert set(cli.list_commands(click.Context(cli))) == COMMANDS


def test_capture_api_without_httpx_says_which_extra_to_install(tmp_path):
    """``from hgobs import HGAuthInstrumentor`` on the lean install without httpx raises
    MissingExtraError naming the instruments extra, not a bare ModuleNotFoundError."""
    script = tmp_path / "capture_api.py"
    script.write_text("import hgobs\n"
                      "try:\n    hgobs.HGAuthInstrumentor\n"
                      "except hgobs.MissingExtraError as exc:\n    print(exc)\n")
    done = lean_run(tmp_path, [sys.executable, str(script)])
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("hgobs.HGAuthInstrumentor needs pip install 'hgobs[instruments]' "
                           "(httpx is not installed)\n")
