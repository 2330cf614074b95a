"""DAG shape per job, and the factory file imported by Airflow's own DagBag."""

from __future__ import annotations

from pathlib import Path

import yaml
from airflow.dag_processing.dagbag import DagBag
from airflow.task.trigger_rule import TriggerRule

from http_trigger.dag_builder import build_dag
from http_trigger.job_files import write_job
from http_trigger.job_model import Job

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


def test_factory_file_imports_with_no_errors_and_one_dag_per_job(jobs_folder):
    for job_id in (1, 2):
        write_job(jobs_folder, make_job(job_id), create=True)
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {"http_trigger_job_1", "http_trigger_job_2"}


def test_broken_spec_is_an_import_error_naming_file_and_field_and_keeps_other_jobs(jobs_folder):
    write_job(jobs_folder, make_job(1), create=True)
    broken = make_job(2).model_dump(mode="json")
    broken["action"]["parameters"] = {"tag_key": "Env"}
    (jobs_folder / "job_2.yaml").write_text(yaml.safe_dump(broken))
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert set(bag.dag_ids) == {"http_trigger_job_1"}
    [(path, message)] = bag.import_errors.items()
    assert path.endswith("http_trigger_jobs.py")
    assert "job_2.yaml: action: parameters: Value error" not in message
    assert "1 job spec(s) could not be loaded" in message
    assert "job_2.yaml: action: parameters: " in message and "tag_value" in message
