"""The pure-Python twins are themselves right: they sort as sorted() does, the
stable ones are stable, and their PRNG is the reference splitmix64. (Their counts
are pinned to the engines' by the other tests of this directory.)"""
import pytest

from sort_cases import ALGORITHMS, Box, ints
from twins import STABLE, SplitMix64, run_twin

pytestmark = pytest.mark.native


def test_splitmix64_reference_sequence():
    rng = SplitMix64(0)
    assert [rng.next() for _ in range(3)] == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4,
                                              0x06C45D188009454F]
    assert SplitMix64(-1).state == 2**64 - 1


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_twins_sort_and_stable_ones_are_stable(algorithm):
    for n in (0, 1, 2, 9, 200):
        data = ints(n, "few_unique", seed=n, lo=-3, hi=3)
        work = list(data)
        run_twin(algorithm, work)
        assert work == sorted(data)
    if algorithm in STABLE and algorithm not in ("counting_sort", "radix_sort"):
        boxes = [Box(v, i) for i, v in enumerate(ints(200, "few_unique", seed=1))]
        run_twin(algorithm, boxes)
        # tags are input positions: equal values must keep them increasing
        assert [(b.v, b.tag) for b in boxes] == sorted((b.v, b.tag) for b in boxes)
