"""Reading the profiles that followed children wrote, and merging them into the
parent's stack profile. Pure functions of a directory and StackProfiles.

A followed child writes ``<pid>-<token>.start`` when it starts, renames it to
``.ending`` when it starts writing its profile, and writes ``<pid>-<token>.json`` when
it is done (its stacks, or the error that kept it from being followed). A start with
no end is a child that is still running, or one that ended without running any exit
code (SIGKILL, or ``os._exit`` outside multiprocessing).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from dprof.stacks.model import StackProfile, StackRow

_POLL_SECONDS = 0.02


@dataclass
class Child:
    """What one followed child process left: its stacks, or why there are none."""

    pid: int
    ppid: int
    how: str                          # "exec" (a new interpreter) or "fork"
    argv: List[str]
    stacks: Optional[StackProfile] = None
    problem: Optional[str] = None     # why ``stacks`` is None


@dataclass
class Children:
    """Every child that was followed, in the order their files were found."""

    merged: List[Child] = field(default_factory=list)        # with stacks
    not_merged: List[Child] = field(default_factory=list)    # with a problem


def read_children(directory: str, wait_seconds: float = 2.0) -> Children:
    """Every child's record in ``directory``. Children that are writing their
    profile are waited for while they are alive, for at most ``wait_seconds`` in all;
    children still running their program are not waited for."""
    deadline = time.monotonic() + wait_seconds
    while True:
        started, ending, ended = _scan(directory)
        pending = [key for key in ending if key not in ended
                   and _alive(started[key]["pid"])]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(_POLL_SECONDS)
    out = Children()
    for key in sorted(set(started) | set(ended)):
        out_child = _child(directory, key, started.get(key), key in ending, key in ended,
                           wait_seconds)
        (out.merged if out_child.stacks is not None else out.not_merged).append(out_child)
    return out


def _scan(directory: str):
    """(start records by key, keys writing their profile, keys done)."""
    started: Dict[str, dict] = {}
    ending, ended = set(), set()
    for name in os.listdir(directory):
        key, _, suffix = name.partition(".")
        if suffix == "json":
            ended.add(key)
        elif suffix in ("start", "ending"):
            try:
                started[key] = _load(os.path.join(directory, name))
            except (OSError, ValueError):
                continue      # renamed meanwhile: found again on the next scan
            if suffix == "ending":
                ending.add(key)
    return started, ending, ended


def _child(directory: str, key: str, start: Optional[dict], ending: bool, ended: bool,
           wait_seconds: float) -> Child:
    if not ended:
        pid = int(start["pid"])
        if not _alive(pid):
            problem = ("ended without writing its profile (killed by SIGKILL, or "
                       "os._exit outside multiprocessing)")
        elif ending:
            problem = f"still writing its profile after {wait_seconds:g} s"
        else:
            problem = "still running when the run ended (not waited for)"
        return Child(pid, int(start.get("ppid", 0)), start.get("how", "?"),
                     list(start.get("argv", [])), problem=problem)
    try:
        record = _load(os.path.join(directory, key + ".json"))
    except (OSError, ValueError) as exc:
        pid = int(start["pid"]) if start else int(key.split("-")[0])
        return Child(pid, 0, "?", [], problem=f"unreadable profile: {exc}")
    child = Child(int(record["pid"]), int(record.get("ppid", 0)), record.get("how", "?"),
                  list(record.get("argv", [])))
    if "stacks" in record:
        try:
            child.stacks = StackProfile.from_dict(record["stacks"])
        except (KeyError, TypeError, ValueError) as exc:
            child.problem = f"unreadable profile: {exc}"
    else:
        child.problem = "not followed: " + str(record.get("error", "no reason given"))
    return child


def _load(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, ended but not yet reaped, is not alive)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    # the state follows the command name, which is in parentheses and may hold any byte
    return stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] not in (b"Z", b"X")


def merge_children(parent: Optional[StackProfile], children: Children,
                   duration_seconds: Optional[float] = None) -> Optional[StackProfile]:
    """``parent`` with every merged child's samples added (natively), each child's
    threads kept apart and named ``pid N: NAME``; ``meta["children"]`` says which
    children were merged and which were not, and why. The duration, rates and meta
    stay the parent's (``duration_seconds`` when there is no parent profile: a
    command that is not Python, whose Python children were followed)."""
    if parent is None and not children.merged and not children.not_merged:
        return None
    from dprof.stacks import merge
    base = parent if parent is not None else StackProfile()
    used = {r.thread_id for r in base.rows}
    parts = [base]
    for child in children.merged:
        renamed = _with_pid_threads(child.stacks, child.pid, used)
        used.update(r.thread_id for r in renamed.rows)
        parts.append(renamed)
    out = merge(parts)
    out.thread_names = dict(base.thread_names)
    for part in parts[1:]:
        out.thread_names.update(part.thread_names)
    if parent is not None:
        out.duration_seconds = parent.duration_seconds
        out.requested_hz = parent.requested_hz
        out.effective_hz = parent.effective_hz
    else:
        out.duration_seconds = duration_seconds or max(
            (c.stacks.duration_seconds for c in children.merged), default=0.0)
    out.meta = dict(base.meta)
    out.meta["children"] = {
        "merged": len(children.merged),
        "pids": [c.pid for c in children.merged],
        "overhead_seconds": sum(c.stacks.overhead_seconds for c in children.merged),
        "not_merged": {str(c.pid): c.problem for c in children.not_merged},
    }
    return out


def _with_pid_threads(stacks: StackProfile, pid: int, used) -> StackProfile:
    """A copy whose threads are named ``pid N: NAME``. Thread ids are kernel TIDs and
    differ between live threads, but a TID can be reused once its thread ended: an
    id already taken becomes ``pid << 32 | tid``."""
    ids = {}
    for tid in {r.thread_id for r in stacks.rows}:
        ids[tid] = tid if tid not in used else (pid << 32) | tid
    out = StackProfile(frames=list(stacks.frames), stacks=list(stacks.stacks),
                       rows=[StackRow(ids[r.thread_id], r.stack_id, r.category,
                                      r.samples, r.seconds) for r in stacks.rows],
                       duration_seconds=stacks.duration_seconds,
                       requested_hz=stacks.requested_hz,
                       effective_hz=stacks.effective_hz,
                       overhead_seconds=stacks.overhead_seconds, meta=dict(stacks.meta))
    out.thread_names = {ids[tid]: f"pid {pid}: {stacks.thread_names.get(tid, f'thread {tid}')}"
                        for tid in ids}
    return out


def summary_lines(stacks: Optional[StackProfile]) -> List[str]:
    """One line on the children merged, and one per child that was not."""
    info = (stacks.meta.get("children") if stacks is not None else None) or {}
    if not info:
        return []
    lines = [f"  children     {info['merged']} followed and merged"
             + (f" (pids {', '.join(str(p) for p in info['pids'])})" if info["pids"] else "")]
    for pid, problem in info["not_merged"].items():
        lines.append(f"  child {pid}: {problem}")
    return lines
