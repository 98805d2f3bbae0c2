"""Verbs over stored profiles: history, show, stats, export, rm, prune."""
from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import List, Optional

from dprof.cli.errors import CliError
from dprof.cli.output import format_value, print_table, progress


def add_parsers(verbs) -> None:
    p = verbs.add_parser("history", help="list stored profiles, newest first",
                         description="List stored profiles, newest first.")
    _add_filters(p)
    p.add_argument("--limit", type=int, default=20, help="at most this many rows (default 20)")
    p.set_defaults(handler=cmd_history)

    p = verbs.add_parser("show", help="show one profile in full",
                         description="Show one stored profile: every field, where each "
                                     "number came from, and what could not be measured.")
    p.add_argument("id", help="profile id (a unique prefix is enough)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=cmd_show)

    p = verbs.add_parser("stats", help="per-process statistics",
                         description="Per process: runs, failures, runtime mean and p95, "
                                     "peak memory, file I/O.")
    _add_filters(p)
    p.set_defaults(handler=cmd_stats)

    p = verbs.add_parser("export", help="export profiles as CSV, JSON or Parquet",
                         description="Export the profiles matching the filters.")
    _add_filters(p)
    p.add_argument("--format", choices=("csv", "json", "parquet"),
                   help="output format (default: from the file extension, else csv)")
    p.add_argument("-o", "--output", help="output file (default: standard output; "
                                          "required for parquet)")
    p.set_defaults(handler=cmd_export)

    p = verbs.add_parser("rm", help="remove profiles by id or by process",
                         description="Remove stored profiles.")
    p.add_argument("ids", nargs="*", help="profile ids (unique prefixes allowed)")
    p.add_argument("--process", help="remove every profile of this process name")
    p.set_defaults(handler=cmd_rm)

    p = verbs.add_parser("prune", help="remove profiles older than a given age",
                         description="Retention: remove profiles that started longer ago "
                                     "than --older-than (e.g. 7d, 12h, 30m, 2w).")
    p.add_argument("--older-than", required=True, type=parse_age, metavar="AGE")
    p.set_defaults(handler=cmd_prune)


def _add_filters(p) -> None:
    p.add_argument("--process", help="process name")
    p.add_argument("--stage", help="pipeline stage")
    p.add_argument("--env", help="environment")
    p.add_argument("--status", choices=("ok", "failed"), help="status")
    p.add_argument("--since", type=parse_since, metavar="WHEN",
                   help="only profiles started after WHEN: an age (7d, 12h) or an ISO date")


_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_age(text: str) -> timedelta:
    match = _AGE.match(text)
    if not match:
        import argparse
        raise argparse.ArgumentTypeError(
            f"not an age: {text!r} (use a number and a unit: 30s, 15m, 12h, 7d, 2w)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def parse_since(text: str) -> datetime:
    if _AGE.match(text):
        return datetime.now(timezone.utc) - parse_age(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        import argparse
        raise argparse.ArgumentTypeError(f"not an age or ISO date: {text!r}")
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def open_repo(args):
    from dprof.repo import ProfileRepo
    return ProfileRepo(args.db)


def _query(args, limit=None):
    repo = open_repo(args)
    return repo, repo.query(process=args.process, stage=args.stage, env=args.env,
                            status=args.status, since=args.since, limit=limit)


def cmd_history(args) -> int:
    if args.limit <= 0:
        raise CliError(f"--limit must be positive, got {args.limit}")
    _, df = _query(args, limit=args.limit)
    if df.empty:
        print("no profiles match", file=sys.stderr)
        return 0
    columns = [("id", "id"), ("task_start_time", "started"), ("process_name", "process"),
               ("stage", "stage"), ("env", "env"), ("status", "status"),
               ("runtime_seconds", "runtime s"), ("memory_usage_peak_mb", "peak MB"),
               ("cpu_user_utilization", "cpu user")]
    rows = []
    for rec in reversed(df.to_dict("records")):     # the repo gives oldest first
        rows.append([str(rec["id"])[:12]] + [_cell(rec.get(c)) for c, _ in columns[1:]])
    print_table([h for _, h in columns], rows)
    return 0


def _cell(value):
    try:
        import pandas as pd
        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:
        pass
    return value


def _resolve_id(repo, prefix: str) -> str:
    """The stored id that is ``prefix`` or starts with it; CliError when none or many."""
    if not prefix:
        raise CliError("an empty profile id")
    if repo.exists(prefix):
        return prefix
    matches = repo.find_ids(prefix)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CliError(f"no profile with id {prefix!r}")
    shown = ", ".join(sorted(m[:12] for m in matches)[:5])
    raise CliError(f"id prefix {prefix!r} is ambiguous: {len(matches)} profiles match "
                   f"({shown}{', ...' if len(matches) > 5 else ''}); give more characters")


def cmd_show(args) -> int:
    repo = open_repo(args)
    profile = repo.get(_resolve_id(repo, args.id))
    if args.json:
        data = profile.to_dict()
        data.pop("resources", None)
        data.pop("stacks", None)
        print(json.dumps(data, indent=2, default=str))
        return 0
    for line in profile_summary_lines(profile):
        print(line)
    return 0


_SUMMARY_FIELDS = [
    ("process_name", "process", ""), ("id", "id", ""), ("status", "status", ""),
    ("env", "env", ""), ("stage", "stage", ""), ("host", "host", ""), ("pid", "pid", ""),
    ("python_version", "python", ""),
    ("task_start_time", "started", ""), ("task_end_time", "ended", ""),
    ("runtime_seconds", "runtime", "s"), ("cpu_cores", "cpu cores", ""),
    ("cpu_user_utilization", "cpu user", "of runtime x cores"),
    ("cpu_system_utilization", "cpu system", "of runtime x cores"),
    ("memory_usage_peak_mb", "peak memory", "MB"),
    ("memory_allocations", "allocations", ""),
    ("file_read_bytes", "file read", "bytes"), ("file_write_bytes", "file write", "bytes"),
    ("io_wait_time_seconds", "I/O wait", "s"),
    ("network_data_sent_bytes", "network sent", "bytes"),
    ("network_data_received_bytes", "network received", "bytes"),
    ("exceptions_raised", "exceptions", ""),
    ("exception_type", "exception", ""), ("exception_message", "message", ""),
]


def profile_summary_lines(profile, brief: bool = False, stored: bool = True) -> List[str]:
    """The human-readable job profile: each field, its unit, or why it is missing."""
    missing = getattr(profile, "missing", {}) or {}
    lines = []
    if brief:
        lines.append(f"dprof: {profile.process_name} {profile.status} in "
                     f"{profile.runtime_seconds:.3f} s"
                     + (f" (profile {profile.id[:12]} stored)" if stored else ""))
        keep = {"cpu_user_utilization", "cpu_system_utilization", "memory_usage_peak_mb",
                "memory_allocations", "file_read_bytes", "file_write_bytes",
                "io_wait_time_seconds"}
        fields = [f for f in _SUMMARY_FIELDS if f[0] in keep]
    else:
        fields = _SUMMARY_FIELDS
    width = max(len(label) for _, label, _ in fields)
    for attr, label, unit in fields:
        value = getattr(profile, attr, None)
        if value is None and attr in missing:
            text = f"missing: {missing[attr]}"
        elif value is None or value == "":
            if attr in ("exception_type", "exception_message", "env", "stage"):
                continue
            text = "-"
        elif attr.endswith("utilization"):
            text = f"{value * 100:.1f} % {unit}"
        else:
            text = f"{format_value(value)} {unit}".rstrip()
        lines.append(f"  {label.ljust(width)}  {text}")
    if not brief:
        # a stored series keeps why each of its missing columns is missing (all NaN)
        for title, mapping in (("parameters", profile.parameters), ("tags", profile.tags),
                               ("sources", getattr(profile, "sources", {})),
                               ("resource columns missing",
                                getattr(profile, "resources_missing", {}))):
            if mapping:
                lines.append(f"  {title}:")
                for k, v in mapping.items():
                    lines.append(f"    {k}: {v}")
    return lines


def cmd_stats(args) -> int:
    repo = open_repo(args)
    df = repo.stats(process=args.process, stage=args.stage, env=args.env,
                    status=args.status, since=args.since)
    if df.empty:
        print("no profiles match", file=sys.stderr)
        return 0
    headers = list(df.columns)
    rows = [[_cell(v) for v in row] for row in df.itertuples(index=False)]
    print_table(headers, rows)
    return 0


def cmd_export(args) -> int:
    fmt = args.format
    if fmt is None and args.output:
        for ext, name in ((".csv", "csv"), (".json", "json"), (".parquet", "parquet"),
                          (".pq", "parquet")):
            if args.output.endswith(ext):
                fmt = name
    fmt = fmt or "csv"
    if fmt == "parquet" and not args.output:
        raise CliError("parquet needs an output file: -o FILE.parquet")
    _, df = _query(args)
    for column in ("parameters", "tags", "missing", "sources"):
        if column in df.columns:
            df[column] = [json.dumps(v, default=str) if isinstance(v, dict) else v
                          for v in df[column]]
    if fmt == "csv":
        text = df.to_csv(index=False)
    elif fmt == "json":
        text = df.to_json(orient="records", date_format="iso", indent=None)
    else:
        try:
            df.to_parquet(args.output, index=False)
        except ImportError as exc:
            raise CliError(f"parquet export needs pyarrow (pip install 'dprof[parquet]'): {exc}")
        print(f"wrote {len(df)} profiles to {args.output}", file=sys.stderr)
        return 0
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
        print(f"wrote {len(df)} profiles to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def cmd_rm(args) -> int:
    if not args.ids and not args.process:
        raise CliError("give profile ids or --process NAME")
    repo = open_repo(args)
    removed = 0
    ids = [_resolve_id(repo, i) for i in args.ids]
    for pid in progress(ids, total=len(ids), description="removing"):
        removed += bool(repo.remove(pid))
    if args.process:
        removed += repo.remove_by_process(args.process)
    print(f"removed {removed} profile(s)")
    return 0


def cmd_prune(args) -> int:
    repo = open_repo(args)
    removed = repo.prune(args.older_than)
    print(f"removed {removed} profile(s) older than {args.older_than}")
    return 0
