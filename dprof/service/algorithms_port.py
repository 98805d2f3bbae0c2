"""The service's one boundary to ``dprof.algorithms``.

Everything the service needs from the algorithms layer goes through here: the
registered names and their metadata, checking a job's fields, predicting its run
time (the runaway guard), running its iterations, and aggregating a comparison. If
that layer's API changes, this is the file to adapt.

Only registered algorithms run (the built-ins and the ``dprof.algorithms`` entry
points installed where the job runs): a job names an algorithm, never carries code.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

__all__ = ["FieldError", "JobSpec", "describe_algorithms", "check_spec", "predict_seconds",
           "run_iterations", "aggregate", "MAX_SIZE", "MAX_ITERATIONS"]

#: The largest input a job may ask for (the algorithms layer's own limit).
MAX_SIZE = 10 ** 8
MAX_ITERATIONS = 1000


class FieldError(ValueError):
    """A job field that cannot be used: ``field`` names it (``parameters.pivot``)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class JobSpec:
    algorithm_name: str
    input_size: int
    parameters: Mapping[str, Any]
    iterations: int
    distribution: str
    seed: int
    kind: str = "int"

    def as_dict(self) -> Dict[str, Any]:
        return {"algorithm_name": self.algorithm_name, "input_size": self.input_size,
                "parameters": dict(self.parameters), "iterations": self.iterations,
                "distribution": self.distribution, "seed": self.seed, "kind": self.kind}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "JobSpec":
        return cls(algorithm_name=d["algorithm_name"], input_size=int(d["input_size"]),
                   parameters=dict(d.get("parameters") or {}), iterations=int(d["iterations"]),
                   distribution=d["distribution"], seed=int(d["seed"]),
                   kind=d.get("kind") or "int")


def _layer():
    import dprof.algorithms as algorithms
    from dprof.algorithms import checks, guard, inputs
    return algorithms, checks, guard, inputs


def describe_algorithms() -> List[Dict[str, Any]]:
    algorithms, _, _, _ = _layer()
    return [a.describe() for a in algorithms.all_algorithms()]


def check_spec(spec: JobSpec) -> JobSpec:
    """The spec with the algorithm's parameters resolved (defaults filled in);
    FieldError naming the first field that is wrong."""
    algorithms, _, _, inputs = _layer()
    try:
        algo = algorithms.get(spec.algorithm_name)
    except algorithms.UnknownAlgorithmError as exc:
        raise FieldError("algorithm_name", str(exc)) from None
    if spec.distribution not in inputs.DISTRIBUTIONS:
        raise FieldError("distribution", f"unknown distribution {spec.distribution!r}; use "
                                         f"one of {', '.join(inputs.DISTRIBUTIONS)}")
    if spec.kind not in algo.kinds:
        raise FieldError("kind", f"{algo.name} takes {'/'.join(algo.kinds)} input, not "
                                 f"{spec.kind!r}")
    if "list" not in algo.containers:
        raise FieldError("algorithm_name", f"{algo.name} takes no list input")
    for key in spec.parameters:
        if key not in algo.parameters:
            known = ", ".join(algo.parameters) or "none"
            raise FieldError(f"parameters.{key}", f"{algo.name} takes no parameter {key!r} "
                                                  f"(its parameters: {known})")
    try:
        resolved = algo.resolve_parameters(spec.parameters)
    except algorithms.AlgorithmError as exc:
        bad = next((k for k in spec.parameters if spec.parameters[k] not in
                    algo.parameters.get(k, ())), None)
        raise FieldError(f"parameters.{bad}" if bad else "parameters", str(exc)) from None
    return JobSpec(spec.algorithm_name, spec.input_size, resolved, spec.iterations,
                   spec.distribution, spec.seed, spec.kind)


# probe seconds per (algorithm, parameters, distribution, kind): probing costs a few
# milliseconds, so a busy API measures each combination once
_probes: Dict[tuple, tuple] = {}
_probe_lock = threading.Lock()


def predict_seconds(spec: JobSpec) -> tuple:
    """(predicted seconds of the whole job, how it was predicted): one run scaled from
    a probe by the declared complexity (the algorithms layer's guard), times the
    iterations."""
    algorithms, checks, guard, inputs = _layer()
    algo = algorithms.get(spec.algorithm_name)
    n0 = min(guard.PROBE_SIZE, spec.input_size)
    key = (algo.name, tuple(sorted(spec.parameters.items())), spec.distribution, spec.kind, n0)
    with _probe_lock:
        known = _probes.get(key)
    if known is None:
        data = inputs.generate(spec.distribution, n0, spec.kind, spec.seed)
        seconds = guard.probe_seconds(lambda: checks.invoke(algo, data, spec.parameters,
                                                            spec.seed))
        known = (n0, seconds)
        with _probe_lock:
            _probes[key] = known
    est = guard.estimate(algo, spec.distribution, spec.input_size, {known[0]: known[1]})
    if est is None:
        return 0.0, "nothing to scale from (the probe took no measurable time)"
    return est.seconds * spec.iterations, f"{spec.iterations} x {est.describe()}"


def run_iterations(spec: JobSpec, between: Optional[Callable[[int], None]] = None
                   ) -> List[Dict[str, Any]]:
    """Run the job's iterations; one record per iteration: input seed, seconds, counts.

    Iteration i sorts the input generated from (seed, size, i), the same derivation
    ``dprof.algorithms.compare()`` uses, so that jobs of one comparison and a local
    ``compare()`` with the same seed sort identical inputs. ``between(i)`` is called
    before each iteration (cancellation and time-limit checks raise there). Every
    result is checked to be the sorted input, outside the timed call."""
    algorithms, checks, _, inputs = _layer()
    algo = algorithms.get(spec.algorithm_name)
    records = []
    for i in range(spec.iterations):
        if between is not None:
            between(i)
        seed = inputs.derive_seed(spec.seed, spec.input_size, i)
        data = inputs.generate(spec.distribution, spec.input_size, spec.kind, seed)
        start = time.perf_counter()
        result = checks.invoke(algo, data, spec.parameters, spec.seed)
        seconds = time.perf_counter() - start
        _, counts = checks.check_result(algo, result, checks.reference_sort(data),
                                        f"n={spec.input_size}, iteration {i}")
        records.append({"iteration": i, "input_seed": seed, "seconds": seconds,
                        "counts": counts})
    return records


def aggregate(rows: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """A comparison's summary from its finished jobs (``algorithm``, ``size``,
    ``iterations`` records): per algorithm and size the median and mean runtime and
    the mean counts; per algorithm, with two or more sizes, the fitted complexity."""
    algorithms, _, _, _ = _layer()
    from dprof.algorithms.spec import COUNT_NAMES
    table: Dict[str, Dict[int, List[Mapping[str, Any]]]] = {}
    for row in rows:
        table.setdefault(row["algorithm"], {}).setdefault(int(row["size"]), []).extend(
            row["iterations"])
    summary, complexity = [], {}
    for name, by_size in table.items():
        medians = {}
        for size in sorted(by_size):
            recs = by_size[size]
            times = sorted(r["seconds"] for r in recs)
            med = times[len(times) // 2] if len(times) % 2 else \
                (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2
            medians[size] = med
            entry = {"algorithm": name, "size": size, "runs": len(recs),
                     "runtime_median": med, "runtime_mean": sum(times) / len(times),
                     "runtime_min": times[0]}
            for count in COUNT_NAMES:
                vals = [r["counts"].get(count) for r in recs if r.get("counts")]
                vals = [v for v in vals if v is not None]
                entry[count] = sum(vals) / len(vals) if vals else None
            summary.append(entry)
        if len(medians) >= 2:
            sizes = sorted(medians)
            complexity[name] = {"runtime": _fit(algorithms, sizes,
                                                [medians[s] for s in sizes])}
            # the counts are exact and deterministic: their fit does not depend on
            # how loaded the workers were
            mean_cmp = {e["size"]: e["comparisons"] for e in summary
                        if e["algorithm"] == name and e["comparisons"]}
            if len(mean_cmp) == len(sizes):
                complexity[name]["comparisons"] = _fit(algorithms, sizes,
                                                       [mean_cmp[s] for s in sizes])
    ranking = {}
    for entry in summary:
        ranking.setdefault(entry["size"], []).append(entry)
    ranking = {str(size): [e["algorithm"] for e in sorted(es, key=lambda e: e["runtime_median"])]
               for size, es in sorted(ranking.items())}
    return {"summary": summary, "ranking": ranking, "complexity": complexity}


def _fit(algorithms, sizes, costs) -> Dict[str, Any]:
    try:
        fit = algorithms.fit_complexity(sizes, costs)
    except ValueError as exc:
        return {"best": None, "confidence": None, "error": str(exc)}
    return {"best": fit.best, "confidence": _finite(fit.confidence)}


def _finite(x) -> Optional[float]:
    x = float(x)
    return x if math.isfinite(x) else None
