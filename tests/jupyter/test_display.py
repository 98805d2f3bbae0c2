"""The HTML and text displays of Profile and StackProfile, and plot_resources.

Built from real recordings (dprof.profile with stacks), not hand-made objects, except
where a part must be absent (no stacks, no series) to pin down what is said instead.
"""
import re
import time
from html import unescape

import pytest

import dprof
from dprof.jupyter import plot_resources, profile_html, profile_text, resources_frame
from dprof.jupyter.magics import line_statement, without_threads

pytestmark = pytest.mark.core


def _busy(seconds=0.25):
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        n += sum(i * i for i in range(2000))
    return n


@pytest.fixture(scope="module")
def shell():
    """IPython's test shell (one per process). At the end its history-saving thread is
    stopped: left running it would be one more waiting thread in every profile that
    later tests in this process record."""
    from IPython.testing.globalipapp import get_ipython
    ip = get_ipython()
    yield ip
    saver = getattr(ip.history_manager, "save_thread", None)
    if saver is not None and saver.is_alive():
        saver.stop()


@pytest.fixture(scope="module")
def recorded():
    with dprof.profile("busy", store=False, stacks=True, stack_hz=200) as run:
        _busy()
        time.sleep(0.05)
    return run.profile


def test_html_has_summary_hotspots_and_offline_report(recorded):
    html = recorded._repr_html_()
    assert "<h3" in html and "busy" in html and "peak memory" in html
    assert "_busy" in html or "sum(i * i" in html          # the hot line, with source
    page = unescape(re.search(r'srcdoc="([^"]*)"', html).group(1))
    assert page.startswith("<!DOCTYPE html>") and "<script>" in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)    # nothing fetched
    assert 'sandbox="allow-scripts"' in html


def test_missing_metric_says_why_never_zero(recorded):
    recorded_missing = dprof.Profile.from_dict({**recorded.to_dict(),
                                                "io_wait_time_seconds": None,
                                                "missing": {"io_wait_time_seconds":
                                                            "no D-state samples here"}})
    assert "missing: no D-state samples here" in profile_html(recorded_missing)
    assert "I/O wait          missing (no D-state samples here)" in \
        profile_text(recorded_missing)


def test_text_repr_through_ipython_pretty(recorded):
    from IPython.lib.pretty import pretty
    text = pretty(recorded)
    assert text.startswith("Profile 'busy' [ok]") and "hotspot lines:" in text
    assert pretty(recorded.stacks).startswith("StackProfile: ")


def test_profile_without_stacks_says_so():
    with dprof.profile("plain", store=False) as run:
        _busy(0.02)
    html = profile_html(run.profile)
    assert "no stack samples" in html and "srcdoc" not in html


def test_plot_resources_one_axis_per_chart_and_missing_labelled(recorded):
    fig = plot_resources(recorded)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert "resident memory (MiB)" in titles and "process CPU (% of one core)" in titles
    # no GPU here: its chart says missing with the reason instead of a line at 0
    gpu = [ax for ax in fig.axes if ax.get_title() == "GPU utilisation (%)"]
    if "gpu_util_percent" in recorded.resources_missing:
        assert gpu and not gpu[0].lines
        assert any(t.get_text().startswith("missing: ") for t in gpu[0].texts)
    fig = plot_resources(recorded, ["resident memory (MiB)"])
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["resident memory (MiB)"]
    with pytest.raises(ValueError, match="unknown resource chart"):
        plot_resources(recorded, ["nope"])


def test_resources_frame_and_no_series_error(recorded):
    frame = resources_frame(recorded)
    assert len(frame) == len(recorded.resources["timestamp"]) > 0
    assert frame.attrs["missing"] == recorded.resources_missing
    with dprof.profile("bare", store=False, resources=False) as run:
        pass
    with pytest.raises(ValueError, match="no resource series"):
        plot_resources(run.profile)


def test_without_threads_keeps_the_rest(recorded):
    stacks = recorded.stacks
    tids = {r.thread_id for r in stacks.rows}
    some = set(list(tids)[:1])
    kept = without_threads(stacks, some)
    assert {r.thread_id for r in kept.rows} == tids - some
    assert sum(r.seconds for r in kept.rows) == pytest.approx(
        sum(r.seconds for r in stacks.rows if r.thread_id not in some))
    assert without_threads(stacks, set()) is stacks


@pytest.mark.parametrize("line, statement", [
    ("x = 1", "x = 1"),
    ("--no-store -r 50 s = \"it's\"", "s = \"it's\""),
    ("--name=a --tag k=v --no-stacks f(1,  2)", "f(1,  2)"),
    ("-q -- -x", "-x"),
])
def test_line_statement_taken_verbatim(line, statement):
    assert line_statement(line) == statement


def test_load_ipython_extension_registers_magics(shell):
    ip = shell
    dprof.load_ipython_extension(ip)
    assert "dprof" in ip.magics_manager.magics["line"]
    assert "dprof" in ip.magics_manager.magics["cell"]


def test_benchmark_result_displays_when_the_plugin_is_present(shell):
    result_module = pytest.importorskip(
        "dprof.pytest_plugin.result",
        reason="dprof.pytest_plugin (the bench branch) is not part of this tree")
    from dprof.jupyter.bench import bench_text
    result = result_module.BenchResult(name="test_sort", rounds=3,
                                       times_ns=[2000.0, 1000.0, 1500.0],
                                       missing={"allocations": "counter unavailable"})
    ip = shell
    dprof.load_ipython_extension(ip)
    formatter = ip.display_formatter.formatters["text/html"]
    formatter.enabled = True               # a terminal shell has it off; a kernel, on
    html = formatter(result)
    assert "benchmark test_sort" in html and "median 1.5 µs, min 1 µs" in html
    assert ip.display_formatter.formatters["text/plain"](result).startswith(
        "benchmark test_sort")
    assert "missing: counter unavailable" in bench_text(result)
