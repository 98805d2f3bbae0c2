"""A real IPython kernel for the Jupyter tests, started with this tree's dprof.

``Kernel`` starts one with jupyter_client, runs code in it and collects the messages
that code produced on IOPub (display data, execute results, errors, stream text).
``start_kernel`` skips the calling test, with the reason, when the packages are missing
or the kernel cannot start.
"""
from __future__ import annotations

import os
import queue
from pathlib import Path
from typing import Dict, List

import pytest

import dprof

# the directory holding the dprof the tests import (the source tree or site-packages)
DPROF_PARENT = Path(dprof.__file__).resolve().parents[1]
TIMEOUT = 120


def kernel_env(tmp_path) -> Dict[str, str]:
    env = dict(os.environ)
    rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(DPROF_PARENT)] + rest)
    env["DPROF_DATABASE_URL"] = f"sqlite:///{tmp_path / 'profiles.db'}"
    env["DPROF_SPOOL_DIR"] = str(tmp_path / "spool")
    env.setdefault("MPLBACKEND", "Agg")
    return env


class Kernel:
    def __init__(self, manager, client):
        self.manager, self.client = manager, client

    def execute(self, code: str) -> List[dict]:
        """Run ``code``; the IOPub messages it caused, until the kernel is idle again."""
        msg_id = self.client.execute(code)
        reply = self.client.get_shell_msg(timeout=TIMEOUT)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.client.get_shell_msg(timeout=TIMEOUT)
        out = []
        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"kernel went quiet while running {code!r}")
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return out
            out.append(msg)

    def value(self, expression: str):
        """``repr(eval(expression))`` in the kernel, read back with ``ast.literal_eval``."""
        import ast
        msgs = self.execute(f"print(repr({expression}))")
        errors = [m for m in msgs if m["msg_type"] == "error"]
        assert not errors, errors[0]["content"]["evalue"]
        text = "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream")
        return ast.literal_eval(text.strip())

    def stop(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def skip_or_fail(why: str):
    """Skip with the reason; fail instead where CI requires the tools."""
    if os.environ.get("DPROF_REQUIRE_DOCS_TOOLS") == "1":
        pytest.fail(why + " (required in CI: DPROF_REQUIRE_DOCS_TOOLS=1)")
    pytest.skip(why)


def start_kernel(tmp_path) -> Kernel:
    try:
        from jupyter_client import KernelManager
        import ipykernel  # noqa: F401  (the kernel the manager starts)
    except ImportError as err:
        skip_or_fail(f"jupyter_client/ipykernel not installed ({err}); pip install '.[test]'")
    manager = KernelManager(kernel_name="python3")
    try:
        manager.start_kernel(env=kernel_env(tmp_path), cwd=str(tmp_path))
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=TIMEOUT)
    except Exception as err:
        try:
            manager.shutdown_kernel(now=True)
        except Exception:
            pass
        skip_or_fail(f"an IPython kernel could not start here: {err!r}")
    return Kernel(manager, client)
