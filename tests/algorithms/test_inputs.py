"""The seeded input generators: pinned values (so a change of stream is caught), the
shape of every distribution, and bad arguments."""
from __future__ import annotations

import numpy as np
import pytest

from dprof.algorithms import inputs
from dprof.algorithms.inputs import DISTRIBUTIONS, KINDS, derive_seed, generate, splitmix64

pytestmark = pytest.mark.core

MASK = (1 << 64) - 1


def scalar_splitmix64(seed, count):
    """The textbook generator, one step at a time, as the reference."""
    out, state = [], seed
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        out.append(z ^ (z >> 31))
    return out


def test_splitmix64_matches_the_published_sequence_of_seed_zero():
    # the first outputs of splitmix64 from state 0, as published with the algorithm
    assert [int(x) for x in splitmix64(0, 3)] == [
        0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


@pytest.mark.parametrize("seed", [0, 1, 2026, 2**63 + 12345, MASK])
def test_vectorised_splitmix64_equals_the_scalar_reference(seed):
    assert [int(x) for x in splitmix64(seed, 200)] == scalar_splitmix64(seed, 200)


def test_pinned_inputs():
    # Pinned: any change here changes every stored comparison's inputs.
    assert derive_seed(42, 1000, 2) == 11021778120167600193
    assert generate("random", 5, "int", seed=2026) == [0, -2, 9, -5, 6]
    assert generate("random", 5, "float", seed=2026) == [
        0.4314795926073478, 0.03008328257405768, 0.16074369108599185,
        0.26449271388875595, 0.5674752164634314]
    assert generate("random", 5, "str", seed=2026) == [
        "kqxtglev", "kdunolwn", "jpgrrdib", "prgurngq", "esjwzips"]
    assert generate("nearly_sorted", 300, "int", seed=7)[:8] == [
        -599, -598, -594, -593, -592, -587, -579, -577]
    assert generate("few_unique", 8, "int", seed=7) == [9, -14, 1, -9, 1, -14, 4, -14]
    assert generate("all_equal", 3, "str", seed=7) == ["pzkkmbvl"] * 3


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_each_distribution_has_its_shape(distribution, kind):
    n = 1000
    data = generate(distribution, n, kind, seed=11)
    assert isinstance(data, list) and len(data) == n
    assert {type(x) for x in data} == {{"int": int, "float": float, "str": str}[kind]}
    assert data == generate(distribution, n, kind, seed=11)        # deterministic
    ordered = sorted(data)
    inversions_adjacent = sum(1 for a, b in zip(data, data[1:]) if b < a)
    if distribution == "random":
        assert data != generate(distribution, n, kind, seed=12)
        assert len(set(data)) > n // 2
        assert 300 < inversions_adjacent < 700
    elif distribution == "sorted":
        assert data == ordered
    elif distribution == "reversed":
        assert data == ordered[::-1]
    elif distribution == "nearly_sorted":
        assert sorted(data) == generate("sorted", n, kind, seed=11)
        assert 0 < inversions_adjacent <= 2 * (n // 100)
    elif distribution == "few_unique":
        assert 2 <= len(set(data)) <= 10
    else:
        assert len(set(data)) == 1
    if kind == "int":
        assert all(-2 * n <= x < 2 * n for x in data)
    elif kind == "float":
        assert all(0.0 <= x < 1.0 for x in data)
    else:
        assert all(len(x) == 8 and x.isalpha() and x.islower() for x in data)


@pytest.mark.parametrize("kind, dtype", [("int", np.int64), ("float", np.float64)])
def test_numpy_container_holds_the_same_values(kind, dtype):
    arr = generate("random", 500, kind, seed=3, container="numpy")
    assert isinstance(arr, np.ndarray) and arr.dtype == dtype and arr.flags.c_contiguous
    assert arr.tolist() == generate("random", 500, kind, seed=3)


def test_size_zero_and_one():
    assert generate("nearly_sorted", 0, "int") == []
    assert len(generate("nearly_sorted", 1, "float")) == 1


@pytest.mark.parametrize("call, match", [
    (lambda: generate("zipf", 10), "unknown distribution 'zipf'"),
    (lambda: generate("random", 10, "complex"), "unknown input kind 'complex'"),
    (lambda: generate("random", -1), "size must be a non-negative integer"),
    (lambda: generate("random", 1.5), "size must be a non-negative integer"),
    (lambda: generate("random", 10, seed=-1), "seed must be an integer"),
    (lambda: generate("random", 10, seed=True), "seed must be an integer"),
    (lambda: generate("random", 10, "str", container="numpy"), "str inputs come only"),
    (lambda: generate("random", 10, container="tuple"), "unknown container 'tuple'"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_streams_do_not_depend_on_numpy_random():
    # generating must not touch numpy's global generator
    np.random.seed(5)
    before = np.random.random()
    np.random.seed(5)
    generate("random", 100, "float", seed=1)
    assert np.random.random() == before
    assert inputs.splitmix64(9, 0).size == 0
