"""A run's outcome and its steps' results, read from real runs and task instances in the metadata DB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from airflow.utils.session import create_session
from fastapi.testclient import TestClient
from http_trigger.api.app import create_app
from http_trigger.runs import history
from http_trigger.runs.outcome import RunOutcome, StepResult, step_results

from ..api_support import body, create, post
from ..runs_support import settle

WEBHOOK = {"type": "webhook", "parameters": {"url": "https://hooks.example/x"}}
REFUSED = "AirflowException: The webhook https://hooks.example answered 500 Internal Server Error to POST"


@pytest.fixture
def run(airflow_db, jobs_folder) -> Iterator[tuple[int, str, str]]:
    """Return the job id, DAG id and run id of a queued run with one step on each outcome."""
    details = create(body(post_processing={"on_success": [WEBHOOK], "on_failure": [WEBHOOK]}))
    with TestClient(create_app(), base_url="http://trigger.example") as client:
        run_id = post(client, details).json()["dag_run_id"]
    yield details.job.id, details.job.dag_id, run_id


def outcome(job_id: int, run_id: str) -> RunOutcome:
    with create_session() as session:
        summary = history.get_run(session=session, job_id=job_id, run_id=run_id)
        listed, _ = history.list_runs(session=session, job_id=job_id)
        latest = history.latest_runs(session=session, dag_ids=[summary.dag_id])
    assert listed[0].outcome == latest[summary.dag_id].outcome == summary.outcome
    return summary.outcome


def test_a_run_not_started_is_queued(run):
    job_id, _, run_id = run

    assert outcome(job_id, run_id) is RunOutcome.QUEUED


def test_a_run_whose_action_runs_is_running(run):
    job_id, dag_id, run_id = run
    settle(dag_id, run_id, "running", action="running")

    assert outcome(job_id, run_id) is RunOutcome.RUNNING


def test_a_run_whose_action_and_steps_succeeded_succeeded(run):
    job_id, dag_id, run_id = run
    settle(dag_id, run_id, "success", action="success", on_success_1_webhook="success", on_failure_1_webhook="skipped")

    assert outcome(job_id, run_id) is RunOutcome.SUCCEEDED


def test_a_run_whose_action_succeeded_but_a_step_failed_succeeded_with_warnings(run):
    job_id, dag_id, run_id = run
    settle(dag_id, run_id, "success", action="success", on_success_1_webhook="failed", on_failure_1_webhook="skipped")

    assert outcome(job_id, run_id) is RunOutcome.SUCCEEDED_WITH_WARNINGS


def test_a_run_whose_action_failed_failed_even_if_its_failure_step_failed(run):
    job_id, dag_id, run_id = run
    settle(
        dag_id, run_id, "failed",
        action="failed", on_success_1_webhook="upstream_failed", on_failure_1_webhook="failed",
    )

    assert outcome(job_id, run_id) is RunOutcome.FAILED


def test_step_results_carry_each_steps_state_and_error_in_order(run):
    job_id, dag_id, run_id = run
    settle(
        dag_id, run_id, "success", errors={"on_success_1_webhook": REFUSED},
        action="success", on_success_1_webhook="failed", on_failure_1_webhook="skipped",
    )

    with create_session() as session:
        tasks = history.list_tasks(session=session, job_id=job_id, run_id=run_id)
        errors = history.task_errors(session=session, job_id=job_id, run_id=run_id)

    assert errors == {"on_success_1_webhook": REFUSED}
    assert step_results({task.task_id: task.state for task in tasks}, errors) == [
        StepResult("on_success_1_webhook", "on_success", 1, "webhook", "failed", REFUSED),
        StepResult("on_failure_1_webhook", "on_failure", 1, "webhook", "skipped", None),
    ]
