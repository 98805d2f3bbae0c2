"""Right-sizing as deployment manifests: Kubernetes ``resources:`` blocks and a Compose
file's ``deploy.resources``, from a ``rightsizing`` DataFrame.

Written by hand (no YAML library needed) in the plain block style both tools document;
every value that could be misread as a number or a boolean is quoted. A task without a
recommendation for a resource leaves that key out and says why in a comment.
"""
from __future__ import annotations

import math
import re
from typing import List

import pandas as pd


def _cpu_k8s(cores: float) -> str:
    return f'"{int(round(cores * 1000))}m"'


def _mem_k8s(mb: float) -> str:
    return f'"{int(math.ceil(mb))}Mi"'


def _comment(text: str) -> str:
    return "# " + text.replace("\n", " ")


def _ok(value) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _header(row) -> List[str]:
    from dprof.insights.render_text import num
    confidence = row["confidence"] if isinstance(row["confidence"], str) else "none"
    return [_comment(f"process={row['process_name']} stage={row['stage']} env={row['env']}: "
                     f"{row['runs']} runs, confidence {confidence}"),
            _comment(f"evidence: CPU p95 {num(row['cpu_p95'], '{:.3f}')} cores (max "
                     f"{num(row['cpu_max'], '{:.3f}')}), peak memory p99 "
                     f"{num(row['memory_p99_mb'], '{:.1f}')} MiB "
                     f"(max {num(row['memory_max_mb'], '{:.1f}')})")]


def _cpu_compose(cores: float) -> str:
    return f'"{cores:.2f}"'


def _mem_compose(mb: float) -> str:
    return f'"{int(math.ceil(mb))}M"'


def _parts(row, parts, indent: str, cpu_name: str, cpu_text, mem_text) -> List[str]:
    """The lines of each ``part:`` block (requests/limits, limits/reservations), each
    part's cpu and memory at ``indent`` + 2 spaces; a part with neither known becomes
    a comment saying why. ``parts`` is ((part, cpu_key, memory_key), ...)."""
    lines = []
    for part, cpu_key, mem_key in parts:
        entries = []
        if _ok(row[cpu_key]):
            entries.append(f"{indent}  {cpu_name}: {cpu_text(row[cpu_key])}")
        if _ok(row[mem_key]):
            entries.append(f"{indent}  memory: {mem_text(row[mem_key])}")
        if entries:
            lines += [f"{indent}{part}:"] + entries
        else:
            lines.append(indent + _comment(f"{part}: none, too few runs measured"))
    return lines


_K8S_PARTS = (("requests", "cpu_request", "memory_request_mb"),
              ("limits", "cpu_limit", "memory_limit_mb"))
_COMPOSE_PARTS = (("limits", "cpu_limit", "memory_limit_mb"),
                  ("reservations", "cpu_request", "memory_request_mb"))


def k8s(sizing: pd.DataFrame) -> str:
    """One YAML document per task (``---`` between them), each a container's
    ``resources:`` block."""
    docs = []
    for row in sizing.to_dict("records"):
        lines = _header(row) + ["resources:"]
        lines += _parts(row, _K8S_PARTS, "  ", "cpu", _cpu_k8s, _mem_k8s)
        docs.append("\n".join(lines))
    if not docs:
        return "# no task has enough runs to size\n"
    return "\n---\n".join(docs) + "\n"


def service_name(process: str, stage: str, env: str) -> str:
    """A Compose service name ([a-zA-Z0-9._-]) for a task."""
    raw = process if stage == "default" and env == "default" else f"{process}-{stage}-{env}"
    name = re.sub(r"[^a-zA-Z0-9._-]+", "-", raw).strip("-._").lower()
    return name or "task"


def compose(sizing: pd.DataFrame) -> str:
    """A Compose file fragment: ``services: NAME: deploy: resources:`` per task."""
    lines = ["services:"]
    used = set()
    for row in sizing.to_dict("records"):
        name = base = service_name(row["process_name"], row["stage"], row["env"])
        i = 2
        while name in used:
            name, i = f"{base}-{i}", i + 1
        used.add(name)
        lines += ["  " + h for h in _header(row)]
        lines += [f"  {name}:", "    deploy:", "      resources:"]
        lines += _parts(row, _COMPOSE_PARTS, "        ", "cpus", _cpu_compose, _mem_compose)
    if len(lines) == 1:
        return "# no task has enough runs to size\nservices: {}\n"
    return "\n".join(lines) + "\n"
