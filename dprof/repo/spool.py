"""The spool: profiles that could not be stored wait here, one JSON line each
(``Profile.to_dict()``), until the database can take them.

Appends and flushes hold an exclusive ``flock`` on the spool file, so processes
spooling and flushing at the same time neither interleave lines nor lose any.
A flush inserts the profiles whose ids are not stored yet (so a flush that was cut
short is simply repeated) and then empties the file. Lines that cannot be read back
are moved to ``<spool>.rejected`` rather than dropped. An append that fails (disk
full) truncates the file back to where it was; one that was killed mid-line leaves a
cut line, which the next append ends with a newline so that only that line is
unreadable.
"""
from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, List, Sequence

from dprof.record import Profile


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Spool({str(self.path)!r})"

    @contextmanager
    def _locked(self, create: bool) -> Iterator[int]:
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_APPEND | (os.O_CREAT if create else 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)   # also releases the lock

    def append(self, profiles: Sequence[Profile]) -> None:
        """Append profiles (raises OSError when the spool cannot be written, and
        then leaves the file as it was: a full disk cuts no line in half)."""
        payload = "".join(json.dumps(p.to_dict(), separators=(",", ":")) + "\n"
                          for p in profiles).encode("utf-8")
        with self._locked(create=True) as fd:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                # the last line was cut (a writer killed mid-append): end it, so that
                # it alone goes to .rejected and these profiles stay readable
                payload = b"\n" + payload
            try:
                view = memoryview(payload)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            except OSError:
                try:
                    os.ftruncate(fd, size)     # no half line left behind
                except OSError:
                    pass
                raise

    def pending(self) -> bool:
        """True when the spool holds something (cheap: one stat)."""
        try:
            return self.path.stat().st_size > 0
        except OSError:
            return False

    def read(self) -> List[Profile]:
        """The spooled profiles (unreadable lines skipped; see :meth:`flush`)."""
        if not self.pending():
            return []
        with self._locked(create=False) as fd:
            good, _ = self._parse(_read_all(fd))
        return good

    def flush(self, store: Callable[[List[Profile]], None]) -> int:
        """Hand every spooled profile to ``store`` (which must skip ids already
        stored, and raises if it cannot store), then empty the spool. Returns how
        many profiles were handed over."""
        if not self.pending():
            return 0
        with self._locked(create=False) as fd:
            good, bad = self._parse(_read_all(fd))
            if good:
                store(good)
            if bad:
                with open(str(self.path) + ".rejected", "ab") as rejected:
                    rejected.write(b"".join(line + b"\n" for line in bad))
            os.ftruncate(fd, 0)
            return len(good)

    @staticmethod
    def _parse(raw: bytes):
        good: List[Profile] = []
        bad: List[bytes] = []
        for line in raw.splitlines():
            if not line.strip():
                continue
            try:
                good.append(Profile.from_dict(json.loads(line)))
            except (ValueError, TypeError, KeyError):
                bad.append(line)
        return good, bad


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
