"""Stack profiles with known numbers, built by hand, for the report tests.

The user's code is a real file (so that linecache can read its lines); the library
frame is a real stdlib file. Total time is 10 s, so seconds * 10 = percent:

  thread 1  main:2 > work:5                    cpu_python 3.0 s  cpu_native 1.0 s
  thread 1  main:3 > load:7 > json decoder     wait_io 2.0 s     cpu_python 1.0 s
  thread 2  json decoder (no user frame)       wait_sleep 1.0 s
  thread 2  rec:9 > rec:9 > rec:9              cpu_python 2.0 s
"""
import os
import sysconfig

from dprof.stacks.model import Frame, StackProfile

APP_SOURCE = """\
def main():
    work()
    load()
def work():
    total = sum(range(10))
def load():
    return json.loads(data)
def rec(n):
    return rec(n - 1) if n else 0
"""

LIBRARY_FILE = os.path.join(sysconfig.get_paths()["stdlib"], "json", "decoder.py")


class Known:
    """The frames of the known profile, by name."""

    def __init__(self, app: str):
        self.app = app
        self.main_work = Frame(app, "main", 2)
        self.main_load = Frame(app, "main", 3)
        self.work = Frame(app, "work", 5)
        self.load = Frame(app, "load", 7)
        self.rec = Frame(app, "rec", 9)
        self.decode = Frame(LIBRARY_FILE, "decode", 337)

    def profile(self) -> StackProfile:
        p = StackProfile(duration_seconds=8.0, requested_hz=100.0, effective_hz=100.0)
        p.add(1, [self.main_work, self.work], "cpu_python", 3.0, 300)
        p.add(1, [self.main_work, self.work], "cpu_native", 1.0, 100)
        p.add(1, [self.main_load, self.load, self.decode], "wait_io", 2.0, 200)
        p.add(1, [self.main_load, self.load, self.decode], "cpu_python", 1.0, 100)
        p.add(2, [self.decode], "wait_sleep", 1.0, 100)
        p.add(2, [self.rec, self.rec, self.rec], "cpu_python", 2.0, 200)
        p.thread_names = {1: "MainThread", 2: "worker"}
        return p
