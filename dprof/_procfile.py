"""A /proc file kept open between readings (opening it costs most of a reading).

"/proc/self" is resolved when the file is opened, so a forked child must not use its
parent's descriptor: the owning process id is kept with it and a child reopens the
file on first use (closing the inherited descriptor, which is its own copy). A
per-thread file (/proc/thread-self/...) belongs in a threading.local, and is closed
when its thread's locals go.
"""
from __future__ import annotations

import os
import threading
from typing import Optional


class KeptFile:
    _reopen = threading.Lock()      # one thread (re)opens; pread/write need no lock

    def __init__(self, path: str, flags: int = os.O_RDONLY):
        self.path, self.flags = path, flags | os.O_CLOEXEC
        self.fd: Optional[int] = None
        self.pid = -1

    def descriptor(self) -> int:
        """The descriptor, opened if needed in this process (OSError if it cannot be)."""
        pid = os.getpid()
        fd = self.fd if self.pid == pid else None
        if fd is None:
            with self._reopen:
                if self.fd is None or self.pid != pid:
                    self.close()
                    self.fd, self.pid = os.open(self.path, self.flags), pid
                fd = self.fd
        return fd

    def read(self, size: int = 65536) -> bytes:
        """The file's contents from its start (up to ``size`` bytes)."""
        return os.pread(self.descriptor(), size, 0)

    def close(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None

    __del__ = close
