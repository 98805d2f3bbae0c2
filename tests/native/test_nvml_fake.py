"""dprof's NVML reader against a fake libnvidia-ml.so.1 with known readings.

There is no GPU here, so fake_nvml.c (two GPUs, known utilisation, memory,
temperature and power) is compiled into a shared library named
libnvidia-ml.so.1 and found through LD_LIBRARY_PATH by the reader's
dlopen(), in a fresh process (the dynamic loader reads LD_LIBRARY_PATH once at
start). The expected figures are computed here from the fake's per-device
values by the rules the reader documents (mean utilisation, summed memory and
power, the hottest temperature), not taken from dprof.
"""
import json
import math
import os
import shutil
import subprocess
import sys

import pytest

import dprof
from dprof.resources.profiler import native_unavailable_reason

pytestmark = [
    pytest.mark.native,
    pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)"),
    pytest.mark.skipif(native_unavailable_reason() is not None,
                       reason=f"native sampler: {native_unavailable_reason()}"),
]

HERE = os.path.dirname(os.path.abspath(__file__))
# the dprof this test imported, so that the child process imports the same one
DPROF_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(dprof.__file__)))
GPU_COLUMNS = ("gpu_util_percent", "gpu_mem_used_bytes", "gpu_mem_total_bytes",
               "gpu_temperature_c", "gpu_power_w")
MB = float(1 << 20)
GIB = float(1 << 30)

# fake_nvml.c's two devices: (util %, used B, total B, temperature C, power mW)
DEVICES = [(30, 1 * GIB, 16 * GIB, 55, 71500), (50, 3 * GIB, 16 * GIB, 67, 120250)]
EXPECTED = {
    "gpu_util_percent": sum(d[0] for d in DEVICES) / len(DEVICES),
    "gpu_mem_used_bytes": sum(d[1] for d in DEVICES),
    "gpu_mem_total_bytes": sum(d[2] for d in DEVICES),
    "gpu_temperature_c": max(d[3] for d in DEVICES),
    "gpu_power_w": sum(d[4] for d in DEVICES) / 1000.0,
}

# Run in the child: a sample_once() row, and a ResourceProfiler run.
CHILD = r"""
import json, math, time
from dprof import _native, ResourceProfiler
cols = %r
s = _native.Sampler()
row = s.sample_once()
with ResourceProfiler(interval=0.01, backend="native") as rp:
    time.sleep(0.25)        # past the 0.1 s period of the system-wide readings
series = {c: sorted({v for v in rp.samples[c].tolist() if not math.isnan(v)}) for c in cols}
print(json.dumps({
    "row": {c: None if math.isnan(row[c]) else row[c] for c in cols},
    "sampler_missing": {c: r for c, r in s.missing().items() if c in cols},
    "series": series,
    "series_missing": {c: r for c, r in rp.samples.missing.items() if c in cols},
    "gpu_stats": rp.results["gpu_stats"],
    "errors": rp.results["sampler_errors"],
    "last_error": rp.results["sampler_last_error"],
}))
""" % (GPU_COLUMNS,)


def fake_nvml(tmp_path, *defines):
    """A directory holding the fake libnvidia-ml.so.1 built with ``-D`` defines."""
    lib_dir = tmp_path / "nvml"
    lib_dir.mkdir()
    cmd = ["cc", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror",
           *(f"-D{d}" for d in defines), os.path.join(HERE, "fake_nvml.c"),
           "-o", str(lib_dir / "libnvidia-ml.so.1")]
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    return lib_dir


def profile_with(lib_dir):
    env = dict(os.environ, LD_LIBRARY_PATH=str(lib_dir),
               PYTHONPATH=os.pathsep.join(filter(None, [DPROF_ROOT,
                                                        os.environ.get("PYTHONPATH")])))
    # cwd away from the checkout: `python -c` puts the cwd first on sys.path, and the
    # source tree there has no built extension when dprof is installed
    run = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         env=env, timeout=120, cwd=lib_dir)
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_known_readings_come_out_in_the_series_and_in_gpu_stats(tmp_path):
    out = profile_with(fake_nvml(tmp_path))
    assert out["sampler_missing"] == {} and out["series_missing"] == {}
    for column, value in EXPECTED.items():
        assert out["row"][column] == pytest.approx(value), column
        assert out["series"][column] == [pytest.approx(value)], column   # every sample
    gpu = out["gpu_stats"]
    assert gpu["available"] is True and gpu["missing"] == {}
    assert gpu["nvidia"] == pytest.approx({
        "utilization_percent": 40.0,
        "memory_used_mb": 4096.0,
        "memory_total_mb": 32768.0,
        "temperature_c": 67.0,              # the hotter of 55 and 67
        "power_w": 191.75,                  # (71500 + 120250) mW / 1000
    })
    assert gpu["temperature_c"] == pytest.approx({"mean": 67.0, "max": 67.0, "min": 67.0})
    assert gpu["power_w"] == pytest.approx({"mean": 191.75, "max": 191.75, "min": 191.75})
    assert out["errors"] == 0


def test_temperature_not_supported_is_missing_alone_with_its_reason(tmp_path):
    out = profile_with(fake_nvml(tmp_path, "FAKE_TEMPERATURE_RC=3"))
    reason = out["sampler_missing"]["gpu_temperature_c"]
    assert "NVML_ERROR_NOT_SUPPORTED" in reason and "nvmlDeviceGetTemperature" in reason
    assert set(out["sampler_missing"]) == {"gpu_temperature_c"}
    assert out["series_missing"] == {"gpu_temperature_c": reason}
    assert out["row"]["gpu_temperature_c"] is None and out["series"]["gpu_temperature_c"] == []
    gpu = out["gpu_stats"]
    assert gpu["nvidia"]["temperature_c"] is None
    assert gpu["missing"] == {"gpu_temperature_c": reason, "nvidia.temperature_c": reason}
    # the rest of the GPU reading is all there
    assert gpu["available"] is True
    assert gpu["nvidia"]["utilization_percent"] == pytest.approx(40.0)
    assert gpu["nvidia"]["memory_used_mb"] == pytest.approx(4096.0)
    assert gpu["nvidia"]["memory_total_mb"] == pytest.approx(32768.0)
    assert gpu["nvidia"]["power_w"] == pytest.approx(191.75)
    assert out["errors"] == 0               # switched off at open: no error per sample


def test_a_driver_without_temperature_and_power_functions_gives_the_rest(tmp_path):
    out = profile_with(fake_nvml(tmp_path, "FAKE_NO_OPTIONAL"))
    missing = out["sampler_missing"]
    assert set(missing) == {"gpu_temperature_c", "gpu_power_w"}
    assert "has no nvmlDeviceGetTemperature" in missing["gpu_temperature_c"]
    assert "has no nvmlDeviceGetPowerUsage" in missing["gpu_power_w"]
    nvidia = out["gpu_stats"]["nvidia"]
    assert nvidia["temperature_c"] is None and nvidia["power_w"] is None
    assert nvidia["utilization_percent"] == pytest.approx(40.0)
    assert out["gpu_stats"]["missing"]["nvidia.power_w"] == missing["gpu_power_w"]


def test_power_failing_while_sampling_is_nan_and_counted_not_the_whole_reading(tmp_path):
    # the probe at open succeeds, every later call answers GPU_IS_LOST (15)
    out = profile_with(fake_nvml(tmp_path, "FAKE_POWER_LOST"))
    assert out["sampler_missing"] == {}     # it worked when opened: not "missing"
    assert out["series"]["gpu_power_w"] == []
    assert out["series"]["gpu_temperature_c"] == [67.0]
    assert out["series"]["gpu_util_percent"] == [40.0]
    assert out["errors"] > 0 and "NVML error 15" in out["last_error"]
    gpu = out["gpu_stats"]
    assert gpu["nvidia"]["power_w"] is None and gpu["nvidia"]["temperature_c"] == 67.0
    assert "sampler_last_error" in gpu["missing"]["nvidia.power_w"]
    assert not math.isnan(gpu["nvidia"]["memory_used_mb"])
