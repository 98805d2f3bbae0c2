"""KeptFile: a /proc file kept open must be the calling process's own, across fork."""
from __future__ import annotations

import os
import sys
import threading

import pytest

from dprof._procfile import KeptFile

pytestmark = [pytest.mark.core,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]


def _pid_in_status(data: bytes) -> int:
    line = next(line for line in data.splitlines() if line.startswith(b"Pid:"))
    return int(line.split()[1])


def test_a_forked_child_reads_its_own_proc_self_not_its_parents():
    status = KeptFile("/proc/self/status")
    assert _pid_in_status(status.read()) == os.getpid()     # opened in the parent
    parent_fd = status.fd
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:                                          # pragma: no cover - child
        try:
            os.close(read_end)
            seen = _pid_in_status(status.read())
            reopened = status.fd != parent_fd or status.pid == os.getpid()
            os.write(write_end, f"{seen} {os.getpid()} {int(reopened)}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        seen, own, reopened = map(int, fh.read().split())
    os.waitpid(child, 0)
    assert seen == own != os.getpid() and reopened == 1
    assert _pid_in_status(status.read()) == os.getpid()     # the parent's is untouched
    status.close()
    assert status.fd is None


def test_threads_share_one_descriptor_and_a_closed_file_reopens():
    status = KeptFile("/proc/self/status")
    fds, errors = [], []

    def reader():
        try:
            for _ in range(200):
                assert _pid_in_status(status.read()) == os.getpid()
            fds.append(status.fd)
        except Exception as exc:    # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(fds)) == 1
    status.close()
    assert _pid_in_status(status.read()) == os.getpid() and status.fd is not None


def test_a_file_that_cannot_be_opened_raises_oserror_each_time():
    missing = KeptFile("/proc/self/no-such-file")
    for _ in range(2):
        with pytest.raises(OSError):
            missing.read()
    assert missing.fd is None
