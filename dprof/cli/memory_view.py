"""``dprof view PROFILE --memory allocated|peak|leaked``: the memory side of a stored
profile (or a Profile JSON file) in text, collapsed, speedscope or pprof form."""
from __future__ import annotations

import json
import os
import sys

from dprof.cli.errors import CliError


def _load(args):
    from dprof.record import Profile
    ref = args.profile
    if os.path.isfile(ref) or ref.endswith(".json"):
        try:
            with open(ref, encoding="utf-8") as fh:
                profile = Profile.from_dict(json.load(fh))
        except FileNotFoundError:
            raise CliError(f"no such file: {ref}")
        except (OSError, ValueError) as exc:     # ValueError: ProfileFormatError, bad JSON
            raise CliError(f"{ref} is not a valid dprof profile: {exc}")
        except RecursionError:
            raise CliError(f"cannot read {ref} as JSON: it is nested too deeply")
        label = f"{profile.process_name} ({os.path.basename(ref)})"
    else:
        from dprof.cli.records import _resolve_id, open_repo
        repo = open_repo(args)
        pid = _resolve_id(repo, ref)
        profile = repo.get(pid)
        if profile is None:
            raise CliError(f"no profile with id {ref!r}")
        label = f"{profile.process_name} ({pid[:12]})"
    if profile.memory is None:
        why = profile.missing.get("memory")
        raise CliError(f"{label} has no memory samples"
                       + (f" ({why})" if why else "; record it with `dprof run --memory`, "
                          "@profiler(memory=True) or profile(..., memory=True)"))
    return profile.memory, label


def view_memory(args, fmt) -> int:
    from dprof.report.memory_views import render_memory
    fmt = fmt or "text"
    if fmt not in ("text", "collapsed", "speedscope", "pprof", "svg", "html"):
        raise CliError(f"--memory writes text, collapsed, svg, html, speedscope or pprof, "
                       f"not {fmt}")
    memory, label = _load(args)
    content = render_memory(memory, args.memory, fmt, label,
                            include_libraries=args.libraries)
    if args.output:
        from dprof.cli.output import write_atomically
        write_atomically(args.output, content)
        print(f"wrote memory {fmt} of {label} to {args.output}", file=sys.stderr)
    elif isinstance(content, bytes):
        if sys.stdout.isatty():
            raise CliError(f"{fmt} is binary: write it to a file with -o FILE")
        sys.stdout.flush()
        sys.stdout.buffer.write(content)
    else:
        sys.stdout.write(content)
    return 0
