"""Exports: speedscope, Chrome trace events, collapsed stacks, pprof; and write()."""
import gzip
import json

import pytest

import dprof.report as report
from dprof.stacks.model import Frame, StackProfile

pytestmark = pytest.mark.core


def test_speedscope_one_profile_per_thread_weights_in_seconds(profile):
    doc = report.to_speedscope(profile)
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    frames = doc["shared"]["frames"]
    assert [f["name"] for f in frames] == [f.function for f in profile.frames]
    by_name = {p["name"]: p for p in doc["profiles"]}
    assert set(by_name) == {"MainThread (tid 1)", "worker (tid 2)"}
    main, worker = by_name["MainThread (tid 1)"], by_name["worker (tid 2)"]
    assert main["type"] == "sampled" and main["unit"] == "seconds"
    assert sum(main["weights"]) == pytest.approx(7.0) == main["endValue"]
    assert sum(worker["weights"]) == pytest.approx(3.0)
    stacks = [[frames[i]["name"] for i in s] for s in worker["samples"]]
    assert sorted(stacks) == [["decode"], ["rec", "rec", "rec"]]
    assert len(main["samples"]) == len(main["weights"]) == 4
    json.dumps(doc)                                   # serialisable as is


def test_chrome_trace_nests_exactly_per_thread(profile):
    doc = report.to_chrome_trace(profile, lines=False)
    events = doc["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert names == {1: "MainThread (tid 1)", 2: "worker (tid 2)"}
    spans = [e for e in events if e["ph"] == "X"]
    main1 = [e for e in spans if e["tid"] == 1 and e["name"].startswith("main")]
    assert len(main1) == 1 and main1[0]["dur"] == 7_000_000 and main1[0]["ts"] == 0
    rec = sorted((e["ts"], e["dur"]) for e in spans if e["name"].startswith("rec"))
    assert [d for _, d in rec] == [2_000_000] * 3           # three nested levels
    # every event lies inside the previous open one on its thread (proper nesting)
    for tid in (1, 2):
        stack = []
        for e in sorted((e for e in spans if e["tid"] == tid), key=lambda e: (e["ts"], -e["dur"])):
            while stack and stack[-1] <= e["ts"]:
                stack.pop()
            end = e["ts"] + e["dur"]
            assert not stack or end <= stack[-1]
            stack.append(end)
    # thread 2 lays its stacks end to end in sorted order: decode 0-1 s, rec 1-3 s
    outer = sorted((e["ts"], e["dur"], e["name"].split(" ")[0]) for e in spans
                   if e["tid"] == 2 and e["ts"] in (0, 1_000_000))
    assert outer[0] == (0, 1_000_000, "decode") and outer[1] == (1_000_000, 2_000_000, "rec")
    json.dumps(doc)


def test_collapsed_frames_carry_their_line_by_default(profile, known):
    """py-spy's collapsed frames are ``function (file:line)``; dprof's are too."""
    text = report.to_collapsed(profile)
    assert f"main ({known.app}:2);work ({known.app}:5) 4000000" in text.splitlines()
    for line in text.splitlines():
        for frame in line.rsplit(" ", 1)[0].split(";"):
            assert frame.endswith(")") and frame.rsplit(":", 1)[1][:-1].isdigit(), frame


def test_collapsed_counts_in_microseconds_and_samples(profile, known):
    text = report.to_collapsed(profile, lines=False)
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines())
    main = f"main ({known.app})"
    assert lines[f"{main};work ({known.app})"] == "4000000"
    assert sum(int(v) for v in lines.values()) == 10_000_000
    samples = dict(line.rsplit(" ", 1) for line in
                   report.to_collapsed(profile, unit="samples", lines=False).splitlines())
    assert samples[f"{main};work ({known.app})"] == "400"
    assert sum(int(v) for v in samples.values()) == 1000
    with_lines = report.to_collapsed(profile, lines=True)
    assert f"main ({known.app}:2);work ({known.app}:5) 4000000" in with_lines
    threads = report.to_collapsed(profile, by_thread=True, lines=False)
    assert threads.count("worker (tid 2);") == 2
    with pytest.raises(ValueError, match="unit"):
        report.to_collapsed(profile, unit="ticks")


def test_collapsed_keeps_separators_out_of_names():
    p = StackProfile()
    p.add(1, [Frame("/x/a;b.py", "f g", 1)], "cpu_python", 0.5)
    (line,) = report.to_collapsed(p).splitlines()
    frames, count = line.rsplit(" ", 1)
    assert ";" not in frames and count == "500000"


# -- a small protobuf decoder, independent of the encoder under test ------------------------

def _varint(buf, i):
    shift = value = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def _fields(buf):
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = bytes(buf[i:i + size]), i + size
        else:
            raise AssertionError(f"unexpected wire type {wire}")
        out.append((number, value))
    return out


def _get(fields, number, default=0):
    values = [v for n, v in fields if n == number]
    return values[-1] if values else default


def _packed(fields, number):
    out = []
    for n, v in fields:
        if n == number:
            if isinstance(v, int):
                out.append(v)
            else:
                i = 0
                while i < len(v):
                    x, i = _varint(v, i)
                    out.append(x)
    return out


def decode_pprof(data: bytes) -> dict:
    top = _fields(gzip.decompress(data))
    strings = [v.decode() for n, v in top if n == 6]
    functions = {}
    for n, v in top:
        if n == 5:
            f = _fields(v)
            functions[_get(f, 1)] = (strings[_get(f, 2)], strings[_get(f, 4)])
    locations = {}
    for n, v in top:
        if n == 4:
            f = _fields(v)
            (line,) = [_fields(x) for k, x in f if k == 4]
            locations[_get(f, 1)] = functions[_get(line, 1)] + (_get(line, 2),)
    samples = []
    for n, v in top:
        if n == 2:
            f = _fields(v)
            labels = {}
            for k, lab in f:
                if k == 3:
                    lf = _fields(lab)
                    labels[strings[_get(lf, 1)]] = strings[_get(lf, 2)] if _get(lf, 2) \
                        else _get(lf, 3)
            samples.append(([locations[x] for x in _packed(f, 1)], _packed(f, 2), labels))
    types = [(strings[_get(_fields(v), 1)], strings[_get(_fields(v), 2)])
             for n, v in top if n == 1]
    return {"strings": strings, "types": types, "samples": samples,
            "duration": _get(top, 10), "period": _get(top, 12),
            "period_type": _fields(_get(top, 11, b"")),
            "default_type": strings[_get(top, 14)]}


def test_pprof_decodes_to_the_profile(profile, known):
    decoded = decode_pprof(report.to_pprof(profile))
    assert decoded["strings"][0] == ""
    assert decoded["types"] == [("samples", "count"), ("wall", "nanoseconds")]
    assert decoded["default_type"] == "wall"
    assert decoded["duration"] == 8_000_000_000
    assert decoded["period"] == 10_000_000                 # 100 Hz
    samples = decoded["samples"]
    assert len(samples) == len(profile.rows) == 6
    assert sum(v[0] for _, v, _ in samples) == 1000
    assert sum(v[1] for _, v, _ in samples) == 10_000_000_000
    io = [s for s in samples if s[2]["category"] == "wait_io"]
    (locs, values, labels), = io
    assert values == [200, 2_000_000_000]
    # leaf first, with function, file and line
    assert locs == [("decode", known.decode.filename, 337), ("load", known.app, 7),
                    ("main", known.app, 3)]
    assert labels == {"category": "wait_io", "thread": "MainThread", "thread_id": 1}


def test_pprof_varints_handle_large_and_zero_values():
    p = StackProfile()
    big = 3 * 10**5                                   # 300000 s -> needs a 9-byte varint
    p.add(2**40, [Frame("/a.py", "f", 0)], "cpu_native", float(big), 2**33)
    (locs, values, labels), = decode_pprof(report.to_pprof(p))["samples"]
    assert values == [2**33, big * 10**9]
    assert labels["thread_id"] == 2**40 and locs == [("f", "/a.py", 0)]


# -- write() ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, fmt", [
    ("p.html", "html"), ("p.svg", "svg"), ("p.speedscope.json", "speedscope"),
    ("p.trace.json", "chrome"), ("p.json", "chrome"), ("p.collapsed", "collapsed"),
    ("p.txt", "collapsed"), ("p.pb.gz", "pprof"),
])
def test_write_picks_format_from_extension(profile, tmp_path, name, fmt):
    path = tmp_path / name
    assert report.write(profile, path) == fmt
    data = path.read_bytes()
    if fmt == "pprof":
        assert len(decode_pprof(data)["samples"]) == 6
    elif fmt == "speedscope":
        assert json.loads(data)["profiles"][0]["type"] == "sampled"
    elif fmt == "chrome":
        assert "traceEvents" in json.loads(data)
    elif fmt == "collapsed":
        assert data.decode().endswith(" 1000000\n") or b" 4000000\n" in data
    else:
        assert data.lstrip().startswith(b"<")


def test_write_options_and_errors(profile, tmp_path):
    path = tmp_path / "out.data"
    with pytest.raises(ValueError, match="out.data"):
        report.write(profile, path)
    assert report.write(profile, path, format="collapsed", unit="samples") == "collapsed"
    assert " 400\n" in path.read_text()
    with pytest.raises(ValueError, match="unknown report format"):
        report.write(profile, path, format="png")
