"""``dprof view`` and ``dprof diff``: where the time of a stored run went.

    dprof view PROFILE                      hotspot table and call tree on the terminal
    dprof view last                         the same for the newest stored profile
    dprof view PROFILE -o report.html       a file; the format comes from the ending:
                                            .html (also charts the resources), .svg,
                                            .speedscope.json, .trace.json, .collapsed,
                                            .pb.gz, .json (dprof's profile JSON)
    dprof diff BEFORE AFTER [-o diff.svg]   what got slower or faster
    dprof diff BEFORE AFTER --fail-on-regression [PCT]
                                            exit 1 on a significant gain (for CI)

PROFILE is a stored profile's id (a unique prefix is enough), ``last`` (the newest
stored profile that has stack samples) or a JSON file written from
``Profile.to_dict()`` or ``StackProfile.to_dict()`` (``dprof run -o FILE.json``). Only profiles recorded with
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

from dprof.cli.argtypes import number_in
from dprof.cli.errors import CliError

# formats `dprof view` writes, besides the report module's file formats
TEXT_FORMATS = ("text", "calltree")
FILE_FORMATS = ("html", "svg", "speedscope", "chrome", "collapsed", "pprof", "profile")


def add_parsers(verbs) -> None:
    p = verbs.add_parser(
        "view", help="hotspots, call tree, flamegraphs and exports of a profile's stacks",
        description=__doc__.split("\n\n", 1)[1].split("\n\nThe rendering")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("profile", metavar="PROFILE",
                   help="profile id (or unique prefix), last, or JSON file")
    p.add_argument("--format", choices=TEXT_FORMATS + FILE_FORMATS,
                   help="text (hotspots and call tree, the default on the terminal), "
                        "calltree, or a file format; with -o the default comes from the "
                        "file ending (.html .svg .speedscope.json .trace.json .collapsed "
                        ".pb.gz .json)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of the terminal")
    p.add_argument("--memory", choices=("allocated", "peak", "leaked"),
                   help="show sampled memory instead of time: bytes allocated, live at the "
                        "peak, or live at the end (profiles recorded with --memory)")
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
    p.add_argument("--fail-on-regression", type=_percent, nargs="?", const=10.0,
                   metavar="PCT",
                   help="exit 1 when the total or a row gained at least PCT percent of "
                        "BEFORE's total time (default 10) and the gain is over 3 times "
                        "its sampling error (for CI)")
    _add_common(p)
    p.set_defaults(handler=cmd_diff)


def _add_common(p) -> None:
    p.add_argument("--threshold", type=_percent, default=1.0, metavar="PCT",
                   help="hide rows under PCT percent of the total time (default 1)")
    # Scalene's name for the same cut-off (its own entry, so that an error about
    # --threshold names only --threshold)
    p.add_argument("--cpu-percent-threshold", dest="threshold", type=_percent,
                   default=argparse.SUPPRESS, metavar="PCT",
                   help="the same as --threshold (Scalene's name)")
    p.add_argument("--libraries", action="store_true",
                   help="show library code (stdlib, site-packages) as its own lines and "
                        "frames; by default its time goes to the line of your code that "
                        "called it")


_percent = number_in(0.0, 100.0, "a percentage from 0 to 100")


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
        """(StackProfile, label) for an id, id prefix, ``last`` or JSON file."""
        if os.path.isfile(ref) or ref.endswith(".json"):
            stacks, label, profile = _from_file(ref)
        else:
            from dprof.cli.records import _resolve_id, open_repo
            if self.repo is None:
                self.repo = open_repo(self.args)
            pid = _newest_with_stacks(self.repo) if ref == "last" else _resolve_id(self.repo, ref)
            profile = self.repo.get(pid)
            if profile is None:          # removed between the lookup and the read
                raise CliError(f"no profile with id {ref!r}")
            stacks, label = profile.stacks, f"{profile.process_name} ({pid[:12]})"
            if stacks is None:
                raise CliError(f"profile {pid[:12]} has no stack samples; {_how_to_record(profile)}")
        if not stacks.rows:
            raise CliError(f"{label} holds no stack samples (the run may have been shorter "
                           f"than one sampling interval)")
        if profile is not None:
            self.profiles[ref] = profile
        return stacks, label


def _how_to_record(profile) -> str:
    """How to record stacks for a profile like this one: a command's stacks are
    those of the Python processes it starts, with --follow-children."""
    kind = (profile.parameters or {}).get("kind") if profile is not None else None
    if kind == "command":
        argv = (profile.parameters or {}).get("argv") or []
        import shlex
        command = " ".join(shlex.quote(str(a)) for a in argv) or "COMMAND"
        return (f"a command's stacks are those of the Python processes it starts: "
                f"record it with `dprof run --follow-children -- {command}`")
    return ("record it with stacks: `dprof run` (the default), "
            "@profiler(stacks=True) or profile(..., stacks=True)")


def _newest_with_stacks(repo) -> str:
    """The id of the newest stored profile that has stack samples."""
    df = repo.query(limit=50)          # newest 50, oldest first
    if df.empty:
        raise CliError("no profiles are stored yet: `dprof run script.py` records one")
    ids = [str(i) for i in reversed(list(df["id"]))]
    for pid in ids:
        profile = repo.get(pid)
        if profile is not None and profile.stacks is not None and profile.stacks.rows:
            return pid
    newest = repo.get(ids[0])
    raise CliError(f"none of the {len(ids)} newest profiles has stack samples; the newest, "
                   f"{ids[0][:12]}, {_how_to_record(newest)}")


def _from_file(path: str):
    from dprof.errors import ProfileFormatError
    from dprof.record import Profile
    from dprof.stacks.model import StackProfile
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise CliError(f"no such file: {path}")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CliError(f"cannot read {path} as JSON: {exc}")
    except RecursionError:
        raise CliError(f"cannot read {path} as JSON: it is nested too deeply")
    label = os.path.basename(path)
    try:
        if isinstance(data, dict) and "process_name" in data:
            profile = Profile.from_dict(data)
            if profile.stacks is None:
                raise CliError(f"{path} is a profile without stack samples; "
                               f"{_how_to_record(profile)}")
            return profile.stacks, f"{profile.process_name} ({label})", profile
        if isinstance(data, dict) and "frames" in data and "rows" in data:
            return StackProfile.from_dict(data), label, None
    except ProfileFormatError as exc:           # the loaders raise nothing else
        raise CliError(f"{path} is not a valid dprof profile: {exc}")
    raise CliError(f"{path} is neither a dprof profile (Profile.to_dict) nor a stack "
                   f"profile (StackProfile.to_dict)")


# -- dprof view ------------------------------------------------------------------------------
def cmd_view(args) -> int:
    from dprof.cli.files import profile_format, write_file
    fmt = args.format
    if fmt is None:
        fmt = "text" if args.output is None else profile_format(args.output)
    if getattr(args, "memory", None):
        from dprof.cli.memory_view import view_memory
        return view_memory(args, fmt)
    source = _Source(args)
    stacks, label = source.stacks(args.profile)
    to_file = args.output is not None
    # the HTML page also charts the resource series of a whole Profile, and the
    # profile JSON of a stored profile is the whole Profile
    whole = fmt in ("html", "profile")
    subject = source.profiles.get(args.profile, stacks) if whole else stacks
    content = _render(subject, fmt, label, args, color=None if not to_file else False)
    stored = source.profiles.get(args.profile)
    if fmt == "text" and stored is not None and stored.memory is not None:
        from dprof.report.memory_views import memory_table     # the memory columns
        content += "\n" + memory_table(stored.memory, include_libraries=args.libraries)
    if fmt == "html" and stored is not None and stored.memory is not None:
        from dprof.report.memory_flamegraph import memory_html_section
        section = memory_html_section(stored.memory, include_libraries=args.libraries)
        content = content.replace("</body>", section + "\n</body>", 1)
    if to_file:
        write_file(args.output, content)
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
    if fmt == "profile":
        return json.dumps(stacks.to_dict(), allow_nan=False)
    return report.FORMATS[fmt](stacks)


# -- dprof diff ------------------------------------------------------------------------------
def cmd_diff(args) -> int:
    from dprof import report
    from dprof.cli.output import print_table
    from dprof.report.diff import diff_rows

    if args.output is not None and not args.output.lower().endswith(".svg"):
        raise CliError(f"cannot tell which file to write from the name {args.output!r}: "
                       f"dprof diff writes a diff flamegraph, use the ending .svg")
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
        from dprof.cli.output import write_atomically
        write_atomically(args.output, svg)
        print(f"wrote diff flamegraph to {args.output}", file=sys.stderr)
    if getattr(args, "fail_on_regression", None) is not None:
        grown = significant_growth(before, after, args.fail_on_regression, by=args.by,
                                   include_libraries=args.libraries)
        for where, b, a, z in grown:
            print(f"significant regression: {where} {b:.3f} s -> {a:.3f} s "
                  f"({z:.1f} sampling errors)", file=sys.stderr)
        if grown:
            return 1
    return 0


def significant_growth(before, after, percent_of_total: float, *, by: str = "line",
                       include_libraries: bool = False, z_min: float = 3.0):
    """[(row, seconds before, seconds after, z)] for the total and the rows that gained
    at least ``percent_of_total`` percent of BEFORE's total with the gain at least
    ``z_min`` sampling errors. A row's seconds come from about seconds / (seconds per
    sample) samples; their count is taken as Poisson, so its standard error is
    sqrt(seconds x seconds per sample)."""
    import math

    from dprof.report.diff import diff_rows

    def per_sample(stacks):
        n = sum(r.samples for r in stacks.rows)
        return stacks.total_seconds() / n if n else 0.0

    sb, sa = per_sample(before), per_sample(after)
    total_b, total_a = before.total_seconds(), after.total_seconds()
    rows, _ = diff_rows(before, after, by=by, threshold=0.0,
                        include_libraries=include_libraries, limit=None)
    out = []
    for where, b, a in [("(total)", total_b, total_a)] + rows:
        gain = a - b
        if total_b <= 0 or gain * 100.0 / total_b < percent_of_total:
            continue
        err = math.sqrt(max(b, 0.0) * sb + max(a, 0.0) * sa)
        z = gain / err if err > 0 else math.inf
        if z >= z_min:
            out.append((where, b, a, z))
    return out


def _change(before: float, after: float) -> str:
    if before <= 0:
        return "new" if after > 0 else "-"
    if after <= 0:
        return "gone"
    return f"{(after - before) / before * 100:+.1f}%"
