"""Type stub of dprof._native, the C core of dprof (an implementation detail:
use the dprof package instead)."""
from typing import Any, Dict, List, Optional, Sequence, Tuple, TypedDict, Union

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
    def count_since(self, since: float) -> int: ...
    def columns(self, since: Optional[float] = None) -> Dict[str, memoryview]: ...
    def missing(self) -> Dict[str, str]: ...
    def info(self) -> SamplerInfo: ...

class _SamplerColumn:
    """Read-only float64 buffer over one column (made by Sampler.columns())."""
    def __buffer__(self, flags: int) -> memoryview: ...

# --- series statistics (csrc/stats_binding.c) ---
def series_stats(values: Any, timestamps: Any = None,
                 percentiles: Sequence[float] = (50, 90, 95, 99),
                 counter: bool = False) -> Dict[str, Any]: ...

# --- allocation counter (csrc/allocs_binding.c) ---
def alloc_counter_acquire() -> None: ...
def alloc_counter_release() -> None: ...
def alloc_counts() -> Tuple[int, int]: ...
def alloc_counter_active() -> bool: ...

# the raise counter (sys.monitoring RAISE callback, 3.12+)
def count_raise(code: Any, offset: int, exception: BaseException, /) -> None: ...
def raise_counts() -> Tuple[int, int]: ...

# --- task point readings (csrc/task_binding.c) ---
def task_reading() -> Tuple[float, ...]: ...

# --- stacks (csrc/stacks_binding.c) ---
_FrameT = Tuple[str, str, int]          # (filename, function, line)


class StackTable:
    def __init__(self) -> None: ...
    def add(self, thread_id: int, frames: Sequence[_FrameT], category: int,
            seconds: float, samples: int = 1) -> None: ...
    def merge(self, other: StackTable) -> None: ...
    def to_data(self) -> Tuple[List[_FrameT], List[Tuple[int, ...]],
                               List[Tuple[int, int, int, int, float]]]: ...

class StackSampler:
    def __init__(self, hz: float, jitter: float, overhead_budget: float,
                 call_opcodes: bytes) -> None: ...
    @property
    def running(self) -> bool: ...
    def start(self) -> None: ...
    def stop(self) -> Tuple[StackTable, Dict[str, Union[float, int, bool, str, Dict[int, str]]]]: ...

def stack_table_diff(base: StackTable, other: StackTable
                     ) -> Tuple[List[_FrameT], List[Tuple[int, ...]], List[float], List[float]]: ...
