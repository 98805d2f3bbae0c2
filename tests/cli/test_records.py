"""The verbs over stored profiles (history, show, stats, export, rm, prune), `--help`
on every verb, and bad input: real subprocesses against a SQLite file holding
profiles with known fields (conftest.KNOWN)."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pandas as pd
import pytest

from cli_helpers import ANSI_ESCAPE, KNOWN, NOW, make_cli, store_known

pytestmark = pytest.mark.core

ALL = set(KNOWN)


def shown_ids(stdout: str):
    """The 12-character ids in the first column of `dprof history` output."""
    lines = stdout.strip().splitlines()
    assert lines[0].split()[0] == "id"
    return [line.split()[0] for line in lines[1:]]


def short(ids):
    return [i[:12] for i in ids]


def newest_first(ids):
    return sorted(ids, key=lambda i: KNOWN[i][4])


@pytest.mark.parametrize("args, expected", [
    ((), ALL),
    (("--process", "load"), {i for i, k in KNOWN.items() if k[0] == "load"}),
    (("--stage", "publish"), {i for i, k in KNOWN.items() if k[1] == "publish"}),
    (("--env", "dev"), {i for i, k in KNOWN.items() if k[2] == "dev"}),
    (("--status", "failed"), {i for i, k in KNOWN.items() if k[3] == "failed"}),
    (("--since", "3d"), {i for i, k in KNOWN.items() if k[4] < timedelta(days=3)}),
    (("--since", (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")),
     {i for i, k in KNOWN.items() if k[4] < timedelta(days=1)}),
    (("--limit", "2"), set(newest_first(KNOWN)[:2])),
    (("--env", "prod", "--process", "report"),
     {i for i, k in KNOWN.items() if k[2] == "prod" and k[0] == "report"}),
])
def test_history_filters(known_cli, args, expected):
    assert 0 < len(expected) or args == ()
    done = known_cli("history", *args, check=0)
    ids = shown_ids(done.stdout)
    assert sorted(ids) == sorted(short(expected))
    assert ids == short(newest_first(expected))          # newest first
    assert ANSI_ESCAPE not in done.stdout                # piped: plain text


def test_history_with_no_match_says_so_and_exits_0(known_cli):
    done = known_cli("history", "--process", "nobody", check=0)
    assert done.stdout == "" and done.stderr.strip() == "no profiles match"


@pytest.mark.parametrize("verb", [("history",), ("stats",), ("show", "aaaa"),
                                  ("view", "aaaa"), ("insights",), ("bench", "list")])
def test_reading_a_database_that_does_not_exist_names_it_and_creates_nothing(cli, verb):
    """A typo in --db must not read as "no profiles" (nor leave an empty database)."""
    in_existing_dir = cli.workdir / "typo.db"
    in_missing_dir = cli.workdir / "no-such-dir" / "profiles.db"
    for path, why in ((in_existing_dir, "nothing has been recorded there yet"),
                      (in_missing_dir, f"the directory {in_missing_dir.parent} does not exist")):
        done = cli("--db", str(path), *verb, check=2)
        assert done.stderr.strip() == f"dprof {verb[0]}: no database at {path}: {why}"
        assert not path.exists()


def test_show_text_names_every_field_and_the_missing_ones(known_cli):
    done = known_cli("show", "aaaa2222000000000000000000000002", check=0)
    out = done.stdout
    assert ANSI_ESCAPE not in out
    fields = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1)
                  for line in out.splitlines() if re.match(r"  \S.*\S\s{2,}\S", line))
    assert fields["process"] == "load" and fields["status"] == "failed"
    assert fields["runtime"] == "2.50 s" and fields["peak memory"] == "300.0 MiB"
    assert fields["cpu user"] == "25.0 % of runtime x cores"
    assert fields["exception"] == "ValueError" and fields["message"] == "bad row"
    assert fields["I/O wait"].startswith("missing: not measured")
    assert "day: 2026-11-01" in out and "team: data" in out


def test_show_gives_why_each_missing_resource_column_is_missing(cli):
    from dataclasses import replace

    from cli_helpers import known_profiles
    nan = float("nan")
    p = replace(known_profiles()[0], resources={"t": [0.0, 0.1], "gpu_util_percent": [nan, nan]},
                resources_missing={"gpu_util_percent": "no NVIDIA GPU: libnvidia-ml.so.1 absent"})
    repo = cli.repo()
    repo.add(p)
    repo.close()
    out = cli("show", p.id, check=0).stdout
    assert "  resource columns missing:\n    gpu_util_percent: no NVIDIA GPU: " \
           "libnvidia-ml.so.1 absent" in out
    data = json.loads(cli("show", "--json", p.id, check=0).stdout)
    assert data["resources_missing"] == {"gpu_util_percent": "no NVIDIA GPU: libnvidia-ml.so.1 absent"}


def test_show_json_is_valid_json_with_the_fields(known_cli):
    done = known_cli("show", "--json", "bbbb3333000000000000000000000003", check=0)
    data = json.loads(done.stdout)
    assert data["id"] == "bbbb3333000000000000000000000003"
    assert (data["process_name"], data["stage"], data["env"], data["status"]) == \
        ("report", "publish", "prod", "ok")
    assert data["runtime_seconds"] == 4.0 and data["memory_usage_peak_mb"] == 50.0
    assert data["io_wait_time_seconds"] is None and "io_wait_time_seconds" in data["missing"]
    assert data["parameters"] == {"day": "2026-11-01"} and data["tags"] == {"team": "data"}
    assert "resources" not in data and "stacks" not in data


def test_show_accepts_a_unique_id_prefix(known_cli):
    done = known_cli("show", "--json", "aaaa1", check=0)
    assert json.loads(done.stdout)["id"] == "aaaa1111000000000000000000000001"


def test_show_with_an_ambiguous_prefix_is_a_clear_error(known_cli):
    done = known_cli("show", "aaaa", check=2)
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("dprof show: id prefix 'aaaa' is ambiguous: 2 profiles match")
    assert "aaaa11110000" in line and "aaaa22220000" in line
    assert done.stdout == ""


def test_stats_per_process(known_cli):
    done = known_cli("stats", check=0)
    assert ANSI_ESCAPE not in done.stdout
    lines = done.stdout.strip().splitlines()
    # columns are two or more spaces apart (a value such as "5.00 s" holds one)
    header = re.split(r"\s{2,}", lines[0].strip())
    rows = {re.split(r"\s{2,}", line.strip())[0]: dict(zip(header, re.split(r"\s{2,}", line.strip())))
            for line in lines[1:]}
    assert set(rows) == {"load", "report"}
    assert (rows["load"]["runs"], rows["load"]["failures"]) == ("2", "1")
    assert (rows["report"]["runs"], rows["report"]["failures"]) == ("2", "0")
    assert rows["report"]["runtime mean"] == "5.00 s"
    assert rows["load"]["peak memory max"] == "300.0 MiB"


def _expected_frame(known_cli):
    repo = known_cli.repo()
    try:
        return repo.query().set_index("id").sort_index()
    finally:
        repo.close()


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_reads_back_equal(known_cli, tmp_path, fmt):
    out = tmp_path / f"profiles.{fmt}"
    done = known_cli("export", "-o", str(out), check=0)
    assert done.stderr.strip() == f"wrote 4 profiles to {out}"
    reader = {"csv": pd.read_csv, "json": pd.read_json, "parquet": pd.read_parquet}[fmt]
    got = reader(out).set_index("id").sort_index()
    want = _expected_frame(known_cli)
    assert list(got.index) == sorted(KNOWN)
    for column in ("process_name", "stage", "env", "status"):
        assert list(got[column].astype(str)) == list(want[column].astype(str))
    for column in ("runtime_seconds", "memory_usage_peak_mb", "cpu_user_utilization"):
        assert list(got[column].astype(float)) == pytest.approx(list(want[column].astype(float)))
    assert list(got["file_read_bytes"].astype(int)) == [1000] * 4
    starts = pd.to_datetime(got["task_start_time"], utc=True)
    assert all(abs(a - b) < pd.Timedelta(milliseconds=1)
               for a, b in zip(starts, pd.to_datetime(want["task_start_time"], utc=True)))
    params = [json.loads(v) if isinstance(v, str) else v for v in got["parameters"]]
    assert params == [{"day": "2026-11-01"}] * 4


def test_export_to_stdout_with_a_filter(known_cli):
    import io
    done = known_cli("export", "--format", "csv", "--status", "failed", check=0)
    got = pd.read_csv(io.StringIO(done.stdout))
    assert list(got["id"]) == ["aaaa2222000000000000000000000002"]


def test_rm_by_id_prefix_and_by_process(cli):
    store_known(cli)
    done = cli("rm", "bbbb", "aaaa1111000000000000000000000001", check=0)
    assert done.stdout.strip() == "removed 2 profile(s)"
    assert {p.id for p in cli.profiles()} == {"aaaa2222000000000000000000000002",
                                               "cccc4444000000000000000000000004"}
    done = cli("rm", "--process", "report", check=0)
    assert done.stdout.strip() == "removed 1 profile(s)"
    assert [p.id for p in cli.profiles()] == ["aaaa2222000000000000000000000002"]


def test_prune_removes_only_profiles_older_than_the_age(cli):
    store_known(cli)
    done = cli("prune", "--older-than", "7d", check=0)
    assert done.stdout.startswith("removed 1 profile(s) older than 7 days")
    assert {p.id for p in cli.profiles()} == ALL - {"bbbb3333000000000000000000000003"}
    cli("prune", "--older-than", "30m", check=0)
    assert [p.id for p in cli.profiles()] == ["cccc4444000000000000000000000004"]


VERB_OPTIONS = {
    "run": ["-m MODULE", "--name", "--stage", "--env", "--tag", "--interval",
            "--no-stacks", "--no-store", "--quiet"],
    "history": ["--process", "--stage", "--env", "--status", "--since", "--limit"],
    "show": ["--json", "id"],
    "stats": ["--process", "--since"],
    "export": ["--format", "--output", "--status"],
    "rm": ["--process", "ids"],
    "prune": ["--older-than"],
    "view": ["--format", "--output", "--threshold", "--libraries"],
    "diff": ["--output", "--threshold"],
}


@pytest.mark.parametrize("verb", sorted(VERB_OPTIONS))
def test_every_verb_has_help_naming_its_options(tmp_path, verb):
    done = make_cli(tmp_path)(verb, "--help", check=0)
    assert done.stdout.startswith(f"usage: dprof {verb}")
    for option in VERB_OPTIONS[verb]:
        assert option in done.stdout, option
    assert ANSI_ESCAPE not in done.stdout


def test_top_level_help_lists_every_verb(cli):
    done = cli("--help", check=0)
    for verb in VERB_OPTIONS:
        assert verb in done.stdout


@pytest.mark.parametrize("args, message", [
    (("show", "ffff"), "dprof show: no profile with id 'ffff'"),
    (("rm", "aaaa1111", "ffff"), "dprof rm: no profile with id 'ffff'"),
    (("rm",), "dprof rm: give profile ids or --process NAME"),
    (("prune", "--older-than", "7x"), "dprof prune: argument --older-than: not an age: '7x'"),
    (("history", "--since", "yesterday"), "dprof history: argument --since: not an age or "
                                          "ISO date: 'yesterday'"),
    (("history", "--limit", "0"), "dprof history: --limit must be positive, got 0"),
    (("export", "--format", "parquet"), "dprof export: parquet needs an output file"),
    (("nosuchverb",), "dprof: argument VERB: invalid choice: 'nosuchverb'"),
])
def test_bad_input_is_one_clear_line_exit_2_and_loses_nothing(known_cli, args, message):
    done = known_cli(*args, check=2)
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(message), line
    assert {p.id for p in known_cli.profiles()} == ALL


def test_stats_applies_its_filters(cli, tmp_path):
    from dprof.repo import ProfileRepo
    from dprof.record import Profile
    from datetime import datetime, timezone
    repo = ProfileRepo(cli.db_url)
    now = datetime.now(timezone.utc)
    for name in ("alpha_job", "beta_job"):
        repo.add(Profile(process_name=name, task_start_time=now, task_end_time=now))
    out = cli("stats", "--process", "alpha_job", check=0).stdout
    assert "alpha_job" in out and "beta_job" not in out
