"""The Profile record: validation with clear errors, missing-with-a-reason, and an exact
JSON round trip."""
from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from dprof.record import (METRICS, NOT_MEASURED, Profile, datetime_to_us,
                           us_to_datetime)
from dprof.stacks import Frame, StackProfile

pytestmark = pytest.mark.core

T0 = datetime(2024, 3, 1, 8, 30, 0, 123456, tzinfo=timezone.utc)


def make(**kw):
    base = dict(process_name="job", task_start_time=T0, task_end_time=T0 + timedelta(seconds=2))
    base.update(kw)
    return Profile(**base)


def test_defaults_identity_and_missing_reasons():
    p = make(file_read_bytes=10, missing={"cpu_cores": "no affinity on this OS"})
    assert len(p.id) == 32 and int(p.id, 16) >= 0
    assert make().id != p.id
    assert p.status == "ok" and p.env == "default" and p.stage == "default"
    assert p.runtime_seconds == 2.0                    # from the timestamps when not given
    assert p.missing["cpu_cores"] == "no affinity on this OS"
    # every None metric has a reason; measured ones have none
    for name in METRICS:
        assert (getattr(p, name) is None) == (name in p.missing), name
    assert p.missing["memory_allocations"] == NOT_MEASURED
    assert "file_read_bytes" not in p.missing


def test_times_are_normalised_to_utc():
    tz = timezone(timedelta(hours=-7))
    p = make(task_start_time=T0.astimezone(tz), task_end_time=(T0 + timedelta(seconds=1)).astimezone(tz))
    assert p.task_start_time.utcoffset() == timedelta(0) and p.task_start_time == T0
    with pytest.raises(TypeError, match="task_start_time must be a datetime"):
        make(task_start_time="2024-01-01")
    with pytest.raises(ValueError, match="before task_start_time"):
        make(task_end_time=T0 - timedelta(seconds=1))


@pytest.mark.parametrize("kwargs, error, pattern", [
    (dict(runtime_seconds=-1.0), ValueError, "runtime_seconds must not be negative"),
    (dict(status="crashed"), ValueError, "status must be one of"),
    (dict(file_read_bytes=1.5), TypeError, "file_read_bytes must be an int"),
    (dict(file_read_bytes=True), TypeError, "file_read_bytes must be an int"),
    (dict(cpu_user_utilization=float("nan")), ValueError, "must be finite"),
    (dict(cpu_cores=0.0), ValueError, "cpu_cores must be > 0"),
    (dict(memory_usage_peak_mb="12"), TypeError, "memory_usage_peak_mb must be a number"),
    (dict(file_write_bytes=5, missing={"file_write_bytes": "no io"}), ValueError,
     "a missing metric must be None"),
    (dict(missing={"colour": "n/a"}), ValueError, "neither a metric nor an attachment"),
    (dict(exception_type="ValueError"), ValueError, "status is 'ok'"),
    (dict(process_name=""), ValueError, "process_name must not be empty"),
    (dict(process_name="x" * 256), ValueError, "process_name is 256 characters"),
    (dict(tags={"a": 1}), TypeError, "tags must map str -> str"),
    (dict(parameters={"f": object()}), ValueError, "parameters must be JSON-safe"),
    (dict(parameters={"x": float("inf")}), ValueError, "parameters must be JSON-safe"),
    (dict(resources={"a": [1.0, 2.0], "b": [1.0]}), ValueError, "differ in length"),
    (dict(resources={"a": [[1.0]]}), ValueError, "must be 1-D"),
    (dict(stacks={"frames": []}), TypeError, "stacks must be a StackProfile"),
    (dict(resources={"t": [0.0]}, resources_missing={"gpu_util_percent": "no GPU"}),
     ValueError, r"resources_missing\['gpu_util_percent'\] names no column"),
    (dict(resources_missing={"gpu_util_percent": "no GPU"}), ValueError,
     "resources_missing names .*gpu_util_percent.* but resources is None"),
    (dict(resources={"t": [0.0]}, resources_missing={"t": 1}), TypeError,
     "resources_missing must map str -> str"),
])
def test_invalid_fields_raise_errors_that_name_them(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        make(**kwargs)


def test_numpy_scalars_are_accepted_and_converted():
    p = make(file_read_bytes=np.int64(7), cpu_cores=np.float32(2.0), pid=np.int32(9))
    assert type(p.file_read_bytes) is int and type(p.cpu_cores) is float and type(p.pid) is int


def full_profile():
    sp = StackProfile(requested_hz=100.0)
    sp.add(7, [Frame("a.py", "f", 1), Frame("b.py", "g", 2)], "cpu_native", 0.1 + 0.2, 3)
    return make(
        status="failed", exception_type="pkg.Boom", exception_message="ünïcode \n message",
        runtime_seconds=1.0000000000000002, cpu_cores=3.5, cpu_user_utilization=1 / 3,
        cpu_system_utilization=0.0, memory_usage_peak_mb=123.456, memory_allocations=2**62,
        file_read_bytes=0, file_write_bytes=1, io_wait_time_seconds=5e-324,
        exceptions_raised=4, network_data_sent_bytes=None,
        missing={"network_data_sent_bytes": "netns shared"},
        sources={"io_wait_time_seconds": "dstate_samples"},
        parameters={"a": [1, 2.5, None, True, {"b": "c"}]}, tags={"k": "v"},
        resources={"t": [0.0, 0.1, 0.2], "x": [np.nan, -0.0, np.inf], "gpu": [np.nan] * 3},
        resources_missing={"gpu": "no NVIDIA GPU: libnvidia-ml.so.1 not found"}, stacks=sp)


def test_to_dict_is_json_safe_and_round_trips_exactly():
    p = full_profile()
    text = json.dumps(p.to_dict(), allow_nan=False)
    q = Profile.from_dict(json.loads(text))
    assert q == p
    assert q.task_start_time == T0 and q.task_start_time.tzinfo is not None
    assert q.resources["x"].tobytes() == np.array([np.nan, -0.0, np.inf]).tobytes()
    assert q.resources["x"].dtype == np.float64 and q.resources["x"].flags.writeable
    assert q.runtime_seconds == 1.0000000000000002 and q.memory_allocations == 2**62
    assert q.stacks.to_dict() == p.stacks.to_dict()
    assert q.resources_missing == {"gpu": "no NVIDIA GPU: libnvidia-ml.so.1 not found"}
    # the dict is a copy: changing it does not change the profile
    d = p.to_dict()
    d["parameters"]["a"].append(9)
    assert p.parameters["a"] == [1, 2.5, None, True, {"b": "c"}]


def test_equality_notices_any_difference():
    p = full_profile()
    q = Profile.from_dict(p.to_dict())
    q.resources["x"][1] = 0.0           # -0.0 -> 0.0: same by ==, different bytes
    assert q != p
    q = Profile.from_dict(p.to_dict())
    q.tags["k"] = "w"
    assert q != p


def test_dict_from_before_resources_missing_loads_with_no_reasons():
    d = full_profile().to_dict()
    del d["resources_missing"]          # what a dprof without the field wrote
    q = Profile.from_dict(d)
    assert q.resources_missing == {} and list(q.resources) == ["t", "x", "gpu"]
    # and a changed reason is a different profile
    q.resources_missing["gpu"] = "other"
    assert q != full_profile()


def test_from_dict_rejects_unknown_fields_and_formats():
    d = full_profile().to_dict()
    with pytest.raises(ValueError, match="unknown profile fields.*colour"):
        Profile.from_dict(dict(d, colour="red"))
    with pytest.raises(ValueError, match="format"):
        Profile.from_dict(dict(d, format=99))
    with pytest.raises(ValueError, match="ISO 8601"):
        Profile.from_dict(dict(d, task_start_time="yesterday"))


def test_microsecond_conversion_is_exact():
    for dt in (T0, datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
               datetime(2262, 4, 11, tzinfo=timezone.utc)):
        assert us_to_datetime(datetime_to_us(dt)) == dt
    assert datetime_to_us(datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc)) == 1_000_000
    assert not math.isnan(datetime_to_us(T0))


def test_default_ids_are_random_version_4_uuids():
    import uuid
    from dprof.record import _new_id
    ids = {_new_id() for _ in range(1000)}
    assert len(ids) == 1000
    for i in list(ids)[:50]:
        u = uuid.UUID(hex=i)
        assert u.version == 4 and u.variant == uuid.RFC_4122 and len(i) == 32
