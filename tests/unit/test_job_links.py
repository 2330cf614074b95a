"""The "HTTP Trigger job" extra link: on every task of a job's DAG, as Airflow's API server builds it."""

from __future__ import annotations

from airflow import plugins_manager
from airflow.models.taskinstance import TaskInstance
from airflow.serialization.serialized_objects import DagSerialization
from http_trigger.actions import ACTIONS
from http_trigger.dag_builder import build_dag
from http_trigger.job_links import JOB_LINK_NAME, JobPageLink, job_operator_classes
from http_trigger.post_processing import POST_PROCESSING

from .test_dag_builder import make_job


class TaskKey:
    """The part of Airflow's task instance key a link reads."""

    def __init__(self, dag_id: str) -> None:
        self.dag_id = dag_id
        self.task_id = "action"
        self.run_id = "manual__1"
        self.map_index = -1
        self.try_number = 1


def test_the_link_goes_to_the_jobs_page_in_airflows_frame():
    assert JobPageLink().get_link(None, ti_key=TaskKey("http_trigger_job_42")) == (
        "/plugin/http-trigger/http-trigger/ui/jobs/42"
    )


def test_a_dag_that_is_no_jobs_gets_no_link():
    assert JobPageLink().get_link(None, ti_key=TaskKey("example_bash_operator")) == ""


def test_the_link_is_registered_for_the_operator_of_every_action_and_post_processing_kind():
    classes = set(job_operator_classes())

    assert {kind.operator_class for kind in ACTIONS.values()} <= classes
    assert {kind.operator_class for kind in POST_PROCESSING.values()} <= classes
    assert [type(link) for link in plugins_manager.get_operator_extra_links()].count(JobPageLink) == 1


def test_every_task_of_a_job_dag_as_airflow_holds_it_shows_the_link():
    dag = build_dag(make_job(job_id=7))
    held = DagSerialization.from_dict(DagSerialization.to_dict(dag))

    for task in held.tasks:
        assert JOB_LINK_NAME in task.extra_links, task.task_id
        ti = TaskInstance(task=task, run_id="manual__1", dag_version_id=None)
        assert task.get_extra_links(ti, JOB_LINK_NAME) == "/plugin/http-trigger/http-trigger/ui/jobs/7"
    assert {task.task_id for task in held.tasks} == {
        "action", "on_success_1_webhook", "on_failure_1_webhook", "on_failure_2_webhook"
    }
