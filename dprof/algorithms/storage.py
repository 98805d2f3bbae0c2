"""Comparisons in ProfileRepo: list them, reopen one.

A comparison is stored as its runs: Profiles with ``stage="dprof.compare"``, the tag
``dprof.comparison = ID``, and in ``parameters`` the comparison id, the algorithm
label, size, iteration, input seed, the operation counts and the comparison's spec.
Reading needs only the profiles table (``ProfileRepo.query``), not the attachments.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List

from dprof.algorithms.runner import STAGE
from dprof.algorithms.errors import AlgorithmError
from dprof.algorithms.result import Comparison
from dprof.algorithms.spec import COUNT_NAMES

__all__ = ["list_comparisons", "load_comparison", "comparison_runs"]

_METRICS = ("runtime_seconds", "cpu_cores", "cpu_user_utilization",
            "cpu_system_utilization", "memory_usage_peak_mb", "memory_allocations")


def _repo(repo):
    from dprof.session import _resolve_repo
    return _resolve_repo(repo)


def comparison_runs(repo=None) -> Dict[str, List[Dict[str, Any]]]:
    """comparison id -> its run records (with ``spec`` and ``started``), oldest first."""
    frame = _repo(repo).query(stage=STAGE)
    out: Dict[str, List[Dict[str, Any]]] = {}
    for rec in frame.to_dict("records"):
        params = json.loads(rec["parameters"])
        cid = params.get("comparison")
        if not cid:
            continue
        counts = params.get("counts") or {}
        row = {"comparison": cid, "algorithm": params.get("algorithm"),
               "size": params.get("size"), "iteration": params.get("iteration"),
               "profile_id": rec["id"], "spec": params.get("spec") or {},
               "started": rec["task_start_time"],
               "algorithm_parameters": params.get("algorithm_parameters") or {}}
        for name in _METRICS:
            value = rec[name]
            row[name] = None if _missing(value) else value
        for name in COUNT_NAMES:
            row[name] = counts.get(name)
        out.setdefault(cid, []).append(row)
    return out


def _missing(value) -> bool:
    try:
        import pandas as pd
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def list_comparisons(repo=None):
    """DataFrame of the stored comparisons, newest first: id, started, algorithms,
    sizes, iterations, distribution, kind, runs."""
    import pandas as pd

    rows = []
    for cid, runs in comparison_runs(repo).items():
        spec = runs[0]["spec"]
        rows.append({"id": cid, "started": min(r["started"] for r in runs),
                     "algorithms": ", ".join(spec.get("algorithms", [])),
                     "sizes": ", ".join(f"{s:,}" for s in spec.get("sizes", [])),
                     "iterations": spec.get("iterations"),
                     "distribution": spec.get("distribution"), "kind": spec.get("kind"),
                     "runs": len(runs)})
    frame = pd.DataFrame(rows, columns=["id", "started", "algorithms", "sizes", "iterations",
                                        "distribution", "kind", "runs"])
    return frame.sort_values("started", ascending=False, kind="stable").reset_index(drop=True)


def load_comparison(id: str, repo=None) -> Comparison:
    """Reopen a stored comparison by id (a unique prefix is enough); AlgorithmError
    when none or several match."""
    if not isinstance(id, str) or not id:
        raise AlgorithmError(f"a comparison id is a non-empty str, got {id!r}")
    all_runs = comparison_runs(repo)
    matches = [cid for cid in all_runs if cid.startswith(id)]
    if id in all_runs:
        matches = [id]
    if not matches:
        raise AlgorithmError(f"no stored comparison with id {id!r}")
    if len(matches) > 1:
        raise AlgorithmError(f"comparison id prefix {id!r} is ambiguous: "
                             f"{', '.join(sorted(matches)[:5])}")
    runs = all_runs[matches[0]]
    spec = dict(runs[0]["spec"])
    spec.setdefault("created", min(r["started"] for r in runs).isoformat())
    declared = {}
    from dprof.algorithms import registry
    for label in spec.get("algorithms", []):
        name = label.split("[", 1)[0]
        try:
            declared[label] = registry.get(name).describe()
        except AlgorithmError:
            pass        # an algorithm no longer registered: its fit stands alone
    return Comparison(matches[0], spec, runs, stored=True, declared=declared)
