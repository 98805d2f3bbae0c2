"""Inputs shared by the sort-engine tests: seeded distributions and element
kinds (ints, floats, mixed int/float, str, objects comparable only through
__lt__)."""
import functools
import random

ALGORITHMS = ("bubble_sort", "insertion_sort", "selection_sort", "quick_sort",
              "merge_sort", "merge_sort_bottom_up", "heap_sort", "counting_sort",
              "radix_sort")
COMPARISON_SORTS = tuple(a for a in ALGORITHMS if a not in ("counting_sort", "radix_sort"))
PIVOTS = ("first", "last", "random", "median")
QUADRATIC = {"bubble_sort", "insertion_sort", "selection_sort"}
DISTRIBUTIONS = ("random", "sorted", "reversed", "nearly_sorted", "few_unique",
                 "all_equal", "organ_pipe")


def ints(n, distribution, seed=0, lo=-10**6, hi=10**6):
    rng = random.Random(seed)
    if distribution == "few_unique":
        values = [rng.randint(lo, hi) for _ in range(4)]
        return [rng.choice(values) for _ in range(n)]
    if distribution == "all_equal":
        return [7] * n
    data = [rng.randint(lo, hi) for _ in range(n)]
    if distribution == "random":
        return data
    data.sort()
    if distribution == "sorted":
        return data
    if distribution == "reversed":
        return data[::-1]
    if distribution == "nearly_sorted":
        for _ in range(max(1, n // 20)):
            if n >= 2:
                i, j = rng.randrange(n), rng.randrange(n)
                data[i], data[j] = data[j], data[i]
        return data
    if distribution == "organ_pipe":
        return data[0::2] + data[1::2][::-1]
    raise ValueError(distribution)


def as_kind(data, kind):
    """The int data as another element kind with the same order."""
    if kind == "int":
        return list(data)
    if kind == "float":
        return [x / 7.0 for x in data]
    if kind == "mixed":          # ints and floats alternating, exact < between them
        return [x if i % 2 else x + 0.5 for i, x in enumerate(data)]
    if kind == "str":
        return [f"{x + 2 * 10**6:08d}" for x in data]
    if kind == "ustr":           # non-Latin-1 code points: the non-memcmp str path
        return ["\u20ac" + chr(0x400 + (x % 300)) + str(x) for x in data]
    if kind == "object":
        return [Box(x) for x in data]
    if kind == "bigint":         # beyond int64: the rich-compare path
        return [x * 2**70 for x in data]
    raise ValueError(kind)


KINDS = ("int", "float", "mixed", "str", "ustr", "object", "bigint")


@functools.total_ordering
class Box:
    """Comparable only through __lt__ (and __eq__ for checking results)."""
    __slots__ = ("v", "tag")

    def __init__(self, v, tag=0):
        self.v = v
        self.tag = tag

    def __lt__(self, other):
        return self.v < other.v

    def __eq__(self, other):
        return isinstance(other, Box) and self.v == other.v

    __hash__ = None

    def __repr__(self):
        return f"Box({self.v!r}, {self.tag!r})"
