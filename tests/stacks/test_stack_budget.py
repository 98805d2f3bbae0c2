"""The stack sampler's overhead budget: how it paces ticks (csrc/stacks.c,
dprof_budget_update), against a pure-Python twin and against the promise it makes:
over any stretch of the run, the ticks cost at most the budget's share of it."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dprof import _native

pytestmark = pytest.mark.native

MAX_PERIOD = 1_000_000_000
START_ALLOWANCE = 2_000_000     # the first ticks' cost that is not paced, in all


def twin_periods(budget, base, ticks):
    """The pacing rule in Python: a tick is paid for by cost / budget of time, from
    the later of its start and the instant the earlier ones were paid for; the first
    ticks' cost, up to START_ALLOWANCE in all, is not paced."""
    paid_until, out, allowance = 0, [], START_ALLOWANCE
    for start, cost in ticks:
        if budget <= 0:
            out.append(base)
            continue
        allowed = min(cost, allowance)
        allowance -= allowed
        cost -= allowed
        pay = min(cost / budget, MAX_PERIOD)
        paid_until = max(paid_until, start) + int(pay)
        paid_until = min(paid_until, start + MAX_PERIOD)
        out.append(max(paid_until - start, base))
    return out


def run(budget, base, costs, start=1_000_000):
    """Ticks as the sampler takes them without jitter: each starts one period after
    the one before."""
    ticks = []
    for cost in costs:
        ticks.append((start, cost))
        start += _native.stack_budget_periods(budget, base, ticks)[-1]
    return ticks, _native.stack_budget_periods(budget, base, ticks)


@settings(max_examples=200, deadline=None)
@given(budget=st.sampled_from([0.0, 0.001, 0.01, 0.05]),
       base=st.integers(100_000, 20_000_000),
       ticks=st.lists(st.tuples(st.integers(0, 10**10), st.integers(0, 50_000_000)),
                      max_size=40))
def test_the_native_pacing_matches_its_python_twin(budget, base, ticks):
    ticks = sorted(ticks)
    assert _native.stack_budget_periods(budget, base, ticks) == twin_periods(budget, base,
                                                                             ticks)


@settings(max_examples=100, deadline=None)
@given(costs=st.lists(st.integers(0, 5_000_000), min_size=2, max_size=60))
def test_any_stretch_of_ticks_costs_at_most_the_budget(costs):
    budget, base = 0.01, 10_000_000          # 1 %, 100 Hz; a tick costs under 10 ms
    ticks, _ = run(budget, base, costs)
    starts = [s for s, _ in ticks]
    for i in range(len(ticks)):
        spent = 0
        for j in range(i + 1, len(ticks)):
            spent += ticks[j - 1][1]
            assert spent <= budget * (starts[j] - starts[i]) + START_ALLOWANCE + (j - i), (i, j)


def test_the_first_ticks_of_a_short_run_keep_the_requested_rate():
    # a 0.1 s run whose first ticks intern code objects and open thread files
    # (450 us each): 100 Hz until the allowance is spent, then paced
    budget, base = 0.01, 10_000_000
    _, periods = run(budget, base, [450_000] * 6)
    assert periods[:4] == [base] * 4             # 1.8 ms of the 2 ms allowance
    assert periods[4] == 25_000_000              # 200 us left over, paid for by 25 ms
    assert periods[5] == 45_000_000


def test_one_expensive_tick_is_paid_for_and_then_the_full_rate_resumes():
    # once the allowance is spent (the first tick), a tick that interns new code
    # objects (470 us here) is paid for; the next ones cost 70 us, under the 100 us
    # a 10 ms period allows at 1 %
    budget, base = 0.01, 10_000_000
    ticks, periods = run(budget, base, [START_ALLOWANCE, 470_000] + [70_000] * 20)
    assert periods[:2] == [base, 47_000_000]     # 470 us paid for by 47 ms
    assert periods[2:] == [base] * 20           # then 100 Hz again at once


def test_ticks_dearer_than_the_budget_allows_are_spaced_to_fit_it():
    budget, base = 0.01, 10_000_000
    _, periods = run(budget, base, [START_ALLOWANCE] + [150_000] * 10)
    assert periods[1:] == [15_000_000] * 10      # 150 us a tick: 66.7 Hz


def test_a_tick_too_dear_for_one_second_keeps_the_rate_at_one_hertz():
    _, periods = run(0.01, 10_000_000, [START_ALLOWANCE + 50_000_000, 50_000_000, 10_000])
    assert periods[:2] == [MAX_PERIOD, MAX_PERIOD]
    assert periods[2] <= MAX_PERIOD


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="budget must be in"):
        _native.stack_budget_periods(2.0, 10_000_000, [])
    with pytest.raises(ValueError, match=r"ticks\[1\]"):
        _native.stack_budget_periods(0.01, 10_000_000, [(1, 2), (3, -4)])
    with pytest.raises(TypeError, match="sequence"):
        _native.stack_budget_periods(0.01, 10_000_000, 5)
