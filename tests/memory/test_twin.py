"""The native sampler's decisions against the pure-Python twin (tests/memory/twin.py)."""
import random

import pytest

from dprof import _native
from twin import Twin, draws

pytestmark = pytest.mark.native


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**64 - 1])
@pytest.mark.parametrize("mean", [1.0, 100.0, 524288.0])
def test_draw_sequence_matches_the_twin(seed, mean):
    assert _native.memsample_draws(seed, mean, 2000) == draws(seed, mean, 2000)


@pytest.mark.parametrize("through_hooks", [False, True], ids=["engine", "hooks"])
def test_weights_match_the_twin_over_mixed_sizes(through_hooks):
    # "hooks": the allocator hooks' own path, whose countdown is capped at the
    # always-sampled size with the rest held aside; the sizes straddle that size.
    rng = random.Random(7)
    sizes = [rng.choice([8, 56, 1000, 100_000, 524_287, 524_288, 600_000, 3 << 20])
             for _ in range(50_000)]
    twin = Twin(99, 524288.0)
    expected = [twin.weight(s) for s in sizes]
    assert _native.memsample_decide(99, 524288.0, sizes, through_hooks) == expected


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_the_hooks_decide_small_blocks_as_the_twin_does(seed):
    # Only small blocks: every crossing of a draw above the cap passes through the
    # slow path without a sample, which must leave the decisions unchanged.
    rng = random.Random(seed)
    sizes = [rng.choice([16, 48, 512, 4096, 65_536]) for _ in range(200_000)]
    twin = Twin(seed, 65536.0)
    expected = [twin.weight(s) for s in sizes]
    assert sum(1 for w in expected if w) > 100
    assert _native.memsample_decide(seed, 65536.0, sizes, True) == expected


def test_draws_have_the_configured_mean():
    gaps = _native.memsample_draws(5, 4096.0, 200_000)
    mean = sum(gaps) / len(gaps)
    assert abs(mean - 4096.0) / 4096.0 < 0.01       # sd of the mean: 0.22%


def test_the_weights_are_unbiased_for_every_size():
    # E[weight] = size. Below the mean the sampled bytes are a Poisson count of
    # sample points times the mean: sd sqrt(total * mean); 4 sd is the bound. At or
    # above the mean every allocation is recorded with its exact size.
    mean = 524288.0
    for size in (24, 4000, 300_000, 524_287):
        n = min(max(1, 2_000_000_000 // size), 400_000)
        total = size * n
        w = _native.memsample_decide(3, mean, [size] * n)
        assert abs(sum(w) - total) < 4 * (total * mean) ** 0.5, size
    for size in (524_288, 2_000_000):
        assert _native.memsample_decide(3, mean, [size] * 10) == [size] * 10
