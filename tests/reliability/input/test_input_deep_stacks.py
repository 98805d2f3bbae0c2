"""Reports iterate instead of recursing: a real 500-deep recursion (the HTML report of
one raised RecursionError), and a 5,000-frame stack, render in every format and in a
real browser. How the time grows with depth is benchmarks/deep_stacks.py's business
(tests never assert speed)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

import dprof
import dprof.report as report
from dprof.stacks.model import Frame, StackProfile

pytestmark = pytest.mark.core
DEPTH = 500


def recurse(n):
    if n == 0:
        end = __import__("time").perf_counter() + 0.3
        while __import__("time").perf_counter() < end:
            pass
        return 0
    return recurse(n - 1) + 1


@pytest.fixture(scope="module")
def deep_recording() -> StackProfile:
    with dprof.profile("deep", stacks=True, stack_hz=200, resources=False,
                       store=False) as run:
        assert recurse(DEPTH) == DEPTH
    stacks = run.profile.stacks
    depth = max(len(s) for s in stacks.stacks)
    assert depth > DEPTH, depth            # the recursion itself was sampled
    return stacks


def synthetic(depth: int) -> StackProfile:
    p = StackProfile()
    frames = [Frame("/home/u/app.py", "main", 1)] + [Frame("/home/u/app.py", "rec", 5)] * depth
    p.add(1, frames, "cpu_python", 1.0, 100)
    p.add(1, frames[: depth // 2], "wait_io", 0.5, 50)
    return p


@pytest.mark.native
def test_a_real_500_deep_recursion_renders_in_every_format(deep_recording, tmp_path):
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(400)      # rendering must not depend on the stack depth
    try:
        for name in ("r.html", "r.svg", "r.speedscope.json", "r.trace.json", "r.collapsed",
                     "r.pb.gz"):
            report.write(deep_recording, tmp_path / name)
        text = report.render_calltree(deep_recording, color=False, threshold=0)
        hot = report.render_hotspots(deep_recording, color=False)
    finally:
        sys.setrecursionlimit(old)
    assert (tmp_path / "r.html").stat().st_size > 0 and "perf_counter() < end" in hot
    depths = [int(m) for m in re.findall(r"^\[depth (\d+)\]", text, re.M)]
    assert max(depths) > DEPTH             # deep rows are marked, not indented 500 times
    assert max(len(line) for line in text.splitlines()) < 400


def test_the_call_tree_text_stays_linear_in_depth():
    """Indentation is capped: 5,000 levels give 5,000 short lines, not 3 x 5,000^2/2
    characters of guides."""
    text = report.render_calltree(synthetic(5000), color=False, threshold=0)
    lines = text.splitlines()
    assert len(lines) == 5000 + 2           # root, main, 5000 levels
    assert max(len(line) for line in lines) < 300
    assert lines[-1].startswith("[depth 5001] ") and lines[-1].endswith("[py 100%]")


def test_the_html_tree_is_flat_and_complete():
    page = report.html_report(synthetic(5000), min_fraction=0)
    nodes = __import__("json").loads(re.search(
        r'<script id="dprof-data" type="application/json">(.*?)</script>', page, re.S
    ).group(1))["nodes"]
    assert len(nodes) == 5002 and nodes[0][6] == -1
    assert all(node[6] == i for i, node in enumerate(nodes[1:]))   # a chain: parent = previous


def chromium():
    exe = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required for the HTML report tests in CI")
        pytest.skip("chromium is not installed")
    return exe


def browser_env():
    """The browser is not what is tested: under CI's sanitizer stage it must not
    inherit the LD_PRELOAD of ASan and UBSan (its launcher script then hangs)."""
    env = dict(os.environ)
    for name in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS"):
        env.pop(name, None)
    return env


@pytest.mark.native
def test_the_browser_draws_the_whole_deep_recursion(deep_recording, tmp_path):
    path = tmp_path / "deep.html"
    report.write(deep_recording, path)
    done = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,900",
         "--virtual-time-budget=20000", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=180, env=browser_env())
    assert done.returncode == 0, done.stderr[-2000:]
    status = re.search(r'<output id="dprof-status"([^>]*)>', done.stdout).group(1)
    frames = int(re.search(r'data-frames="(\d+)"', status).group(1))
    assert frames > DEPTH           # every level of the recursion drawn
