"""Benchmark runs in ProfileRepo: one Profile per benchmark, grouped by a run.

A benchmark's Profile is the resource profile of its measured rounds (recorded by
dprof's TaskRecorder), with ``stage="dprof-bench"``, the benchmark name as
``process_name``, its rounds in ``parameters["dprof_bench"]`` (a BenchResult dict)
and the run in tags: ``dprof.run`` (the name given to ``--dprof-save``, or made by
``--dprof-autosave``), ``dprof.run_id`` (unique per pytest session), ``dprof.commit``,
``dprof.machine``, ``dprof.python``, ``dprof.run_started``. No table of its own: the
schema stays the one every other profile uses, so ``dprof history``, ``show`` and
``export`` see benchmarks too.

Under pytest-xdist each worker stores the profiles it measured itself (several
writers are what ProfileRepo is built for); they share the run id the controller
made.
"""
from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple

from dprof.pytest_plugin.fixture import STAGE
from dprof.pytest_plugin.result import BenchResult

TAG_RUN = "dprof.run"
TAG_RUN_ID = "dprof.run_id"
TAG_COMMIT = "dprof.commit"
TAG_MACHINE = "dprof.machine"
TAG_PYTHON = "dprof.python"
TAG_STARTED = "dprof.run_started"
TAG_GROUP = "dprof.group"


@dataclass
class RunInfo:
    """Identity of one benchmark run (one pytest session, all its workers)."""
    run_id: str
    name: Optional[str] = None
    started: str = ""
    commit: Optional[str] = None
    machine: Optional[str] = None
    python: Optional[str] = None
    benchmarks: int = 0

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "RunInfo":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def new_run(name: Optional[str], autosave: bool, rootdir: Optional[str] = None) -> RunInfo:
    """A fresh run: id, start time, and the commit, machine and Python when known."""
    now = datetime.now(timezone.utc)
    commit = git_commit(rootdir)
    if name is None and autosave:
        name = f"auto-{now:%Y%m%dT%H%M%SZ}" + (f"-{commit[:8]}" if commit else "")
    # microseconds: two runs started in the same second still list in their order
    return RunInfo(run_id=os.urandom(8).hex(), name=name,
                   started=now.isoformat(timespec="microseconds"), commit=commit,
                   machine=machine_description(), python=platform.python_version())


def git_commit(cwd: Optional[str] = None) -> Optional[str]:
    """The checked-out commit of the git tree at ``cwd`` (with ``+dirty`` when the
    tree has changes), or None when there is no git or no repository."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                              text=True, timeout=5)
        if head.returncode != 0:
            return None
        commit = head.stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True, timeout=5)
        if dirty.returncode == 0 and dirty.stdout.strip():
            commit += "+dirty"
        return commit or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_description() -> str:
    """Host, architecture, CPU model and usable CPUs: enough to tell machines apart."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 0
    parts = [socket.gethostname(), platform.machine(), cpu, f"{cores} CPUs"]
    return " / ".join(p for p in parts if p)[:255]


def run_tags(run: RunInfo, group: Optional[str]) -> Dict[str, str]:
    tags = {TAG_RUN_ID: run.run_id, TAG_STARTED: run.started}
    for key, value in ((TAG_RUN, run.name), (TAG_COMMIT, run.commit),
                       (TAG_MACHINE, run.machine), (TAG_PYTHON, run.python),
                       (TAG_GROUP, group)):
        if value:
            tags[key] = str(value)
    return tags


def save(repo, run: RunInfo, measured: Sequence[Tuple[BenchResult, Any]]) -> int:
    """Store the Profiles of ``measured`` ((BenchResult, Profile) pairs) as part of
    ``run``. Returns how many. ProfileRepo spools what the database cannot take."""
    profiles = []
    for result, profile in measured:
        if profile is None:
            continue
        profile.stage = STAGE
        profile.tags = dict(profile.tags, **run_tags(run, result.group))
        data = result.to_dict()
        data["profile"] = dict(data["profile"])
        profile.parameters = dict(profile.parameters, dprof_bench=data)
        profiles.append(profile)
    return repo.add_many(profiles)


def _frame(repo):
    return repo.query(stage=STAGE)


def list_runs(repo) -> List[RunInfo]:
    """Every stored benchmark run, oldest first."""
    df = _frame(repo)
    runs: Dict[str, RunInfo] = {}
    for tags_text in df["tags"]:
        tags = json.loads(tags_text) if isinstance(tags_text, str) else dict(tags_text or {})
        run_id = tags.get(TAG_RUN_ID)
        if not run_id:
            continue
        info = runs.get(run_id)
        if info is None:
            info = runs[run_id] = RunInfo(
                run_id=run_id, name=tags.get(TAG_RUN), started=tags.get(TAG_STARTED, ""),
                commit=tags.get(TAG_COMMIT), machine=tags.get(TAG_MACHINE),
                python=tags.get(TAG_PYTHON))
        info.benchmarks += 1
    return sorted(runs.values(), key=lambda r: (r.started, r.run_id))


def find_run(repo, ref: Optional[str] = None,
             exclude_run_id: Optional[str] = None) -> RunInfo:
    """The run ``ref`` names: a run name (its newest run), or a run id or unique id
    prefix; None: the newest stored run. LookupError naming what was not found."""
    runs = [r for r in list_runs(repo) if r.run_id != exclude_run_id]
    if not runs:
        raise LookupError("no stored benchmark run to compare with (store one with "
                          "--dprof-save NAME or --dprof-autosave)")
    if ref is None:
        return runs[-1]
    named = [r for r in runs if r.name == ref]
    if named:
        return named[-1]
    by_id = [r for r in runs if r.run_id.startswith(ref)]
    if len(by_id) == 1:
        return by_id[0]
    if len(by_id) > 1:
        raise LookupError(f"run id prefix {ref!r} is ambiguous: "
                          f"{', '.join(r.run_id for r in by_id[:5])}")
    names = sorted({r.name for r in runs if r.name})
    raise LookupError(f"no stored benchmark run named {ref!r} or with that id; stored "
                      f"names: {', '.join(names[-10:]) or '(none)'}")


def load_results(repo, run: RunInfo) -> List[BenchResult]:
    """The benchmarks of one stored run (newest profile per name wins)."""
    df = _frame(repo)
    out: Dict[str, BenchResult] = {}
    for tags_text, params_text in zip(df["tags"], df["parameters"]):
        tags = json.loads(tags_text) if isinstance(tags_text, str) else dict(tags_text or {})
        if tags.get(TAG_RUN_ID) != run.run_id:
            continue
        params = json.loads(params_text) if isinstance(params_text, str) else params_text
        data = (params or {}).get("dprof_bench")
        if data is None:
            continue
        result = BenchResult.from_dict(data)
        out[result.name] = result
    return list(out.values())
