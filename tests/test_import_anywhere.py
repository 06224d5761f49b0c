"""``import hgobs`` works however the package is installed: from a zip (a zipapp, a zipped
dependency folder) and without ``.py`` sources (``compileall -b``), where the rules' stamp
cannot read files next to the modules."""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = (f"import sys; sys.path = [p for p in sys.path if p != {str(ROOT)!r}]; "
         "import hgobs, hgobs.diagnosis; print(hgobs.__file__, hgobs.diagnosis.RULES_DIGEST)")


def _run(pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    return subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=str(pythonpath.parent),
                          capture_output=True, text=True, timeout=120)


def test_import_from_a_zip_gives_the_source_stamp(tmp_path):
    """Imported from a zip: the same rules digest as from the source tree (read through the
    zip's loader)."""
    from hgobs.diagnosis import RULES_DIGEST

    archive = tmp_path / "hg.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in (ROOT / "hgobs").rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, path.relative_to(ROOT))
    done = _run(archive)
    assert done.returncode == 0, done.stderr[-600:]
    file, digest = done.stdout.split()
    assert file.startswith(str(archive)) and digest == RULES_DIGEST


def test_import_without_sources(tmp_path):
    """Only ``.pyc`` files: the import works; the stamp is a digest of the code objects."""
    target = tmp_path / "site"
    shutil.copytree(ROOT / "hgobs", target / "hgobs", ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(str(target / "hgobs"), legacy=True, quiet=1)
    for path in (target / "hgobs").rglob("*.py"):
        path.unlink()
    done = _run(target)
    assert done.returncode == 0, done.stderr[-600:]
    digest = done.stdout.split()[1]
    assert len(digest) == 16 and int(digest, 16) >= 0
