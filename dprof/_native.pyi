"""Type stub of dprof._native, the C core of dprof (an implementation detail:
use the dprof package instead)."""
from typing import Dict, Optional, Tuple, TypedDict

class NativeError(RuntimeError):
    """A failure inside the native core that is not a bad argument."""

class SamplerInfo(TypedDict):
    samples: int
    taken: int
    interval: float
    requested_interval: float
    capacity: int
    overflow_halvings: int
    errors: int
    last_error: Optional[str]
    started_at: Optional[float]
    stopped_at: Optional[float]
    io_wait_source: str  # "delayacct" | "dstate_samples"
    pid: int
    children: bool
    running: bool
    sample_cost_ns_mean: Optional[float]
    sample_cost_ns_max: Optional[float]
    full_sample_cost_ns_mean: Optional[float]
    fast_sample_cost_ns_mean: Optional[float]
    sampler_thread_cpu_s: float

class Sampler:
    """Native sampler of the resources of one process (and its descendants)."""

    def __init__(
        self,
        pid: int = 0,
        interval: float = 0.01,
        capacity: int = 65536,
        children: bool = False,
    ) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    @property
    def running(self) -> bool: ...
    @property
    def column_names(self) -> Tuple[str, ...]: ...
    def sample_once(self) -> Dict[str, float]: ...
    def columns(self) -> Dict[str, memoryview]: ...
    def missing(self) -> Dict[str, str]: ...
    def info(self) -> SamplerInfo: ...

class _SamplerColumn:
    """Read-only float64 buffer over one column (made by Sampler.columns())."""
    def __buffer__(self, flags: int) -> memoryview: ...
