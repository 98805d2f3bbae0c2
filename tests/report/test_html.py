"""The self-contained HTML report: its content (core) and its script in a real
headless browser (Debian's ``chromium``; skipped when absent, except in CI)."""
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

import dprof.report as report
from dprof.report.tree import build_tree
from dprof.stacks.model import Frame, StackProfile

SVG_NS = "http://www.w3.org/2000/svg"


def embedded_data(page: str) -> dict:
    m = re.search(r'<script id="dprof-data" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


@pytest.mark.core
def test_page_is_self_contained(profile):
    page = report.html_report(profile)
    assert not re.search(r"""\b(?:src|href)\s*=""", page)           # nothing to fetch
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) <= {SVG_NS}
    assert "function render()" in page and "#flame-svg" in page   # JS and CSS inlined


@pytest.mark.core
def test_page_embeds_the_tree_and_the_tables(profile):
    page = report.html_report(profile)
    nodes = embedded_data(page)["nodes"]          # flat, pre-order, [.., parent index]
    assert nodes[0][0] == "all" and nodes[0][3] == pytest.approx(10.0) and nodes[0][6] == -1
    assert sorted(k[0].split(" ")[0] for k in nodes if k[6] == 0) == ["decode", "main", "rec"]
    hot = re.search(r'<table id="hotspots">(.*?)</table>', page, re.S).group(1)
    assert "app.py:5" in hot and "<b>40.0%</b>" in hot and "total = sum(range(10))" in hot
    assert "decoder.py" not in hot                       # libraries excluded by default
    funcs = re.search(r'<table id="functions">(.*?)</table>', page, re.S).group(1)
    assert "<td>70.0%</td><td>0.0%</td>" in funcs        # main: total 70 %, self 0 %


@pytest.mark.core
def test_frame_names_cannot_break_out_of_the_page():
    p = StackProfile()
    p.add(1, [Frame("/a/x.py", "</script><b>x", 1)], "cpu_python", 1.0)
    page = report.html_report(p)
    assert page.count("</script>") == 2                  # the two real script elements
    assert embedded_data(page)["nodes"][1][0].startswith("</script><b>x")


@pytest.mark.core
def test_resource_series_are_plotted_with_gaps_for_missing_values(profile):
    series = {"timestamp": [100.0, 100.5, 101.0, 101.5],
              "rss_bytes": [2**20, 2 * 2**20, 3 * 2**20, 4 * 2**20],
              "cpu_user_s": [0.0, 0.4, None, 1.2]}
    page = report.html_report(profile, resources=series)
    plots = dict(re.findall(r'<svg class="plot" data-series="(\w+)"(.*?)</svg>', page, re.S))
    assert set(plots) == {"rss_bytes", "cpu_user_s"}
    assert "rss (MiB)" in plots["rss_bytes"] and ">4<" in plots["rss_bytes"]
    assert plots["rss_bytes"].count("<polyline") == 1
    assert plots["cpu_user_s"].count("<polyline") == 2    # broken at the missing value
    assert "1.5 s" in plots["cpu_user_s"]
    assert "<h2>Resources</h2>" not in report.html_report(profile)


@pytest.mark.core
def test_a_missing_resource_series_shows_its_reason_not_an_empty_chart(profile):
    import pandas as pd

    reason = "NVIDIA GPU readings not available: cannot load libnvidia-ml.so.1 <&>" * 3
    nan = float("nan")
    series = pd.DataFrame({"timestamp": [0.0, 0.5, 1.0], "rss_bytes": [1.0, 2.0, 3.0],
                           "gpu_util_percent": [nan, nan, nan], "net_bytes": [nan] * 3})
    series.attrs["missing"] = {"gpu_util_percent": reason}      # as ProfileRepo.resources
    for page in (report.html_report(profile, resources=series),
                 report.html_report(profile, resources=dict(series.items()),
                                    resources_missing={"gpu_util_percent": reason})):
        plots = dict(re.findall(r'<svg class="plot" data-series="(\w+)"(.*?)</svg>', page, re.S))
        assert set(plots) == {"rss_bytes", "gpu_util_percent", "net_bytes"}
        gpu = plots["gpu_util_percent"]
        assert "<polyline" not in gpu and "no values" not in gpu
        assert gpu.startswith(' data-missing="NVIDIA GPU') and "&lt;&amp;&gt;" in gpu
        assert ">missing: NVIDIA GPU readings not available:" in gpu
        # a NaN column with no reason given stays "no values"; a measured one is drawn
        assert "no values" in plots["net_bytes"] and "missing" not in plots["net_bytes"]
        assert plots["rss_bytes"].count("<polyline") == 1


@pytest.mark.core
def test_resource_series_errors_are_named(profile):
    with pytest.raises(ValueError, match="timestamp"):
        report.html_report(profile, resources={"rss_bytes": [1, 2]})
    with pytest.raises(ValueError, match="'rss_bytes' has 1 values"):
        report.html_report(profile, resources={"timestamp": [0, 1], "rss_bytes": [1]})


# -- in a real browser -----------------------------------------------------------------------

def chromium():
    exe = next(filter(None, map(shutil.which, ("chromium", "chromium-browser",
                                                "google-chrome"))), None)
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required for the HTML report tests in CI "
                        "(apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return exe


def run_browser(tmp_path, url: str, *extra: str) -> str:
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium-profile'}",
           "--window-size=1200,900", "--virtual-time-budget=10000", *extra, url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class StatusReader(HTMLParser):
    """The attributes of <output id="dprof-status"> and the classes of the frame groups."""

    def __init__(self):
        super().__init__()
        self.status, self.groups = {}, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "output" and attrs.get("id") == "dprof-status":
            self.status = attrs
        elif tag == "g" and "data-id" in attrs:
            self.groups.append((int(attrs["data-id"]), attrs.get("class", "")))


def rendered(tmp_path, page_path, fragment=""):
    dom = run_browser(tmp_path, page_path.as_uri() + fragment, "--dump-dom")
    reader = StatusReader()
    reader.feed(dom)
    assert reader.status.get("data-frames"), f"the report script did not run: {dom[-500:]}"
    return reader


@pytest.fixture
def page(profile, tmp_path):
    path = tmp_path / "report.html"
    report.write(profile, path)
    return path


def test_browser_draws_every_frame(profile, page, tmp_path):
    expected = sum(1 for _ in build_tree(profile).walk())          # 9 nodes
    reader = rendered(tmp_path, page)
    assert int(reader.status["data-frames"]) == expected == 9
    assert len(reader.groups) == expected
    assert reader.status["data-matches"] == "0" and reader.status["data-zoom"] == "all"


def test_browser_search_highlights_matches(page, tmp_path):
    reader = rendered(tmp_path, page, "#search=deco")
    assert reader.status["data-matches"] == "2"                   # decode twice
    assert float(reader.status["data-matched-percent"]) == pytest.approx(40.0)
    assert sum("match" in cls.split() for _, cls in reader.groups) == 2
    reader = rendered(tmp_path, page, "#search=%5Erec")                # ^rec: 3 levels,
    assert reader.status["data-matches"] == "3"                   # time counted once
    assert float(reader.status["data-matched-percent"]) == pytest.approx(20.0)


def test_browser_click_zooms(page, tmp_path):
    # pre-order with children by name: 0 all, 1 decode, 2 main, 3 load, 4 decode, 5 work
    reader = rendered(tmp_path, page, "#click=2")
    assert reader.status["data-zoom"].startswith("main (")
    assert int(reader.status["data-frames"]) == 5                 # all + main subtree (4)
    assert [cls for i, cls in reader.groups if i == 0] == ["ancestor"]


def test_browser_screenshot(page, tmp_path):
    shot = tmp_path / "report.png"
    run_browser(tmp_path, page.as_uri() + "#search=work", f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


@pytest.mark.native
def test_a_run_without_resource_samples_renders_and_says_so():
    """A run shorter than the sampler's first interval stores an empty series; its
    page (and the series passed explicitly) says there were no samples, not an error."""
    import dataclasses
    import time

    import dprof
    with dprof.profile("short", store=False, stacks=True) as run:
        end = time.perf_counter() + 0.05
        while time.perf_counter() < end:
            pass
    short = dataclasses.replace(run.profile, resources={}, resources_missing={})
    for page in (report.html_report(short), report.html_report(short.stacks, resources={})):
        assert "no resource samples" in page
        assert "<h2>Resources</h2>" in page
