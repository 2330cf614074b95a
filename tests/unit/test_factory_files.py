"""Factory files: each job is built by exactly one file of the set, and each file's name says which."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from http_trigger.factory_files import (
    PRE_IMPORTED,
    SINGLE_FILE_NAME,
    Shard,
    factory_file_of_job,
    shard_of_file,
    write_factory_files,
)
from http_trigger.jobs.files import write_job
from http_trigger.jobs.model import Job

from ..conftest import REPO
from .jobs_support import job_body


def make_job(job_id: int) -> Job:
    return Job(id=job_id, **job_body(f"job {job_id}").model_dump())


def test_the_repository_factory_file_is_the_one_file_set():
    assert (REPO / "dags" / SINGLE_FILE_NAME).read_text() == Shard(0, 1).source()


@pytest.mark.parametrize(
    ("name", "shard"),
    [
        ("http_trigger_jobs.py", Shard(0, 1)),
        ("http_trigger_jobs_00_of_16.py", Shard(0, 16)),
        ("http_trigger_jobs_15_of_16.py", Shard(15, 16)),
        ("http_trigger_jobs_100_of_256.py", Shard(100, 256)),
        ("http_trigger_jobs_16_of_16.py", None),  # no such file in a set of 16
        ("http_trigger_jobs_3_of_16.py", None),  # not the written spelling
        ("http_trigger_jobs_00_of_300.py", None),  # beyond the largest set
        ("my_dags.py", None),
    ],
)
def test_a_file_name_gives_its_share(name, shard):
    assert shard_of_file(name) == shard
    if shard is not None:
        assert shard.file_name == name


@pytest.mark.parametrize(("index", "count"), [(0, 0), (1, 1), (-1, 4), (4, 4), (0, 257)])
def test_a_share_outside_the_set_is_refused(index, count):
    with pytest.raises(ValueError, match="a factory file is one of 1 to 256 files"):
        Shard(index, count)


def test_every_job_belongs_to_exactly_one_file_of_a_set():
    for count in (1, 2, 7, 16):
        shards = [Shard(index, count) for index in range(count)]
        for job_id in [*range(1, 200), 2**31 - 1, None]:
            assert sum(shard.holds(job_id) for shard in shards) == 1


def test_the_file_of_a_job_is_named_after_the_set_airflow_parsed():
    assert factory_file_of_job(7, "platform/http_trigger_jobs_01_of_04.py") == "platform/http_trigger_jobs_03_of_04.py"
    assert factory_file_of_job(8, "http_trigger_jobs_01_of_04.py") == "http_trigger_jobs_00_of_04.py"
    assert factory_file_of_job(7, "platform/http_trigger_jobs.py") == "platform/http_trigger_jobs.py"
    # A file of some other name (a deployment's own factory file) is the job's file as it is.
    assert factory_file_of_job(7, "jobs/factory.py") == "jobs/factory.py"


def test_writing_a_set_replaces_the_factory_files_of_another_and_leaves_other_files(tmp_path):
    dags = tmp_path / "dags"
    written, removed = write_factory_files(dags, 1)
    (dags / "http_trigger_jobs_backup.py").write_text("# kept: no factory file's name")
    (dags / "other_dag.py").write_text("# kept")

    written, removed = write_factory_files(dags, 3)

    assert [path.name for path in written] == [f"http_trigger_jobs_0{index}_of_03.py" for index in range(3)]
    assert removed == [dags / SINGLE_FILE_NAME]
    assert sorted(path.name for path in dags.iterdir()) == [
        "http_trigger_jobs_00_of_03.py", "http_trigger_jobs_01_of_03.py", "http_trigger_jobs_02_of_03.py",
        "http_trigger_jobs_backup.py", "other_dag.py",
    ]  # fmt: skip
    assert written[2].read_text() == Shard(2, 3).source()
    unchanged = {path: path.stat().st_mtime_ns for path in written}
    assert write_factory_files(dags, 3) == (written, [])  # writing the same set again changes nothing
    assert {path: path.stat().st_mtime_ns for path in written} == unchanged


def test_each_file_of_a_set_builds_its_share_of_the_jobs_in_airflows_dagbag(jobs_folder, tmp_path):
    for job_id in range(1, 8):
        write_job(jobs_folder, make_job(job_id), create=True)
    (jobs_folder / "notes.yaml").write_text("not: a job")  # no job's name: reported by file 0
    dags = tmp_path / "dags"
    written, _ = write_factory_files(dags, 3)

    built = {}
    for path in written:
        bag = DagBag(dag_folder=str(path), bundle_path=dags)
        assert bag.import_errors == {}
        built[path.name] = sorted(bag.dag_ids)

    assert built == {
        "http_trigger_jobs_00_of_03.py": ["http_trigger_job_3", "http_trigger_job_6"],
        "http_trigger_jobs_01_of_03.py": ["http_trigger_job_1", "http_trigger_job_4", "http_trigger_job_7"],
        "http_trigger_jobs_02_of_03.py": ["http_trigger_job_2", "http_trigger_job_5"],
    }
    assert [p.name for p in Shard(0, 3).spec_files(jobs_folder)] == ["job_3.yaml", "job_6.yaml", "notes.yaml"]


def test_a_worker_running_a_task_of_one_job_builds_that_jobs_dag_alone(jobs_folder, tmp_path, monkeypatch):
    # Airflow's task runner parses a DAG file with the DAG it runs a task of named in the
    # environment (its context manager for that leaves the name set, so the test sets it itself).
    from airflow.sdk.definitions.context import _AIRFLOW_PARSING_CONTEXT_DAG_ID

    for job_id in range(1, 8):
        write_job(jobs_folder, make_job(job_id), create=True)
    written, _ = write_factory_files(tmp_path / "dags", 3)

    def parsed(dag_id: str) -> dict[str, list[str]]:
        monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, dag_id)
        bags = {path.name: DagBag(dag_folder=str(path), bundle_path=path.parent) for path in written}
        assert all(bag.import_errors == {} for bag in bags.values())
        return {name: sorted(bag.dag_ids) for name, bag in bags.items() if bag.dag_ids}

    assert parsed("http_trigger_job_4") == {"http_trigger_jobs_01_of_03.py": ["http_trigger_job_4"]}
    assert parsed("http_trigger_job_6") == {"http_trigger_jobs_00_of_03.py": ["http_trigger_job_6"]}
    assert parsed("http_trigger_job_9") == {}  # deleted since its run was queued
    assert parsed("someone_elses_dag") == {}
    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, "http_trigger_job_5")
    assert [shard.has_jobs() for shard in (Shard(0, 3), Shard(1, 3), Shard(2, 3))] == [False, False, True]


def _modules_after_parsing(factory_file: Path) -> set[str]:
    """Run a factory file as Airflow's parsing process does, in a fresh interpreter; return what it imported."""
    script = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        "print(*sorted(m for m in sys.modules if m.startswith('http_trigger')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(factory_file)], env=os.environ.copy(), capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return set(result.stdout.split())


def test_a_file_whose_share_holds_no_job_does_not_import_the_dag_builder(jobs_folder, tmp_path):
    write_job(jobs_folder, make_job(1), create=True)  # file 1 of 2 builds it; file 0 has nothing to build
    written, _ = write_factory_files(tmp_path / "dags", 2)

    idle, busy = (_modules_after_parsing(path) for path in written)

    assert "http_trigger.dag_builder" not in idle and "http_trigger.jobs.model" not in idle
    assert "http_trigger.dag_builder" in busy


def test_what_the_dag_processor_imports_once_is_what_the_dag_builder_imports():
    """A module no longer used would cost every parse for nothing; a misspelt one would break every file."""
    script = "import sys, http_trigger.dag_builder; print(*sys.modules)"
    imported = subprocess.run(
        [sys.executable, "-c", script], env=os.environ.copy(), capture_output=True, text=True, check=True
    ).stdout.split()

    assert [module for module in PRE_IMPORTED if module not in imported] == []
