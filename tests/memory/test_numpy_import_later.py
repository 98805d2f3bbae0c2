"""NumPy imported after a memory session began is hooked then, and dprof never
imports NumPy at start just to hook it (that alone slowed non-NumPy programs)."""
import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.native

PROGRAM = textwrap.dedent("""
    import json, sys
    from dprof.memory import MemorySampler
    sampler = MemorySampler(seed=3)
    sampler.start()
    imported_at_start = "numpy" in sys.modules
    def watching():
        return any(type(f).__name__ == "NumpyImportWatch" for f in sys.meta_path)
    armed_at_start = watching()
    if sys.argv[1] == "import":
        import numpy as np
        keep = [np.ones(1_000_000) for _ in range(40)]     # 320 MB of NumPy data
    else:
        keep = [bytearray(8_000_000) for _ in range(40)]   # 320 MB, no NumPy
    prof = sampler.stop()
    out = {"imported_at_start": imported_at_start, "reason": prof.numpy,
           "armed_at_start": armed_at_start, "armed_after": watching(),
           "sampled_bytes": prof.totals["allocated"]}
    if sys.argv[1] == "import":
        import numpy
        out["loader_is_numpys"] = type(numpy.__loader__).__name__ != "_HookAfterExec" \\
            and type(numpy.__spec__.loader).__name__ != "_HookAfterExec"
        out["numpy_works"] = float(numpy.arange(4).sum()) == 6.0
    print(json.dumps(out))
""")


def run(mode, tmp_path):
    done = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path,
                          env={**__import__("os").environ,
                               "PYTHONPATH": __import__("os").pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_numpy_imported_during_the_session_is_hooked_then(tmp_path):
    out = run("import", tmp_path)
    assert out["imported_at_start"] is False          # dprof did not import it
    assert out["reason"] is None                      # hooked at the program's import
    # 320 MB of array data seen (sampled, so within a generous bound)
    assert 0.7 * 320e6 <= out["sampled_bytes"] <= 1.5 * 320e6 + 50e6, out
    assert out["loader_is_numpys"] and out["numpy_works"]
    assert out["armed_at_start"] and not out["armed_after"]


def test_a_session_without_numpy_never_imports_it_and_says_so(tmp_path):
    out = run("none", tmp_path)
    assert out["imported_at_start"] is False
    assert out["reason"] == "NumPy was not imported while memory sampling ran"
    assert out["armed_at_start"] and not out["armed_after"]
    assert 0.7 * 320e6 <= out["sampled_bytes"] <= 1.5 * 320e6 + 50e6, out
