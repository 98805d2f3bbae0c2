"""Workloads with a known answer for the stack-sampler accuracy tests.

Kept in their own module so the tests can find the line numbers of their hot lines.
"""
import hashlib
import random
import time


def helper(i):
    return i * i % 7


def with_helper(n):
    s = 0
    for i in range(n):
        s += helper(i)
    return s


def inlined(n):
    s = 0
    for i in range(n):
        s += i * i % 7
        s += i * i % 7   # about the cost of the helper's call
    return s


def pure_python(n):
    s = 0
    for i in range(n):
        s += i * i % 7   # HOT-LINE
    return s


def native_holding_gil(data):
    return sorted(data)


def native_releasing_gil(blob):
    return hashlib.sha256(blob).digest()


def sleeping(seconds):
    time.sleep(seconds)


def shuffled(n, seed=1):
    data = list(range(n))
    random.Random(seed).shuffle(data)
    return data


def spin_until(deadline):
    n = 0
    while time.perf_counter() < deadline:
        n += 1
    return n


def nap_until(deadline):
    while time.perf_counter() < deadline:
        time.sleep(0.01)
