"""The Keystone "complete job profile" dict, built from a Profile.

One function of a stored record, so that what ``JobMonitor.stop_monitoring()``
returns, ``dprof show ID --format job`` prints and ``dprof export --format jsonl``
writes are the same dict. Nothing here measures; a figure the Profile lacks is
None with its reason in the section's ``missing``.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

#: tags a JobMonitor writes on its Profile
TASK_ID_TAG = "task_id"
RETURNCODE_TAG = "returncode"
MEMORY_LIMIT_TAG = "cgroup_memory_max_bytes"
#: Keystone's status words
COMPLETED, FAILED = "completed", "failed"


def _cpu_seconds(profile, utilization: Optional[float]) -> Optional[float]:
    # the Profile keeps CPU as a fraction of runtime x cores; this undoes it
    if utilization is None or profile.runtime_seconds is None or profile.cpu_cores is None:
        return None
    return utilization * profile.runtime_seconds * profile.cpu_cores


def _returncode(profile) -> Optional[int]:
    text = profile.tags.get(RETURNCODE_TAG, profile.tags.get("exit_code"))
    if text is not None:
        try:
            return int(text)
        except ValueError:
            return None
    # a block of Python code: 0 when it ended normally, 1 when it raised (what an
    # uncaught exception makes a Python process exit with)
    return 1 if profile.failed else 0


def detailed_profile(profile) -> Optional[Dict[str, Any]]:
    """The ResourceProfiler results dict of the Profile's resource series (dprof's
    figures and Keystone's keys), or None when it has no series."""
    if profile.resources is None or "timestamp" not in profile.resources:
        return None
    from dprof.resources.series import ResourceSeries
    from dprof.resources.summary import summarize
    limit_text = profile.tags.get(MEMORY_LIMIT_TAG)
    limit = float(limit_text) if limit_text else None
    series = ResourceSeries(profile.resources, profile.resources_missing)
    return summarize(series, profile.runtime_seconds, "native", limit,
                     None if limit is not None else "the cgroup's memory.max was not recorded")


def job_profile(profile, detailed: bool = True) -> Dict[str, Any]:
    """The job profile of ``profile``: task_id, start_time, end_time (ISO 8601, UTC),
    duration_seconds, status ("completed"/"failed"), returncode, resource_usage
    {cpu_user_seconds, cpu_system_seconds, cpu_total_seconds, memory_peak_mb,
    missing}, detailed_profile (None when ``detailed`` is false or there is no
    series), profile_id (the stored Profile's id) and missing (why
    detailed_profile is None, when it is)."""
    user = _cpu_seconds(profile, profile.cpu_user_utilization)
    system = _cpu_seconds(profile, profile.cpu_system_utilization)
    usage = {
        "cpu_user_seconds": user,
        "cpu_system_seconds": system,
        "cpu_total_seconds": None if user is None or system is None else user + system,
        "memory_peak_mb": profile.memory_usage_peak_mb,
    }
    missing = {}
    for key, metric in (("cpu_user_seconds", "cpu_user_utilization"),
                        ("cpu_system_seconds", "cpu_system_utilization"),
                        ("memory_peak_mb", "memory_usage_peak_mb")):
        if usage[key] is None:
            missing[key] = profile.missing.get(metric, "runtime or cpu_cores missing")
    if usage["cpu_total_seconds"] is None:
        missing["cpu_total_seconds"] = missing.get("cpu_user_seconds") \
            or missing.get("cpu_system_seconds")
    usage["missing"] = missing
    detail = detailed_profile(profile) if detailed else None
    if detail is not None:
        top_missing = {}
    elif not detailed:
        top_missing = {"detailed_profile": "profiling was off (enable_profiling=False)"}
    else:
        top_missing = {"detailed_profile": profile.missing.get(
            "resources", "no resource samples: the job ended within one sampling "
                         "interval, or resource sampling could not start")}
    return {
        "task_id": profile.tags.get(TASK_ID_TAG, profile.id),
        "profile_id": profile.id,
        "process_name": profile.process_name,
        "start_time": profile.task_start_time.isoformat(),
        "end_time": profile.task_end_time.isoformat(),
        "duration_seconds": profile.runtime_seconds,
        "status": FAILED if profile.failed else COMPLETED,
        "returncode": _returncode(profile),
        "resource_usage": usage,
        "detailed_profile": detail,
        "missing": top_missing,
    }
