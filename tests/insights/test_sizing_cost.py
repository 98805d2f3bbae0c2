"""Right-sizing of known distributions and cost sums checked by hand."""
import json

import numpy as np
import pandas as pd
import pytest

from dprof.insights import Prices, cost, load_prices, rightsizing
from dprof.insights.sizing import quantile_interval
from histories import profile

pytestmark = pytest.mark.core


def test_rightsizing_of_a_known_distribution_matches_its_percentiles(repo):
    rng = np.random.default_rng(2)
    cores = rng.uniform(0.5, 1.5, 400)          # p95 = 1.45
    peaks = rng.uniform(1000, 2000, 400)        # p99 = 1990
    repo.add_many([profile(i, 60.0, cores=4.0, cpu_util=float(c) / 4.0, peak_mb=float(m))
                   for i, (c, m) in enumerate(zip(cores, peaks))])
    row = rightsizing(repo, cpu_target=0.7, memory_target=0.8).iloc[0]
    assert row["cpu_p95"] == pytest.approx(1.45, rel=0.02)
    assert row["memory_p99_mb"] == pytest.approx(1990, rel=0.01)
    assert row["cpu_p95"] == pytest.approx(np.percentile(cores, 95), rel=1e-9)
    assert row["cpu_request"] == pytest.approx(np.percentile(cores, 95) / 0.7, abs=0.01)
    assert row["memory_request_mb"] >= np.percentile(peaks, 99) / 0.8
    assert row["memory_request_mb"] - np.percentile(peaks, 99) / 0.8 < 16
    assert row["memory_limit_mb"] >= peaks.max() / 0.8
    assert row["cpu_p95_low"] <= row["cpu_p95"] <= row["cpu_p95_high"]
    assert row["confidence"] == "high" and row["cpu_allocated"] == 4.0


def test_targets_are_parameters_and_bad_targets_are_named(repo):
    repo.add_many([profile(i, 60.0, cpu_util=0.25, peak_mb=800) for i in range(20)])
    tight = rightsizing(repo, cpu_target=0.8, memory_target=0.85).iloc[0]
    assert tight["cpu_request"] == pytest.approx(1.0 / 0.8, abs=0.01)
    assert tight["confidence"] == "low"                 # 20 runs
    with pytest.raises(ValueError, match="cpu_target"):
        rightsizing(repo, cpu_target=1.5)


def test_quantile_interval_brackets_the_estimate():
    v = np.arange(1.0, 1001.0)
    est, low, high = quantile_interval(v, 0.95)
    assert low < est < high and 930 < low and high < 970


def test_cost_sums_match_hand_computed_figures(repo, tmp_path):
    # 10 runs, one every 6 hours (54 h + the last run's hour observed), each 1 hour
    # on 2 cores at 50% and 2048 MiB peak, reading 1 GiB.
    repo.add_many([profile(i, 3600.0, every=pd.Timedelta(hours=6).to_pytimedelta(),
                           cores=2.0, cpu_util=0.5, peak_mb=2048, read_bytes=2**30)
                   for i in range(10)])
    prices_file = tmp_path / "prices.json"
    prices_file.write_text(json.dumps({"currency": "EUR", "cpu_hour": 0.05,
                                       "gb_hour": 0.01, "io_gb": 0.02}))
    row = cost(repo, prices=load_prices(str(prices_file), environ={}), per="day").iloc[0]
    days = 55.0 / 24.0
    assert row["days_observed"] == pytest.approx(days)
    assert row["cpu_hours_allocated"] == pytest.approx(10 * 2.0 / days)
    assert row["cpu_hours_used"] == pytest.approx(10 * 1.0 / days)
    assert row["gb_hours"] == pytest.approx(10 * 2.0 / days)
    assert row["io_gb"] == pytest.approx(10 * 1.0 / days)
    assert row["cost"] == pytest.approx((20 * 0.05 + 20 * 0.01 + 10 * 0.02) / days)
    assert row["currency"] == "EUR" and not row["extrapolated"]
    monthly = cost(repo, prices=Prices(cpu_hour=0.05), per="month").iloc[0]
    assert monthly["cpu_cost"] == pytest.approx(20 * 0.05 / days * 30)
    assert np.isnan(monthly["memory_cost"]) and monthly["extrapolated"]


def test_without_prices_cost_is_missing_and_quantities_are_given(repo):
    repo.add_many([profile(i, 600.0) for i in range(3)])
    row = cost(repo, prices=load_prices(None, environ={})).iloc[0]
    assert np.isnan(row["cost"]) and row["cpu_hours_allocated"] > 0


def test_tasks_rank_by_cost_and_by_saving(repo):
    big = [profile(i, 3600.0, process="big", cores=8.0, cpu_util=0.05) for i in range(10)]
    small = [profile(i, 3600.0, process="small", cores=1.0, cpu_util=0.7) for i in range(10)]
    repo.add_many(big + small)
    out = cost(repo, prices=Prices(cpu_hour=1.0))
    assert out["process_name"].tolist() == ["big", "small"]
    assert out["rank_by_cost"].tolist() == [1, 2]
    assert out["rank_by_saving"].iloc[0] == 1           # 8 cores held, 0.4 used
    # saving = (allocated 8 - request ceil(0.4/0.7)) cores x 1 h x 10 runs, per month
    days = (9 * 3600 + 3600) / 86400
    assert out["saving"].iloc[0] == pytest.approx((8 - 0.58) * 10 / days * 30, rel=1e-6)


def test_prices_from_the_environment_and_bad_prices(tmp_path):
    p = load_prices(None, environ={"DPROF_PRICE_CPU_HOUR": "0.1", "DPROF_PRICE_CURRENCY": "USD"})
    assert (p.cpu_hour, p.gb_hour, p.currency) == (0.1, None, "USD")
    with pytest.raises(ValueError, match="DPROF_PRICE_GB_HOUR"):
        load_prices(None, environ={"DPROF_PRICE_GB_HOUR": "cheap"})
    bad = tmp_path / "p.json"
    bad.write_text('{"cpu_hours": 1}')
    with pytest.raises(ValueError, match="unknown price names"):
        load_prices(str(bad), environ={})
    with pytest.raises(ValueError, match="does not exist"):
        load_prices(str(tmp_path / "none.json"), environ={})
