"""One benchmark's measurement as plain data: what the fixture hands to the session.

A :class:`BenchResult` travels as a JSON-safe dict: from an xdist worker to the
controller, into ``--dprof-json`` files, and into the stored Profile's
``parameters["dprof_bench"]`` (the rounds are what a later comparison tests). The
Profile of the rounds (CPU, memory, I/O: dprof's recorder) stays in the process that
measured it and is stored from there; the dict carries its headline numbers.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

#: Version of the dict layout written by :meth:`BenchResult.to_dict`.
RESULT_FORMAT = 1

#: Metrics of the rounds: name -> attribute holding one value per round.
ROUND_METRICS = {"time": "times_ns", "allocations": "allocations",
                 "peak_memory": "peak_memory"}

#: Profile fields copied into ``BenchResult.profile`` (the resource profile).
PROFILE_FIELDS = ("runtime_seconds", "cpu_cores", "cpu_user_utilization",
                  "cpu_system_utilization", "memory_usage_peak_mb", "memory_allocations",
                  "file_read_bytes", "file_write_bytes", "io_wait_time_seconds")


@dataclass
class BenchResult:
    """``times_ns``: nanoseconds per call, one value per measured round.
    ``allocations``: allocations per call, one value per round (None when the
    allocation counter was not available; ``missing`` says why). ``peak_memory``:
    bytes of one call's peak traced memory (tracemalloc) above what was traced when
    it began, one value per untimed memory round. ``profile``: the resource
    profile of all measured rounds (``PROFILE_FIELDS``, None where missing, plus
    ``id`` of the stored Profile and ``missing`` reasons)."""
    name: str
    group: Optional[str] = None
    iterations: int = 1
    rounds: int = 0
    warmup_rounds: int = 0
    resolution_ns: Optional[int] = None
    pedantic: bool = False
    times_ns: List[float] = field(default_factory=list)
    allocations: Optional[List[float]] = None
    peak_memory: Optional[List[float]] = None
    missing: Dict[str, str] = field(default_factory=dict)
    profile: Dict[str, Any] = field(default_factory=dict)
    worker: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        out = asdict(self)
        out["format"] = RESULT_FORMAT
        return out

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "BenchResult":
        if not isinstance(data, dict):
            raise TypeError(f"a benchmark result must be a dict, got {type(data).__name__}")
        if data.get("format") != RESULT_FORMAT:
            raise ValueError(f"unsupported benchmark result format {data.get('format')!r}; "
                             f"this dprof reads format {RESULT_FORMAT}")
        known = set(cls.__dataclass_fields__)
        kwargs = {k: v for k, v in data.items() if k in known}
        if "name" not in kwargs:
            raise ValueError("a benchmark result has no 'name'")
        return cls(**kwargs)

    def values(self, metric: str) -> Optional[List[float]]:
        """The per-round values of ``metric`` ("time", "allocations", "peak_memory")."""
        return getattr(self, ROUND_METRICS[metric])

    def _repr_html_(self) -> str:
        """Jupyter shows a result as a small table (dprof.jupyter.bench)."""
        from dprof.jupyter.bench import bench_html
        return bench_html(self)
