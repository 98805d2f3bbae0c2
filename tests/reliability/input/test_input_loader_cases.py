"""The cases of issue 15 that crashed ``dprof view FILE`` and ``Profile.from_dict``,
one by one: each loader raises ProfileFormatError (a ValueError) naming the field,
and the CLI prints that in one line and exits 2. Before, these raised IndexError,
KeyError, AttributeError, OverflowError, TypeError or RecursionError."""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dprof
import profile_mutations as pm
from dprof.errors import ProfileFormatError
from dprof.record import Profile

pytestmark = [pytest.mark.core, pytest.mark.native]
ENV = dict(os.environ, PYTHONPATH=str(Path(dprof.__file__).resolve().parent.parent))


def _set(path, value):
    def change(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return doc
    return change


# (name, change to the recorded profile's dict, the field the error must name)
CASES = [
    ("stack id pointing nowhere (IndexError)", _set(("stacks", "rows", 0, 1), 10 ** 6),
     "stacks.rows[0][1]"),
    ("frame id pointing nowhere (IndexError)", _set(("stacks", "stacks", 0, 0), 99999),
     "stacks.stacks[0][0]"),
    ("negative frame id (wrong frame, silently)", _set(("stacks", "stacks", 0, 0), -1),
     "stacks.stacks[0][0]"),
    ("unknown category (KeyError)", _set(("stacks", "rows", 0, 2), "cpu_gpu"),
     "stacks.rows[0][2]"),
    ("infinite seconds (OverflowError in reports)", _set(("stacks", "rows", 0, 4), float("inf")),
     "stacks.rows[0][4]"),
    ("NaN duration", _set(("stacks", "duration_seconds"), float("nan")),
     "stacks.duration_seconds"),
    ("400-digit metric (OverflowError)", _set(("runtime_seconds",), 10 ** 400),
     "runtime_seconds"),
    ("stacks not an object (AttributeError)", _set(("stacks",), [1, 2]), "stacks"),
    ("rows missing (KeyError)", _set(("stacks", "rows"), KeyError), "stacks.rows"),
    ("frame not a triple (unpacking ValueError)", _set(("stacks", "frames", 0), "main"),
     "stacks.frames[0]"),
    ("line as text (int() of a str)", _set(("stacks", "frames", 0, 2), "x"),
     "stacks.frames[0][2]"),
    ("memory row names no frame", _set(("memory", "rows", 0, 0), [10 ** 9]),
     "memory.rows[0][0][0]"),
    ("memory timeline names no row", _set(("memory", "timeline", "row", 0), 10 ** 9),
     "memory.timeline.row[0]"),
    ("memory timeline time a 400-digit int (found by the fuzz test)",
     _set(("memory", "timeline", "t", 0), 10 ** 400), "memory.timeline.t[0]"),
    ("resources not base64 (binascii.Error)", _set(("resources", "columns", "t"), "%%%"),
     "resources.columns['t']"),
    ("naive time at year 1 (OverflowError)", _set(("task_start_time",), "0001-01-01T00:00:00"),
     "task_start_time"),
    ("user_code roots not paths (TypeError in reports)",
     _set(("stacks", "meta", "user_code"), {"pinned": [1]}), "stacks.meta.user_code.pinned[0]"),
    ("infinite sampler counter in meta (ValueError writing JSON, found by the fuzz test)",
     _set(("stacks", "meta", "gil_free_samples"), float("inf")),
     "stacks.meta.gil_free_samples"),
    ("meta nested 100 deep (RecursionError writing JSON)",
     _set(("stacks", "meta", "extra"), json.loads("[" * 100 + "]" * 100)),
     "stacks.meta.extra" + "[0]" * 63),
    ("format a 100,000-deep nesting (RecursionError)", _set(("format",), pm.DEEP), "format"),
]


@pytest.fixture(scope="module")
def recorded():
    doc = pm.recorded_profile()
    assert doc["stacks"]["rows"] and doc["memory"]["rows"] and doc["memory"]["timeline"]["row"]
    return doc


def as_python(doc):
    """The dict json.load would give, with a DEEP marker made a real deep nesting."""
    deep: list = []
    for _ in range(pm.DEPTH):
        deep = [deep]
    text = json.dumps(doc)
    loaded = json.loads(text.replace(json.dumps(pm.DEEP), "null"))
    if json.dumps(pm.DEEP) in text:
        loaded["format"] = deep
    return loaded


@pytest.mark.parametrize("name, change, field", CASES, ids=[c[0] for c in CASES])
def test_profile_from_dict_names_the_field(recorded, name, change, field):
    doc = change(copy.deepcopy(recorded))
    with pytest.raises(ProfileFormatError) as err:
        Profile.from_dict(as_python(doc))
    assert err.value.field == field and str(err.value).startswith(f"{field}: ")
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("name, change, field", CASES, ids=[c[0] for c in CASES])
def test_dprof_view_prints_one_line_and_exits_2(recorded, tmp_path, capsys, name, change, field):
    from dprof.cli import main
    path = tmp_path / "bad.json"
    path.write_text(pm.to_json(change(copy.deepcopy(recorded))), encoding="utf-8")
    for extra in ([], ["-o", str(tmp_path / "x.html")], ["-o", str(tmp_path / "x.json")]):
        assert main(["--db", str(tmp_path / "db"), "view", str(path)] + extra) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("dprof view: "), err
        assert field in err or "nested too deeply" in err


def test_the_same_through_a_real_process(recorded, tmp_path):
    """One case end to end: the user's shell sees one line, exit status 2."""
    path = tmp_path / "bad.json"
    path.write_text(pm.to_json(CASES[0][1](copy.deepcopy(recorded))), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "dprof", "--db", str(tmp_path / "db"),
                           "view", str(path), "-o", str(tmp_path / "x.html")],
                          capture_output=True, text=True, timeout=120, env=ENV)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (f"dprof view: {path} is not a valid dprof profile: "
                                   f"stacks.rows[0][1]: stack id 1000000 points nowhere "
                                   f"(stack ids: 0..{len(recorded['stacks']['stacks']) - 1})")
