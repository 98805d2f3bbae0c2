"""Pure-Python twins of the native sort engines (csrc/sorts_template.h).

Each twin sorts the list `a` in place with the same algorithm as its C engine,
performs the same element operations in the same order, and counts them the same
way, so that the native counts can be checked for equality, not just plausibility.
The rule (docs/algorithms-native.md): every `a[i]` of the textbook code that reads
an element is a read, every store a write; a swap is 2 reads, 2 writes and 1 swap;
a move is one element copied to a temporary that is stored back, to or from an
auxiliary buffer, or shifted between slots; comparisons are the `<` between two
elements. The twins use plain local counters (no instrumented list), so they are
also the honest pure-Python baseline of benchmarks/algorithms.py.
"""

MASK64 = (1 << 64) - 1

# Counting sort's refusal bound, as csrc/sorts.h: span + 1 keys at most
# 16 * n + 2**20.
COUNTING_SPAN_FACTOR = 16
COUNTING_SPAN_BASE = 1 << 20


def _counts(comparisons=0, swaps=0, moves=0, reads=0, writes=0):
    return {"comparisons": comparisons, "swaps": swaps, "moves": moves,
            "reads": reads, "writes": writes}


class SplitMix64:
    """splitmix64, the PRNG of the "random" pivot: state starts at the seed."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def bubble_sort(a):
    cmp = swaps = reads = writes = 0
    end = len(a)
    while end > 1:
        swapped = False
        for i in range(end - 1):
            reads += 2
            cmp += 1
            if a[i + 1] < a[i]:
                a[i], a[i + 1] = a[i + 1], a[i]
                reads += 2
                writes += 2
                swaps += 1
                swapped = True
        if not swapped:
            break
        end -= 1
    return _counts(cmp, swaps, 0, reads, writes)


def insertion_sort(a):
    cmp = moves = reads = writes = 0
    for i in range(1, len(a)):
        key = a[i]
        reads += 1
        moves += 1
        j = i
        while j > 0:
            reads += 1
            cmp += 1
            if not key < a[j - 1]:
                break
            a[j] = a[j - 1]
            reads += 1
            writes += 1
            moves += 1
            j -= 1
        a[j] = key
        writes += 1
        moves += 1
    return _counts(cmp, 0, moves, reads, writes)


def selection_sort(a):
    cmp = swaps = reads = writes = 0
    n = len(a)
    for i in range(n - 1):
        m = i
        for j in range(i + 1, n):
            reads += 2
            cmp += 1
            if a[j] < a[m]:
                m = j
        if m != i:
            a[i], a[m] = a[m], a[i]
            reads += 2
            writes += 2
            swaps += 1
    return _counts(cmp, swaps, 0, reads, writes)


class _Tally:
    """Counters shared by the recursive twins."""
    __slots__ = ("comparisons", "swaps", "moves", "reads", "writes")

    def __init__(self):
        self.comparisons = self.swaps = self.moves = self.reads = self.writes = 0

    def as_dict(self):
        return _counts(self.comparisons, self.swaps, self.moves, self.reads, self.writes)


PIVOTS = ("first", "last", "random", "median")


def quick_sort(a, pivot="median", seed=0):
    if pivot not in PIVOTS:
        raise ValueError(f"unknown pivot strategy {pivot!r}")
    t = _Tally()
    rng = SplitMix64(seed)

    def swap(i, j):
        a[i], a[j] = a[j], a[i]
        t.reads += 2
        t.writes += 2
        t.swaps += 1

    def less(x, y):
        t.comparisons += 1
        return x < y

    def partition(lo, hi):
        p = lo
        if pivot == "last":
            p = hi
        elif pivot == "random":
            p = lo + rng.next() % (hi - lo + 1)
        elif pivot == "median":
            mid = lo + (hi - lo) // 2
            x, y, z = a[lo], a[mid], a[hi]
            t.reads += 3
            if less(x, y):
                if less(y, z):
                    p = mid
                else:
                    p = hi if less(x, z) else lo
            else:
                if less(x, z):
                    p = lo
                else:
                    p = hi if less(y, z) else mid
        if p != lo:
            swap(lo, p)
        pv = a[lo]
        t.reads += 1
        i, j = lo, hi
        while True:
            while True:
                t.reads += 1
                if not less(pv, a[j]):
                    break
                j -= 1
            while True:
                t.reads += 1
                if not less(a[i], pv):
                    break
                i += 1
            if i >= j:
                return j
            swap(i, j)
            i += 1
            j -= 1

    def segment(lo, hi):
        while lo < hi:
            j = partition(lo, hi)
            if j - lo + 1 <= hi - j:
                segment(lo, j)
                lo = j + 1
            else:
                segment(j + 1, hi)
                hi = j

    if len(a) >= 2:
        segment(0, len(a) - 1)
    return t.as_dict()


def _merge_runs(a, lo, mid, hi, t):
    tmp = a[lo:mid]
    nl = mid - lo
    t.reads += nl
    t.writes += nl
    t.moves += nl
    i, j, k = 0, mid, lo
    while i < nl and j < hi:
        t.reads += 2
        t.comparisons += 1
        if a[j] < tmp[i]:
            a[k] = a[j]
            j += 1
        else:
            a[k] = tmp[i]
            i += 1
        k += 1
        t.reads += 1
        t.writes += 1
        t.moves += 1
    rest = nl - i
    a[k:k + rest] = tmp[i:]
    t.reads += rest
    t.writes += rest
    t.moves += rest


def merge_sort(a):
    t = _Tally()

    def rec(lo, hi):
        if hi - lo < 2:
            return
        mid = lo + (hi - lo) // 2
        rec(lo, mid)
        rec(mid, hi)
        _merge_runs(a, lo, mid, hi, t)

    rec(0, len(a))
    return t.as_dict()


def merge_sort_bottom_up(a):
    t = _Tally()
    n = len(a)
    width = 1
    while width < n:
        lo = 0
        while lo + width < n:
            _merge_runs(a, lo, lo + width, min(lo + 2 * width, n), t)
            lo += 2 * width
        width *= 2
    return t.as_dict()


def heap_sort(a):
    t = _Tally()
    n = len(a)

    def sift(root, end):
        while 2 * root + 1 < end:
            child = 2 * root + 1
            if child + 1 < end:
                t.reads += 2
                t.comparisons += 1
                if a[child] < a[child + 1]:
                    child += 1
            t.reads += 2
            t.comparisons += 1
            if not a[root] < a[child]:
                return
            a[root], a[child] = a[child], a[root]
            t.reads += 2
            t.writes += 2
            t.swaps += 1
            root = child

    if n >= 2:
        for start in range((n - 2) // 2, -1, -1):
            sift(start, n)
        for end in range(n - 1, 0, -1):
            a[0], a[end] = a[end], a[0]
            t.reads += 2
            t.writes += 2
            t.swaps += 1
            sift(0, end)
    return t.as_dict()


def counting_span_limit(n):
    return COUNTING_SPAN_FACTOR * n + COUNTING_SPAN_BASE


def counting_sort(a, key=int):
    """Stable counting sort by key(x) (an int); raises ValueError where the engine
    refuses (too wide a span for n)."""
    n = len(a)
    if n == 0:
        return _counts()
    keys = [key(x) for x in a]
    lo, hi = min(keys), max(keys)
    if hi - lo >= counting_span_limit(n):
        raise ValueError(f"counting_sort: span {hi - lo} too wide for {n} elements")
    start = [0] * (hi - lo + 1)
    for k in keys:
        start[k - lo] += 1
    pos = 0
    for b, count in enumerate(start):
        start[b] = pos
        pos += count
    out = [None] * n
    for x, k in zip(a, keys):
        out[start[k - lo]] = x
        start[k - lo] += 1
    a[:] = out
    return _counts(0, 0, 2 * n, 4 * n, 2 * n)


def radix_sort(a, bits=64, signed=True, key=int):
    """LSD radix sort, 8-bit digits, of `bits`-bit keys key(x) (signed: offset by
    2**(bits - 1)); digits shared by every key are skipped, as the engine does."""
    n = len(a)
    if n == 0:
        return _counts()
    offset = 1 << (bits - 1) if signed else 0
    digits = bits // 8
    ukeys = [key(x) + offset for x in a]
    hist = [[0] * 256 for _ in range(digits)]
    for u in ukeys:
        for d in range(digits):
            hist[d][(u >> (8 * d)) & 0xFF] += 1
    items = list(zip(ukeys, a))
    passes = 0
    for d in range(digits):
        h = hist[d]
        if n in h:
            continue
        pos = 0
        for b in range(256):
            count = h[b]
            h[b] = pos
            pos += count
        out = [None] * n
        shift = 8 * d
        for item in items:
            b = (item[0] >> shift) & 0xFF
            out[h[b]] = item
            h[b] += 1
        items = out
        passes += 1
    if passes % 2 == 1:
        passes += 1             # the engine ends in its buffer and copies back
    a[:] = [x for _, x in items]
    return _counts(0, 0, n * passes, n * (1 + passes), n * passes)


TWINS = {
    "bubble_sort": bubble_sort,
    "insertion_sort": insertion_sort,
    "selection_sort": selection_sort,
    "quick_sort": quick_sort,
    "merge_sort": merge_sort,
    "merge_sort_bottom_up": merge_sort_bottom_up,
    "heap_sort": heap_sort,
    "counting_sort": counting_sort,
    "radix_sort": radix_sort,
}

STABLE = {"bubble_sort", "insertion_sort", "merge_sort", "merge_sort_bottom_up",
          "counting_sort", "radix_sort"}
INTEGER_ONLY = {"counting_sort", "radix_sort"}


def run_twin(algorithm, a, pivot="median", seed=0, bits=64, signed=True):
    """Sorts `a` in place with the twin of `algorithm`; returns its counts."""
    if algorithm == "quick_sort":
        return quick_sort(a, pivot, seed)
    if algorithm == "radix_sort":
        return radix_sort(a, bits, signed)
    return TWINS[algorithm](a)
