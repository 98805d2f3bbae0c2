"""The names users reach through ``import dprof``."""
import os
import pathlib
import subprocess
import sys

import pytest

import dprof

pytestmark = pytest.mark.core


def test_profile_stays_the_context_manager_after_every_module_is_imported(tmp_path):
    # a submodule named like a public function would replace it on import
    code = ("import dprof, dprof.record, dprof.repo, dprof.session, dprof.stacks, "
            "dprof.resources, dprof.report, dprof.cli\n"
            "assert callable(dprof.profile) and dprof.profile.__module__ == 'dprof.session'\n"
            "assert dprof.Profile.__module__ == 'dprof.record'\n"
            "assert callable(dprof.profiler)\n")
    # the dprof this pytest imported (installed in CI, the built source tree locally),
    # from a directory where no other dprof can be picked up
    root = str(pathlib.Path(dprof.__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH")) if p))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, env=env)


def test_every_exported_name_resolves():
    import dprof
    for name in dprof.__all__:
        assert getattr(dprof, name) is not None, name
    with pytest.raises(AttributeError, match="no_such_name"):
        dprof.no_such_name
