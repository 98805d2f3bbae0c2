"""A child forked by a program under ``dprof run`` gets the program's own SIGTERM
disposition at once, not dprof's Python handler.

Inherited, a Python handler acts only at the child's next bytecode: a SIGTERM from
``Pool.terminate()`` that lands just before a worker blocks in ``sem_wait`` was never
handled and the worker waited forever (``with Pool(2): pass`` hung 1 run in 3 to 1
in 23 under ``dprof run``). Checked deterministically here: what the forked child
sees as its SIGTERM handler, for a program that set none and for one that set its own.
"""
import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.core

SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    def own(signum, frame):
        pass
    if sys.argv[1] == "own":
        signal.signal(signal.SIGTERM, own)
    parent = signal.getsignal(signal.SIGTERM)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        h = signal.getsignal(signal.SIGTERM)
        os.write(w, json.dumps({"default": h is signal.SIG_DFL,
                                "own": h is own}).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = json.loads(os.read(r, 1000))
    print(json.dumps({"parent_is_dprofs": parent is not signal.SIG_DFL and parent is not own,
                      **child}))
""")


@pytest.mark.parametrize("mode, want", [("none", {"default": True, "own": False}),
                                        ("own", {"default": False, "own": True})])
def test_a_forked_child_has_the_programs_sigterm_disposition(tmp_path, mode, want):
    script = tmp_path / "forks.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, "-m", "dprof", "run", "-q", "--no-store",
                           str(script), mode], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path,
                          env={**__import__("os").environ, "PYTHONWARNINGS":
                               "ignore:This process:DeprecationWarning"})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    if mode == "none":
        assert out["parent_is_dprofs"]          # dprof's handler is on in the program
    assert {k: out[k] for k in want} == want
