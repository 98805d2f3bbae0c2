"""The Profile record: what dprof measured about one run of a task.

This module is the contract between the session that measures a run (and builds a
Profile), the repository that stores it (``dprof.repo``) and everything that reads it
back. It holds data, validation and a JSON-safe, exact round trip; it measures nothing
and must stay cheap to import (no pandas, no SQLAlchemy; numpy only once a
resource series is handled, so that a profile without one never imports it).

Every metric is either a number or ``None``; a ``None`` metric always has a reason in
``missing`` (a metric the system could not give is missing, never 0). What each field
counts is written in the class docstring and in ``docs/profile.md``.
"""
from __future__ import annotations

import base64
import json
import math
import numbers
import os
import sys
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

if TYPE_CHECKING:      # numpy is imported only where a series is handled
    import numpy as np

from dprof.errors import ProfileFormatError, describe, need_key, need_mapping, need_str
from dprof.stacks.model import StackProfile

#: Version of the dictionary layout written by :meth:`Profile.to_dict`.
DICT_FORMAT = 1

STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUSES = (STATUS_OK, STATUS_FAILED)

#: Metrics that are counts (stored as 64-bit integers, ``Int64`` in DataFrames).
COUNT_METRICS = (
    "memory_allocations",
    "file_read_bytes",
    "file_write_bytes",
    "network_data_sent_bytes",
    "network_data_received_bytes",
    "exceptions_raised",
)
#: Metrics that are real numbers (float64).
FLOAT_METRICS = (
    "runtime_seconds",
    "cpu_cores",
    "cpu_user_utilization",
    "cpu_system_utilization",
    "memory_usage_peak_mb",
    "io_wait_time_seconds",
)
#: Every measured field: each is a number or None-with-a-reason-in-``missing``.
METRICS = FLOAT_METRICS + COUNT_METRICS
#: Other names ``missing``/``sources`` may use: the attachments, and ``scope`` (whether
#: the numbers are the whole process's or the task thread's; see dprof/task/scope.py).
ATTACHMENTS = ("resources", "stacks", "memory")
PROVENANCE_NAMES = METRICS + ATTACHMENTS + ("scope",)

#: Longest text the storage accepts per field (characters).
TEXT_LIMITS = {"id": 64, "process_name": 255, "env": 64, "stage": 255,
               "exception_type": 255, "host": 255, "python_version": 32}

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_RESOURCE_ENCODING = "float64-le-base64"

# Reason recorded when a metric is None and the caller gave none.
NOT_MEASURED = "not measured"


def this_host() -> str:
    """This machine's host name: ``socket.gethostname()``, which on POSIX is the
    ``uname`` node name (read from there: importing socket costs the first call
    several milliseconds)."""
    try:
        return os.uname().nodename
    except AttributeError:                   # not POSIX
        import socket
        return socket.gethostname()


def this_python() -> str:
    """``platform.python_version()`` ("3.11.7", "3.13.0rc1"): the first word of
    sys.version, without importing platform (and the regular expressions it compiles)."""
    return sys.version.split()[0]


def _new_id() -> str:
    """A random RFC 4122 version-4 UUID as 32 hex digits: what ``uuid.uuid4().hex``
    gives, built directly from os.urandom (a record per decorated call makes the
    UUID object's cost show)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40      # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80      # RFC 4122 variant
    return raw.hex()


@dataclass(eq=False)
class Profile:
    """One profiled run of a task.

    Identity and context
      ``id``: unique id of the run (default: a fresh uuid4 as 32 lowercase hex digits;
      at most 64 characters). ``process_name``: the profiled unit (a function's
      qualified name, a script, a command); required. ``env``: the environment the
      run belongs to (e.g. ``"dev"``, ``"prod"``); default ``"default"``. ``stage``:
      the pipeline stage or step the task belongs to; default ``"default"``.
      ``host``, ``pid``, ``python_version``: where it ran (defaults: this host, this
      process, this interpreter). ``parameters``: the task's arguments as a
      JSON-safe dict. ``tags``: free ``str -> str`` labels.

    Outcome
      ``status``: ``"ok"`` or ``"failed"`` (the task raised).
      ``exception_type``: qualified name of the exception that ended a failed task
      (``"ValueError"``, ``"mypkg.errors.Boom"``); ``None`` when ``status == "ok"``.
      ``exception_message``: ``str()`` of that exception.

    Time
      ``task_start_time``, ``task_end_time``: wall-clock start and end, normalised to
      UTC. A naive datetime (``datetime.now()``) is taken as local time.
      ``runtime_seconds``: elapsed time of the task measured with a monotonic clock
      (so it is right even when the wall clock jumps); if not given it is taken as
      ``task_end_time - task_start_time``.

    CPU
      ``cpu_cores``: CPUs the task could use: the CPU-affinity count, lowered to the
      cgroup quota (``cpu.max``) when one is set; may be fractional.
      ``cpu_user_utilization``, ``cpu_system_utilization``: CPU time of the process
      (and its children, when the session follows them) in user and kernel mode
      during the task, as a fraction of ``runtime_seconds * cpu_cores``; 1.0 means
      every usable core busy for the whole run.

    Memory
      ``memory_usage_peak_mb``: peak resident set size during the task in MiB
      (2**20 bytes). ``memory_allocations``: number of memory-block allocations made
      during the task (only when allocation counting is on).

    I/O
      ``file_read_bytes``, ``file_write_bytes``: bytes the task caused to be read from
      and written to the storage layer (Linux ``/proc/<pid>/io`` ``read_bytes`` /
      ``write_bytes``); reads served by the page cache are not counted.
      ``io_wait_time_seconds``: time the task's threads spent blocked on disk I/O
      (state D): from kernel delay accounting when it is on, else estimated from
      per-thread D-state samples (``sources`` says which).
      ``network_data_sent_bytes``, ``network_data_received_bytes``: bytes sent and
      received on the non-loopback interfaces of the task's network namespace during
      the task (Linux has no per-process counters; other processes in the same
      namespace are counted too, ``sources`` says so).

    Errors
      ``exceptions_raised``: on Python 3.12+, exceptions raised while the task ran,
      caught ones included, each counted once (sys.monitoring); before 3.12, 1 when
      an exception escaped the task, else 0. ``sources`` says which.

    Provenance and attachments
      ``missing``: metric name -> why it could not be measured; exactly the metrics
      that are ``None`` (a ``None`` metric given without a reason gets
      ``"not measured"``). ``sources``: metric name -> where the number came from
      (e.g. ``{"io_wait_time_seconds": "dstate_samples"}``).
      ``resources``: the resource time series, columnar: column name -> 1-D float64
      array, all the same length (by convention ``"t"`` holds seconds since the
      start); or ``None``. ``resources_missing``: resource column name -> why the
      sampler could not give it (e.g. no GPU); such a column is all NaN. Its keys are
      columns of ``resources``; empty when ``resources`` is ``None``.
      ``stacks``: a :class:`dprof.stacks.StackProfile` or ``None``.
      ``memory``: a :class:`dprof.memory.MemoryProfile` (sampled allocations by
      stack; docs/memory.md) or ``None``.
    """

    process_name: str
    task_start_time: datetime
    task_end_time: datetime
    env: str = "default"
    stage: str = "default"
    runtime_seconds: Optional[float] = None
    cpu_cores: Optional[float] = None
    cpu_user_utilization: Optional[float] = None
    cpu_system_utilization: Optional[float] = None
    memory_usage_peak_mb: Optional[float] = None
    memory_allocations: Optional[int] = None
    file_read_bytes: Optional[int] = None
    file_write_bytes: Optional[int] = None
    io_wait_time_seconds: Optional[float] = None
    network_data_sent_bytes: Optional[int] = None
    network_data_received_bytes: Optional[int] = None
    exceptions_raised: Optional[int] = None
    id: str = field(default_factory=_new_id)
    status: str = STATUS_OK
    exception_type: Optional[str] = None
    exception_message: Optional[str] = None
    host: str = field(default_factory=this_host)
    pid: int = field(default_factory=os.getpid)
    python_version: str = field(default_factory=this_python)
    parameters: Dict[str, Any] = field(default_factory=dict)
    tags: Dict[str, str] = field(default_factory=dict)
    missing: Dict[str, str] = field(default_factory=dict)
    sources: Dict[str, str] = field(default_factory=dict)
    resources: Optional[Dict[str, np.ndarray]] = None
    resources_missing: Dict[str, str] = field(default_factory=dict)
    stacks: Optional[StackProfile] = None
    memory: Optional[Any] = None        # dprof.memory.MemoryProfile

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def _from_measurement(cls, **values: Any) -> "Profile":
        """Build a record without running ``validate()``.

        Only for dprof's own recorder, which builds every value from measured numbers
        of the right types; validation costs about 20 us, close to half of the
        decorator's per-call budget. What validation would still catch from a
        measurement is handled here: a None metric gets its ``missing`` reason, and a
        negative delta (a counter that was reset under us) becomes missing instead
        of a wrong number. Tests check that every record made this way passes
        ``validate()``.
        """
        obj = cls.__new__(cls)
        state = obj.__dict__
        state.update(_PLAIN_DEFAULTS)
        for name, factory in _FACTORY_DEFAULTS:
            if name not in values:
                state[name] = factory()
        state.update(values)
        missing = obj.missing
        for name in METRICS:
            value = getattr(obj, name)
            if value is None:
                if name not in missing:
                    missing[name] = NOT_MEASURED
            elif value < 0:
                missing[name] = (f"the counter went backwards during the task "
                                 f"(delta {value}); it was reset or wrapped")
                object.__setattr__(obj, name, None)
        return obj

    # -- validation -------------------------------------------------------------
    def validate(self) -> None:
        """Check every field and normalise types; raise ``ValueError``/``TypeError``
        naming the field that is wrong. Called on construction; call it again after
        changing fields by hand."""
        _check_text("process_name", self.process_name, allow_empty=False)
        _check_text("env", self.env)
        _check_text("stage", self.stage)
        _check_text("id", self.id, allow_empty=False)
        self.task_start_time = _utc("task_start_time", self.task_start_time)
        self.task_end_time = _utc("task_end_time", self.task_end_time)
        if self.task_end_time < self.task_start_time:
            raise ValueError(f"Profile.task_end_time ({self.task_end_time.isoformat()}) is "
                             f"before task_start_time ({self.task_start_time.isoformat()})")
        if self.runtime_seconds is None and "runtime_seconds" not in self.missing:
            self.runtime_seconds = (self.task_end_time - self.task_start_time).total_seconds()

        if self.status not in STATUSES:
            raise ValueError(f"Profile.status must be one of {STATUSES}, got {describe(self.status)}")
        if self.status == STATUS_OK and self.exception_type is not None:
            raise ValueError("Profile.exception_type is set but status is 'ok'; "
                             "a run that raised has status 'failed'")
        _check_text("exception_type", self.exception_type, optional=True)
        _check_text("exception_message", self.exception_message, optional=True)
        _check_text("host", self.host)
        _check_text("python_version", self.python_version)
        self.pid = _check_int("pid", self.pid)
        for name, limit in TEXT_LIMITS.items():
            value = getattr(self, name)
            if value is not None and len(value) > limit:
                raise ValueError(f"Profile.{name} is {len(value)} characters long; "
                                 f"the limit is {limit}")

        self.missing = _check_str_dict("missing", self.missing)
        self.sources = _check_str_dict("sources", self.sources)
        self.tags = _check_str_dict("tags", self.tags)
        for name in list(self.missing) + list(self.sources):
            if name not in PROVENANCE_NAMES:
                raise ValueError(f"Profile.missing/sources name {name!r}, which is neither "
                                 f"a metric nor an attachment; allowed: {PROVENANCE_NAMES}")
        for name in FLOAT_METRICS:
            self._check_metric(name, _check_float)
        for name in COUNT_METRICS:
            self._check_metric(name, _check_int)
        # Utilizations are not clamped to 1.0: a value above it means cpu_cores was
        # underestimated, and hiding that would hide a measurement problem.
        if self.cpu_cores is not None and self.cpu_cores <= 0:
            raise ValueError(f"Profile.cpu_cores must be > 0, got {self.cpu_cores}")

        if not isinstance(self.parameters, dict):
            raise TypeError(f"Profile.parameters must be a dict, got "
                            f"{type(self.parameters).__name__}")
        try:
            json.dumps(self.parameters, allow_nan=False)
        except RecursionError:
            raise ValueError("Profile.parameters is nested too deeply to store") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Profile.parameters must be JSON-safe (str keys; str, "
                             f"int, finite float, bool, None, lists, dicts): {exc}") from None
        self.resources = _check_resources(self.resources)
        self.resources_missing = _check_resources_missing(self.resources_missing,
                                                          self.resources)
        if self.stacks is not None and not isinstance(self.stacks, StackProfile):
            raise TypeError(f"Profile.stacks must be a StackProfile or None, got "
                            f"{type(self.stacks).__name__}")
        if self.memory is not None:
            from dprof.memory.model import MemoryProfile
            if not isinstance(self.memory, MemoryProfile):
                raise TypeError(f"Profile.memory must be a MemoryProfile or None, got "
                                f"{type(self.memory).__name__}")

    def _check_metric(self, name: str, convert) -> None:
        value = getattr(self, name)
        if value is None:
            self.missing.setdefault(name, NOT_MEASURED)
            return
        if name in self.missing:
            raise ValueError(f"Profile.{name} = {value!r} but missing[{name!r}] says it "
                             f"could not be measured ({self.missing[name]!r}); "
                             f"a missing metric must be None")
        value = convert(name, value)
        if value < 0:
            raise ValueError(f"Profile.{name} must not be negative, got {value}")
        setattr(self, name, value)

    # -- display in Jupyter (built by dprof.jupyter.display, imported when shown) --
    def _repr_html_(self) -> str:
        from dprof.jupyter.display import profile_html
        return profile_html(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        from dprof.jupyter.display import pretty, profile_text
        pretty(profile_text(self), printer, cycle)

    # -- reading -----------------------------------------------------------------
    @property
    def failed(self) -> bool:
        return self.status == STATUS_FAILED

    def metrics(self) -> Dict[str, Any]:
        """Metric name -> value (``None`` for missing ones), in a stable order."""
        return {name: getattr(self, name) for name in METRICS}

    # -- serialisation -----------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        """A JSON-safe dict (``json.dumps(allow_nan=False)`` works) that
        :meth:`from_dict` turns back into an equal Profile. Datetimes are ISO 8601
        strings in UTC; resource columns are base64 of little-endian float64 bytes
        (exact, NaN included); stacks use ``StackProfile.to_dict``."""
        out: Dict[str, Any] = {"format": DICT_FORMAT}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif f.name == "resources":
                value = None if value is None else {  # arrays: numpy is loaded
                    "encoding": _RESOURCE_ENCODING,
                    "columns": {name: base64.b64encode(arr.astype("<f8").tobytes()).decode("ascii")
                                for name, arr in value.items()},
                }
            elif f.name in ("stacks", "memory"):
                value = None if value is None else value.to_dict()
            elif isinstance(value, dict):
                value = json.loads(json.dumps(value))   # a deep, JSON-shaped copy
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Profile":
        """Build a Profile from :meth:`to_dict` output (validated like any Profile).

        Any input that is not such a dict raises :class:`dprof.ProfileFormatError`
        (a ValueError) whose message and ``field`` name the field that was wrong, and
        no other exception: the input may be a file someone handed to ``dprof view``."""
        need_mapping("profile", data)
        if data.get("format") != DICT_FORMAT:
            raise ProfileFormatError("format", f"unsupported profile dict format "
                                     f"{describe(data.get('format'))}; this dprof reads format "
                                     f"{DICT_FORMAT}")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known - {"format"}
        if unknown:
            raise ProfileFormatError(sorted(map(str, unknown))[0],
                                     f"unknown profile fields {sorted(map(str, unknown))}")
        for name in ("process_name", "task_start_time", "task_end_time"):
            need_key("", data, name)
        kwargs = {k: v for k, v in data.items() if k != "format"}
        for name in ("task_start_time", "task_end_time"):
            kwargs[name] = _parse_time(name, need_str(name, kwargs[name]))
        res = kwargs.get("resources")
        if res is not None:
            kwargs["resources"] = _decode_resources(res)
        if kwargs.get("stacks") is not None:
            kwargs["stacks"] = StackProfile.from_dict(kwargs["stacks"], "stacks")
        if kwargs.get("memory") is not None:
            from dprof.memory.model import MemoryProfile
            kwargs["memory"] = MemoryProfile.from_dict(kwargs["memory"], "memory")
        # resources_missing came after format 1's first release: a dict without it
        # is an older dprof's and loads with no reasons (the field's default)
        for name in ("parameters", "tags", "missing", "sources", "resources_missing"):
            if name in kwargs:
                kwargs[name] = dict(need_mapping(name, kwargs[name]))
        try:
            return cls(**kwargs)
        except (TypeError, ValueError, OverflowError) as exc:
            # validate()'s messages start "Profile.<field>": keep that field's name
            text = str(exc)
            name = text[len("Profile."):].split(" ", 1)[0].split("[")[0].rstrip(":,.") \
                if text.startswith("Profile.") else "profile"
            raise ProfileFormatError(name, text) from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Profile):
            return NotImplemented
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name == "resources":
                if (a is None) != (b is None):
                    return False
                if a is not None and (list(a) != list(b) or any(
                        a[k].tobytes() != b[k].tobytes() for k in a)):
                    return False
            elif f.name in ("stacks", "memory"):
                if (a is None) != (b is None) or (a is not None and a.to_dict() != b.to_dict()):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # mutable record


# -- helpers ---------------------------------------------------------------------
def _check_text(name: str, value: Any, *, allow_empty: bool = True,
                optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise TypeError(f"Profile.{name} must be a str, got {type(value).__name__}")
    if not allow_empty and not value:
        raise ValueError(f"Profile.{name} must not be empty")


def _check_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"Profile.{name} must be an int, got {describe(value)}")
    value = int(value)
    if not -2**63 <= value < 2**63:
        raise ValueError(f"Profile.{name} = {value} does not fit in 64 bits")
    return value


def _check_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Profile.{name} must be a number, got {describe(value)}")
    try:
        value = float(value)
    except OverflowError:
        raise ValueError(f"Profile.{name} is too large for a float") from None
    if not math.isfinite(value):
        raise ValueError(f"Profile.{name} must be finite, got {value}; a metric that could "
                         f"not be measured is None with a reason in Profile.missing")
    return value


def _check_str_dict(name: str, value: Any) -> Dict[str, str]:
    if not isinstance(value, Mapping):
        raise TypeError(f"Profile.{name} must be a dict of str -> str, got "
                        f"{type(value).__name__}")
    for k, v in value.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"Profile.{name} must map str -> str; bad entry "
                            f"{describe(k)}: {describe(v)}")
    return dict(value)


def aware_utc(value: Any, what: str) -> datetime:
    """``value`` as a UTC datetime. An aware datetime is converted; a naive one is
    taken as the machine's local time (what ``datetime.now()`` gives, as the Task
    Profiler's examples pass it), the way ``datetime.astimezone`` reads it: a wall
    time that DST skips or repeats is resolved by its ``fold`` attribute. ``what``
    names the value in the error (e.g. "Profile.task_start_time")."""
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(value).__name__}")
    # naive -> local time; astimezone() does exactly that for a naive datetime
    return value.astimezone(timezone.utc)


def _utc(name: str, value: Any) -> datetime:
    return aware_utc(value, f"Profile.{name}")


def _parse_time(name: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
        value.astimezone(timezone.utc)      # a naive time at year 1 or 9999 overflows here
        return value
    except (ValueError, OverflowError):
        raise ProfileFormatError(name, f"{text!r} is not an ISO 8601 datetime that "
                                       f"converts to UTC") from None


def _decode_resources(res: Any) -> Dict[str, "np.ndarray"]:
    """The resource columns of a to_dict()'s ``resources`` (base64 float64)."""
    import binascii
    import numpy as np
    need_mapping("resources", res)
    if res.get("encoding") != _RESOURCE_ENCODING:
        raise ProfileFormatError("resources.encoding", f"must be {_RESOURCE_ENCODING!r}, "
                                 f"got {describe(res.get('encoding'))}")
    out = {}
    for name, b64 in need_mapping("resources.columns",
                                  need_key("resources", res, "columns")).items():
        where = f"resources.columns[{name!r}]"
        try:
            raw = base64.b64decode(need_str(where, b64), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ProfileFormatError(where, f"is not base64: {exc}") from None
        if len(raw) % 8:
            raise ProfileFormatError(where, f"holds {len(raw)} bytes, not a whole number "
                                            f"of float64 values")
        out[name] = np.frombuffer(raw, dtype="<f8").astype(np.float64)
    return out


def _check_resources(value: Any) -> Optional[Dict[str, np.ndarray]]:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"Profile.resources must be a dict of column -> array or None, got "
                        f"{type(value).__name__}")
    if not value:
        return {}       # a run shorter than one sampling interval: no columns
    import numpy as np
    out: Dict[str, np.ndarray] = {}
    length = None
    for col, arr in value.items():
        if not isinstance(col, str) or not col:
            raise TypeError(f"Profile.resources column names must be non-empty str, got {col!r}")
        try:
            arr = np.ascontiguousarray(arr, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"Profile.resources[{col!r}] is not numeric: {exc}") from None
        if arr.ndim != 1:
            raise ValueError(f"Profile.resources[{col!r}] must be 1-D, has shape {arr.shape}")
        if length is not None and len(arr) != length:
            raise ValueError(f"Profile.resources columns differ in length: {col!r} has "
                             f"{len(arr)} samples, earlier columns {length}")
        length = len(arr)
        out[col] = arr
    return out


def _check_resources_missing(value: Any,
                             resources: Optional[Dict[str, np.ndarray]]) -> Dict[str, str]:
    """Reasons keyed by columns of ``resources``; none when there is no series."""
    value = _check_str_dict("resources_missing", value)
    if "" in value:
        raise ValueError("Profile.resources_missing has an empty column name")
    if resources is None:
        if value:
            raise ValueError(f"Profile.resources_missing names {sorted(value)} but "
                             f"resources is None; reasons belong to columns of a series")
        return value
    for col in value:
        if col not in resources:
            raise ValueError(f"Profile.resources_missing[{col!r}] names no column of "
                             f"resources (columns: {sorted(resources)})")
    return value


def datetime_to_us(value: datetime) -> int:
    """Exact microseconds since 1970-01-01T00:00:00Z of an aware datetime."""
    delta = value - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def us_to_datetime(us: int) -> datetime:
    """Inverse of :func:`datetime_to_us` (an aware UTC datetime)."""
    return _EPOCH + timedelta(microseconds=int(us))


def _field_defaults():
    from dataclasses import MISSING
    out = []
    for f in fields(Profile):
        default = None if f.default is MISSING else f.default
        factory = None if f.default_factory is MISSING else f.default_factory
        out.append((f.name, default, factory))
    return tuple(out)


#: (name, default, default_factory) of every Profile field, for _from_measurement.
_FIELD_DEFAULTS = _field_defaults()
_PLAIN_DEFAULTS = {name: default for name, default, factory in _FIELD_DEFAULTS
                   if factory is None}
_FACTORY_DEFAULTS = tuple((name, factory) for name, _, factory in _FIELD_DEFAULTS
                          if factory is not None)
