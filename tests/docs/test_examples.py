"""Every Python and shell example in README.md and docs/ runs (so the docs cannot drift).

Per page, its Python blocks run in order in one fresh interpreter (``run_blocks.py``)
and each shell block runs with ``bash -euo pipefail``; both in a scratch directory with
``examples/`` linked in, a throwaway database (``DPROF_DATABASE_URL``) and spool, and
the dprof under test first on ``PYTHONPATH``. In shell blocks ``dprof`` is
``python -m dprof`` of that dprof, and ``pip`` only says what it would have installed
(the package under test is installed already). Blocks marked ``title="skip: reason"``
are not run; the terminal summary counts what ran and what was skipped, with reasons.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dprof
from fences import ROOT, doc_files, blocks

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
DPROF_PARENT = Path(dprof.__file__).resolve().parents[1]
TIMEOUT = 300
PAGES = [p for p in doc_files() if any(b.language in ("python", "bash") for b in blocks(p))]

BASH_PRELUDE = f"""
dprof() {{ "{sys.executable}" -m dprof "$@"; }}
python() {{ "{sys.executable}" "$@"; }}
python3() {{ "{sys.executable}" "$@"; }}
pip() {{ echo "docs test: 'pip $*' not run: the package under test is installed"; }}
export -f dprof python python3 pip
"""


def _env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(DPROF_PARENT)] + [
        p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["DPROF_DATABASE_URL"] = f"sqlite:///{tmp_path / 'profiles.db'}"
    env["DPROF_SPOOL_DIR"] = str(tmp_path / "spool")
    env["MPLBACKEND"] = "Agg"
    env["NO_COLOR"] = "1"
    return env


def _scratch(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    return work


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_examples_run(page, tmp_path, request):
    found = blocks(page)
    stats = request.config.stash.setdefault(_STATS, {"run": 0, "skipped": []})
    stats["skipped"] += [(b.where, b.skip) for b in found
                         if b.language in ("python", "bash") and b.skip]
    env, work = _env(tmp_path), _scratch(tmp_path)
    python = [{"where": b.where, "code": b.code} for b in found
              if b.runs and b.language == "python"]
    if python:
        spec = tmp_path / "blocks.json"
        spec.write_text(json.dumps(python), encoding="utf-8")
        done = subprocess.run([sys.executable, str(HERE / "run_blocks.py"), str(spec)],
                              cwd=work, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT)
        assert done.returncode == 0, done.stderr[-4000:]
        stats["run"] += len(python)
    for b in found:
        if b.runs and b.language == "bash":
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", BASH_PRELUDE + b.code],
                                  cwd=work, env=env, capture_output=True, text=True,
                                  timeout=TIMEOUT)
            assert done.returncode == 0, (f"docs example {b.where} failed "
                                          f"(exit {done.returncode}):\n{done.stdout[-2000:]}"
                                          f"\n{done.stderr[-3000:]}")
            stats["run"] += 1


def test_skip_markers_give_a_reason():
    for page in doc_files():
        for b in blocks(page):
            if b.skip is not None:
                assert b.skip and b.skip != "marked skip", f"{b.where}: say why it is skipped"


_STATS = pytest.StashKey[dict]()
