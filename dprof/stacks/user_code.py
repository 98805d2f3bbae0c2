"""Which frames are the user's code, and the launcher frames that are nobody's.

"Your code" is what the user ran: the script or module and its top-level package,
wherever it is installed (site-packages included), plus anything under the directory
they ran it from. ``dprof run`` writes these roots into the stack profile
(``StackProfile.meta["user_code"]``), so that a report made later, in another
directory or on another machine, draws the same line.

The launcher is what ran before the program's first line: the ``dprof`` console
script or ``python -m dprof``, dprof's CLI and ``runpy``. ``strip_launcher`` cuts it
off the root of every stack, so that no stack, export, chart of threads or
traceback shows it; ``--libraries`` then still shows everything the program ran.

This module decides; ``dprof.report._common.frame_filter`` and the reports ask it.
It lives beside the stack model, not in ``dprof.report``, because ``dprof run``
needs it on every run and must not import the report renderers to get it.
"""
from __future__ import annotations

import functools
import os
import sys
import sysconfig
from typing import Callable, Dict, Iterable, List, Optional, Sequence

META_KEY = "user_code"

_DPROF_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@functools.lru_cache(maxsize=1)
def library_prefixes() -> tuple:
    """Directories whose files are not the user's code: the stdlib, site dirs, dprof."""
    import site
    dirs = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        for scheme_vars in ({}, {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}):
            try:
                dirs.add(sysconfig.get_paths(vars=scheme_vars)[key])
            except (KeyError, ValueError):
                pass
    try:
        dirs.update(site.getsitepackages())
    except AttributeError:      # some virtualenv versions ship a site.py without it
        pass
    user_site = getattr(site, "getusersitepackages", lambda: None)()
    if user_site:
        dirs.add(user_site)
    dirs.add(_DPROF_DIR)
    return tuple(sorted(_prefix(d) for d in dirs if d))


def _prefix(path: str) -> str:
    path = os.path.normcase(os.path.abspath(path))
    return path if path.endswith(os.sep) else path + os.sep


def _norm(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


def _under(path: str, prefix: str) -> bool:
    return path.startswith(prefix)


def roots_for_run(kind: str, target: Optional[str], cwd: Optional[str] = None,
                  launcher: Sequence[str] = ()) -> Dict[str, List[str]]:
    """The ``meta["user_code"]`` entry of a ``dprof run``.

    ``pinned``: files and directories that are the user's even under site-packages
    (the script; the module's top-level package, or the module file). ``local``:
    directories whose files are the user's unless they are a library (the current
    directory; a script's own directory, where its helper modules sit). ``launcher``:
    files that started dprof (its console script), never the user's."""
    cwd = os.path.abspath(cwd or os.getcwd())
    pinned: List[str] = []
    local = [cwd]
    if kind == "script" and target:
        script = os.path.abspath(target)
        pinned.append(script)
        local.append(os.path.dirname(script))
    elif kind == "module" and target:
        where = module_location(target.partition(".")[0], cwd)
        if where:
            pinned.append(where)
    return {"pinned": pinned, "local": sorted(set(local)),
            "launcher": [os.path.abspath(p) for p in launcher if p]}


def module_location(top: str, cwd: str) -> Optional[str]:
    """The directory of package ``top`` (or its file, for a single module), found as
    ``python -m`` finds it (the current directory first); None when not found."""
    import importlib.util
    sys.path.insert(0, cwd)
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    finally:
        sys.path.pop(0)
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    if locations:
        return os.path.abspath(locations[0])
    if spec.origin and os.path.isfile(spec.origin):
        return os.path.abspath(spec.origin)
    return None


def launcher_files() -> List[str]:
    """This process's entry point when it is a file outside dprof's package (the
    ``dprof`` console script); ``python -m dprof`` has none beyond dprof and runpy."""
    main = getattr(sys.modules.get("__main__"), "__file__", None) or (sys.argv[0] if sys.argv else "")
    if main and os.path.isfile(main) and not _norm(main).startswith(_prefix(_DPROF_DIR)):
        return [os.path.abspath(main)]
    return []


@functools.lru_cache(maxsize=1)
def _library_prefixes() -> tuple:
    scripts = set()
    for scheme_vars in ({}, {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}):
        try:
            scripts.add(sysconfig.get_paths(vars=scheme_vars)["scripts"])
        except (KeyError, ValueError):
            pass
    # console scripts (bin/) are entry points of installed packages, not the user's
    return tuple(library_prefixes()) + tuple(_prefix(d) for d in scripts if d)


def _is_library(path: str) -> bool:
    parts = path.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return True
    return any(_under(path, p) for p in _library_prefixes())


def _is_pseudo(filename: str) -> bool:
    return not filename or (filename.startswith("<") and filename.endswith(">"))


class UserCode:
    """A predicate on file names: is this the user's code?

    Without roots (a profile that ``dprof run`` did not make: ``@profiler``,
    ``profile()``), every file that is not a library, dprof itself or an
    installed console script is the user's."""

    def __init__(self, pinned: Iterable[str] = (), local: Iterable[str] = (),
                 launcher: Iterable[str] = ()):
        self.pinned = tuple(_norm(p) for p in pinned)
        self.local = tuple(_prefix(p) for p in local)
        self.launcher = frozenset(_norm(p) for p in launcher)
        self.has_roots = bool(self.pinned or self.local)
        self._cache: Dict[str, bool] = {}

    def __call__(self, filename: str) -> bool:
        known = self._cache.get(filename)
        if known is None:
            known = self._cache[filename] = self._decide(filename)
        return known

    def _decide(self, filename: str) -> bool:
        if _is_pseudo(filename):
            return False
        path = _norm(filename)
        if path in self.launcher or _under(path, _prefix(_DPROF_DIR)):
            return False
        for root in self.pinned:
            if path == root or _under(path, root + os.sep):
                return True
        if _is_library(path):
            return False
        if not self.has_roots:
            return True
        return any(_under(path, root) for root in self.local)

    @classmethod
    def from_roots(cls, roots: Dict[str, List[str]]) -> "UserCode":
        """The predicate of the roots ``roots_for_run`` returns."""
        return cls(roots.get("pinned") or (), roots.get("local") or (),
                   roots.get("launcher") or ())

    @classmethod
    def of(cls, profile) -> "UserCode":
        """The predicate a stack profile's ``meta`` describes (see ``roots_for_run``)."""
        meta = getattr(profile, "meta", None) or {}
        roots = meta.get(META_KEY) if isinstance(meta, dict) else None
        if not isinstance(roots, dict):
            return _LEGACY
        return cls.from_roots(roots)


_LEGACY = UserCode()


def user_code_of(profile) -> Callable[[str], bool]:
    return UserCode.of(profile)


# -- the launcher -------------------------------------------------------------------------
def is_launcher_file(filename: str, launcher: Iterable[str] = ()) -> bool:
    """dprof's package, runpy (a file or frozen), or one of ``launcher``'s files."""
    if _is_runpy(filename):
        return True
    if _is_pseudo(filename):
        return False
    path = _norm(filename)
    return _under(path, _prefix(_DPROF_DIR)) or path in {_norm(p) for p in launcher}


def _is_runpy(filename: str) -> bool:
    """The standard library's runpy, frozen (3.11+) or a file."""
    if filename == "<frozen runpy>":
        return True
    if _is_pseudo(filename):
        return False
    path = _norm(filename)
    return os.path.basename(path) == "runpy.py" and _is_library(path)


def strip_launcher(stacks, launcher: Iterable[str] = (), cwd: Optional[str] = None,
                   user_roots: Optional[Dict[str, List[str]]] = None):
    """A copy of ``stacks`` whose every stack starts below the launcher: the longest
    root-first run of launcher frames is cut off. Rows that are launcher frames only
    (dprof starting and storing the run) and rows of dprof's own threads are dropped;
    their seconds go to ``meta["launcher_seconds"]``. With ``user_roots`` (those of
    ``roots_for_run``), so is a row where the launcher is at work in library code
    before the program's first line (runpy finding the script through pkgutil and
    zipimport, dprof entering a context manager): see ``_launcher_at_work``. With
    ``cwd``, relative file names (a script run by a relative path) are made absolute
    against it."""
    from dprof.stacks.model import Frame, StackProfile
    launcher = tuple(launcher)
    users = None if user_roots is None else UserCode.from_roots(user_roots)

    def absolute(frame):
        name = frame.filename
        if cwd is None or not name or _is_pseudo(name) or os.path.isabs(name):
            return frame
        return Frame(os.path.join(cwd, name), frame.function, frame.line)
    out = StackProfile(thread_names={}, duration_seconds=stacks.duration_seconds,
                       requested_hz=stacks.requested_hz, effective_hz=stacks.effective_hz,
                       overhead_seconds=stacks.overhead_seconds, meta=dict(stacks.meta))
    dropped = 0.0
    own_file = functools.lru_cache(maxsize=None)(lambda f: is_launcher_file(f, launcher))
    for row in stacks.rows:
        name = stacks.thread_names.get(row.thread_id, "")
        frames = stacks.stack_frames(row.stack_id)
        cut = 0
        while cut < len(frames) and own_file(frames[cut].filename):
            cut += 1
        if (name.startswith("dprof-") or (frames and cut == len(frames))
                or (users is not None and _launcher_at_work(frames, cut, users))):
            dropped += row.seconds
            continue
        out.add(row.thread_id, [absolute(f) for f in frames[cut:]], row.category,
                row.seconds, row.samples)
        if name:
            out.thread_names[row.thread_id] = name
    out.meta["launcher_seconds"] = dropped + float(stacks.meta.get("launcher_seconds", 0.0))
    return out


def _launcher_at_work(frames, cut: int, users: UserCode) -> bool:
    """Whether a stack whose launcher part is ``frames[:cut]`` is the launcher's own
    work. The program starts where runpy's ``_run_code`` executes its code; below any
    other launcher frame (runpy's ``run_path`` calling pkgutil, dprof calling
    contextlib) only library code is the launcher's, while the user's code (a
    package that ``-m pkg.mod`` imports before its first line) is the program's."""
    if cut == 0:
        return False            # a thread of the program's own
    last = frames[cut - 1]
    if last.function == "_run_code" and _is_runpy(last.filename):
        return False
    return not any(users(f.filename) for f in frames[cut:])


def trim_traceback(tb, exc=None, launcher: Iterable[str] = ()):
    """The traceback from the first entry that is not the launcher's. When every
    entry is: None for a program that could not be compiled or imported (Python's
    own report names the file and line), else the whole traceback (dprof failed,
    and that should be seen)."""
    first = tb
    while first is not None and is_launcher_file(first.tb_frame.f_code.co_filename, launcher):
        first = first.tb_next
    if first is not None:
        return first
    return None if isinstance(exc, (SyntaxError, ImportError)) else tb
