"""DAG shape per job, and the factory file imported by Airflow's own DagBag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from airflow.dag_processing.dagbag import DagBag
from airflow.exceptions import ParamValidationError
from airflow.serialization.serialized_objects import DagSerialization, LazyDeserializedDAG
from airflow.task.trigger_rule import TriggerRule
from http_trigger import dag_builder
from http_trigger.actions import ACTIONS
from http_trigger.dag_builder import build_dag, build_dags, build_specs
from http_trigger.jobs.files import write_job
from http_trigger.jobs.model import Job
from http_trigger.jobs.spec_names import spec_candidates
from http_trigger.jobs.spec_yaml import MAX_SPEC_BYTES
from markdown_it import MarkdownIt
from pydantic_core import to_jsonable_python

REPO = Path(__file__).resolve().parents[2]


def make_job(job_id: int = 3, **overrides) -> Job:
    data = {
        "id": job_id,
        "name": "Stop test EC2 instances",
        "action": {"type": "ec2_stop_instances", "aws_conn_id": "aws_demo", "parameters": {"instance_ids": ["i-0123456789abcdef0"]}},
        "post_processing": {
            "on_success": [{"type": "webhook", "parameters": {"url": "http://h.example/ok"}}],
            "on_failure": [
                {"type": "webhook", "parameters": {"url": "http://h.example/fail"}},
                {"type": "webhook", "parameters": {"url": "http://h.example/fail2"}},
            ],
        },
    }
    data.update(overrides)
    return Job.model_validate(data)


def test_dag_has_action_then_post_processing_that_cannot_change_the_run_state():
    dag = build_dag(make_job())
    assert dag.dag_id == "http_trigger_job_3"
    assert dag.dag_display_name == "Stop test EC2 instances"
    assert dag.schedule is None
    assert set(dag.task_ids) == {"action", "on_success_1_webhook", "on_failure_1_webhook", "on_failure_2_webhook"}
    action = dag.get_task("action")
    assert action.parameters == {"instance_ids": ["i-0123456789abcdef0"], "tag_key": None, "tag_value": None, "wait_until_final_state": True}
    assert action.aws_conn_id == "aws_demo"
    assert action.execution_timeout is not None
    assert action.downstream_task_ids == {"on_success_1_webhook", "on_failure_1_webhook", "on_failure_2_webhook"}
    success = dag.get_task("on_success_1_webhook")
    failure = dag.get_task("on_failure_2_webhook")
    assert success.trigger_rule == TriggerRule.ALL_SUCCESS and success.status == "success"
    assert failure.trigger_rule == TriggerRule.ALL_FAILED and failure.status == "failure"
    # Teardowns are left out of the run's final state, so the run's outcome is the action's.
    assert success.is_teardown and failure.is_teardown
    assert not success.on_failure_fail_dagrun
    assert success.retries == 2


def test_disabled_job_is_paused_at_creation_and_schedule_and_tags_are_kept():
    dag = build_dag(make_job(enabled=False, schedule="0 19 * * 1-5", group="ops", tags=["demo"]))
    assert dag.is_paused_upon_creation is True
    assert build_dag(make_job()).is_paused_upon_creation is False
    assert dag.catchup is False
    assert dag.timetable.expression == "0 19 * * 1-5"
    assert set(dag.tags) == {"http-trigger", "group:ops", "demo"}


def test_parameters_at_execution_leave_the_operator_to_read_the_run_conf():
    job = make_job(action={"type": "ec2_start_instances", "parameters_at_execution": True})
    assert build_dag(job).get_task("action").parameters is None


def test_a_job_with_fixed_parameters_declares_no_params():
    assert dict(build_dag(make_job()).params) == {}


def test_parameters_at_execution_are_declared_as_params_from_the_actions_schema():
    dag = build_dag(make_job(action={"type": "ec2_start_instances", "parameters_at_execution": True}))

    params = {name: dag.params.get_param(name) for name in dag.params}
    assert list(params) == ["instance_ids", "tag_key", "tag_value", "wait_until_final_state"]
    assert params["instance_ids"].value == []
    assert params["instance_ids"].schema == {
        "type": "array", "title": "Instance ids", "items": {"type": "string", "pattern": "^i-[0-9a-f]{8,17}$"},
    }
    assert params["instance_ids"].description.startswith("The instances to act on")
    assert params["tag_key"].value is None
    assert params["tag_key"].schema["type"] == ["string", "null"]
    assert (params["wait_until_final_state"].value, params["wait_until_final_state"].schema["type"]) == (True, "boolean")


def as_airflow_holds_it(dag):
    """The DAG as the API server and the scheduler read it: serialized, then deserialized."""
    return DagSerialization.from_dict(DagSerialization.to_dict(dag))


def test_a_required_parameter_is_a_param_without_default_that_airflow_asks_for():
    dag = build_dag(make_job(action={"type": "utility_delay", "parameters_at_execution": True}))
    minutes = dag.params.get_param("minutes")

    assert not minutes.has_value
    assert minutes.schema == {"type": "number", "title": "Minutes", "exclusiveMinimum": 0, "maximum": 1440}
    params = as_airflow_holds_it(dag).params
    with pytest.raises(ParamValidationError, match="minutes: No value passed"):
        params.validate()
    with pytest.raises(ParamValidationError, match="minutes"):
        params.deep_merge({"minutes": 0}).validate()
    assert params.deep_merge({"minutes": 0.5}).validate() == {"minutes": 0.5}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_actions_params_declare_each_field_with_a_default_its_schema_accepts(action):
    """A field the model defaults is a param with that default, which Airflow validates when a run is created."""
    model = ACTIONS[action].parameters_model
    dag = build_dag(make_job(action={"type": action, "parameters_at_execution": True}))
    assert set(dag.params) == set(model.model_fields)
    defaults = {
        name: to_jsonable_python(field.get_default(call_default_factory=True))
        for name, field in model.model_fields.items()
        if not field.is_required()
    }
    params = as_airflow_holds_it(dag).params
    assert {name: params.get_param(name).resolve(raises=True) for name in defaults} == defaults


def test_the_trigger_conf_of_an_ec2_job_passes_the_params_airflow_validates():
    dag = build_dag(make_job(action={"type": "ec2_start_instances", "parameters_at_execution": True}))
    model = ACTIONS["ec2_start_instances"].parameters_model
    conf = model.model_validate({"tag_key": "Env", "tag_value": "test"}).model_dump(mode="json")

    params = as_airflow_holds_it(dag).params
    assert params.deep_merge(conf).validate() == conf
    with pytest.raises(ParamValidationError, match="instance_ids"):
        params.deep_merge({"instance_ids": ["not-an-id"]}).validate()


def test_a_scheduled_job_taking_parameters_at_execution_still_builds(tmp_path):
    """Airflow refuses a schedule with a param lacking a valid default: a required field defaults to None."""
    job = make_job(schedule="0 9 * * 1-5", action={"type": "utility_delay", "parameters_at_execution": True})
    stored = write_job(tmp_path, job, create=True)

    built = build_specs([stored.path])

    assert built.broken == [] and list(built.dags) == ["http_trigger_job_3"]
    minutes = built.dags["http_trigger_job_3"].params.get_param("minutes")
    assert (minutes.value, minutes.schema["type"]) == (None, ["number", "null"])


GROUP_ROLE_RIGHTS = {
    "DAGs": {"can_read", "can_edit", "can_delete"},
    "DAG Runs": {"can_read", "can_create", "can_delete"},
}


def test_without_group_roles_a_dag_has_no_access_control_so_airflow_keeps_its_permissions():
    assert build_dag(make_job(group="payments")).access_control is None


def test_group_roles_give_the_groups_roles_the_dag_and_every_other_group_an_empty_mapping(monkeypatch):
    roles = {"payments": ["Payments", "On-call"], "ops": ["Ops"]}
    monkeypatch.setenv("AIRFLOW__HTTP_TRIGGER__GROUP_ROLES", json.dumps(roles))

    payments = build_dag(make_job(group="payments"))
    unlisted = build_dag(make_job(group="marketing"))

    assert payments.access_control == {"Payments": GROUP_ROLE_RIGHTS, "On-call": GROUP_ROLE_RIGHTS}
    # Empty, not None: Airflow then revokes the roles of a group the job has left.
    assert unlisted.access_control == {}
    # What the DAG processor hands to the FAB security manager is the serialized DAG's mapping.
    serialized = LazyDeserializedDAG(data=DagSerialization.to_dict(payments))
    assert serialized.access_control == payments.access_control


@pytest.mark.parametrize(
    "value",
    ['["Payments"]', '{"payments": "Payments"}', '{"payments": [""]}', "{payments: [Payments]}"],
)
def test_a_malformed_group_roles_names_the_option_in_every_jobs_build_error(jobs_folder, monkeypatch, value):
    monkeypatch.setenv("AIRFLOW__HTTP_TRIGGER__GROUP_ROLES", value)
    write_job(jobs_folder, make_job(1), create=True)

    [broken] = build_specs(spec_candidates(jobs_folder)).broken

    [(field, reason)] = broken.error.problems
    assert field == "(dag)"
    assert reason.startswith(
        "the job's DAG cannot be built: SettingError: [http_trigger] group_roles must be a JSON object of "
        f'group names to lists of role names, e.g. {{"payments": ["Payments"]}}, not {value!r}'
    )


def test_factory_file_imports_with_no_errors_and_one_dag_per_job(jobs_folder):
    for job_id in (1, 2):
        write_job(jobs_folder, make_job(job_id), create=True)
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {"http_trigger_job_1", "http_trigger_job_2"}


def spec_yaml(job_id: int, **overrides) -> bytes:
    return yaml.safe_dump({**make_job(job_id).model_dump(mode="json"), **overrides}).encode()


BILLION_LAUGHS = b"lol: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + b"".join(
    f"l{level}: &{chr(98 + level)} [{', '.join([f'*{chr(97 + level)}'] * 9)}]\n".encode() for level in range(9)
)
NOT_A_SPEC_NAME = "not named as a job spec: spec files are named job_<id>.yaml, e.g. job_7.yaml"

# Each kind of bad file: its name, its content (None: a directory), the job its name gives, and
# the one problem reported as (field, reason).
BAD_FILES = {
    "malformed YAML": (
        "job_3.yaml", b"name: [unclosed\n", 3,
        ("(file)", "not valid YAML: while parsing a flow sequence (line 1, column 7): "
                   "did not find expected ',' or ']' (line 2, column 1)"),
    ),
    "invalid UTF-8": ("job_3.yaml", b"name: caf\xe9\n", 3, ("(file)", "not UTF-8 text (byte 9 is 0xe9)")),
    "failing validation": (
        "job_3.yaml", spec_yaml(3, name=""), 3, ("name", "String should have at least 1 character (got '')"),
    ),
    "group too long for Airflow's tag": (
        "job_3.yaml", spec_yaml(3, group="g" * 95), 3,
        ("group", "at most 94 characters, not 95: the job's DAG is tagged 'group:<group>', "
                  "and Airflow allows tags of at most 100 characters"),
    ),
    "unknown action": (
        "job_3.yaml", spec_yaml(3, action={"type": "ec2_explode"}), 3,
        ("action", ACTIONS.unknown_message("ec2_explode")),
    ),
    "not a mapping": ("job_3.yaml", b"- 1\n- 2\n", 3, ("(file)", "a job spec must be a mapping, got list")),
    "not a spec": ("notes.yaml", b"remember: the milk\n", None, ("(file)", NOT_A_SPEC_NAME)),
    "a second name for a job": ("job_01.yaml", spec_yaml(1), None, ("(file)", NOT_A_SPEC_NAME)),
    "duplicate id": ("job_3.yaml", spec_yaml(1), 3, ("id", "1 does not match the file name job_3.yaml")),
    "huge file": (
        "job_3.yaml", b"#" * (MAX_SPEC_BYTES + 1), 3, ("(file)", "larger than 128 KiB, the most a job spec may be"),
    ),
    "billion laughs": (
        "job_3.yaml", BILLION_LAUGHS, 3,
        ("(file)", "anchors and aliases (&name, *name) are not allowed in job specs (line 1, column 6)"),
    ),
    "deep nesting": (
        "job_3.yaml", b"name: " + b"[" * 40 + b"]" * 40 + b"\n", 3,
        ("(file)", "nested deeper than 32 levels (line 1, column 38)"),
    ),
    "a number too long to read": (
        "job_3.yaml", b"id: " + b"9" * 5000 + b"\n", 3,
        ("(file)", "a value cannot be read: Exceeds the limit (4300 digits) for integer string conversion: "
                   "value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit"),
    ),
    "a directory": ("job_3.yaml", None, 3, ("(file)", "not a regular file")),
}


def write_bad_file(folder: Path, name: str, content: bytes | None) -> None:
    if content is None:
        (folder / name).mkdir()
    else:
        (folder / name).write_bytes(content)


@pytest.mark.parametrize("kind", BAD_FILES)
def test_a_bad_file_stops_only_its_own_job_and_names_file_field_and_reason(jobs_folder, kind):
    name, content, job_id, problem = BAD_FILES[kind]
    for good in (1, 2):
        write_job(jobs_folder, make_job(good), create=True)
    write_bad_file(jobs_folder, name, content)

    built = build_specs(spec_candidates(jobs_folder))

    assert set(built.dags) == {"http_trigger_job_1", "http_trigger_job_2"}
    [broken] = built.broken
    assert (broken.path.name, broken.job_id, broken.error.problems) == (name, job_id, (problem,))
    assert str(broken.error) == f"{name}: {problem[0]}: {problem[1]}"
    assert set(build_dags(jobs_folder)) == {"http_trigger_job_1", "http_trigger_job_2"}


def test_the_factory_file_has_no_import_error_whatever_the_jobs_folder_holds(jobs_folder, caplog):
    for good in (1, 2):
        write_job(jobs_folder, make_job(good), create=True)
    for index, (name, content, _, _) in enumerate(BAD_FILES.values(), start=10):
        write_bad_file(jobs_folder, name.replace("job_3", f"job_{index}"), content)

    bag = DagBag(dag_folder=str(REPO / "dags"))

    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {"http_trigger_job_1", "http_trigger_job_2"}
    warnings = [record.getMessage() for record in caplog.records if record.name == "http_trigger.dag_builder"]
    assert len(warnings) == len(BAD_FILES)
    assert "Job spec not loaded: job_10.yaml: (file): not valid YAML: while parsing a flow sequence" in warnings[0]


def test_an_exception_while_building_one_dag_leaves_out_that_job_only(jobs_folder, monkeypatch):
    for good in (1, 2, 3):
        write_job(jobs_folder, make_job(good), create=True)
    real = dag_builder._post_processing_task

    def failing_for_job_3(job, *args):
        if job.id == 3:
            raise RuntimeError("the notifier exploded")
        return real(job, *args)

    monkeypatch.setattr(dag_builder, "_post_processing_task", failing_for_job_3)

    [broken] = build_specs(spec_candidates(jobs_folder)).broken
    bag = DagBag(dag_folder=str(REPO / "dags"))

    assert (broken.job_id, broken.error.problems) == (
        3, (("(dag)", "the job's DAG cannot be built: RuntimeError: the notifier exploded"),)
    )
    # The half-built DAG never reaches Airflow: it is not auto-registered by its context manager.
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {"http_trigger_job_1", "http_trigger_job_2"}


def test_a_dag_that_airflows_own_validation_refuses_is_left_out_not_an_import_error(jobs_folder, monkeypatch):
    for good in (1, 2, 3):
        write_job(jobs_folder, make_job(good), create=True)
    real = dag_builder.build_dag

    def with_a_bad_owner_link_for_job_3(job):
        dag = real(job)
        if job.id == 3:
            dag.owner_links["ops"] = "not a link"
        return dag

    monkeypatch.setattr(dag_builder, "build_dag", with_a_bad_owner_link_for_job_3)

    [broken] = build_specs(spec_candidates(jobs_folder)).broken
    bag = DagBag(dag_folder=str(REPO / "dags"))

    assert broken.error.problems == (
        ("(dag)", "the job's DAG cannot be built: ValueError: Wrong link format was used for the owner. "
                  "Use a valid link Bad formatted links are: {'ops': 'not a link'}"),
    )
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {"http_trigger_job_1", "http_trigger_job_2"}


def test_two_files_for_one_job_keep_the_first(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        write_job(tmp_path / folder, make_job(1), create=True)

    built = build_specs([tmp_path / "a" / "job_1.yaml", tmp_path / "b" / "job_1.yaml"])

    assert list(built.dags) == ["http_trigger_job_1"]
    [broken] = built.broken
    assert broken.path == tmp_path / "b" / "job_1.yaml"
    assert broken.error.problems == (("id", f"job 1 is already defined by {tmp_path / 'a' / 'job_1.yaml'}"),)


def test_an_unreadable_jobs_folder_builds_nothing_and_does_not_raise(jobs_folder, monkeypatch, caplog):
    def unreadable(folder):
        raise PermissionError(13, "Permission denied", str(folder))

    monkeypatch.setattr(dag_builder, "spec_candidates", unreadable)

    assert build_dags(jobs_folder) == {}
    assert "The jobs folder cannot be read, so no job's DAG is built" in caplog.text


def test_builds_in_threads_at_once_each_keep_their_own_tasks(tmp_path):
    """The API server's threads may build at once; Airflow's current DAG is one per process."""
    import threading

    stored = [write_job(tmp_path, make_job(job_id), create=True) for job_id in range(1, 41)]
    problems: list[object] = []

    def build(jobs):
        problems.extend(p for p in map(dag_builder.build_problem, jobs) if p is not None)

    threads = [threading.Thread(target=build, args=(stored[start::4],)) for start in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert problems == []


def rendered_docs(dag) -> str:
    """Render a DAG's docs as Airflow's UI does: CommonMark, raw HTML dropped."""
    return MarkdownIt("commonmark", {"html": False}).render(dag.doc_md)


def test_the_dags_docs_show_the_description_as_written_then_link_to_the_jobs_page():
    description = "<b>Start</b> the *test* [env](https://x.example) & more_\nSecond line # here"
    docs = rendered_docs(build_dag(make_job(description=description)))

    assert "<p>&lt;b&gt;Start&lt;/b&gt; the *test* [env](https://x.example) &amp; more_<br />\nSecond line # here</p>" in docs
    assert '<a href="/plugin/http-trigger/http-trigger/ui/jobs/3">Open the job in HTTP Trigger</a>' in docs


def test_a_job_without_description_still_links_its_dag_to_its_page():
    dag = build_dag(make_job(job_id=12))

    assert dag.doc_md == "[Open the job in HTTP Trigger](/plugin/http-trigger/http-trigger/ui/jobs/12): its trigger, settings and executions.\n"


def test_behind_a_path_prefix_the_docs_link_carries_it_twice_as_airflows_frame_does(monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://ops.example/airflow/")

    docs = rendered_docs(build_dag(make_job(description="Docs.md")))

    assert '<a href="/airflow/plugin/http-trigger/airflow/http-trigger/ui/jobs/3">' in docs
    assert "<p>Docs.md</p>" in docs
