"""The sdist and the wheel carry the LICENSE, one version (dprof.__version__) and the
classifiers of the supported Python versions; the sdist can build the extension
(its C headers are in it)."""
from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import dprof

ROOT = Path(__file__).resolve().parents[2]
SUPPORTED = ("3.9", "3.10", "3.11", "3.12", "3.13")

pytestmark = pytest.mark.skipif(not (ROOT / "pyproject.toml").is_file(),
                                reason="needs the source tree, not an installed dprof")


def _check_metadata(text: str) -> None:
    assert re.search(r"^Version: (.+)$", text, re.M).group(1) == dprof.__version__
    classifiers = re.findall(r"^Classifier: (.+)$", text, re.M)
    for version in SUPPORTED:
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert "License :: OSI Approved :: MIT License" in classifiers
    assert re.search(r"^License-File: LICENSE$", text, re.M)


def test_version_is_written_once():
    pyproject = (ROOT / "pyproject.toml").read_text()
    project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    assert not re.search(r"^version\s*=", project, re.M)
    assert 'dynamic = ["version"]' in project
    assert 'version = { attr = "dprof.__version__" }' in pyproject


def test_sdist_holds_license_headers_and_metadata(tmp_path):
    subprocess.run([sys.executable, "setup.py", "-q", "sdist", "-d", str(tmp_path)],
                   cwd=ROOT, check=True, capture_output=True)
    [sdist] = tmp_path.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
        top = names[0].split("/")[0]
        assert f"{top}/LICENSE" in names
        assert "MIT License" in tar.extractfile(f"{top}/LICENSE").read().decode()
        headers = {Path(n).name for n in names if n.startswith(f"{top}/csrc/") and n.endswith(".h")}
        assert headers == {p.name for p in (ROOT / "csrc").glob("*.h")}
        _check_metadata(tar.extractfile(f"{top}/PKG-INFO").read().decode())


@pytest.mark.slow
def test_wheel_holds_license_and_metadata(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    [wheel] = tmp_path.glob("dprof-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        # setuptools puts it in .dist-info/ (older) or .dist-info/licenses/ (PEP 639)
        [license_file] = [n for n in names if re.search(r"\.dist-info/(licenses/)?LICENSE$", n)]
        assert "MIT License" in whl.read(license_file).decode()
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        _check_metadata(whl.read(metadata).decode())
