"""ProfileRepo takes the Task Profiler's documented keyword names (profile_id=,
process_name=) beside dprof's positional use; a wrong keyword is a clear TypeError."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dprof.record import Profile
from dprof.repo import ProfileRepo

pytestmark = pytest.mark.core

T = datetime(2024, 3, 1, tzinfo=timezone.utc)


@pytest.fixture
def repo(tmp_path):
    r = ProfileRepo(tmp_path / "p.db")
    for i, name in enumerate(["load", "load", "train"]):
        r.add(Profile(id=f"id{i}", process_name=name, task_start_time=T, task_end_time=T))
    r.add(Profile(id="123", process_name="numbered", task_start_time=T, task_end_time=T))
    yield r
    r.close()


def test_documented_keywords_and_positional_give_the_same_answers(repo):
    assert repo.exists(profile_id="id0") and repo.exists("id0")
    assert not repo.exists(profile_id="nope")
    assert repo.get(profile_id="id1") == repo.get("id1")
    assert list(repo.get_by_process(process_name="load")["id"]) == ["id0", "id1"]
    assert list(repo.get_by_process("load")["id"]) == ["id0", "id1"]
    assert repo.remove(profile_id="id0") is True
    assert repo.remove(profile_id="id0") is False
    assert repo.remove_by_process(process_name="load") == 1
    assert repo.remove_by_process("train") == 1
    assert repo.count() == 1


def test_integer_ids_of_the_task_profiler_readme_are_looked_up_as_text(repo):
    assert repo.exists(profile_id=123)
    assert repo.get(profile_id=123).process_name == "numbered"
    assert repo.remove(profile_id=123) is True and not repo.exists("123")


@pytest.mark.parametrize("call, pattern", [
    (lambda r: r.exists(pid="id0"), r"exists\(\) got an unexpected keyword argument 'pid'"
                                    r".*id= or profile_id="),
    (lambda r: r.remove(process_name="load"), r"remove\(\) got an unexpected keyword "
                                              r"argument 'process_name'"),
    (lambda r: r.get_by_process(name_="x"), r"name= or process_name="),
    (lambda r: r.remove_by_process("a", process_name="b"), r"exactly one argument.*got 2"),
    (lambda r: r.get(), r"exactly one argument.*got 0"),
    (lambda r: r.exists(profile_id=1.5), r"needs a str \(or an int id\), got float"),
])
def test_wrong_arguments_are_a_clear_type_error(repo, call, pattern):
    with pytest.raises(TypeError, match=pattern):
        call(repo)
    assert repo.count() == 4          # nothing removed by a refused call
