"""``compare()``: run algorithms on identical inputs, profile every run, store them.

For each size (smallest first) and iteration, one input is generated from
``(seed, size, iteration)`` and every algorithm sorts a copy of it, in an order
rotated by one each iteration (so that no algorithm always runs right after input
generation, or always last). Each run is profiled like a task, with the recorder of
``dprof.profile`` (runtime, CPU, peak memory, allocations, resources), and checked:
a result that is not the sorted input stops the comparison with an error naming the
algorithm. The runs are stored in ProfileRepo at the end, in one transaction, all
tagged with the comparison id (``stage="dprof.compare"``), so nothing is stored for
a comparison that failed.

Before each algorithm's first run at a size the runaway guard (``guard.py``)
predicts its time. Before anything runs, every (algorithm, size) is predicted from a
probe and the declared complexity, and a comparison with a run over ``time_limit`` is
refused with a RunawayError (nothing runs). During the run the predictions use the
sizes measured so far; a run predicted over the limit then is skipped, and the result
notes it. ``force=True`` turns the guard off.
"""
from __future__ import annotations

import importlib
import os
import sys
import warnings
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from dprof.algorithms import checks, guard, inputs
from dprof.algorithms.errors import AlgorithmError, BadResultError, RunawayError
from dprof.algorithms.plan import Entry, Plan, make_plan
from dprof.algorithms.result import Comparison
from dprof.algorithms.spec import COUNT_NAMES

__all__ = ["compare", "STAGE", "TAG", "RunawayWarning"]

#: The stage of every stored run of a comparison, and the tag holding its id.
STAGE = "dprof.compare"
TAG = "dprof.comparison"


class RunawayWarning(UserWarning):
    """A run of a comparison was skipped: predicted to take longer than the limit."""


def _new_id() -> str:
    return os.urandom(6).hex()


def compare(algorithms: Union[str, Sequence[Any]], sizes: Any = (1000, 10000),
            iterations: int = 3, distribution: str = "random", seed: int = 0, *,
            kind: str = "int", container: str = "list",
            pivot_strategy: Optional[str] = None,
            parameters: Optional[Mapping[str, Mapping[str, Any]]] = None,
            time_limit: float = guard.DEFAULT_TIME_LIMIT, force: bool = False,
            store: bool = True, repo=None, resources: bool = True,
            progress: Optional[bool] = None) -> Comparison:
    """Compare sort algorithms on identical, seeded inputs; returns a :class:`Comparison`.

    ``algorithms``: registered names (built-ins, ``register()``-ed or from entry
    points), ``"name[param=value,...]"``, or Algorithm objects. ``sizes``: positive
    integers (or "1e3,1e4"). ``iterations``: runs per algorithm and size, each on a
    new input shared by all algorithms. ``distribution``/``kind``/``seed``/
    ``container``: the input (see ``dprof.algorithms.inputs``). ``pivot_strategy``:
    for every algorithm that takes one (quick_sort); ``parameters``: per algorithm
    name, ``{"quick_sort": {"pivot_strategy": "first"}}``. ``time_limit``/``force``:
    the runaway guard. ``store``/``repo``: where the runs go (default database).
    ``resources``: sample the resource series during each run. ``progress``: a
    progress bar on stderr (default: when stderr is a terminal)."""
    shared = {} if pivot_strategy is None else {"pivot_strategy": pivot_strategy}
    plan = make_plan(algorithms, sizes, iterations, distribution, seed, kind, container,
                     shared, parameters or {}, time_limit, force)
    if shared and not any("pivot_strategy" in e.algorithm.parameters for e in plan.entries):
        raise AlgorithmError("pivot_strategy was given but none of the algorithms takes "
                             "one (quick_sort does)")
    # imported before the first run, not inside the loop (the runaway guard's fit
    # needs pandas): its ~70 MB would otherwise land in one run's peak memory
    importlib.import_module("pandas")
    comparison_id = _new_id()
    notes: List[str] = []
    if not plan.force:
        _check_upfront(plan)
    runs, profiles = _run_all(plan, comparison_id, notes, resources, progress)
    stored = False
    if store and profiles:
        from dprof.session import _resolve_repo
        _resolve_repo(repo).add_many(profiles)
        stored = True
    spec = plan.describe()
    spec["created"] = datetime.now(timezone.utc).isoformat()
    return Comparison(comparison_id, spec, runs, notes=notes, stored=stored,
                      declared={e.label: e.algorithm.describe() for e in plan.entries})


def _input(plan: Plan, size: int, iteration: int):
    seed = inputs.derive_seed(plan.seed, size, iteration)
    data = inputs.generate(plan.distribution, size, plan.kind, seed, plan.container)
    return seed, data


def _check_upfront(plan: Plan) -> None:
    """Refuse the comparison before it starts when a run is predicted over the limit
    from a probe and the declared complexity."""
    refused = []
    for entry in plan.entries:
        n0 = min(guard.PROBE_SIZE, plan.sizes[-1])
        _, probe = _input(plan, n0, 0)
        # one checked call first: a callable that fails or returns the wrong thing is
        # reported before anything is measured
        _call_checked(entry, plan, probe, checks.reference_sort(probe),
                      f"probe run, n={n0:,}, {plan.distribution} {plan.kind} input")
        seconds = guard.probe_seconds(
            lambda: checks.invoke(entry.algorithm, probe, entry.parameters, plan.seed))
        for size in plan.sizes:
            est = guard.estimate(entry.algorithm, plan.distribution, size, {n0: seconds})
            if est is not None and est.seconds > plan.time_limit:
                refused.append(f"{entry.label} at n={size:,}: estimated {est.describe()}")
                break
    if refused:
        raise RunawayError(f"refused: {'; '.join(refused)}; the time limit is "
                           f"{plan.time_limit:g} s per run (raise it with time_limit= / "
                           f"--time-limit, or force=True / --force); nothing was run")


def _progress(enabled: Optional[bool], total: int):
    if enabled is None:
        enabled = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    if not enabled:
        return None
    from rich.progress import Progress
    bar = Progress(transient=True)
    bar.start()
    return bar, bar.add_task("comparing", total=total)


def _run_all(plan: Plan, comparison_id: str, notes: List[str], resources: bool,
             progress: Optional[bool]):
    from dprof.session import ProfileRun

    spec = plan.describe()
    runs: List[Dict[str, Any]] = []
    profiles = []
    measured: Dict[str, Dict[int, List[float]]] = {e.label: {} for e in plan.entries}
    skipped = set()
    bar = _progress(progress, len(plan.sizes) * plan.iterations * len(plan.entries))
    try:
        for size in plan.sizes:
            for iteration in range(plan.iterations):
                input_seed, data = _input(plan, size, iteration)
                expected = checks.reference_sort(data)
                k = iteration % len(plan.entries)
                order = plan.entries[k:] + plan.entries[:k]
                for entry in order:
                    if bar is not None:
                        bar[0].update(bar[1], description=f"{entry.label} n={size:,}")
                    if iteration == 0 and not plan.force:
                        _guard(plan, entry, size, measured[entry.label], notes, skipped)
                    if (entry.label, size) in skipped:
                        if bar is not None:
                            bar[0].advance(bar[1])
                        continue
                    record, profile = _run_one(ProfileRun, plan, spec, comparison_id, entry,
                                               size, iteration, input_seed, data, expected,
                                               resources)
                    runs.append(record)
                    profiles.append(profile)
                    if record["runtime_seconds"] is not None:
                        measured[entry.label].setdefault(size, []).append(
                            record["runtime_seconds"])
                    if bar is not None:
                        bar[0].advance(bar[1])
    finally:
        if bar is not None:
            bar[0].stop()
    return runs, profiles


def _guard(plan: Plan, entry: Entry, size: int, history: Dict[int, List[float]],
           notes: List[str], skipped: set) -> None:
    medians = {n: sorted(ts)[len(ts) // 2] for n, ts in history.items() if ts and n < size}
    est = guard.estimate(entry.algorithm, plan.distribution, size, medians)
    if est is not None and est.seconds > plan.time_limit:
        note = (f"skipped {entry.label} at n={size:,}: estimated {est.describe()}, above "
                f"the limit of {plan.time_limit:g} s per run (force=True / --force runs it)")
        notes.append(note)
        skipped.add((entry.label, size))
        warnings.warn(RunawayWarning(note), stacklevel=4)


def _run_one(ProfileRun, plan: Plan, spec: Dict[str, Any], comparison_id: str, entry: Entry,
             size: int, iteration: int, input_seed: int, data, expected, resources: bool):
    algo = entry.algorithm
    context = f"n={size:,}, {plan.distribution} {plan.kind} input, iteration {iteration}"
    parameters = {"comparison": comparison_id, "algorithm": entry.label,
                  "algorithm_name": algo.name, "algorithm_parameters": entry.parameters,
                  "size": size, "iteration": iteration, "input_seed": input_seed,
                  "spec": spec}
    run = ProfileRun(entry.label, stage=STAGE, store=False, resources=resources,
                     parameters=_json_safe(parameters), tags={TAG: comparison_id})
    with _reporting(entry, context):
        with run:
            result = checks.invoke(algo, data, entry.parameters, plan.seed)
        _, counts = checks.check_result(algo, result, expected, context)
    profile = run.profile
    profile.parameters["counts"] = counts
    record = {"comparison": comparison_id, "algorithm": entry.label, "size": size,
              "iteration": iteration, "profile_id": profile.id}
    record.update(_metrics(profile))
    record.update(_count_columns(counts))
    return record, profile


class _reporting:
    """Turns what an algorithm raised, or a bad result, into an AlgorithmError that
    names it and says that nothing was stored."""

    def __init__(self, entry: Entry, context: str):
        self.entry, self.context = entry, context

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or not isinstance(exc, Exception):
            return False
        if isinstance(exc, BadResultError):
            raise BadResultError(f"{exc}; nothing of this comparison was stored") from None
        if isinstance(exc, AlgorithmError):
            return False
        raise AlgorithmError(f"algorithm {self.entry.label!r} raised "
                             f"{type(exc).__name__}: {exc} ({self.context}); nothing of "
                             f"this comparison was stored") from exc


def _call_checked(entry: Entry, plan: Plan, data, expected, context: str):
    with _reporting(entry, context):
        result = checks.invoke(entry.algorithm, data, entry.parameters, plan.seed)
        return checks.check_result(entry.algorithm, result, expected, context)


def _metrics(profile) -> Dict[str, Any]:
    return {"runtime_seconds": profile.runtime_seconds,
            "cpu_cores": profile.cpu_cores,
            "cpu_user_utilization": profile.cpu_user_utilization,
            "cpu_system_utilization": profile.cpu_system_utilization,
            "memory_usage_peak_mb": profile.memory_usage_peak_mb,
            "memory_allocations": profile.memory_allocations}


def _count_columns(counts: Optional[Dict[str, int]]) -> Dict[str, Any]:
    """One column per contract count; None (missing) when the algorithm gave none."""
    out: Dict[str, Any] = {name: None for name in COUNT_NAMES}
    if counts:
        for name in COUNT_NAMES:
            out[name] = counts.get(name)
    return out


def _json_safe(value):
    import json
    return json.loads(json.dumps(value, default=str))
