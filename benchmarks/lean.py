"""``python -m benchmarks.lean [--out FILE] [--runs N]``: what the lean install costs a service.

Builds fresh virtual environments with pip (the package registry is the only network it uses):
httpx alone; ``pip install .`` alone (the lean install), then with httpx; and
``pip install '.[all]'`` with httpx (everything, as ``pip install hgobs`` used to bring). For
each it measures the bytes its installs added to site-packages (a fresh environment's own pip
and setuptools subtracted) and the wall time of the service's own ``import httpx``: a fresh
interpreter per run, the environments taken in turn, ``--runs`` each, the median kept and the
difference taken per round (paired). It writes the "## Lean install" section of the report
(default ``docs/performance.md``), replacing the one there and leaving the rest as it is.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Lean install"
SIZE_TARGET_MIB = 25.0
"""Site-packages the lean install may add (issue 12)."""
IMPORT_TARGET_MS = 10.0
"""What having hgobs installed may add to a service's ``import httpx`` (issue 12)."""
HEAVY = ("click", "rich", "pygments", "pandas", "polars", "numpy", "starlette", "uvicorn")
IMPORT_HTTPX = ("import sys, time; before = set(sys.modules); c = time.process_time(); "
                "t = time.perf_counter(); import httpx; t = time.perf_counter() - t; "
                "c = time.process_time() - c; top = {m.split('.')[0] for m in set(sys.modules) - "
                "before} - set(sys.stdlib_module_names); print(t, c, *sorted(top))")
LIST_DISTS = ("import importlib.metadata as m; "
              "print(' '.join(sorted(d.metadata['Name'].lower() for d in m.distributions())))")


@dataclass
class Env:
    """One measured environment: ``label``, the pip arguments that made it, the MiB they added,
    the distributions installed, the ``import httpx`` wall and CPU times (seconds, one per
    round) and the top-level modules outside the standard library that it loaded."""

    label: str
    installs: str
    mib: float = 0.0
    dists: tuple[str, ...] = ()
    times: tuple[float, ...] = ()
    cpu: tuple[float, ...] = ()
    loaded: tuple[str, ...] = ()


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _site_packages(venv: Path) -> Path:
    [site] = list((venv / "lib").glob("python*/site-packages"))
    return site


def _python(venv: Path) -> str:
    return str(venv / "bin" / "python")


def _make(venv: Path) -> int:
    """Create ``venv``; the bytes of its own site-packages (pip, setuptools)."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    return _tree_bytes(_site_packages(venv))


def _pip(venv: Path, *args: str) -> None:
    subprocess.run([_python(venv), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    *args], check=True, stdout=subprocess.DEVNULL)


def _measure(venv: Path, env: Env, base: int) -> None:
    env.mib = (_tree_bytes(_site_packages(venv)) - base) / 2**20
    listed = subprocess.run([_python(venv), "-c", LIST_DISTS], check=True, capture_output=True,
                            text=True).stdout.split()
    env.dists = tuple(d for d in listed if d not in ("pip", "setuptools"))


def _import_times(venvs: list[Path], envs: list[Env], runs: int) -> None:
    """Time ``import httpx`` in each of ``venvs`` (into ``envs``): a fresh interpreter per run,
    the environments in turn each round, the order rotating, after two warm-up rounds (bytecode
    written, files cached)."""
    times: list[list[float]] = [[] for _ in venvs]
    cpu: list[list[float]] = [[] for _ in venvs]
    for n in range(runs + 2):
        for k in range(len(venvs)):
            i = (n + k) % len(venvs)
            wall, used, *loaded = subprocess.run(
                [_python(venvs[i]), "-c", IMPORT_HTTPX], check=True, capture_output=True,
                text=True).stdout.split()
            if n >= 2:
                times[i].append(float(wall))
                cpu[i].append(float(used))
                envs[i].loaded = tuple(loaded)
    for env, wall_s, cpu_s in zip(envs, times, cpu, strict=True):
        env.times, env.cpu = tuple(wall_s), tuple(cpu_s)


def _source_copy(dest: Path) -> Path:
    """The repository's tracked files copied to ``dest`` (pip builds in the source folder; the
    copy keeps ``build/`` and ``*.egg-info`` out of the working tree)."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def run(runs: int, work: Path) -> tuple[list[Env], bool]:
    """Build the environments under ``work`` and measure them; also whether
    ``hgobs check-assertion`` ran (exit 0 on a good assertion) in the lean one without httpx."""
    root = str(_source_copy(work / "src"))
    httpx_only = Env("httpx alone (baseline)", "`pip install httpx`")
    lean = Env("hgobs, lean", "`pip install .`")
    lean_httpx = Env("hgobs, lean, + httpx", "`pip install .` then `pip install httpx`")
    full = Env("hgobs[all] + httpx", "`pip install '.[all]' httpx`")
    base = _make(work / "a")
    _pip(work / "a", "httpx")
    _measure(work / "a", httpx_only, base)
    _make(work / "b")
    _pip(work / "b", root)
    _measure(work / "b", lean, base)
    ran = _check_assertion(work / "b")
    _pip(work / "b", "httpx")
    _measure(work / "b", lean_httpx, base)
    _make(work / "c")
    _pip(work / "c", f"{root}[all]", "httpx")
    _measure(work / "c", full, base)
    _import_times([work / "a", work / "b", work / "c"], [httpx_only, lean_httpx, full], runs)
    return [httpx_only, lean, lean_httpx, full], ran


def _check_assertion(venv: Path) -> bool:
    script = ("import time, jwt; n = int(time.time()); c = '3f9c2a7e1b5d4c08a6e2'; "
              "print(jwt.encode({'iss': c, 'sub': c, 'iat': n, 'exp': n + 300, "
              "'aud': 'https://sandbox.healthgorilla.com/oauth/token'}, "
              "'lean-benchmark-secret-0123456789abcdef', algorithm='HS256'))")
    token = subprocess.run([_python(venv), "-c", script], check=True, capture_output=True,
                           text=True).stdout
    done = subprocess.run([str(venv / "bin" / "hgobs"), "check-assertion", "--env", "sandbox",
                           "--client-id", "3f9c2a7e1b5d4c08a6e2"],
                          input=token, capture_output=True, text=True)
    return done.returncode == 0 and done.stdout.startswith("OK:")


def _ms(values: list[float] | tuple[float, ...], sign: str = "") -> str:
    return f"{statistics.median(values) * 1000:{sign}.1f} ms" if values else "-"


def _paired(base: tuple[float, ...], other: tuple[float, ...]) -> list[float]:
    return [b - a for a, b in zip(base, other, strict=True)]


def section(envs: list[Env], ran: bool, runs: int, load: str = "") -> str:
    """The report section for ``envs`` (as ``run`` returns them), whether check-assertion ran
    in the lean environment, and ``load`` (words on the machine's load, or empty)."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    baseline, lean, lean_httpx, full = envs
    rows = []
    for env in envs:
        heavy = ", ".join(d for d in env.dists if d in HEAVY) or "none"
        extra = sorted(set(env.loaded) - set(baseline.loaded))
        beyond = "-" if not env.times else ", ".join(extra) or "none"
        rows.append(f"| {env.label} | {env.installs} | {env.mib:.1f} MiB | {len(env.dists)} | "
                    f"{heavy} | {_ms(env.times)} | {_ms(env.cpu)} | {beyond} |")
    added = _paired(baseline.times, lean_httpx.times)
    added_cpu = _paired(baseline.cpu, lean_httpx.cpu)
    loaded = sorted(set(lean_httpx.loaded) - set(baseline.loaded))
    out = [
        HEADING, "",
        f"Written by `python -m benchmarks.lean` (run {when}; Python {sys.version.split()[0]}"
        f"{'; ' + load if load else ''}). "
        "Fresh virtual environments built with pip from this repository; *site-packages* is "
        "what the installs added (the environment's own pip and setuptools not counted); "
        "`import httpx` is that statement alone in a fresh interpreter (wall and CPU time), the "
        f"three environments taken in turn (the order rotating), {runs} rounds after two warm-up "
        "rounds, medians; "
        "*added* is the median of each round's difference from httpx alone (paired, so drift in "
        "the shared machine's load cancels); *also loaded* are the top-level modules outside "
        "the standard library that `import httpx` loaded there and not with httpx alone.", "",
        "| environment | installed with | site-packages | distributions | of click, rich, "
        "pygments, pandas, polars, numpy, starlette, uvicorn | `import httpx` wall | "
        "CPU | also loaded |",
        "|---|---|---:|---:|---|---:|---:|---|",
        *rows, "",
        "| target | figure | verdict |",
        "|---|---|---|",
        f"| lean install <= {SIZE_TARGET_MIB:.0f} MiB of site-packages | {lean.mib:.1f} MiB | "
        f"{_yes(lean.mib <= SIZE_TARGET_MIB)} |",
        f"| `import httpx` <= {IMPORT_TARGET_MS:.0f} ms slower with hgobs installed | "
        f"added {_ms(added, '+')} wall, {_ms(added_cpu, '+')} CPU; also loaded: "
        f"{', '.join(loaded) or 'nothing'} (hgobs[all]: {_ms(_paired(baseline.times, full.times), '+')}"
        f" wall) | {_yes(statistics.median(added) * 1000 <= IMPORT_TARGET_MS)} |",
        f"| `hgobs check-assertion` runs from the lean install, without httpx | "
        f"{'exit 0' if ran else 'failed'} | {_yes(ran)} |",
        "",
    ]
    return "\n".join(out)


def _yes(ok: bool) -> str:
    return "**holds**" if ok else "**missed**"


def replace_section(report: str, text: str) -> str:
    """``report`` with its "## Lean install" section replaced by ``text`` (placed before
    "## Notes", or at the end, when it has none)."""
    lines = report.rstrip("\n").split("\n")
    if HEADING in lines:
        start = lines.index(HEADING)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                   len(lines))
    else:
        start = end = lines.index("## Notes") if "## Notes" in lines else len(lines)
    new = text.rstrip("\n").split("\n") + ([""] if end < len(lines) else [])
    if start and lines[start - 1]:
        new.insert(0, "")
    return "\n".join(lines[:start] + new + lines[end:]) + "\n"


def carry_over(report: str, previous: Path) -> str:
    """``report`` with the "## Lean install" section of the ``previous`` report file, if it
    has one (``python -m benchmarks`` does not rebuild environments; this script does)."""
    if not previous.exists():
        return report
    lines = previous.read_text(encoding="utf-8").rstrip("\n").split("\n")
    if HEADING not in lines:
        return report
    start = lines.index(HEADING)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    return replace_section(report, "\n".join(lines[start:end]))


def main(argv: list[str] | None = None) -> int:
    """Measure and write the section; returns the exit code (1 when a target is missed)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lean", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance.md"))
    parser.add_argument("--runs", type=int, default=31, help="rounds of import timing")
    args = parser.parse_args(argv)
    started = time.time()
    before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="hgobs-lean-") as work:
        envs, ran = run(args.runs, Path(work))
    load = (f"load average {before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, on "
            f"{os.cpu_count()} cores")
    text = section(envs, ran, args.runs, load)
    out = Path(args.out)
    report = out.read_text(encoding="utf-8") if out.exists() else "# Performance\n"
    out.write_text(replace_section(report, text), encoding="utf-8")
    print(text)
    print(f"benchmarks.lean: {time.time() - started:.0f} s; wrote {out}", file=sys.stderr)
    return 0 if "**missed**" not in text else 1


if __name__ == "__main__":
    sys.exit(main())
