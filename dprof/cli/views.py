"""``dprof view`` and ``dprof diff``: where the time of a stored run went.

    dprof view PROFILE                      hotspot table and call tree on the terminal
    dprof view PROFILE -o report.html       a file; the format comes from the ending
                                            (the HTML page also charts the resources)
    dprof diff BEFORE AFTER [-o diff.svg]   what got slower or faster

PROFILE is a stored profile's id (a unique prefix is enough) or a JSON file written
from ``Profile.to_dict()`` or ``StackProfile.to_dict()``. Only profiles recorded with
stack sampling can be viewed: ``dprof run`` samples stacks by default,
``@profiler(stacks=True)`` and ``profile(..., stacks=True)`` do when asked.

The rendering is ``dprof.report``'s; this module only finds the profile, picks the
format and writes the result.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, List, Optional, Tuple

from dprof.cli.errors import CliError

# formats `dprof view` writes, besides the report module's file formats
TEXT_FORMATS = ("text", "calltree")
FILE_FORMATS = ("html", "svg", "speedscope", "chrome", "collapsed", "pprof")


def add_parsers(verbs) -> None:
    p = verbs.add_parser(
        "view", help="hotspots, call tree, flamegraphs and exports of a profile's stacks",
        description=__doc__.split("\n\n", 1)[1].split("\n\nThe rendering")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("profile", metavar="PROFILE", help="profile id (or unique prefix) or JSON file")
    p.add_argument("--format", choices=TEXT_FORMATS + FILE_FORMATS,
                   help="text (hotspots and call tree, the default on the terminal), "
                        "calltree, or a file format; with -o the default comes from the "
                        "file ending (.html .svg .speedscope.json .trace.json .collapsed "
                        ".pb.gz)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of the terminal")
    _add_common(p)
    p.set_defaults(handler=cmd_view)

    p = verbs.add_parser(
        "diff", help="compare where two profiles spent their time",
        description="Compare two stack profiles (ids, unique prefixes or JSON files): a "
                    "table of the lines (or functions) whose time changed most, and with "
                    "-o a diff flamegraph SVG (red grew, blue shrank).")
    p.add_argument("before", metavar="BEFORE", help="the baseline profile")
    p.add_argument("after", metavar="AFTER", help="the profile to compare with it")
    p.add_argument("-o", "--output", metavar="FILE.svg", help="also write a diff flamegraph SVG")
    p.add_argument("--by", choices=("line", "function"), default="line",
                   help="compare self time per source line (default) or total time per "
                        "function (callees included)")
    p.add_argument("--limit", type=_positive_int, default=20,
                   help="show at most this many rows (default 20)")
    _add_common(p)
    p.set_defaults(handler=cmd_diff)


def _add_common(p) -> None:
    p.add_argument("--threshold", type=_percent, default=1.0, metavar="PCT",
                   help="hide rows under PCT percent of the total time (default 1)")
    p.add_argument("--libraries", action="store_true",
                   help="show library code (stdlib, site-packages) as its own lines and "
                        "frames; by default its time goes to the line of your code that "
                        "called it")


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}")
    if not 0.0 <= value <= 100.0:
        raise argparse.ArgumentTypeError(f"must be a percentage from 0 to 100, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


# -- finding the stacks --------------------------------------------------------------------
class _Source:
    """Opens the repository only when a reference is not a file."""

    def __init__(self, args):
        self.args = args
        self.repo = None
        self.profiles = {}      # ref -> the whole Profile, when the ref named one

    def stacks(self, ref: str):
        """(StackProfile, label) for an id, id prefix or JSON file."""
        if os.path.isfile(ref) or ref.endswith(".json"):
            stacks, label, profile = _from_file(ref)
        else:
            from dprof.cli.records import _resolve_id, open_repo
            if self.repo is None:
                self.repo = open_repo(self.args)
            pid = _resolve_id(self.repo, ref)
            profile = self.repo.get(pid)
            if profile is None:          # removed between the lookup and the read
                raise CliError(f"no profile with id {ref!r}")
            stacks, label = profile.stacks, f"{profile.process_name} ({pid[:12]})"
            if stacks is None:
                raise CliError(f"profile {pid[:12]} has no stack samples; record it with "
                               f"stacks: `dprof run` (the default), "
                               f"@profiler(stacks=True) or profile(..., stacks=True)")
        if not stacks.rows:
            raise CliError(f"{label} holds no stack samples (the run may have been shorter "
                           f"than one sampling interval)")
        if profile is not None:
            self.profiles[ref] = profile
        return stacks, label


def _from_file(path: str):
    from dprof.record import Profile
    from dprof.stacks.model import StackProfile
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise CliError(f"no such file: {path}")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CliError(f"cannot read {path} as JSON: {exc}")
    label = os.path.basename(path)
    try:
        if isinstance(data, dict) and "process_name" in data:
            profile = Profile.from_dict(data)
            if profile.stacks is None:
                raise CliError(f"{path} is a profile without stack samples; record it "
                               f"with stacks: `dprof run` (the default), "
                               f"@profiler(stacks=True) or profile(..., stacks=True)")
            return profile.stacks, f"{profile.process_name} ({label})", profile
        if isinstance(data, dict) and "frames" in data and "rows" in data:
            return StackProfile.from_dict(data), label, None
    except (KeyError, TypeError, ValueError) as exc:
        raise CliError(f"{path} is not a valid dprof profile: {exc}")
    raise CliError(f"{path} is neither a dprof profile (Profile.to_dict) nor a stack "
                   f"profile (StackProfile.to_dict)")


# -- dprof view ------------------------------------------------------------------------------
def cmd_view(args) -> int:
    from dprof import report

    fmt = args.format
    if fmt is None:
        if args.output is None:
            fmt = "text"
        else:
            try:
                fmt = report.format_for_path(args.output)
            except ValueError as exc:
                raise CliError(f"{exc}, or text/calltree with --format")
    source = _Source(args)
    stacks, label = source.stacks(args.profile)
    to_file = args.output is not None
    # the HTML page also charts the resource series of a whole Profile
    subject = source.profiles.get(args.profile, stacks) if fmt == "html" else stacks
    content = _render(subject, fmt, label, args, color=None if not to_file else False)
    if to_file:
        try:
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(args.output, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as fh:
                fh.write(content)
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror or exc}")
        print(f"wrote {fmt} of {label} to {args.output}", file=sys.stderr)
    elif isinstance(content, bytes):
        if sys.stdout.isatty():
            raise CliError(f"{fmt} is binary: write it to a file with -o FILE")
        sys.stdout.flush()
        sys.stdout.buffer.write(content)
    else:
        sys.stdout.write(content if content.endswith("\n") else content + "\n")
    return 0


def _render(stacks, fmt: str, label: str, args, color):
    from dprof import report
    libs, threshold = args.libraries, args.threshold
    if fmt == "text":
        return (report.render_hotspots(stacks, threshold=threshold, include_libraries=libs,
                                       color=color)
                + "\nCall tree\n"
                + report.render_calltree(stacks, threshold=threshold, include_libraries=libs,
                                         color=color))
    if fmt == "calltree":
        return report.render_calltree(stacks, threshold=threshold, include_libraries=libs,
                                      color=color)
    if fmt == "html":
        return report.html_report(stacks, title=f"dprof: {label}", threshold=threshold,
                                  include_libraries=libs)
    if fmt == "svg":
        return report.flamegraph_svg(stacks, title=f"dprof: {label}", include_libraries=libs)
    if fmt == "speedscope":
        return json.dumps(report.to_speedscope(stacks, name=label), separators=(",", ":"))
    return report.FORMATS[fmt](stacks)


# -- dprof diff ------------------------------------------------------------------------------
def cmd_diff(args) -> int:
    from dprof import report
    from dprof.cli.output import print_table

    if args.output is not None and not args.output.lower().endswith(".svg"):
        raise CliError(f"diff writes a diff flamegraph SVG: use -o FILE.svg, "
                       f"got {args.output!r}")
    source = _Source(args)
    before, before_label = source.stacks(args.before)
    after, after_label = source.stacks(args.after)
    rows, hidden = diff_rows(before, after, by=args.by, threshold=args.threshold,
                             include_libraries=args.libraries, limit=args.limit)
    total_b, total_a = before.total_seconds(), after.total_seconds()
    print(f"before: {before_label}, {total_b:.3f} s sampled")
    print(f"after:  {after_label}, {total_a:.3f} s sampled ({_change(total_b, total_a)})")
    print()
    if rows:
        print_table([args.by, "before s", "after s", "delta s", "change"],
                    [[where, f"{b:.3f}", f"{a:.3f}", f"{a - b:+.3f}", _change(b, a)]
                     for where, b, a in rows])
    else:
        print(f"no {args.by} changed by {args.threshold:g}% of the total or more")
    if hidden:
        print(f"({hidden} more {args.by}s changed less or are past --limit)")
    if args.output is not None:
        svg = report.diff_flamegraph_svg(before, after, include_libraries=args.libraries,
                                         title=f"dprof diff: {before_label} -> {after_label}")
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(svg)
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror or exc}")
        print(f"wrote diff flamegraph to {args.output}", file=sys.stderr)
    return 0


def diff_rows(before, after, *, by: str = "line", threshold: float = 1.0,
              include_libraries: bool = False,
              limit: Optional[int] = 20) -> Tuple[List[Tuple[str, float, float]], int]:
    """([(location, seconds before, seconds after)], how many were left out), largest
    absolute change first. A row is kept when its change is at least ``threshold``
    percent of the larger of the two profiles' totals."""
    b = _seconds_by(before, by, include_libraries)
    a = _seconds_by(after, by, include_libraries)
    whole = max(before.total_seconds(), after.total_seconds())
    rows = [(key, b.get(key, 0.0), a.get(key, 0.0)) for key in set(b) | set(a)]
    rows.sort(key=lambda r: (-abs(r[2] - r[1]), r[0]))
    kept = [r for r in rows if whole > 0 and abs(r[2] - r[1]) * 100.0 / whole >= threshold
            and abs(r[2] - r[1]) > 1e-12]
    shown = kept if limit is None else kept[:limit]
    changed = sum(1 for r in rows if abs(r[2] - r[1]) > 1e-12)
    return shown, changed - len(shown)


def _seconds_by(stacks, by: str, include_libraries: bool) -> Dict[str, float]:
    from dprof import report
    from dprof.report._common import short_path
    if by == "line":
        return {f"{short_path(s.filename)}:{s.line} {s.function}": s.total_seconds
                for s in report.hotspots(stacks, include_libraries=include_libraries)}
    return {f"{f.function} ({short_path(f.filename)})": sum(f.total_seconds.values())
            for f in report.function_hotspots(stacks, include_libraries=include_libraries)}


def _change(before: float, after: float) -> str:
    if before <= 0:
        return "new" if after > 0 else "-"
    if after <= 0:
        return "gone"
    return f"{(after - before) / before * 100:+.1f}%"
