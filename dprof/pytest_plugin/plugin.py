"""The pytest hooks of dprof's benchmark plugin (the ``pytest11`` entry point).

Inert unless used: at import and configure time it registers options and the
``dprof_bench`` marker and imports only the standard library and pytest; it has no
per-test hooks. Work starts when a test requests the ``dprof_bench`` fixture, or a
``--dprof-*`` option asks for it at session end.

Under pytest-xdist the controller makes the run (id, name, commit) and hands it to
the workers; each worker stores the profiles it measured and sends its results back
in ``workeroutput``; the controller merges them, compares, gates and reports.
"""
from __future__ import annotations

import json
import os
import warnings
from typing import Any, List, Optional, Tuple

import pytest

MARKER = "dprof_bench"
# config.stash is pytest 7+; an attribute keeps older pytests working, since the
# entry point loads this plugin into every suite of an environment with dprof
_STATE = pytest.StashKey() if hasattr(pytest, "StashKey") else None
_ATTRIBUTE = "_dprof_bench_state"


def _state(config):
    if _STATE is not None:
        return config.stash.get(_STATE, None)
    return getattr(config, _ATTRIBUTE, None)


def _set_state(config, state) -> None:
    if _STATE is not None:
        config.stash[_STATE] = state
    else:
        setattr(config, _ATTRIBUTE, state)


class _Session:
    """What one pytest process keeps between hooks."""

    def __init__(self, config):
        opt = config.option
        self.config = config
        self.disabled = bool(opt.dprof_disable)
        self.save_name: Optional[str] = opt.dprof_save
        self.autosave = bool(opt.dprof_autosave)
        self.compare = opt.dprof_compare       # None: no compare; "": the latest
        self.json_path: Optional[str] = opt.dprof_json
        self.db = opt.dprof_db or os.environ.get("DPROF_DATABASE_URL") or None
        self.alpha = opt.dprof_alpha
        self.thresholds = []
        self.measured: List[Tuple[Any, Any]] = []   # (BenchResult, Profile) here
        self.results: List[Any] = []                # BenchResults of every process
        self.run = None                             # storage.RunInfo
        self.comparison = None
        self.baseline = None
        self.notes: List[str] = []                  # said in the terminal summary
        self.worker_id = None
        if hasattr(config, "workerinput"):
            self.worker_id = config.workerinput.get("workerid")

    @property
    def is_worker(self) -> bool:
        return self.worker_id is not None

    @property
    def storing(self) -> bool:
        return bool(self.save_name or self.autosave)

    def keep(self, result, profile) -> None:
        self.measured.append((result, profile))
        self.results.append(result)


def pytest_addoption(parser):
    group = parser.getgroup("dprof", "dprof benchmarks (dprof_bench fixture)")
    group.addoption("--dprof-save", metavar="NAME", default=None,
                    help="store this run's benchmarks in the profile database as NAME")
    group.addoption("--dprof-autosave", action="store_true", default=False,
                    help="store this run under a generated name (time and commit)")
    group.addoption("--dprof-db", metavar="URL", default=None,
                    help="profile database URL or SQLite file (default: "
                         "$DPROF_DATABASE_URL, else dprof's default database)")
    group.addoption("--dprof-compare", metavar="NAME", nargs="?", const="", default=None,
                    help="compare with a stored run: a run name or id prefix "
                         "(default: the latest stored run)")
    group.addoption("--dprof-fail", metavar="METRIC:PCT%", action="append", default=[],
                    help="with --dprof-compare, fail when METRIC (mean, median, min, "
                         "peak_memory, allocations) grew by more than PCT%% and the "
                         "change is statistically significant; repeatable")
    group.addoption("--dprof-alpha", metavar="P", type=float, default=0.01,
                    help="significance level of the gate's Mann-Whitney test "
                         "(default 0.01)")
    group.addoption("--dprof-json", metavar="FILE", default=None,
                    help="write the results (and any comparison) as JSON to FILE")
    group.addoption("--dprof-disable", action="store_true", default=False,
                    help="run benchmarked functions once, unmeasured")
    group.addoption("--dprof-only", action="store_true", default=False,
                    help="run only the tests that use dprof_bench")
    group.addoption("--dprof-max-time", metavar="SECONDS", type=float, default=None,
                    help="measured time per benchmark (default 0.5 s)")
    group.addoption("--dprof-min-rounds", metavar="N", type=int, default=None,
                    help="fewest measured rounds per benchmark (default 5)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"{MARKER}(group=None, min_rounds=None, max_time=None, warmup=True): "
                   "options of the dprof_bench benchmark in this test")
    state = _Session(config)
    opt = config.option
    if opt.dprof_disable and opt.dprof_only:
        raise pytest.UsageError("--dprof-disable and --dprof-only exclude each other")
    if opt.dprof_fail and opt.dprof_compare is None:
        raise pytest.UsageError("--dprof-fail needs --dprof-compare (a baseline to "
                                "compare with)")
    if not 0 < opt.dprof_alpha < 1:
        raise pytest.UsageError(f"--dprof-alpha must be between 0 and 1, got "
                                f"{opt.dprof_alpha}")
    if opt.dprof_max_time is not None and not opt.dprof_max_time > 0:
        raise pytest.UsageError(f"--dprof-max-time must be > 0, got {opt.dprof_max_time}")
    if opt.dprof_min_rounds is not None and opt.dprof_min_rounds < 2:
        raise pytest.UsageError(f"--dprof-min-rounds must be >= 2, got "
                                f"{opt.dprof_min_rounds}")
    if opt.dprof_fail:
        from dprof.pytest_plugin import gate
        for text in opt.dprof_fail:
            try:
                state.thresholds.append(gate.parse_threshold(text))
            except ValueError as err:
                raise pytest.UsageError(str(err)) from None
    if state.is_worker:
        run = config.workerinput.get("dprof_run")
        if run is not None:
            from dprof.pytest_plugin.storage import RunInfo
            state.run = RunInfo.from_dict(json.loads(run))
    _set_state(config, state)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist controller: give every worker the run it belongs to."""
    state = _state(node.config)
    if state is None or not state.storing:
        return
    run = _ensure_run(state)
    if run is not None:
        node.workerinput["dprof_run"] = json.dumps(run.to_dict())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """xdist controller: merge a worker's results."""
    state = _state(node.config)
    output = getattr(node, "workeroutput", None) or {}
    text = output.get("dprof_bench")
    if state is None or not text:
        return
    try:
        from dprof.pytest_plugin.result import BenchResult
        state.results.extend(BenchResult.from_dict(d) for d in json.loads(text))
        for note in output.get("dprof_notes", []):
            state.notes.append(note)
    except Exception as err:
        _warn(f"results of worker {output.get('workerid', '?')} could not be read: {err!r}")


def pytest_collection_modifyitems(config, items):
    if not config.option.dprof_only:
        return
    keep, drop = [], []
    for item in items:
        uses = "dprof_bench" in getattr(item, "fixturenames", ()) or \
            item.get_closest_marker(MARKER) is not None
        (keep if uses else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def dprof_bench(request):
    """Benchmark a function: ``dprof_bench(fn, *args, **kwargs)`` returns its result;
    ``dprof_bench.pedantic(fn, args=..., rounds=..., iterations=..., setup=...)``."""
    from dprof.pytest_plugin.fixture import DprofBench

    state = _state(request.config)
    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker is not None else {}
    unknown = set(options) - {"group", "min_rounds", "max_time", "warmup"}
    if unknown:
        raise pytest.UsageError(f"@pytest.mark.{MARKER} got unknown options "
                                f"{sorted(unknown)}; it takes group, min_rounds, "
                                f"max_time, warmup")
    opt = request.config.option
    kwargs = {}
    min_rounds = options.get("min_rounds", opt.dprof_min_rounds)
    if min_rounds is not None:
        kwargs["min_rounds"] = int(min_rounds)
    max_time = options.get("max_time", opt.dprof_max_time)
    if max_time is not None:
        kwargs["max_time"] = float(max_time)
    bench = DprofBench(request.node.nodeid, sink=state.keep, group=options.get("group"),
                       disabled=state.disabled, warmup=bool(options.get("warmup", True)),
                       worker=state.worker_id, **kwargs)
    return bench


def _ensure_run(state):
    """The run of this session (made once, by the controller or a lone process)."""
    if state.run is None:
        try:
            from dprof.pytest_plugin import storage
            state.run = storage.new_run(state.save_name, state.autosave,
                                        str(state.config.rootpath))
        except Exception as err:
            _warn(f"could not describe the benchmark run: {err!r}")
    return state.run


def _repo(state):
    from dprof.repo import ProfileRepo
    return ProfileRepo(state.db)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    state = _state(session.config)
    if state is None:
        return
    if state.measured and state.storing:
        _store(state)
    if state.is_worker:
        if state.results:
            try:
                session.config.workeroutput["dprof_bench"] = json.dumps(
                    [r.to_dict() for r in state.results])
                session.config.workeroutput["dprof_notes"] = state.notes
            except Exception as err:
                _warn(f"could not send the benchmark results to the xdist controller: "
                      f"{type(err).__name__}: {err}")
        return
    if not state.results and state.compare is None and state.json_path is None:
        return
    try:
        _finish_controller(session, state)
    except Exception as err:       # the plugin's own failure never fails the tests
        _warn(f"dprof benchmark reporting failed: {type(err).__name__}: {err}")


def _store(state) -> None:
    try:
        from dprof.pytest_plugin import storage
        run = _ensure_run(state)
        if run is None:
            return
        with _repo(state) as repo:
            count = storage.save(repo, run, state.measured)
        state.notes.append(f"stored {count} benchmark(s) as run {run.name!r} "
                           f"({run.run_id}) in {repo.url}")
    except Exception as err:
        _warn(f"could not store the benchmarks: {type(err).__name__}: {err}")


def _finish_controller(session, state) -> None:
    from dprof.pytest_plugin import gate, report

    if state.compare is not None and state.results:
        from dprof.pytest_plugin import storage
        try:
            with _repo(state) as repo:
                exclude = state.run.run_id if state.run is not None else None
                base_run = storage.find_run(repo, state.compare or None, exclude)
                base = storage.load_results(repo, base_run)
        except LookupError as err:
            state.notes.append(f"dprof compare: {err}")
            if state.thresholds:
                # asked to gate with nothing to gate against: say so, do not pass silently
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
                state.notes.append("dprof gate: FAILED (no baseline)")
        else:
            state.baseline = base_run
            state.comparison = gate.compare_results(base, state.results, state.thresholds,
                                                    state.alpha)
            if report.failed(state.comparison) and session.exitstatus == 0:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if state.json_path:
        run = state.run.to_dict() if state.run is not None else None
        if run is not None:
            run["benchmarks"] = len(state.results)
        doc = report.json_document(
            run, state.results,
            state.comparison, state.baseline.to_dict() if state.baseline else None)
        report.write_json(state.json_path, doc)
        state.notes.append(f"wrote {state.json_path}")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = _state(config)
    if state is None or state.is_worker or not (state.results or state.notes):
        return
    try:
        from dprof.pytest_plugin import report
        tr = terminalreporter
        if state.results:
            tr.write_sep("-", f"dprof benchmarks: {len(state.results)}")
            for line in report.summary_lines(state.results):
                tr.write_line(line)
        if state.comparison is not None:
            b = state.baseline
            label = f"run {b.name or '(unnamed)'} ({b.run_id}, {b.started}, commit {b.commit})"
            tr.write_sep("-", "dprof comparison")
            for line in report.comparison_lines(state.comparison, label):
                tr.write_line(line)
            bad = report.failed(state.comparison)
            if bad:
                tr.write_line("dprof gate: FAILED: " + ", ".join(
                    f"{c.name} {c.metric} {report.format_change(c.change)}" for c in bad),
                    red=True, bold=True)
            elif state.thresholds:
                tr.write_line("dprof gate: passed")
        for note in state.notes:
            tr.write_line(note)
    except Exception as err:
        _warn(f"dprof benchmark summary failed: {type(err).__name__}: {err}")


def _warn(message: str) -> None:
    from dprof.task.recorder import ProfilerWarning
    warnings.warn(message, ProfilerWarning, stacklevel=2)
