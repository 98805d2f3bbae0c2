"""Shared pieces of the memory tests: run a function under the sampler and read
what its lines allocated."""
import sys

from dprof.memory import MemorySampler

SEED = 20260601


def sample(fn, *args, seed=SEED, **options):
    """(fn's result, MemoryProfile) with the sampler on around the call."""
    sampler = MemorySampler(seed=seed, **options)
    sampler.start()
    try:
        result = fn(*args)
    finally:
        profile = sampler.stop()
    return result, profile


def in_file(path):
    return lambda frame: frame.filename == path


def line_of(profile, fn, offset):
    """The by-line entry of fn's def line + offset (None when it allocated nothing
    that was sampled), attributing each stack to its innermost frame in fn's file."""
    code = fn.__code__
    key = f"{code.co_filename}:{code.co_firstlineno + offset}"
    for s in profile.by_line(in_file(code.co_filename)):
        if s.key == key:
            return s
    return None
