""""Your code" is what the user ran, wherever it is installed; dprof's launcher (its
console script, ``python -m dprof``, runpy) is in no stack, export or traceback.

Real runs: a package built and pip-installed into a throwaway virtual environment,
dprof started through a console script outside the working directory."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

from cli_helpers import _PACKAGE_ROOT

pytestmark = pytest.mark.core

BUSY = """
    def crunch(n):
        total = 0
        for i in range(n):
            total += i * i          # the hot line
        return total

    def main():
        import time
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline:
            crunch(20000)
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def stored_stacks(cli, profile_id=None):
    profiles = cli.profiles()
    profile = profiles[-1] if profile_id is None else \
        next(p for p in profiles if p.id.startswith(profile_id))
    return profile, profile.stacks


def launcher_frames(stacks):
    """Frames of dprof, runpy or a console script in any stored stack."""
    dprof_dir = os.path.join(_PACKAGE_ROOT, "dprof") + os.sep
    bad = []
    for sid in range(len(stacks.stacks)):
        for f in stacks.stack_frames(sid):
            if (f.filename.startswith(dprof_dir) or "runpy" in f.filename
                    or f.filename.endswith(os.sep + "dprof")):
                bad.append(f)
    return bad


@pytest.fixture(scope="module")
def installed_app(tmp_path_factory):
    """``thatapp``, pip-installed into a venv that sees the system's packages; the
    venv's python, and a directory to run it from that holds none of its code."""
    base = tmp_path_factory.mktemp("installed")
    src = base / "src"
    write(src / "pyproject.toml", """
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "thatapp"
        version = "1.0"
        [tool.setuptools]
        packages = ["thatapp"]
    """)
    write(src / "thatapp" / "__init__.py", BUSY)
    write(src / "thatapp" / "__main__.py", "from thatapp import main\nmain()\n")
    env_dir = base / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # "system" site packages of a venv made from a venv are the base interpreter's:
    # a .pth line gives it this interpreter's packages (SQLAlchemy, numpy, ...) too
    import site
    [target_site] = (env_dir / "lib").glob("python3*/site-packages")
    (target_site / "_outer_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", str(src)],
                   check=True, capture_output=True, text=True, timeout=300)
    where = subprocess.run([str(python), "-c", "import thatapp; print(thatapp.__file__)"],
                           check=True, capture_output=True, text=True, cwd=base).stdout.strip()
    assert "site-packages" in where
    workdir = base / "elsewhere"
    workdir.mkdir()
    return python, workdir, Path(where).parent


def test_an_installed_application_run_with_m_is_the_users_code(installed_app, cli):
    python, workdir, package_dir = installed_app
    done = subprocess.run([str(python), "-m", "dprof", "run", "-m", "thatapp"],
                          cwd=workdir, env=cli.env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    from dprof import report
    profile, stacks = stored_stacks(cli)
    spots = report.hotspots(stacks)
    assert spots and spots[0].filename == str(package_dir / "__init__.py"), spots[:3]
    assert spots[0].source == "total += i * i          # the hot line"
    tree = report.render_calltree(stacks, include_libraries=False)
    assert "crunch (" in tree and "thatapp/__init__.py" in tree
    # The installed package is the user's code: its time is not "[library code]".
    # A first sample may still land in the import machinery (importlib, reading the
    # package from site-packages): 51 ms of a 0.66 s run once on a loaded 3.9, which
    # is not the package's own code, so only that much is allowed outside it.
    outside = sum(r.seconds for r in stacks.rows
                  if not any(f.filename.startswith(str(package_dir))
                             for f in stacks.stack_frames(r.stack_id)))
    assert outside < 0.15 * stacks.total_seconds(), tree
    # the summary ends with that line
    assert "thatapp/__init__.py:5" in done.stderr.split("top lines of your code:")[1]
    assert launcher_frames(stacks) == []


def test_a_script_under_site_packages_is_charged_its_own_time(installed_app, cli):
    python, workdir, package_dir = installed_app
    script = write(package_dir.parent / "thatapp_script.py", textwrap.dedent(BUSY) + "\nmain()\n")
    try:
        done = subprocess.run([str(python), "-m", "dprof", "run", str(script)],
                              cwd=workdir, env=cli.env, capture_output=True, text=True,
                              timeout=120)
    finally:
        script.unlink()
    assert done.returncode == 0, done.stderr
    from dprof import report
    _, stacks = stored_stacks(cli)
    spots = report.hotspots(stacks)
    assert spots[0].filename == str(script) and spots[0].line == 5


def console_script(tmp_path) -> Path:
    """What pip writes for ``dprof = dprof.cli:main``, outside the working directory."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    path = bin_dir / "dprof"
    path.write_text(f"#!{sys.executable}\nimport sys\nfrom dprof.cli import main\n"
                    f"if __name__ == '__main__':\n    sys.exit(main())\n")
    path.chmod(0o755)
    return path


def test_dprof_started_by_its_console_script_is_not_the_users_code(cli, tmp_path):
    """`dprof run -m json.tool big.json` through the console script: the time is
    json's (library code), not "dprof recording nested profiles"."""
    script = console_script(tmp_path / "launcher")
    big = cli.workdir / "big.json"
    big.write_text(json.dumps([{"k": i, "v": [i] * 20} for i in range(60000)]))
    done = subprocess.run([str(script), "run", "-o", "out.collapsed", "-m", "json.tool",
                           str(big), "out.json"], cwd=cli.workdir, env=cli.env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    profile, stacks = stored_stacks(cli)
    assert launcher_frames(stacks) == []
    view = subprocess.run([sys.executable, "-m", "dprof", "view", profile.id],
                          cwd=cli.workdir, env=cli.env, capture_output=True, text=True,
                          timeout=120)
    assert view.returncode == 0, view.stderr
    assert "nested profiles" not in view.stdout
    assert str(script) not in view.stdout and "cli/run.py" not in view.stdout
    # every collapsed stack starts at the program: runpy's call of json.tool
    for line in (cli.workdir / "out.collapsed").read_text().splitlines():
        root = line.split(";", 1)[0]
        assert "dprof" not in root and "runpy" not in root, line
    # --libraries still shows everything the program ran
    libs = subprocess.run([sys.executable, "-m", "dprof", "view", profile.id, "--libraries"],
                          cwd=cli.workdir, env=cli.env, capture_output=True, text=True,
                          timeout=120)
    assert os.path.join("json", "tool.py") in libs.stdout, libs.stdout


def test_exports_of_a_script_start_at_its_first_line(cli):
    write(cli.workdir / "job.py", textwrap.dedent(BUSY) + "\nmain()\n")
    cli("run", "-q", "-o", "job.speedscope.json", "job.py", check=0)
    cli("run", "-q", "-o", "job.collapsed", "job.py", check=0)
    frames = json.loads((cli.workdir / "job.speedscope.json").read_text())["shared"]["frames"]
    files = {f["file"] for f in frames}
    assert files == {str(cli.workdir / "job.py")}, files
    for line in (cli.workdir / "job.collapsed").read_text().splitlines():
        assert line.startswith(f"<module> ({cli.workdir / 'job.py'}:"), line
    for profile in cli.profiles():
        assert launcher_frames(profile.stacks) == []
        assert set(profile.stacks.thread_names.values()) <= {"MainThread"}


def test_the_traceback_of_a_failing_script_shows_only_the_program(cli):
    write(cli.workdir / "boom.py", """
        def main():
            raise ValueError("bad row 7")
        main()
    """)
    done = cli("run", "boom.py", check=1)
    frames = [line for line in done.stderr.splitlines() if line.strip().startswith("File ")]
    assert frames and all("boom.py" in line for line in frames), done.stderr
    assert "ValueError: bad row 7" in done.stderr
    # a script that does not compile: Python's own report, no dprof or runpy frame
    (cli.workdir / "broken.py").write_text("def f(:\n")
    done = cli("run", "broken.py", check=1)
    assert "SyntaxError" in done.stderr and "broken.py" in done.stderr
    assert "runpy" not in done.stderr and "dprof/cli" not in done.stderr
