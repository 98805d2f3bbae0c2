"""ResourceSeries on synthetic samples whose derived values are known exactly."""
import numpy as np
import pytest

from dprof.resources import ResourceSeries

pytestmark = pytest.mark.core


def synthetic(n=101, dt=0.01):
    t = 1000.0 + dt * np.arange(n)
    return {
        "timestamp": t,
        "cpu_user_s": 0.75 * dt * np.arange(n),          # 75% of a core ...
        "cpu_system_s": 0.25 * dt * np.arange(n),        # ... plus 25%: one core
        "sys_cpu_busy_s": 0.5 * 4 * dt * np.arange(n),   # 4 CPUs half busy
        "sys_cpu_total_s": 4 * dt * np.arange(n),
        "sys_mem_total_bytes": np.full(n, 8e9),
        "sys_mem_available_bytes": np.linspace(6e9, 5e9, n),
        "rss_bytes": np.linspace(1e8, 2e8, n),
        "write_bytes": 1e6 * dt * np.arange(n),          # 1 MB/s
        "iowait_delayacct_s": np.full(n, np.nan),
        "iowait_dstate_s": 5.0 + 0.1 * dt * np.arange(n),
    }


def test_derived_series_have_their_known_values():
    s = ResourceSeries(synthetic(), missing={"iowait_delayacct_s": "delayacct off"},
                       info={"started_at": 999.5})
    assert np.isnan(s.cpu_percent()[0])
    np.testing.assert_allclose(s.cpu_percent()[1:], 100.0)
    np.testing.assert_allclose(s.system_cpu_percent()[1:], 50.0)
    np.testing.assert_allclose(s.sys_mem_used_bytes(), np.linspace(2e9, 3e9, 101))
    assert s.io_wait_source == "dstate_samples"
    np.testing.assert_allclose(s.iowait_s()[[0, -1]], [0.0, 0.1])
    np.testing.assert_allclose(s.elapsed_s[[0, -1]], [0.5, 1.5])


def test_stats_uses_native_series_stats_and_knows_counters():
    s = ResourceSeries(synthetic())
    rss = s.stats("rss_bytes")
    assert rss["mean"] == pytest.approx(1.5e8)
    assert rss["percentiles"][50] == pytest.approx(1.5e8)
    assert rss["unit"] == "B" and rss["missing"] is None
    assert "rate_per_s" not in rss
    writes = s.stats("write_bytes")                      # a counter: rates too
    assert writes["rate_per_s"] == pytest.approx(1e6)
    assert writes["delta"] == pytest.approx(1e6)
    cpu = s.stats("cpu_percent")
    assert cpu["count"] == 100 and cpu["mean"] == pytest.approx(100.0)


def test_missing_column_stats_are_none_with_reason():
    cols = synthetic()
    s = ResourceSeries(cols, missing={"iowait_delayacct_s": "delayacct off"})
    st = s.stats("iowait_delayacct_s")
    assert st["count"] == 0 and st["mean"] is None and st["delta"] is None
    assert st["missing"] == "delayacct off"
    both = ResourceSeries(cols, missing={"iowait_delayacct_s": "off", "iowait_dstate_s": "no /proc"})
    assert both.io_wait_source is None and np.isnan(both.iowait_s()).all()


def test_thin_keeps_counters_exact_over_longer_windows():
    s = ResourceSeries(synthetic(n=1001, dt=0.001))
    thin = s.thin(0.1)
    assert 10 <= len(thin) <= 12
    assert thin["timestamp"][0] == s["timestamp"][0]
    assert thin["timestamp"][-1] == s["timestamp"][-1]
    np.testing.assert_allclose(thin.cpu_percent()[1:], 100.0)


def test_thin_windows_are_never_short_so_one_tick_cannot_read_as_a_core():
    """One busy core, CPU time counted in 10 ms ticks as /proc gives it, sampled every
    10 ms with the lateness of a loaded machine: a sample 9 ms late just before the
    next window, and a last sample 3 ms after the one before. Found in CI: one window
    of 12 ms held two ticks and read 214 %."""
    rng = np.random.default_rng(3)
    t = 0.01 * np.arange(120) + rng.uniform(0, 0.002, 120)
    t[29] += 0.0089                     # late, just before the next 0.1 s mark
    t = np.append(t, t[-1] + 0.003)
    tick = 0.01
    cpu = np.floor(t / tick) * tick     # 100 % of one core, rounded down to ticks
    s = ResourceSeries({"timestamp": t, "cpu_user_s": cpu, "cpu_system_s": np.zeros(len(t))})
    thin = s.thin(0.1)
    gaps = np.diff(thin["timestamp"])
    assert gaps.min() >= 0.1 and gaps.max() < 0.2 + 0.01
    assert thin["timestamp"][0] == t[0] and thin["timestamp"][-1] == t[-1]
    assert np.nanmax(thin.cpu_percent()) <= 100.0 * (1 + 2 * tick / 0.1) + 1e-9
    # the counters stay exact: the windows' CPU adds up to the whole run's
    assert np.nansum(thin.cpu_percent()[1:] * gaps) / 100 == pytest.approx(cpu[-1] - cpu[0])


def test_series_owns_read_only_copies():
    cols = synthetic()
    s = ResourceSeries(cols)
    cols["rss_bytes"][:] = 0
    assert s["rss_bytes"][0] == 1e8
    with pytest.raises(ValueError):
        s["rss_bytes"][0] = 1.0


def test_bad_construction_names_the_problem():
    with pytest.raises(ValueError, match="timestamp"):
        ResourceSeries({"rss_bytes": np.ones(3)})
    with pytest.raises(ValueError, match="'rss_bytes' has 2 samples"):
        ResourceSeries({"timestamp": np.ones(3), "rss_bytes": np.ones(2)})
    with pytest.raises(KeyError, match="no column 'nope'"):
        ResourceSeries({"timestamp": np.ones(3)})["nope"]


def test_million_sample_dataframe_has_float64_columns():
    n = 1_000_000
    cols = {"timestamp": np.arange(n) * 0.001}
    for name in ("cpu_user_s", "cpu_system_s", "rss_bytes", "read_bytes"):
        cols[name] = np.arange(n, dtype=np.float64)
    s = ResourceSeries(cols)
    df = s.to_dataframe()
    assert df.shape == (n, 6)
    assert list(df.columns) == ["elapsed_s", *cols]
    assert (df.dtypes == np.float64).all()
    assert df["elapsed_s"].iloc[-1] == pytest.approx(999.999)
    assert df["rss_bytes"].iloc[123_456] == 123_456.0
