"""`ResourceSeries`: the samples of one run as columnar float64 numpy arrays.

A series is built once from a sampler (native or psutil fallback) when sampling
stops; it owns copies of the sampler's arrays, so it stays valid after the sampler
is restarted. Nothing here loops over samples in Python: derived series are numpy
expressions, statistics go to ``dprof._native.series_stats`` (its numpy twin
``dprof.pure.stats`` without the extension), and the DataFrame is
built straight from the arrays.

Time axis: the DataFrame has a float ``elapsed_s`` column (seconds since sampling
started) rather than a DatetimeIndex, because the samples carry CLOCK_MONOTONIC
timestamps, which have no calendar meaning; the raw ``timestamp`` column is kept too.
"""
import numpy as np

from .columns import COLUMNS, COUNTER_COLUMNS

#: Derived series `stats()` and `to_dataframe(derived=True)` know by name.
DERIVED = ("cpu_percent", "system_cpu_percent", "sys_mem_used_bytes", "iowait_s")


class ResourceSeries:
    """Columnar samples: ``series["rss_bytes"]`` is a read-only float64 array.

    ``ResourceSeries(columns, missing=None, info=None)``: ``columns`` maps names to
    1-D float64 buffers of one length and must include ``timestamp``; ``missing``
    maps a column to the reason the system could not give it (its values are NaN);
    ``info`` is the sampler's ``info()`` dict.
    """

    def __init__(self, columns, missing=None, info=None):
        arrays = {}
        length = None
        for name, values in columns.items():
            # Copy: a native sampler's views are only valid until its next start().
            arr = np.array(values, dtype=np.float64, copy=True)
            if arr.ndim != 1:
                raise ValueError(f"column {name!r} must be one-dimensional, got shape {arr.shape}")
            if length is not None and len(arr) != length:
                raise ValueError(f"column {name!r} has {len(arr)} samples, expected {length}")
            length = len(arr)
            arr.flags.writeable = False
            arrays[name] = arr
        if "timestamp" not in arrays:
            raise ValueError("columns must include 'timestamp'")
        self._arrays = arrays
        self.missing = dict(missing or {})
        self.info = dict(info or {})

    @classmethod
    def from_sampler(cls, sampler):
        """The samples a sampler holds (native ``_native.Sampler`` or ``PsutilSampler``)."""
        return cls(sampler.columns(), sampler.missing(), sampler.info())

    # -- access ---------------------------------------------------------------------

    def __len__(self):
        return len(self._arrays["timestamp"])

    def __getitem__(self, column):
        try:
            return self._arrays[column]
        except KeyError:
            raise KeyError(f"no column {column!r}; columns are {', '.join(self._arrays)}") from None

    def __contains__(self, column):
        return column in self._arrays

    @property
    def columns(self):
        """Column names, in sampler order."""
        return tuple(self._arrays)

    @property
    def elapsed_s(self):
        """Seconds since sampling started (``info["started_at"]``, else the first sample)."""
        t = self._arrays["timestamp"]
        origin = self.info.get("started_at")
        if origin is None:
            origin = t[0] if len(t) else 0.0
        return t - origin

    def __repr__(self):
        return (f"<ResourceSeries {len(self)} samples x {len(self._arrays)} columns, "
                f"{len(self.missing)} missing>")

    # -- derived series ---------------------------------------------------------------

    def _per_second(self, numerator, denominator=None):
        """d(numerator)/d(denominator or timestamp) between consecutive samples; the
        first sample has no predecessor and gets NaN."""
        num = np.diff(numerator)
        den = np.diff(self._arrays["timestamp"] if denominator is None else denominator)
        out = np.full(len(numerator), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[1:] = np.where(den > 0, num / den, np.nan)
        return out

    def rate(self, column):
        """Per-second rate of a counter column between consecutive samples (bytes/s
        of ``read_bytes``). First sample: NaN."""
        return self._per_second(self[column])

    def cpu_percent(self):
        """Process CPU (user + system) as percent of ONE core over each interval
        (can exceed 100 with several busy threads). First sample: NaN."""
        return 100.0 * self._per_second(self["cpu_user_s"] + self["cpu_system_s"])

    def system_cpu_percent(self):
        """System-wide CPU busy as percent of ALL CPUs over each interval."""
        return 100.0 * self._per_second(self["sys_cpu_busy_s"], self["sys_cpu_total_s"])

    def sys_mem_used_bytes(self):
        """System memory in use: total minus available."""
        return self["sys_mem_total_bytes"] - self["sys_mem_available_bytes"]

    @property
    def io_wait_source(self):
        """Where `iowait_s` comes from: "delayacct", "dstate_samples" or None (missing)."""
        if "iowait_delayacct_s" in self._arrays and "iowait_delayacct_s" not in self.missing:
            return "delayacct"
        if "iowait_dstate_s" in self._arrays and "iowait_dstate_s" not in self.missing:
            return "dstate_samples"
        return None

    def iowait_s(self):
        """Cumulative I/O wait seconds since the first sample, from kernel delay
        accounting when it is on, else from D-state samples; all NaN when neither."""
        source = self.io_wait_source
        if source is None:
            return np.full(len(self), np.nan)
        column = self["iowait_delayacct_s" if source == "delayacct" else "iowait_dstate_s"]
        return column - column[0] if len(column) else column.copy()

    def thin(self, min_interval_s):
        """A series whose samples are at least `min_interval_s` apart: the first, then
        each first sample at least that long after the one kept before it; the last
        sample ends the last window, which takes in the one before it when it would
        be shorter.

        Counters stay exact over the coarser intervals, so rates over windows longer
        than the clock-tick resolution of CPU times (10 ms) come from
        ``series.thin(0.1).cpu_percent()``. Every window is at least `min_interval_s`
        long (when the series is): a window cut short (a tail of 5 ms, or a sample
        taken late just before the next one) would turn one tick of rounding into
        100 points of CPU."""
        t = self._arrays["timestamp"]
        if len(t) < 3 or not min_interval_s > 0:
            return self
        keep = [0]
        # one binary search per window, not a Python step per sample: an hour sampled
        # every 10 ms is 360,000 samples and 36,000 windows of 0.1 s
        while True:
            nxt = int(np.searchsorted(t, t[keep[-1]] + min_interval_s, side="left"))
            if nxt >= len(t) - 1:
                break
            keep.append(nxt)
        if len(keep) > 1 and t[-1] - t[keep[-1]] < min_interval_s:
            keep.pop()                      # the short tail joins the window before it
        keep.append(len(t) - 1)
        keep = np.asarray(keep, dtype=np.intp)
        return ResourceSeries({k: v[keep] for k, v in self._arrays.items()},
                              self.missing, self.info)

    # -- statistics and tables -----------------------------------------------------------

    def values(self, name):
        """A raw column or a derived series (one of `DERIVED`) by name."""
        if name in DERIVED:
            return getattr(self, name)()
        return self[name]

    def stats(self, column, percentiles=(50, 90, 95, 99), counter=None):
        """``_native.series_stats`` of a column or derived series, plus ``unit`` and
        ``missing`` (the reason, or None). Counters (cumulative columns; `counter`
        defaults to that) also get delta, elapsed_s, rate_per_s, max_rate_per_s."""
        from dprof._native_loader import runtime

        values = self.values(column)
        if counter is None:
            counter = column in COUNTER_COLUMNS
        result = runtime().series_stats(np.ascontiguousarray(values, dtype=np.float64),
                                      timestamps=self._arrays["timestamp"] if counter else None,
                                      percentiles=percentiles, counter=counter)
        result["unit"] = COLUMNS[column][0] if column in COLUMNS else (
            "%" if column.endswith("percent") else "s" if column.endswith("_s") else "B")
        result["missing"] = self.missing.get(column)
        return result

    def to_dataframe(self, derived=False):
        """A pandas DataFrame, one float64 column per metric, ``elapsed_s`` first.

        With ``derived=True`` it also has the `DERIVED` series. Built from the arrays
        directly (no Python object per sample)."""
        import pandas as pd

        data = {"elapsed_s": self.elapsed_s}
        data.update(self._arrays)
        if derived:
            for name in DERIVED:
                data[name] = self.values(name)
        return pd.DataFrame(data, copy=False)
