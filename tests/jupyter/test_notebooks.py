"""The example notebooks under examples/notebooks/ run top to bottom without an error.

Each is executed with nbclient on a real IPython kernel (this tree's dprof on its
path, a throwaway database), as a reader would run it; a cell that raises fails the
test with the cell and its traceback. The notebooks assert what they claim (the stage
that got slower, the fitted class), so a wrong result fails too.
"""
from pathlib import Path

import pytest

from jupyter_kernel import kernel_env, skip_or_fail

pytestmark = pytest.mark.slow

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "examples" / "notebooks")
                   .glob("*.ipynb"))


def test_the_three_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} >= {"pipeline_profiles", "where_the_time_goes",
                                          "compare_algorithms"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    try:
        import ipykernel  # noqa: F401  (the kernel nbclient starts)
        import nbclient
        import nbformat
    except ImportError as err:
        skip_or_fail(f"{err.name} is not installed; pip install '.[test]'")
    for key, value in kernel_env(tmp_path).items():
        monkeypatch.setenv(key, value)        # the kernel inherits this environment
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as err:
        pytest.fail(f"{path.name}: a cell raised:\n{err}", pytrace=False)
    except RuntimeError as err:       # the kernel died or never started
        if "kernel" in str(err).lower():
            skip_or_fail(f"an IPython kernel could not start here: {err}")
        raise
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    # every notebook shows something rich (an HTML table, a profile or a figure)
    assert any("text/html" in o.get("data", {}) or "image/png" in o.get("data", {})
               for o in outputs)
