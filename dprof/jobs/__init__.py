"""Jobs: Keystone's ``JobMonitor`` on dprof, and the "complete job profile" shape.

``JobMonitor`` (monitor.py) measures a job, in this process or as a command and
its children, stores it as a Profile and returns the job profile dict; ``shape.py``
builds that dict from any stored Profile (``dprof show ID --format job``,
``dprof export --format jsonl``).
"""
from .monitor import JobMonitor
from .shape import job_profile

__all__ = ["JobMonitor", "job_profile"]
