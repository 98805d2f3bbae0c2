"""The documentation site builds with ``mkdocs build --strict`` (warnings, broken
internal links and anchors are errors), its CLI pages are the parser's verbs and
options, and the nav names only pages that exist.

Skipped, with the reason, when MkDocs, Material or mkdocstrings is not installed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dprof
from fences import ROOT

pytestmark = pytest.mark.slow

DPROF_PARENT = Path(dprof.__file__).resolve().parents[1]


def _need_mkdocs():
    for module, package in (("mkdocs", "mkdocs"), ("material", "mkdocs-material"),
                            ("mkdocstrings", "mkdocstrings[python]")):
        try:
            __import__(module)
        except ImportError:
            why = f"{package} is not installed (pip install '.[docs]'); the docs site cannot be built"
            if os.environ.get("DPROF_REQUIRE_DOCS_TOOLS") == "1":
                pytest.fail(why + " (required in CI: DPROF_REQUIRE_DOCS_TOOLS=1)")
            pytest.skip(why)


def _build(source: Path, out: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1",
               PYTHONPATH=os.pathsep.join([str(DPROF_PARENT), str(source)]))
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "-f", str(source / "mkdocs.yml"), "-d", str(out)],
                          cwd=source, env=env, capture_output=True, text=True, timeout=600)


def _copy_site_sources(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(ROOT / "mkdocs.yml", src / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", src / "docs")
    return src


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    _need_mkdocs()
    out = tmp_path_factory.mktemp("site")
    done = _build(ROOT, out)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stderr[-5000:]}"
    return out


def test_site_builds_strictly_with_every_section(site):
    for page in ("index.html", "quickstart/index.html", "guide/jupyter/index.html",
                 "measuring/index.html", "reference/api/index.html",
                 "deploy/kubernetes/index.html", "cli/index.html", "cli/run/index.html"):
        assert (site / page).is_file(), page
    api = (site / "reference/api/index.html").read_text(encoding="utf-8")
    # the reference is generated from docstrings: a docstring's words appear in it
    assert "Profile a block" in api and "ProfileRepo" in api


def test_cli_pages_are_the_parsers_verbs_and_options(site):
    from dprof.cli import build_parser
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(p.name for p in (site / "cli").iterdir() if p.is_dir()) == sorted(sub.choices)
    for name, verb in sub.choices.items():
        page = (site / "cli" / name / "index.html").read_text(encoding="utf-8")
        for action in verb._actions:
            for option in action.option_strings:
                if option.startswith("--") and action.help != argparse.SUPPRESS:
                    assert option in page, f"dprof {name}: {option} missing from its page"


def test_a_broken_internal_link_fails_the_build(tmp_path):
    _need_mkdocs()
    src = _copy_site_sources(tmp_path)
    page = src / "docs" / "quickstart.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nSee [nowhere](no-such-page.md).\n",
                    encoding="utf-8")
    done = _build(src, tmp_path / "out")
    assert done.returncode != 0 and "no-such-page.md" in done.stderr


def test_nav_drops_pages_not_merged_yet_and_keeps_the_rest():
    sys.path.insert(0, str(ROOT / "docs" / "_hooks"))
    try:
        import cli_pages
    finally:
        sys.path.pop(0)
    nav = [{"Home": "index.md"},
           {"Guide": [{"Jupyter": "guide/jupyter.md"}, {"Later": "not-merged-yet.md"},
                      {"CLI": "cli/run.md"}]},
           {"Gone": [{"x": "also-missing.md"}]}]
    nav.append({"Command line": ["cli/index.md"]})
    config = cli_pages.on_config({"docs_dir": str(ROOT / "docs"), "nav": nav})
    assert config["nav"][:2] == [{"Home": "index.md"},
                                 {"Guide": [{"Jupyter": "guide/jupyter.md"},
                                            {"CLI": "cli/run.md"}]}]
    # the CLI section is every verb of the parser, whatever mkdocs.yml lists
    from dprof.cli import build_parser
    sub = next(a for a in build_parser()._actions
               if isinstance(a, argparse._SubParsersAction))
    assert config["nav"][2] == {"Command line": ["cli/index.md"] + [
        {f"dprof {v}": f"cli/{v}.md"} for v in sorted(sub.choices)]}
