"""The loader fuzz of tests/reliability/input/test_input_fuzz_loaders.py, for longer:
mutations of a profile dprof records here, for a fixed time.

    python tests/fuzz/fuzz_profiles.py [--seconds 300] [--seed N] [--mutations 3]

Each round applies 1..--mutations random mutations (tests/reliability/input/
profile_mutations.py) to the recorded profile and checks, in this process:
``Profile.from_dict``, ``StackProfile.from_dict`` and ``MemoryProfile.from_dict``
raise nothing but ProfileFormatError; ``dprof view FILE`` (terminal, or one of the
``-o`` formats in turn) returns 0, or 2 with one line on stderr. A failure prints the
seed and round that reproduce it, writes the file to --keep-dir, and exits 1.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "reliability" / "input")]

import profile_mutations as pm                      # noqa: E402
from dprof.errors import ProfileFormatError         # noqa: E402
from dprof.memory.model import MemoryProfile        # noqa: E402
from dprof.record import Profile                    # noqa: E402
from dprof.stacks.model import StackProfile         # noqa: E402

OUTPUTS = (None, "x.html", "x.svg", "x.speedscope.json", "x.trace.json", "x.collapsed",
           "x.pb.gz", "x.json")


def check_one(doc: dict, which: str, output, work: Path) -> None:
    text = pm.to_json(doc)
    try:
        data = json.loads(text)
    except RecursionError:
        data = None                                 # only the CLI path reads it then
    if data is not None:
        load = {"profile": Profile.from_dict, "stacks": StackProfile.from_dict,
                "memory": MemoryProfile.from_dict}[which]
        try:
            load(data)
        except ProfileFormatError:
            pass
    if which == "memory":
        return
    from dprof.cli import main
    path = work / "mutated.json"
    path.write_text(text, encoding="utf-8")
    args = ["--db", str(work / "db.sqlite"), "view", str(path)]
    if output:
        args += ["-o", str(work / output)]
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        rc = main(args)
    if rc not in (0, 2) or (rc == 2 and err.getvalue().count("\n") != 1):
        raise AssertionError(f"dprof view exited {rc}: {err.getvalue()[-500:]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--mutations", type=int, default=3, help="at most this many per input")
    ap.add_argument("--keep-dir", default=".", help="where a failing input is written")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    rnd = random.Random(seed)
    seed_doc = pm.recorded_profile()
    work = Path(tempfile.mkdtemp(prefix="dprof-fuzz-"))
    end, rounds, rejected = time.monotonic() + args.seconds, 0, 0
    while time.monotonic() < end:
        which = rnd.choice(("profile", "stacks", "memory"))
        base = seed_doc if which == "profile" else seed_doc[which]
        doc = pm.random_mutation(base, rnd, rnd.randint(1, args.mutations))
        output = rnd.choice(OUTPUTS)
        try:
            check_one(doc, which, output, work)
        except Exception:
            keep = Path(args.keep_dir) / f"fuzz-failure-{seed}-{rounds}.json"
            keep.write_text(pm.to_json(doc), encoding="utf-8")
            traceback.print_exc()
            print(f"FAILED at round {rounds} (--seed {seed}); {which} input in {keep}, "
                  f"output {output}")
            return 1
        rounds += 1
    print(f"{rounds} mutated profiles in {args.seconds:g} s (seed {seed}): every loader "
          f"raised only ProfileFormatError, dprof view never printed a traceback")
    return 0


if __name__ == "__main__":
    sys.exit(main())
