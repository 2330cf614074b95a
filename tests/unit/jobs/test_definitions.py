"""Shared post-processing definitions: the model, their files, and how a job's references resolve."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from http_trigger.dag_builder import build_dags, build_problem, build_specs
from http_trigger.errors import DefinitionConflictError, DefinitionNotFoundError, JobSpecError
from http_trigger.jobs.definitions import (
    definition_path,
    definitions_folder,
    get_definition,
    jobs_using,
    load_definitions,
    hide_definition,
    render_definition,
    write_definition,
)
from http_trigger.jobs.files import load_jobs, read_job_file, write_job
from http_trigger.jobs.model import Job, PostProcessingDefinition, PostProcessingRef, PostProcessingSpec
from http_trigger.jobs.spec_names import spec_candidates
from pydantic import ValidationError

REPO = Path(__file__).resolve().parents[3]

EC2 = {"type": "ec2_stop_instances", "aws_conn_id": "aws_demo", "parameters": {"instance_ids": ["i-0123456789abcdef0"]}}


def team_hook(url: str = "http://hooks.example/team", name: str = "team-hook") -> PostProcessingDefinition:
    return PostProcessingDefinition.model_validate({"name": name, "type": "webhook", "retries": 1, "parameters": {"url": url}})


def job_referencing(job_id: int, *names: str, on_failure: list | None = None) -> Job:
    return Job.model_validate(
        {
            "id": job_id,
            "name": f"job {job_id}",
            "action": EC2,
            "post_processing": {
                "on_success": [{"type": "webhook", "parameters": {"url": "http://hooks.example/inline"}}]
                + [{"ref": name} for name in names],
                "on_failure": on_failure or [],
            },
        }
    )


class TestModel:
    def test_a_step_is_inline_or_a_reference(self):
        job = job_referencing(1, "team-hook")

        assert isinstance(job.post_processing.on_success[0], PostProcessingSpec)
        assert job.post_processing.on_success[1] == PostProcessingRef(ref="team-hook")
        assert job.post_processing.references() == {"team-hook"}

    def test_a_reference_round_trips_as_written(self):
        job = job_referencing(1, "team-hook")

        assert Job.model_validate(job.model_dump(mode="json")) == job
        assert job.model_dump(mode="json")["post_processing"]["on_success"][1] == {"ref": "team-hook"}

    def test_errors_keep_the_inline_steps_paths(self):
        with pytest.raises(ValidationError) as caught:
            Job.model_validate(
                {
                    "id": 1,
                    "name": "x",
                    "action": EC2,
                    "post_processing": {"on_success": [{"type": "webhook", "retries": 99}, {"ref": "Bad Name"}]},
                }
            )

        locs = {error["loc"] for error in caught.value.errors()}
        assert ("post_processing", "on_success", 0, "retries") in locs
        assert ("post_processing", "on_success", 1, "ref") in locs

    def test_a_reference_takes_nothing_but_the_name(self):
        with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
            PostProcessingRef.model_validate({"ref": "team-hook", "retries": 3})

    @pytest.mark.parametrize("name", ["Team", "-team", "team-", "team_hook", "a" * 65, "", "../x"])
    def test_a_definition_name_is_a_slug(self, name):
        with pytest.raises(ValidationError, match="String should match pattern"):
            team_hook(name=name)

    def test_a_definition_validates_its_parameters_as_a_step_does(self):
        with pytest.raises(ValidationError, match="is not an http or https URL"):
            team_hook(url="ftp://nowhere")


class TestFiles:
    def test_write_read_list_remove(self, jobs_folder):
        folder = definitions_folder(jobs_folder)
        stored = write_definition(folder, team_hook(), create=True)

        assert definition_path(folder, "team-hook").read_text().startswith("name: team-hook\ntype: webhook\n")
        assert get_definition(folder, "team-hook") == stored
        assert [d.definition.name for d in load_definitions(folder)[0]] == ["team-hook"]
        hide_definition(folder, "team-hook").remove()
        with pytest.raises(DefinitionNotFoundError, match="^Post-processing definition 'team-hook' does not exist$"):
            get_definition(folder, "team-hook")
        assert list(folder.iterdir()) == []

    def test_the_jobs_readers_do_not_see_definitions(self, jobs_folder):
        write_definition(definitions_folder(jobs_folder), team_hook(), create=True)

        assert spec_candidates(jobs_folder) == []

    def test_create_refuses_an_existing_name_and_update_a_stale_version(self, jobs_folder):
        folder = definitions_folder(jobs_folder)
        first = write_definition(folder, team_hook(), create=True)
        with pytest.raises(DefinitionConflictError, match="'team-hook' already exists"):
            write_definition(folder, team_hook(), create=True)
        write_definition(folder, team_hook("http://hooks.example/v2"), expected_version=first.version)
        with pytest.raises(DefinitionConflictError, match="was changed by someone else"):
            write_definition(folder, team_hook("http://hooks.example/v3"), expected_version=first.version)

    def test_a_broken_file_is_reported_alone_without_its_secret(self, jobs_folder):
        folder = definitions_folder(jobs_folder)
        write_definition(folder, team_hook(), create=True)
        (folder / "leaky.yaml").write_text("name: leaky\ntype: webhook\nparameters: https://u:pw@h.example/x\n")
        (folder / "other.yaml").write_text(team_hook(name="renamed").model_dump_json())

        loaded, broken = load_definitions(folder)

        assert [d.definition.name for d in loaded] == ["team-hook"]
        messages = {b.path.name: str(b.error) for b in broken}
        assert messages["leaky.yaml"] == "post_processing/leaky.yaml: parameters: Input should be a valid dictionary"
        assert messages["other.yaml"] == (
            "post_processing/other.yaml: name: 'renamed' does not match the file name other.yaml"
        )

    def test_jobs_using_a_definition(self):
        jobs = [job_referencing(2, "team-hook"), job_referencing(1, "other"), job_referencing(3, on_failure=[{"ref": "team-hook"}])]

        assert [job.id for job in jobs_using(jobs, "team-hook")] == [2, 3]


class TestResolution:
    def test_a_reference_becomes_the_definitions_step_in_the_dag(self, jobs_folder):
        write_definition(definitions_folder(jobs_folder), team_hook(), create=True)
        write_job(jobs_folder, job_referencing(4, "team-hook"), create=True)

        dag = build_dags(jobs_folder)["http_trigger_job_4"]

        task = dag.get_task("on_success_2_webhook")
        assert task.parameters == {"url": "http://hooks.example/team", "timeout_seconds": 30}
        assert task.retries == 1
        assert dag.get_task("on_success_1_webhook").parameters["url"] == "http://hooks.example/inline"

    def test_a_missing_definition_breaks_its_job_alone(self, jobs_folder):
        write_job(jobs_folder, job_referencing(1), create=True)
        write_job(jobs_folder, job_referencing(2, "nowhere"), create=True)

        built = build_specs(spec_candidates(jobs_folder))
        bag = DagBag(dag_folder=str(REPO / "dags"))

        assert set(built.dags) == {"http_trigger_job_1"}
        [broken] = built.broken
        assert broken.job_id == 2
        assert broken.error.problems == (
            ("post_processing.on_success.1.ref", "Post-processing definition 'nowhere' does not exist"),
        )
        assert bag.import_errors == {}
        assert set(bag.dag_ids) == {"http_trigger_job_1"}

    def test_a_broken_definition_breaks_the_jobs_using_it(self, jobs_folder):
        folder = definitions_folder(jobs_folder)
        folder.mkdir()
        definition_path(folder, "team-hook").write_text("name: team-hook\ntype: carrier-pigeon\n")
        write_job(jobs_folder, job_referencing(2, "team-hook"), create=True)

        [broken] = build_specs(spec_candidates(jobs_folder)).broken

        [(field, reason)] = broken.error.problems
        assert field == "post_processing.on_success.1.ref"
        assert reason.startswith("post-processing definition 'team-hook' does not load (post_processing/team-hook.yaml: ")

    def test_a_job_is_repaired_when_its_definition_appears(self, jobs_folder):
        stored = write_job(jobs_folder, job_referencing(2, "team-hook"), create=True)
        assert build_problem(read_job_file(stored.path)) is not None

        write_definition(definitions_folder(jobs_folder), team_hook(), create=True)

        assert build_problem(read_job_file(stored.path)) is None

    def test_a_changed_definition_changes_every_job_using_it(self, jobs_folder):
        folder = definitions_folder(jobs_folder)
        write_definition(folder, team_hook(), create=True)
        for job_id in (1, 2):
            write_job(jobs_folder, job_referencing(job_id, "team-hook"), create=True)

        write_definition(folder, team_hook("http://hooks.example/moved"))
        dags = build_dags(jobs_folder)

        assert {dags[dag_id].get_task("on_success_2_webhook").parameters["url"] for dag_id in dags} == {
            "http://hooks.example/moved"
        }

    def test_a_reference_error_names_the_failure_list_too(self, jobs_folder):
        write_job(jobs_folder, job_referencing(5, on_failure=[{"ref": "pager"}]), create=True)

        [broken] = build_specs(spec_candidates(jobs_folder)).broken

        assert isinstance(broken.error, JobSpecError)
        assert str(broken.error) == (
            "job_5.yaml: post_processing.on_failure.0.ref: Post-processing definition 'pager' does not exist"
        )


def count_reads(monkeypatch: pytest.MonkeyPatch, path: Path) -> list[Path]:
    """Record each opening of ``path`` for reading, whoever opens it; return the record."""
    real_open = Path.open
    reads: list[Path] = []

    def open_(self: Path, mode: str = "r", *args, **kwargs):
        if self == path and "r" in mode:
            reads.append(self)
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)
    return reads


class TestReads:
    def test_a_parse_and_the_checks_of_its_jobs_read_a_shared_definition_once(self, jobs_folder, monkeypatch):
        folder = definitions_folder(jobs_folder)
        write_definition(folder, team_hook(), create=True)
        for job_id in range(1, 6):
            job = job_referencing(job_id, "team-hook", on_failure=[{"ref": "team-hook"}])
            write_job(jobs_folder, job, create=True)
        reads = count_reads(monkeypatch, definition_path(folder, "team-hook"))

        dags = build_dags(jobs_folder)
        problems = [build_problem(stored) for stored in load_jobs(jobs_folder)[0]]

        assert len(dags) == 5 and problems == [None] * 5
        assert len(reads) == 1

    def test_a_changed_definition_is_read_again_once(self, jobs_folder, monkeypatch):
        folder = definitions_folder(jobs_folder)
        write_definition(folder, team_hook(), create=True)
        for job_id in (1, 2):
            write_job(jobs_folder, job_referencing(job_id, "team-hook"), create=True)
        build_dags(jobs_folder)
        write_definition(folder, team_hook("http://hooks.example/moved"))
        reads = count_reads(monkeypatch, definition_path(folder, "team-hook"))

        moved = build_dags(jobs_folder)
        reads_of_the_move = len(reads)
        # In place, as an editor may save it: the same inode, another size.
        edit = render_definition(team_hook("http://hooks.example/edited"))
        definition_path(folder, "team-hook").write_text(edit)
        edited = build_dags(jobs_folder)

        assert {dag.get_task("on_success_2_webhook").parameters["url"] for dag in moved.values()} == {
            "http://hooks.example/moved"
        }
        assert {dag.get_task("on_success_2_webhook").parameters["url"] for dag in edited.values()} == {
            "http://hooks.example/edited"
        }
        assert (reads_of_the_move, len(reads)) == (1, 2)

    def test_a_check_sees_a_definition_broken_since(self, jobs_folder):
        folder = definitions_folder(jobs_folder)
        write_definition(folder, team_hook(), create=True)
        stored = write_job(jobs_folder, job_referencing(2, "team-hook"), create=True)
        assert build_problem(stored) is None

        definition_path(folder, "team-hook").write_text("name: team-hook\ntype: carrier-pigeon\n")

        [(field, _)] = build_problem(stored).problems
        assert field == "post_processing.on_success.1.ref"
