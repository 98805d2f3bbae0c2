"""Following child processes: the Python processes a profiled program starts get
their own stack sampling, and their stack profiles are merged into the program's.

- ``child``: what runs inside a followed process (started by the ``shim`` at
  interpreter start, or by an at-fork hook in a forked child).
- ``shim/sitecustomize.py``: put first on the children's ``PYTHONPATH``.
- ``collect``: reading the children's profiles and merging them (pure functions).
- ``parent``: ``Follower`` (the environment and the directory) and ``FollowingRun``.

See docs/how-it-works.md, "Following child processes".
"""
from dprof.follow.child import ENV_DIR, ENV_HZ

__all__ = ["ENV_DIR", "ENV_HZ"]
