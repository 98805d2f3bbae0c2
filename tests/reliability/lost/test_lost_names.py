"""A script whose path is not valid UTF-8 is profiled and stored, and the message
says so truthfully (issue 15: "could not store", then "(profile ... stored)", and
nothing in the database or the spool)."""
from __future__ import annotations

import os

import pytest

from dprof.repo import ProfileRepo
from dprof.stacks.model import Frame, StackProfile

from lost_helpers import a_profile, dprof_env, run_dprof, sqlite_url, stored_profiles, text

LATIN1_NAME = b"caf\xe9.py"          # "café.py" in Latin-1: not UTF-8


@pytest.mark.core
def test_non_utf8_script_is_stored_and_said_stored(tmp_path):
    os.chdir(tmp_path)
    with open(os.path.join(os.fsencode(tmp_path), LATIN1_NAME), "w") as fh:
        fh.write("import time\nt = time.time()\nwhile time.time() - t < 0.05: pass\n"
                 "print('ran')\n")
    db = sqlite_url(tmp_path / "p.db")
    spool = tmp_path / "spool"
    done = run_dprof(["run", LATIN1_NAME], tmp_path, dprof_env(db, spool))
    err = text(done.stderr)
    assert done.returncode == 0, err
    assert done.stdout == b"ran\n"
    assert "could not store" not in err and "spooled" not in err, err
    assert "stored in sqlite:///" in err, err
    profiles = stored_profiles(db, spool)
    assert len(profiles) == 1
    # the undecodable byte is kept as a \xNN escape: the name the summary printed
    assert profiles[0].process_name == "caf\\xe9.py"
    assert "dprof: caf\\xe9.py ok in" in err
    assert not any(spool.glob("spool-*.jsonl")) or \
        all(p.stat().st_size == 0 for p in spool.glob("spool-*.jsonl"))


@pytest.mark.core
def test_surrogates_anywhere_in_a_profile_are_stored(tmp_path):
    """The repo takes any str a Python program can hold: text columns keep
    undecodable bytes as \\xNN (other lone surrogates as \\uNNNN), and the stacks,
    stored as JSON, keep the exact str."""
    odd_file = os.fsdecode(b"/srv/caf\xe9/job.py")            # '/srv/caf\udce9/job.py'
    stacks = StackProfile()
    stacks.add(1, [Frame(odd_file, "main", 3)], "cpu_python", 0.5)
    stacks.duration_seconds = 0.5
    p = a_profile(os.fsdecode(LATIN1_NAME), env="pr\ud800d", status="failed",
                  exception_type="OSError", exception_message=f"cannot open {odd_file}",
                  stacks=stacks)
    repo = ProfileRepo(tmp_path / "p.db", spool_dir=tmp_path / "spool")
    try:
        outcome = repo.add(p)
        assert outcome and outcome.status == "stored", outcome
        back = repo.get(p.id)
    finally:
        repo.close()
    assert back.process_name == "caf\\xe9.py"
    assert back.env == "pr\\ud800d"
    assert back.exception_message == "cannot open /srv/caf\\xe9/job.py"
    assert [f.filename for f in back.stacks.frames] == [odd_file]   # JSON keeps it


@pytest.mark.core
@pytest.mark.parametrize("value, stored", [
    ("café.py", "café.py"),                         # valid UTF-8: unchanged
    ("plain", "plain"),
    (os.fsdecode(b"caf\xe9.py"), "caf\\xe9.py"),     # surrogateescape'd byte
    (os.fsdecode(b"\xff\xfe"), "\\xff\\xfe"),
    ("a\ud800b", "a\\ud800b"),                      # other lone surrogate
    (None, None),
])
def test_storable_text_escapes_only_what_utf8_cannot_hold(value, stored):
    from dprof.repo.codec import storable_text
    assert storable_text(value) == stored
    if stored is not None:
        stored.encode("utf-8")
    # what was a byte comes back as that byte (backslashreplace writes the same)
    if value is not None and "\udce9" in value:
        assert os.fsencode(value).decode("utf-8", "backslashreplace") == stored
