"""The resource charts of a report, derived from raw sampler columns with known rates."""
import math
import re
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

import dprof.report as report
from dprof.record import Profile
from dprof.report.resource_panel import MAX_POINTS, panel

pytestmark = pytest.mark.core

GPU_REASON = "no NVIDIA GPU: libnvidia-ml.so.1 not found"
GPU_COLUMNS = ("gpu_util_percent", "gpu_mem_used_bytes", "gpu_temperature_c", "gpu_power_w")
GPU_MISSING = dict.fromkeys(GPU_COLUMNS, GPU_REASON)


def known_series(seconds=2.0, interval=0.01):
    """Half a core of CPU, 10 MiB/s read, RSS growing 1 MiB/s, no GPU."""
    t = 1000.0 + np.arange(0.0, seconds + interval / 2, interval)
    elapsed = t - t[0]
    nan = np.full(len(t), np.nan)
    return {"timestamp": t,
            "cpu_user_s": 0.4 * elapsed, "cpu_system_s": 0.1 * elapsed,
            "rss_bytes": 2**30 + elapsed * 2**20,
            "read_bytes": 10 * 2**20 * elapsed, "write_bytes": np.zeros(len(t)),
            "threads_running": np.ones(len(t)),
            **dict.fromkeys(GPU_COLUMNS, nan)}


def test_rates_and_units_are_derived_exactly():
    series, missing = panel(known_series(), GPU_MISSING)
    # only the charts whose raw columns exist (this series has no network columns)
    assert list(series) == ["timestamp", "process CPU (% of one core)", "resident memory (MiB)",
                            "disk read (MiB/s)", "disk write (MiB/s)", "threads running",
                            "GPU utilisation (%)", "GPU memory used (MiB)",
                            "GPU temperature (°C, hottest)", "GPU power (W)"]
    cpu = series["process CPU (% of one core)"]
    assert math.isnan(cpu[0]) and cpu[1:] == pytest.approx(50.0)
    assert series["disk read (MiB/s)"][1:] == pytest.approx(10.0)
    assert series["resident memory (MiB)"][-1] == pytest.approx(1024 + 2.0)
    # thinned to intervals of at least 0.1 s (CPU ticks are 10 ms), the last sample kept
    assert np.diff(series["timestamp"])[:-1].min() >= 0.1 - 1e-6
    assert series["timestamp"][-1] == pytest.approx(1002.0)
    assert missing == {"GPU utilisation (%)": GPU_REASON, "GPU memory used (MiB)": GPU_REASON,
                       "GPU temperature (°C, hottest)": GPU_REASON, "GPU power (W)": GPU_REASON}
    assert np.isnan(series["GPU utilisation (%)"]).all()


def test_long_runs_are_thinned_to_a_drawable_number_of_points():
    series, _ = panel(known_series(seconds=600.0, interval=0.01))    # 60,000 samples
    assert len(series["timestamp"]) <= MAX_POINTS + 2
    assert series["timestamp"][-1] == pytest.approx(1600.0)            # the last is kept
    assert series["disk read (MiB/s)"][1:] == pytest.approx(10.0)      # counters stay exact


def test_html_report_of_a_profile_charts_its_resources_and_says_why_one_is_missing():
    from dprof.stacks.model import Frame, StackProfile
    stacks = StackProfile(duration_seconds=2.0)
    stacks.add(1, [Frame("/app/etl.py", "main", 3)], "cpu_python", 2.0, 200)
    start = datetime.now(timezone.utc)
    p = Profile(process_name="etl", task_start_time=start,
                task_end_time=start + timedelta(seconds=2), stacks=stacks,
                resources=known_series(), resources_missing=GPU_MISSING)
    page = report.html_report(p)
    charts = re.findall(r'<svg class="plot" data-series="([^"]+)"', page)
    assert "process CPU (% of one core)" in charts and "disk read (MiB/s)" in charts
    assert re.search(r'data-series="GPU utilisation \(%\)" data-missing="no NVIDIA GPU', page)
    assert 'data-series="process CPU (% of one core)" data-missing' not in page

    with pytest.raises(ValueError, match="no stack samples"):
        report.html_report(Profile(process_name="etl", task_start_time=start,
                                   task_end_time=start))
    with pytest.raises(ValueError, match="timestamp"):
        panel({"rss_bytes": [1.0, 2.0]})
