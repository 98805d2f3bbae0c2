"""SVG flamegraphs: geometry proportional to seconds, colours, tooltips, and diffs."""
import xml.etree.ElementTree as ET

import pytest

import dprof.report as report
from dprof.report._common import CATEGORY_COLOURS
from dprof.stacks.model import Frame, StackProfile

pytestmark = pytest.mark.core
NS = {"s": "http://www.w3.org/2000/svg"}


def frames(svg: str):
    """name -> list of (x, y, width, fill, title, data attributes)."""
    out = {}
    for g in ET.fromstring(svg).iterfind("s:g", NS):
        rect, title = g.find("s:rect", NS), g.find("s:title", NS)
        name = title.text.split("\n")[0]
        data = {k[5:]: float(v) for k, v in g.attrib.items() if k.startswith("data-")}
        out.setdefault(name.split(" (")[0], []).append(
            (float(rect.get("x")), float(rect.get("y")), float(rect.get("width")),
             rect.get("fill"), title.text, data))
    return out


def test_widths_are_proportional_to_seconds(profile):
    # 1020 px wide with 10 px margins: 1000 px for 10 s, so 100 px per second
    svg = frames(report.flamegraph_svg(profile, width=1020, margin=10))
    expected = {"all": [10.0], "main": [7.0], "work": [4.0], "load": [3.0],
                "decode": [1.0, 3.0], "rec": [2.0, 2.0, 2.0]}
    assert {k: sorted(round(w / 100, 6) for _, _, w, *_ in v) for k, v in svg.items()} == expected
    (_, _, _, _, _, data), = svg["work"]
    assert data["seconds"] == pytest.approx(4.0)
    # children are packed inside their parent
    (mx, _, mw, *_), = svg["main"]
    (wx, _, ww, *_), = svg["work"]
    (lx, _, lw, *_), = svg["load"]
    assert mx <= lx < lx + lw <= wx < wx + ww <= mx + mw + 1e-6


def test_icicle_and_flame_orientation(profile):
    ice = frames(report.flamegraph_svg(profile, style="icicle"))
    flame = frames(report.flamegraph_svg(profile, style="flame"))
    assert ice["all"][0][1] < ice["main"][0][1] < ice["work"][0][1]
    assert flame["all"][0][1] > flame["main"][0][1] > flame["work"][0][1]


def test_colour_by_category_and_tooltips(profile):
    svg = frames(report.flamegraph_svg(profile))
    def hue_family(colour):
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        return max((r, "red"), (g, "green"), (b, "blue"))[1]
    assert hue_family(svg["work"][0][3]) == hue_family(CATEGORY_COLOURS["cpu_python"])
    load_decode = [f for f in svg["decode"] if "IO wait: 2.00s" in f[4]]
    assert hue_family(load_decode[0][3]) == "blue"          # 2 s IO of 3 s
    assert "CPU(C): 1.00s" in svg["work"][0][4] and "40.00%" in svg["work"][0][4]
    by_module = report.flamegraph_svg(profile, colour_by="module")
    assert len({f[3] for f in frames(by_module)["main"] + frames(by_module)["work"]}) == 1


def test_small_frames_are_left_out_and_names_escaped():
    p = StackProfile()
    p.add(1, [Frame("/a/x.py", "big<&>", 1)], "cpu_python", 1.0)
    p.add(1, [Frame("/a/x.py", "tiny", 2)], "cpu_python", 1e-6)
    svg = report.flamegraph_svg(p, min_width=1.0)
    names = frames(svg)
    assert "big<&>" in names and "tiny" not in names
    assert "big&lt;&amp;&gt;" in svg


def test_bad_options_are_named():
    p = StackProfile()
    with pytest.raises(ValueError, match="style"):
        report.flamegraph_svg(p, style="sideways")
    with pytest.raises(ValueError, match="colour_by"):
        report.flamegraph_svg(p, colour_by="mood")
    assert "<svg" in report.flamegraph_svg(p)        # an empty profile still draws


def _changed(known):
    after = StackProfile()
    after.add(1, [known.main_work, known.work], "cpu_python", 2.0)          # 4 -> 2 s
    after.add(1, [known.main_load, known.load, known.decode], "wait_io", 4.0)  # 3 -> 4 s
    after.add(2, [known.decode], "wait_sleep", 1.0)                           # unchanged
    after.add(1, [Frame(known.app, "fresh", 1)], "cpu_python", 1.0)          # new
    return after                                                             # rec removed


def _rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def test_diff_colours_by_sign_and_magnitude(profile, known):
    svg = frames(report.diff_flamegraph_svg(profile, _changed(known), width=1020, margin=10))
    work, load, fresh = svg["work"][0], svg["load"][0], svg["fresh"][0]
    assert work[2] == pytest.approx(250.0)         # width from after: 2 s of 8 s in 1000 px
    assert (work[5]["before"], work[5]["after"]) == (4.0, 2.0)
    r, g, b = _rgb(work[3])
    assert b == 255 and r == g < 255                # shrank: blue
    r, g, b = _rgb(load[3])
    assert r == 255 and g == b < 255                # grew: red
    assert _rgb(fresh[3])[0] == 255 and "new" in fresh[4]
    # the largest change (-2 s of work; rec's -2 s is not drawn) is the most saturated
    assert _rgb(work[3])[0] < _rgb(load[3])[1]
    top_decode = [f for f in svg["decode"] if f[5]["before"] == f[5]["after"]]
    assert top_decode and top_decode[0][3] == "#e8e8e8"     # unchanged: neutral
    assert "rec" not in svg


def test_diff_reports_and_can_draw_removed_frames(profile, known):
    after = _changed(known)
    text = report.diff_flamegraph_svg(profile, after)
    assert "2.00s only in before is not drawn" in text      # rec's 2 s
    svg = frames(report.diff_flamegraph_svg(profile, after, width_from="before"))
    rec = svg["rec"]
    assert len(rec) == 3 and all(f[5]["after"] == 0.0 for f in rec)
    assert all(_rgb(f[3])[2] == 255 for f in rec) and "removed" in rec[0][4]


def test_diff_normalize_scales_before(profile, known):
    after = _changed(known)           # 8 s in all against 10 s before
    svg = frames(report.diff_flamegraph_svg(profile, after, normalize=True))
    assert svg["all"][0][5]["before"] == pytest.approx(8.0)
    assert svg["work"][0][5]["before"] == pytest.approx(4.0 * 0.8)
