"""The names users reach through ``import dprof``."""
import subprocess
import sys

import pytest

pytestmark = pytest.mark.core


def test_profile_stays_the_context_manager_after_every_module_is_imported():
    # a submodule named like a public function would replace it on import
    code = ("import dprof, dprof.record, dprof.repo, dprof.session, dprof.stacks, "
            "dprof.resources, dprof.report, dprof.cli\n"
            "assert callable(dprof.profile) and dprof.profile.__module__ == 'dprof.session'\n"
            "assert dprof.Profile.__module__ == 'dprof.record'\n"
            "assert callable(dprof.profiler)\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_exported_name_resolves():
    import dprof
    for name in dprof.__all__:
        assert getattr(dprof, name) is not None, name
    with pytest.raises(AttributeError, match="no_such_name"):
        dprof.no_such_name
