"""The job model and spec files: good specs load, bad ones fail with file, field and reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from http_trigger.errors import JobBrokenError, JobConflictError, JobNotFoundError, JobSpecError
from http_trigger.jobs.files import get_job, load_jobs, parse_spec, render_spec, write_job
from http_trigger.jobs.model import GROUP_MAX_LEN, Job
from http_trigger.jobs.spec_names import MAX_JOB_ID, job_id_from_dag_id, job_id_of, spec_path

from ...conftest import REPO


def spec(**overrides) -> dict:
    base = {
        "id": 7,
        "name": "Start test EC2 instances",
        "action": {
            "type": "ec2_start_instances",
            "aws_conn_id": "aws_demo",
            "region": "us-east-1",
            "parameters": {"tag_key": "Env", "tag_value": "test"},
        },
        "post_processing": {"on_success": [{"type": "webhook", "parameters": {"url": "http://h.example/ok"}}]},
    }
    base.update(overrides)
    return base


def test_good_spec_fills_defaults_and_names_its_dag():
    job = Job.model_validate(spec())
    assert job.dag_id == "http_trigger_job_7"
    assert job.group == "default"
    assert job.enabled is True
    assert job.action.parameters["wait_until_final_state"] is True
    assert job.post_processing.on_failure == []
    assert job_id_from_dag_id(job.dag_id) == 7
    assert job_id_from_dag_id("some_other_dag") is None


def test_example_specs_in_the_repository_are_valid():
    examples = sorted((REPO / "dags" / "example_jobs").glob("*.yaml"))
    assert examples
    for path in examples:
        parse_spec(yaml.safe_dump({"id": 1, **yaml.safe_load(path.read_text())}), source=path.name)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, r"x.yaml: name: String should have at least 1 character"),
        ({"colour": "red"}, r"x.yaml: colour: Extra inputs are not permitted"),
        ({"id": 0}, r"x.yaml: id: Input should be greater than or equal to 1"),
        ({"schedule": "every day"}, r"x.yaml: schedule: Enter a cron expression such as 0 9 \* \* 1-5: 'every day' is not one"),
        (
            {"action": {"type": "ec2_explode", "parameters": {}}},
            r"x.yaml: action: unknown action type 'ec2_explode'; known types: .*ec2_start_instances",
        ),
        (
            {"action": {"type": "ec2_start_instances", "parameters": {"instance_ids": ["nope"]}}},
            r"x.yaml: action: parameters.instance_ids.0: String should match pattern",
        ),
        (
            {"action": {"type": "ec2_start_instances", "parameters_at_execution": True,
                        "parameters": {"tag_key": "Env", "tag_value": "x"}}},
            r"x.yaml: action: parameters must be empty when they are given at execution",
        ),
        (
            {"post_processing": {"on_success": [{"type": "webhook", "parameters": {"url": "ftp://x"}}]}},
            r"x.yaml: post_processing.on_success.0: parameters.url: .ftp://x. is not an http or https URL",
        ),
        (
            {"name": "Start\0test"},
            r"^x.yaml: name: the NUL character \(\\x00\) is not allowed: "
            r"Airflow's metadata database cannot store it$",
        ),
        (
            {"action": {"type": "lambda_invoke_function",
                        "parameters": {"function_name": "f", "payload": {"items": ["a", "b\0"]}}}},
            r"^x.yaml: action.parameters: payload.items.1: the NUL character \(\\x00\) is not allowed",
        ),
        (
            {"post_processing": {"on_failure": [{"type": "webhook", "parameters": {"url": "http://h", "\0": 1}}]}},
            r"^x.yaml: post_processing.on_failure.0.parameters: \(a key\): the NUL character",
        ),
        # Values have their documented types: lax validation would read 0 as false and "2" as 2.
        ({"enabled": 0}, r"x.yaml: enabled: Input should be a valid boolean \(got 0\)$"),
        (
            {"action": {"type": "ec2_start_instances", "parameters_at_execution": "yes"}},
            r"x.yaml: action.parameters_at_execution: Input should be a valid boolean \(got 'yes'\)$",
        ),
        (
            {"post_processing": {"on_failure": [{"type": "webhook", "retries": "2",
                                                 "parameters": {"url": "http://h.example/ok"}}]}},
            r"x.yaml: post_processing.on_failure.0.retries: Input should be a valid integer \(got '2'\)$",
        ),
        # ipaddress reads False as 0.0.0.0/32 and a number as the address it encodes.
        (
            {"trigger": {"allowed_sources": ["10.0.0.0/8", False]}},
            r"x.yaml: trigger.allowed_sources.1: an address or CIDR network is written as text, "
            r"e.g. '10.0.0.0/8', not False$",
        ),
        (
            {"trigger": {"allowed_sources": [167772160]}},
            r"x.yaml: trigger.allowed_sources.0: an address or CIDR network is written as text, "
            r"e.g. '10.0.0.0/8', not 167772160$",
        ),
    ],
)
def test_bad_spec_names_file_field_and_reason(overrides, message):
    with pytest.raises(JobSpecError, match=message):
        parse_spec(yaml.safe_dump(spec(**overrides)), source="x.yaml")


def test_spec_that_is_not_a_mapping_or_not_yaml():
    with pytest.raises(JobSpecError, match=r"^x.yaml: \(file\): a job spec must be a mapping, got list$"):
        parse_spec("- 1\n- 2\n", source="x.yaml")
    with pytest.raises(JobSpecError) as raised:
        parse_spec("name: [unclosed\n", source="x.yaml")
    assert raised.value.problems == (
        (
            "(file)",
            "not valid YAML: while parsing a flow sequence (line 1, column 7): "
            "did not find expected ',' or ']' (line 2, column 1)",
        ),
    )


def test_yaml_tags_are_refused(tmp_path):
    with pytest.raises(JobSpecError, match="not valid YAML"):
        parse_spec("name: !!python/object/apply:os.system ['true']\n", source="x.yaml")


def test_write_read_round_trip_and_version_check(tmp_path):
    job = Job.model_validate(spec())
    stored = write_job(tmp_path, job, create=True)
    assert stored.path == spec_path(tmp_path, 7)
    assert get_job(tmp_path, 7).job == job
    assert yaml.safe_load(render_spec(job))["action"]["type"] == "ec2_start_instances"
    with pytest.raises(JobConflictError, match="Job 7 already exists"):
        write_job(tmp_path, job, create=True)
    renamed = job.model_copy(update={"name": "Renamed"})
    second = write_job(tmp_path, renamed, expected_version=stored.version)
    with pytest.raises(JobConflictError, match="changed by someone else"):
        write_job(tmp_path, job, expected_version=stored.version)
    assert get_job(tmp_path, 7).version == second.version
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left behind"
    with pytest.raises(JobNotFoundError, match="Job 8 does not exist"):
        get_job(tmp_path, 8)


def test_one_broken_file_hides_no_other_job(tmp_path):
    write_job(tmp_path, Job.model_validate(spec()), create=True)
    (tmp_path / "job_9.yaml").write_text(yaml.safe_dump(spec(id=9, name="")))
    (tmp_path / "job_10.yaml").write_text(yaml.safe_dump(spec(id=11)))
    (tmp_path / "notes.yaml").write_text("remember: the milk\n")
    jobs, broken = load_jobs(tmp_path)
    assert [stored.job.id for stored in jobs] == [7]
    assert [(spec.path.name, spec.job_id, str(spec.error)) for spec in broken] == [
        ("job_9.yaml", 9, "job_9.yaml: name: String should have at least 1 character (got '')"),
        ("job_10.yaml", 10, "job_10.yaml: id: 11 does not match the file name job_10.yaml"),
        (
            "notes.yaml",
            None,
            "notes.yaml: (file): not named as a job spec: spec files are named job_<id>.yaml, e.g. job_7.yaml",
        ),
    ]


@pytest.mark.parametrize(
    ("name", "job_id"),
    [("job_7.yaml", 7), ("job_2147483647.yaml", 2147483647), ("job_07.yaml", None), ("job_0.yaml", None),
     ("job_x.yaml", None), ("job_7.yml", None), ("notes.yaml", None), ("job_2147483648.yaml", None)],
)
def test_only_the_one_spelling_of_a_spec_name_gives_a_job_id(name, job_id):
    assert job_id_of(Path(name)) == job_id


def test_a_broken_spec_of_a_job_makes_the_job_broken_not_missing(tmp_path):
    (tmp_path / "job_7.yaml").write_text("name: [unclosed\n")
    with pytest.raises(JobBrokenError) as raised:
        get_job(tmp_path, 7)
    assert str(raised.value) == (
        "Job 7 cannot run: its spec is invalid (job_7.yaml: (file): not valid YAML: while parsing a flow sequence "
        "(line 1, column 7): did not find expected ',' or ']' (line 2, column 1)); fix the file"
    )
    assert raised.value.spec_error.source == "job_7.yaml"


class TestAirflowLimits:
    """What DAG() would refuse is refused by the model, naming the field and the limit."""

    def test_a_group_too_long_for_the_dag_tag_it_becomes(self):
        assert Job.model_validate(spec(group="g" * 94)).dag_tags == {"http-trigger", f"group:{'g' * 94}"}
        with pytest.raises(JobSpecError) as raised:
            parse_spec(yaml.safe_dump(spec(group="g" * 95)), source="job_7.yaml")
        assert str(raised.value) == (
            "job_7.yaml: group: at most 94 characters, not 95: the job's DAG is tagged 'group:<group>', "
            "and Airflow allows tags of at most 100 characters"
        )

    def test_the_limits_are_airflows_own(self):
        from airflow.sdk.definitions.dag import TAG_MAX_LEN

        assert GROUP_MAX_LEN == TAG_MAX_LEN - len("group:")
        for tag in Job.model_validate(spec(group="g" * GROUP_MAX_LEN, tags=["t" * TAG_MAX_LEN])).dag_tags:
            assert len(tag) <= TAG_MAX_LEN

    def test_a_tag_longer_than_airflow_allows(self):
        with pytest.raises(JobSpecError, match=r"^x.yaml: tags: tag 'tttt.*' must be 1-100 letters, digits, spaces or "
                           r"\._:/@- \(Airflow allows tags of at most 100 characters\)$"):
            parse_spec(yaml.safe_dump(spec(tags=["t" * 101])), source="x.yaml")

    def test_an_id_beyond_what_the_database_holds(self):
        assert Job.model_validate(spec(id=MAX_JOB_ID)).dag_id == f"http_trigger_job_{MAX_JOB_ID}"
        with pytest.raises(JobSpecError, match=r"^x.yaml: id: Input should be less than or equal to 2147483647 "
                           r"\(got 2147483648\)$"):
            parse_spec(yaml.safe_dump(spec(id=MAX_JOB_ID + 1)), source="x.yaml")

    def test_every_accepted_limit_builds_a_dag_airflow_accepts(self):
        from http_trigger.dag_builder import build_dag

        job = Job.model_validate(
            spec(id=MAX_JOB_ID, name="n" * 200, group="g" * GROUP_MAX_LEN, description="d" * 2000,
                 tags=["t" * 100, "a b.c:d/e@f-g_h"])
        )
        dag = build_dag(job)
        dag.validate()
        assert dag.dag_display_name == "n" * 200
        assert f"group:{'g' * GROUP_MAX_LEN}" in dag.tags

    def test_a_description_naming_a_markdown_file_stays_text(self, tmp_path, monkeypatch):
        from http_trigger.dag_builder import build_dag

        monkeypatch.chdir(tmp_path)
        (tmp_path / "secret.md").write_text("not for the UI")
        dag = build_dag(Job.model_validate(spec(description="secret.md")))
        # Airflow reads a doc_md ending in ".md" from that file; the docs end with the job page's link.
        assert dag.doc_md.startswith("secret\\.md\n")
        assert "not for the UI" not in dag.doc_md
