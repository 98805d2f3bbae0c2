"""Find the cgroup v2 directory of a container: a path, or an engine's container.

Order: an existing directory path (absolute, or relative to the cgroup2 mount);
then each container engine CLI on PATH (docker, then podman) asked for the
container's main pid, whose cgroup is read from /proc/PID/cgroup. Anything else
is a ``ContainerNotFound`` naming every place that was tried and what it said.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import List, Optional, Tuple

ENGINES = ("docker", "podman")


class ContainerNotFound(LookupError):
    """The name is neither a cgroup directory nor a container an engine knows."""


def cgroup2_mount() -> Optional[str]:
    """The cgroup2 mount point of this machine (the one the native reader uses for
    this process), or None."""
    from dprof._native_loader import native
    _native = native()
    if _native is None:
        return None
    directory, _ = _native.cgroup_dir(os.getpid())
    if directory is None:
        return None
    # this process's directory lies under the mount; walk up to the mount root
    path = directory
    while path != "/" and os.path.ismount(path) is False:
        path = os.path.dirname(path)
    return path if path != "/" else None


def _is_cgroup_dir(path: str) -> bool:
    return os.path.isdir(path) and os.path.exists(os.path.join(path, "cgroup.procs"))


def _engine_pid(engine: str, name: str, timeout: float) -> Tuple[Optional[int], str]:
    """(main pid of container ``name``, "") or (None, what the engine said)."""
    try:
        done = subprocess.run([engine, "inspect", "--format", "{{.State.Pid}}", name],
                              capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{engine} inspect failed: {exc}"
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        return None, f"{engine}: {said[-1] if said else f'exit {done.returncode}'}"
    text = done.stdout.strip()
    try:
        pid = int(text)
    except ValueError:
        return None, f"{engine} inspect gave no pid ({text!r})"
    if pid <= 0:
        return None, f"{engine}: container {name!r} is not running (pid {pid})"
    return pid, ""


def resolve_cgroup(name_or_cgroup: str, engines=ENGINES,
                   timeout: float = 10.0) -> Tuple[str, str]:
    """(cgroup v2 directory, how it was found) for a path or a container name."""
    if not isinstance(name_or_cgroup, (str, os.PathLike)):
        raise TypeError(f"ContainerResourceMonitor needs a cgroup path or a container "
                        f"name (str), got {type(name_or_cgroup).__name__}")
    text = os.fspath(name_or_cgroup)
    if not text:
        raise ValueError("ContainerResourceMonitor needs a cgroup path or a container name")
    tried: List[str] = []
    if _is_cgroup_dir(text):
        return os.path.abspath(text), "cgroup path"
    tried.append(f"{text!r} is not a cgroup directory")
    mount = cgroup2_mount()
    if mount is not None and not os.path.isabs(text):
        candidate = os.path.join(mount, text)
        if _is_cgroup_dir(candidate):
            return candidate, f"cgroup path under {mount}"
        tried.append(f"no cgroup {candidate}")
    elif mount is None:
        tried.append("no cgroup2 file system is mounted")
    if "/" not in text:
        from dprof._native_loader import require
        _native = require("finding a container's cgroup")
        for engine in engines:
            if shutil.which(engine) is None:
                tried.append(f"{engine}: not installed")
                continue
            pid, said = _engine_pid(engine, text, timeout)
            if pid is None:
                tried.append(said)
                continue
            directory, why = _native.cgroup_dir(pid)
            if directory is None:
                tried.append(f"{engine}: container pid {pid} has no cgroup v2: {why}")
                continue
            return directory, f"{engine} container {text} (pid {pid})"
    raise ContainerNotFound(f"cannot find container or cgroup {text!r}: " + "; ".join(tried))
