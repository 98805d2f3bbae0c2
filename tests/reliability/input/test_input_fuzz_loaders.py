"""Mutated real profile files: every loader raises only ProfileFormatError (a
ValueError naming the field), and ``dprof view FILE`` (terminal and every ``-o``
format) either works or prints one line and exits 2.

The seed is a profile dprof records in this test (stacks, memory, resources). The
in-suite run is bounded (``DPROF_FUZZ_EXAMPLES`` examples per test, default 100);
``python tests/fuzz/fuzz_profiles.py --seconds 600`` runs the same checks for longer.
"""
from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import profile_mutations as pm
from dprof.errors import ProfileFormatError
from dprof.memory.model import MemoryProfile
from dprof.record import Profile
from dprof.stacks.model import StackProfile

EXAMPLES = int(os.environ.get("DPROF_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
# what `dprof view FILE` writes, by -o ending
OUTPUTS = ("x.html", "x.svg", "x.speedscope.json", "x.trace.json", "x.collapsed",
           "x.pb.gz", "x.json")

pytestmark = [pytest.mark.core, pytest.mark.native]     # the seed records stacks natively


class Seed(dict):
    """The recorded profile; a short repr, so that a failing example stays readable."""

    def __repr__(self) -> str:
        return "<recorded profile>"


@pytest.fixture(scope="module")
def seed() -> dict:
    return Seed(pm.recorded_profile())


def mutations():
    return st.tuples(st.integers(0, 1 << 30), st.sampled_from(pm.KINDS),
                     st.sampled_from(pm.HOSTILE))


def as_loaded(doc):
    """What json.load gives for the file ``to_json(doc)``; for a nesting too deep for
    json itself, the nested lists as a Python object (the loader must still cope)."""
    try:
        return json.loads(pm.to_json(doc))
    except RecursionError:
        deep: list = []
        for _ in range(pm.DEPTH):
            deep = [deep]
        return _replace(doc, deep)


def _replace(doc, deep):
    if doc == pm.DEEP:
        return deep
    if isinstance(doc, dict):
        return {k: _replace(v, deep) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_replace(v, deep) for v in doc]
    return doc


def loads_or_names_the_field(load, data):
    try:
        return load(data)
    except ProfileFormatError as exc:
        assert exc.field and exc.field in str(exc)
        return None


@FUZZ
@given(mutation=mutations())
def test_profile_from_dict_raises_only_profile_format_error(seed, mutation):
    loads_or_names_the_field(Profile.from_dict, as_loaded(pm.mutate(seed, *mutation)))


@FUZZ
@given(mutation=mutations())
def test_stack_profile_from_dict_raises_only_profile_format_error(seed, mutation):
    loads_or_names_the_field(StackProfile.from_dict,
                             as_loaded(pm.mutate(seed["stacks"], *mutation)))


@FUZZ
@given(mutation=mutations())
def test_memory_profile_from_dict_raises_only_profile_format_error(seed, mutation):
    loads_or_names_the_field(MemoryProfile.from_dict,
                             as_loaded(pm.mutate(seed["memory"], *mutation)))


@FUZZ
@given(mutation=mutations(), which=st.sampled_from(("profile", "stacks")),
       output=st.sampled_from((None,) + OUTPUTS))
def test_view_of_a_mutated_file_works_or_says_one_line(seed, mutation, which, output,
                                                        tmp_path_factory, capsys):
    from dprof.cli import main
    work = tmp_path_factory.mktemp("view")
    doc = pm.mutate(seed if which == "profile" else seed["stacks"], *mutation)
    path = work / "mutated.json"
    path.write_text(pm.to_json(doc), encoding="utf-8")
    args = ["--db", str(work / "db.sqlite"), "view", str(path)]
    if output is not None:
        args += ["-o", str(work / output)]
    rc = main(args)             # an exception escaping here is the traceback users saw
    out, err = capsys.readouterr()
    assert rc in (0, 2), (rc, err)
    if rc == 2:
        assert len(err.strip().splitlines()) == 1 and err.startswith("dprof view: "), err
    for flavour in (None, "--memory=allocated"):     # the memory view reads the same file
        if which == "profile" and flavour and output in (None, "x.svg"):
            rc = main(args + [flavour])
            _, err = capsys.readouterr()
            assert rc in (0, 2) and (rc == 0 or len(err.strip().splitlines()) == 1), err
