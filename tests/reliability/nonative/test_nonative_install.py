"""setup.py installs the pure-Python package where the extension cannot be built.

Real builds: a wheel is built from a copy of the source tree with the extension
switched off (DPROF_NO_NATIVE=1) and with a compiler that always fails (CC=/bin/false),
the first is installed into a fresh virtual environment (unpacked into its
site-packages, which is all installing a pure wheel does; its dependencies come from
the running interpreter's site-packages through a .pth file, so nothing is
downloaded), and a script is profiled and viewed there with ``python -m dprof``.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SOURCE = Path(__file__).resolve().parents[3]


def build_wheel(tmp_path, name, **env):
    if not (SOURCE / "setup.py").exists():
        pytest.skip("needs the source tree (setup.py)")
    src = tmp_path / f"src-{name}"
    shutil.copytree(SOURCE, src, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.so", "__pycache__", "*.egg-info", ".hypothesis"))
    environ = {k: v for k, v in os.environ.items()
               if k not in ("DPROF_REQUIRE_NATIVE", "DPROF_NO_NATIVE")}
    environ.update(env)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps",
                           "--no-build-isolation", "-v", "-w", str(tmp_path / name)],
                          cwd=src, env=environ, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [wheel] = (tmp_path / name).glob("dprof-*.whl")
    return wheel, done.stdout + done.stderr


def test_without_a_compiler_the_wheel_is_built_without_the_extension(tmp_path):
    wheel, log = build_wheel(tmp_path, "nocc", CC="/bin/false")
    assert "WARNING: dprof is installed WITHOUT its C extension: building it failed" in log
    names = zipfile.ZipFile(wheel).namelist()
    assert "dprof/pure/stats.py" in names and not any(n.endswith(".so") for n in names)


def test_the_pure_wheel_installs_and_profiles(tmp_path):
    wheel, log = build_wheel(tmp_path, "pure", DPROF_NO_NATIVE="1")
    assert wheel.name.endswith("py3-none-any.whl")
    assert "DPROF_NO_NATIVE is set" in log
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # the wheel into the venv; its dependencies from this interpreter's site-packages
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    Path(site, "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "job.py").write_text("import time\n\ndef spin():\n    t = time.perf_counter()\n"
                                 "    while time.perf_counter() - t < 0.3:\n        pass\n\nspin()\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DPROF_NO_NATIVE")}
    env["DPROF_DATABASE_URL"] = f"sqlite:///{work / 'p.db'}"
    where = subprocess.run([str(py), "-c", "import dprof; print(dprof.__file__)"], cwd=work,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(site)
    run = subprocess.run([str(py), "-m", "dprof", "run", "job.py"], cwd=work, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "cannot be imported" in run.stderr        # the reason allocations are missing
    view = subprocess.run([str(py), "-m", "dprof", "view", "last"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120)
    assert view.returncode == 0 and "job.py:5" in view.stdout, view.stdout + view.stderr
