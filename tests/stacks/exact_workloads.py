"""Workloads for the GIL-free reader's tests, with their hot lines marked.

Kept in their own module so that a test can find a marked line's number and a
line's share is not disturbed by the test's own code.
"""


def helper(x):
    return x * x + 1   # HELPER-BODY


def call_helper(n):
    s = 0
    for i in range(n):
        s += helper(i)   # CALL-LINE
    return s


def heavy_and_light(n):
    s = 0
    for i in range(n):
        t = ((i * 3 + 1) * (i ^ 5) + (i * 7) % 11 + (i << 2) - (i >> 1)) * ((i | 3) - (i & 6)) % 1000003  # HEAVY
        s += t   # LIGHT
    return s


def recurse(depth):
    if depth <= 0:
        return 0
    return recurse(depth - 1) + 1


def generate(n):
    for i in range(n):
        yield helper(i)
