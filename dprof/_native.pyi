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

# --- sort engines with operation counters (csrc/sorts_binding.c) ---
class SortCounts(TypedDict):
    comparisons: int
    swaps: int
    moves: int
    reads: int
    writes: int

def sort_algorithms() -> Tuple[str, ...]: ...
def sort_list(algorithm: str, items: List[Any], pivot: str = "median",
              seed: int = 0) -> SortCounts: ...
def sort_buffer(algorithm: str, buffer: Any, pivot: str = "median",
                seed: int = 0) -> SortCounts: ...

# --- allocation counter (csrc/allocs_binding.c) ---
def alloc_counter_acquire() -> None: ...
def alloc_counter_release() -> None: ...
def alloc_counts() -> Tuple[int, int]: ...
def alloc_counter_active() -> bool: ...
def alloc_counter_intact(since: float) -> bool: ...

# the raise counter (sys.monitoring RAISE callback, 3.12+)
def count_raise(code: Any, offset: int, exception: BaseException, /) -> None: ...
def raise_counts() -> Tuple[int, int]: ...

# --- task point readings (csrc/task_binding.c) ---
class TaskReading(Tuple[Any, ...]):
    """A struct sequence; read its fields by name. -1 where `missing` flags the source."""
    monotonic: float
    wall: float
    process_user: float
    process_system: float
    children_user: float
    children_system: float
    thread_user: float
    thread_system: float
    max_rss_bytes: int
    rss_bytes: int
    process_rchar: int
    process_wchar: int
    process_read_bytes: int
    process_write_bytes: int
    thread_rchar: int
    thread_wchar: int
    thread_read_bytes: int
    thread_write_bytes: int
    net_sent: int
    net_received: int
    missing: int            # bits: 1 process io, 2 thread io, 4 network, 8 thread cpu

def task_reading() -> TaskReading: ...

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

def stack_code_lines(code: Any, /) -> Tuple[int, ...]: ...
def stack_pause_probe(tid: int, hold: float, /) -> Dict[str, Any]: ...
def stack_frame_layout() -> Dict[str, Union[str, int]]: ...
def stack_budget_periods(budget: float, base_period_ns: float,
                         ticks: Sequence[Tuple[int, int]], /) -> List[int]: ...

# --- cgroup v2 and network namespace readers (csrc/cgroup_binding.c) ---
def cgroup_dir(pid: int, /) -> Tuple[Optional[str], Optional[str]]: ...
def cgroup_read(dir: str, /) -> Tuple[Dict[str, float], Dict[str, str]]: ...
def netdev_read(path: str, /) -> Tuple[float, float]: ...

# --- allocation sampler (csrc/memsample.c, csrc/memsample_binding.c) ---
class _MemsampleStart(TypedDict):
    seed: int
    numpy: Optional[str]

def memsample_start(mean: float = 524288.0, seed: Optional[int] = None,
                    numpy_api: Any = None) -> _MemsampleStart: ...
def memsample_stop() -> Optional[Dict[str, Any]]: ...
def memsample_active() -> bool: ...
def memsample_hook_numpy(numpy_api: Any, /) -> Optional[str]: ...
def memsample_draws(seed: int, mean: float, n: int, /) -> List[int]: ...
def memsample_decide(seed: int, mean: float, sizes: Sequence[int], /) -> List[int]: ...
