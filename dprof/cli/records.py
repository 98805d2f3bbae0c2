"""Verbs over stored profiles: history, show, stats, export, rm, prune."""
from __future__ import annotations

import contextlib
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import List, Optional

from dprof.cli.errors import CliError
from dprof.cli.output import (format_value, human_bytes, human_mib, human_percent,
                              human_seconds, print_table, progress)


def add_parsers(verbs) -> None:
    p = verbs.add_parser("history", help="list stored profiles, newest first",
                         description="List stored profiles, newest first.")
    _add_filters(p)
    p.add_argument("--limit", type=int, default=20, help="at most this many rows (default 20)")
    p.set_defaults(handler=cmd_history)

    p = verbs.add_parser("show", help="show one profile in full",
                         description="Show one stored profile: every field, where each "
                                     "number came from, and what could not be measured.")
    p.add_argument("id", help="profile id (a unique prefix is enough), or last (the newest)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--format", choices=("profile", "job"), default="profile",
                   help="with --json: the stored Profile's fields (default), or the "
                        "Keystone job profile (task_id, start_time, ..., resource_usage, "
                        "detailed_profile)")
    p.set_defaults(handler=cmd_show)

    p = verbs.add_parser("stats", help="per-process statistics",
                         description="Per process: runs, failures, runtime mean and p95, "
                                     "peak memory, file I/O.")
    _add_filters(p)
    p.set_defaults(handler=cmd_stats)

    p = verbs.add_parser("export", help="export profiles as CSV, JSON or Parquet",
                         description="Export the profiles matching the filters.")
    _add_filters(p)
    p.add_argument("--format", choices=("csv", "json", "parquet", "jsonl"),
                   help="output format (default: what the -o file's ending says: .csv "
                        ".json .jsonl .parquet; csv on standard output); jsonl writes one "
                        "Keystone job profile per line (a job history)")
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
    """The repository a reading verb reads (and rm/prune delete from). A SQLite file
    that does not exist is an error naming it: opening it would create an empty
    database there and answer "no profiles", as if a typo in --db had found nothing."""
    from dprof.repo import ProfileRepo
    missing = missing_database(args.db)
    if missing is not None:
        raise CliError(missing)
    return ProfileRepo(args.db)


def missing_database(db) -> Optional[str]:
    """Why the SQLite database behind ``db`` (--db, else the environment or the
    default) cannot be read because it is not there, or None when it is there, is
    not a SQLite file, or has profiles waiting in its spool (ProfileRepo creates the
    file and moves them in)."""
    from dprof.repo.url import resolve_url, spool_has_profiles, sqlite_file
    try:
        url = resolve_url(db)
    except (TypeError, ValueError):
        return None             # ProfileRepo names what is wrong with it
    path = sqlite_file(url)
    if path is None or path.exists() or spool_has_profiles(url):
        return None
    if not path.parent.is_dir():
        return f"no database at {path}: the directory {path.parent} does not exist"
    return f"no database at {path}: nothing has been recorded there yet"


def _query(args, limit=None):
    repo = open_repo(args)
    return repo, repo.query(process=args.process, stage=args.stage, env=args.env,
                            status=args.status, since=args.since, limit=limit)


def cmd_history(args) -> int:
    if args.limit <= 0:
        raise CliError(f"--limit must be positive, got {args.limit}")
    from dprof.cli.fastread import FastReader
    fast = FastReader.open(args.db)
    if fast is not None:
        try:
            records = fast.history(args, args.limit)
        finally:
            fast.close()
    else:
        _, df = _query(args, limit=args.limit)
        records = list(reversed(df.to_dict("records")))    # the repo gives oldest first
    if not records:
        print("no profiles match", file=sys.stderr)
        return 0
    columns = [("id", "id", None), ("task_start_time", "started", None),
               ("process_name", "process", None), ("stage", "stage", None),
               ("env", "env", None), ("status", "status", None),
               ("runtime_seconds", "runtime", human_seconds),
               ("memory_usage_peak_mb", "peak memory", human_mib),
               ("cpu_user_utilization", "cpu user", human_percent),
               ("cpu_system_utilization", "cpu system", human_percent)]
    rows = []
    for rec in records:
        rows.append([str(rec["id"])[:12]] + [
            (fmt or (lambda v: v))(_cell(rec.get(c))) for c, _, fmt in columns[1:]])
    print_table([h for _, h, _ in columns], rows)
    return 0


def _cell(value):
    # pandas' missing markers come only from pandas frames: never import it for this
    pd = sys.modules.get("pandas")
    if pd is not None and (value is pd.NA or value is pd.NaT):
        return None
    return value


def _resolve_id(repo, prefix: str) -> str:
    """The stored id that is ``prefix`` or starts with it; CliError when none or many."""
    if not prefix:
        raise CliError("an empty profile id")
    if prefix == "last":
        newest = repo.query(limit=1)
        if newest.empty:
            raise CliError("no profiles are stored yet")
        return str(newest["id"].iloc[-1])
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
    if not args.json:
        from dprof.cli.fastread import FastReader
        fast = FastReader.open(args.db)
        if fast is not None:
            try:
                found = fast.resolve_id(args.id) if args.id else []
                summary = fast.summary(found[0]) if len(found) == 1 else None
            finally:
                fast.close()
            if summary is not None:
                if args.format == "job":
                    raise CliError("--format job prints JSON: add --json")
                for line in profile_summary_lines(summary):
                    print(line)
                return 0
            # none or many: ProfileRepo says which, in the same words as always
    repo = open_repo(args)
    profile = repo.get(_resolve_id(repo, args.id))
    if args.format == "job" and not args.json:
        raise CliError("--format job prints JSON: add --json")
    if args.json and args.format == "job":
        from dprof.jobs.shape import job_profile
        print(json.dumps(job_profile(profile), indent=2, allow_nan=False))
        return 0
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
    ("memory_usage_peak_mb", "peak memory", "MiB"),
    ("memory_allocations", "allocations", ""),
    ("file_read_bytes", "file read", "bytes"), ("file_write_bytes", "file write", "bytes"),
    ("io_wait_time_seconds", "I/O wait", "s"),
    ("network_data_sent_bytes", "network sent", "bytes"),
    ("network_data_received_bytes", "network received", "bytes"),
    ("exceptions_raised", "exceptions", ""),
    ("exception_type", "exception", ""), ("exception_message", "message", ""),
]


def profile_summary_lines(profile, brief: bool = False, stored=True) -> List[str]:
    """The human-readable job profile: each field, its unit, or why it is missing.
    ``stored`` (brief only): a StoreOutcome (dprof.repo.outcome), whose "stored in
    URL" is said in the first line when it was stored and "spooled to PATH (why)" or
    "lost: why" in a line of its own when it was not; or a bool (True: "stored")."""
    missing = getattr(profile, "missing", {}) or {}
    lines = []
    if brief:
        describe = getattr(stored, "describe", None)
        suffix = ""
        if stored:
            suffix = f" (profile {profile.id[:12]} {describe() if describe else 'stored'})"
        lines.append(f"dprof: {profile.process_name} {profile.status} in "
                     f"{human_seconds(profile.runtime_seconds)}{suffix}")
        if describe is not None and not stored:
            lines.append(f"dprof: profile {profile.id[:12]} {describe()}")
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
            text = f"{human_percent(value)} {unit}"
        elif unit == "s":
            text = human_seconds(value)
        elif unit == "MiB":
            text = human_mib(value)
        elif unit == "bytes":
            text = human_bytes(value)
        elif attr in ("memory_allocations", "exceptions_raised", "pid"):
            text = f"{value:,}" if attr != "pid" else str(value)
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
    from dprof.cli.fastread import FastReader
    fast = FastReader.open(args.db)
    if fast is not None:
        try:
            records = fast.stats(args)
        finally:
            fast.close()
        columns = list(records[0]) if records else []
    else:
        repo = open_repo(args)
        df = repo.stats(process=args.process, stage=args.stage, env=args.env,
                        status=args.status, since=args.since)
        records = df.to_dict("records")
        columns = list(df.columns)
    if not records:
        print("no profiles match", file=sys.stderr)
        return 0
    # column -> (header, formatter); a column the repo adds later is shown as is
    shown = {"process_name": ("process", None), "runs": ("runs", None),
             "failures": ("failures", None),
             "runtime_mean_seconds": ("runtime mean", human_seconds),
             "runtime_p95_seconds": ("runtime p95", human_seconds),
             "memory_peak_max_mb": ("peak memory max", human_mib),
             "file_read_bytes_total": ("file read", human_bytes),
             "file_write_bytes_total": ("file written", human_bytes),
             "first_start": ("first start", None), "last_start": ("last start", None)}
    headers = [shown.get(c, (c, None))[0] for c in columns]
    formats = [shown.get(c, (c, None))[1] or (lambda v: v) for c in columns]
    rows = [[fmt(_cell(rec[c])) for fmt, c in zip(formats, columns)] for rec in records]
    print_table(headers, rows)
    return 0


def cmd_export(args) -> int:
    fmt = args.format
    if args.output:
        from dprof.cli.files import table_format
        named = table_format(args.output)
        if fmt is not None and fmt != named:
            raise CliError(f"--format {fmt} but the file name {args.output!r} says {named}: "
                           f"give one of them, or make them agree")
        fmt = named
    fmt = fmt or "csv"
    if fmt == "parquet" and not args.output:
        raise CliError("parquet needs an output file: -o FILE.parquet")
    if fmt == "jsonl":
        return _export_jobs(args)
    _, df = _query(args)
    for column in ("parameters", "tags", "missing", "sources"):
        if column in df.columns:
            df[column] = [json.dumps(v, default=str) if isinstance(v, dict) else v
                          for v in df[column]]
    if fmt == "csv":
        text = df.to_csv(index=False)
    elif fmt == "json":
        # microseconds, as stored (pandas' default cuts to milliseconds)
        text = df.to_json(orient="records", date_format="iso", date_unit="us", indent=None,
                          double_precision=15)
    else:
        from dprof.cli.output import atomic_file
        try:
            with atomic_file(args.output, binary=True) as fh:
                df.to_parquet(fh, index=False)
        except ImportError as exc:
            raise CliError(f"parquet export needs pyarrow (pip install 'dprof[parquet]'): {exc}")
        print(f"wrote {len(df)} profiles to {args.output}", file=sys.stderr)
        return 0
    if args.output:
        from dprof.cli.output import write_atomically
        write_atomically(args.output, text)
        print(f"wrote {len(df)} profiles to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _export_jobs(args) -> int:
    """One job profile (dprof.jobs.shape) per line, oldest first; each profile is
    read whole, since detailed_profile needs its resource series."""
    from dprof.jobs.shape import job_profile
    repo, df = _query(args)
    from dprof.cli.output import atomic_file
    written = 0
    with (atomic_file(args.output) if args.output
          else contextlib.nullcontext(sys.stdout)) as out:
        for pid in df["id"]:
            profile = repo.get(str(pid))
            if profile is None:          # removed since the query
                continue
            out.write(json.dumps(job_profile(profile), allow_nan=False) + "\n")
            written += 1
    if args.output:
        print(f"wrote {written} job profiles to {args.output}", file=sys.stderr)
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
