"""dprof's follow shim: imported by ``site`` at the start of every Python process whose
``PYTHONPATH`` holds this directory (``dprof run --follow-children`` puts it there).

It runs the ``sitecustomize`` this one shadows, if any, then, only when
``DPROF_FOLLOW_DIR`` is set, starts dprof's stack sampling of this process
(``dprof.follow.child``). Without that variable it does nothing else. It must never
break the process: a failure of dprof is only reported to the parent through a note
in the follow directory; the shadowed sitecustomize's own error is raised as it
would have been without the shim (``site`` prints it and goes on).
"""
import os as _os
import sys as _sys


def _run_shadowed_sitecustomize():
    """Import the next ``sitecustomize`` on sys.path, as ``site`` would have."""
    here = _os.path.dirname(_os.path.abspath(__file__))
    path = [p for p in _sys.path
            if isinstance(p, str) and _os.path.abspath(p or _os.curdir) != here]
    from importlib.machinery import PathFinder
    spec = PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    import importlib.util
    module = importlib.util.module_from_spec(spec)
    # the import system hands back what sys.modules holds once this shim ends, so the
    # shadowed module becomes `sitecustomize` for everyone
    _sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


def _follow(directory):
    try:
        from dprof.follow import child
        child.start_from_env()
    except BaseException as exc:      # dprof not importable by this interpreter, ...
        try:
            import json
            key = "%d-shim" % _os.getpid()
            path = _os.path.join(directory, key + ".json")
            with open(path + ".tmp", "w") as f:
                json.dump({"pid": _os.getpid(), "ppid": _os.getppid(), "how": "exec",
                           "argv": [str(a) for a in getattr(_sys, "argv", [])][:20],
                           "python": _sys.executable,
                           "error": "%s: %s" % (type(exc).__name__, exc)}, f)
            _os.replace(path + ".tmp", path)
        except BaseException:
            pass


def _main():
    shadowed_error = None
    try:
        _run_shadowed_sitecustomize()
    except BaseException as exc:
        shadowed_error = exc
    directory = _os.environ.get("DPROF_FOLLOW_DIR")
    if directory:
        _follow(directory)
    if shadowed_error is not None:
        raise shadowed_error


_main()
