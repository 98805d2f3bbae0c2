"""Sampled allocation profiling: which lines allocate, what is live at the peak, what
is left at the end (leak candidates).

``MemorySampler`` drives the native sampler (csrc/memsample.c, hooks in
csrc/memsample_binding.c); ``MemoryProfile`` is what it hands back, the plain data a
Profile stores. docs/memory.md explains how it samples and what each number means.
"""
from dprof.memory.model import MemoryProfile, MemoryRow, KINDS
from dprof.memory.sampler import DEFAULT_MEAN, MemorySampler

__all__ = ["MemoryProfile", "MemoryRow", "MemorySampler", "DEFAULT_MEAN", "KINDS"]
