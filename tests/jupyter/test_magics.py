"""%load_ext dprof, %dprof and %%dprof in a real IPython kernel (jupyter_client).

Checks what a notebook would show: the display's mime bundle (HTML with the summary,
hotspots and a self-contained flamegraph iframe; plain text), the Profile left in
``_dprof``, the options reaching the recorder, names defined by the cell staying
defined, and an exception in the cell still leaving a failed profile behind.
"""
import re

import pytest

from jupyter_kernel import start_kernel

pytestmark = pytest.mark.slow

CELL = """%%dprof --name busy-cell --no-store -r 200
import time
def spin(n):
    total = 0
    for i in range(n):
        total += i * i
    return total
deadline = time.perf_counter() + 0.4
while time.perf_counter() < deadline:
    answer = spin(20000)
"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    k = start_kernel(tmp_path_factory.mktemp("kernel"))
    msgs = k.execute("%load_ext dprof")
    assert not [m for m in msgs if m["msg_type"] == "error"], msgs
    yield k
    k.stop()


def displays(msgs):
    return [m["content"]["data"] for m in msgs if m["msg_type"] in ("display_data",
                                                                    "execute_result")]


def test_cell_magic_shows_profile_and_sets_dprof(kernel):
    msgs = kernel.execute(CELL)
    assert not [m for m in msgs if m["msg_type"] == "error"], msgs
    (bundle,) = displays(msgs)
    html, text = bundle["text/html"], bundle["text/plain"]
    assert "busy-cell" in html and "peak memory" in html and "Hotspot lines" in html
    # the flamegraph page is inlined (offline): no script or stylesheet is fetched
    srcdoc = re.search(r'srcdoc="([^"]*)"', html).group(1)
    assert "flame-svg" in srcdoc and "dprof-data" in srcdoc
    assert not re.search(r"(src|href)=&quot;https?:", srcdoc)
    assert "Profile 'busy-cell' [ok]" in text and "hotspot lines:" in text
    # the hot line of the cell is named with its source text
    assert "total += i * i" in html
    assert kernel.value("_dprof.process_name") == "busy-cell"
    assert kernel.value("_dprof.stacks is not None and _dprof.stacks.requested_hz") == 200.0
    assert kernel.value("answer") == sum(i * i for i in range(20000))   # cell ran in user ns
    # the kernel's own idle threads are left out: only the cell's thread was sampled
    assert kernel.value("len({r.thread_id for r in _dprof.stacks.rows})") == 1
    assert kernel.value("len(_dprof.stacks.meta['excluded_threads']) > 0")
    assert kernel.value("_dprof.stacks.seconds_by_category()['cpu_python'] > "
                        "_dprof.stacks.seconds_by_category()['wait_sleep']")
    assert kernel.value("_dprof.runtime_seconds >= 0.4")
    # --no-store: nothing in the kernel's database
    assert kernel.value("len(__import__('dprof').ProfileRepo().query())") == 0


def test_line_magic_statement_verbatim_and_stored(kernel):
    msgs = kernel.execute("%dprof --name line --no-stacks --no-report "
                          "text = 'it''s ' + \"a b\"")
    assert not [m for m in msgs if m["msg_type"] == "error"], msgs
    (bundle,) = displays(msgs)
    assert "flame-svg" not in bundle["text/html"]
    assert kernel.value("text") == "its a b"
    assert kernel.value("_dprof.stacks") is None
    stored = kernel.value("list(__import__('dprof').ProfileRepo().query()['id'])")
    assert kernel.value("_dprof.id") in stored
    kernel.execute("%dprof -q --name stored-stacks time.sleep(0.05) if 'time' in dir() "
                   "else None")
    assert kernel.value("[r.thread_id for r in __import__('dprof').ProfileRepo()"
                        ".stacks(_dprof.id).rows] == [r.thread_id for r in _dprof.stacks.rows]")


def test_no_resources_and_quiet(kernel):
    msgs = kernel.execute("%dprof -q --no-resources --no-store x = 1")
    assert displays(msgs) == []
    assert kernel.value("_dprof.resources") is None


def test_failing_cell_records_failed_profile_and_raises(kernel):
    msgs = kernel.execute("%%dprof --no-store --name boom\nraise KeyError('k')\n")
    errors = [m for m in msgs if m["msg_type"] == "error"]
    assert errors and errors[0]["content"]["ename"] == "KeyError"
    assert kernel.value("(_dprof.process_name, _dprof.status, _dprof.exception_type)") == \
        ("boom", "failed", "KeyError")


def usage_error(msgs) -> str:
    """IPython reports a magic's UsageError as "UsageError: ..." on stderr."""
    text = "".join(m["content"].get("text", "") for m in msgs if m["msg_type"] == "stream"
                   and m["content"]["name"] == "stderr")
    text += "".join(m["content"]["evalue"] for m in msgs if m["msg_type"] == "error")
    return text


def test_bad_option_is_a_usage_error_naming_it(kernel):
    kernel.execute("x = 0")
    assert "--stack-hz must be a positive number" in usage_error(
        kernel.execute("%dprof --stack-hz 0 x = 1"))
    assert kernel.value("x") == 0          # the statement did not run
    assert "needs a statement" in usage_error(kernel.execute("%dprof --no-store"))


def test_profile_and_stacks_display_themselves(kernel):
    kernel.execute("%dprof -q --no-store --name shown sum(range(10**5))")
    (bundle,) = displays(kernel.execute("_dprof"))
    assert bundle["text/plain"].startswith("Profile 'shown' [ok]")
    assert "<h3" in bundle["text/html"] and "srcdoc=" in bundle["text/html"]
    (bundle,) = displays(kernel.execute("_dprof.stacks"))
    assert bundle["text/plain"].startswith("StackProfile: ")
    assert "stack profile" in bundle["text/html"]
