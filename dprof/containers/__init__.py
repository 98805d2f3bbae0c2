"""Containers: watch a container's cgroup v2 from outside it.

``ContainerResourceMonitor`` (monitor.py) samples a cgroup given by path or by a
Docker/Podman container name (resolved in resolve.py through the engine's CLI),
with the native cgroup reader the resource sampler uses on its own cgroup.
"""
from .monitor import ContainerResourceMonitor
from .resolve import ContainerNotFound, resolve_cgroup

__all__ = ["ContainerResourceMonitor", "ContainerNotFound", "resolve_cgroup"]
