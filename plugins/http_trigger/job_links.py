"""Link every task of a job's DAG back to the job's page: Airflow's "HTTP Trigger job" extra link.

A user reading a task in Airflow's grid needs the job behind it (its trigger, its settings, its
other runs) one click away. The link is registered by the plugin for the operators of every
action and post-processing kind, so Airflow's API server builds it from the task's DAG id when a
task is shown, for tasks that have not run too, and no task pushes anything for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from airflow.sdk import BaseOperatorLink

from http_trigger import urls
from http_trigger.actions import ACTIONS
from http_trigger.jobs.spec_names import job_id_from_dag_id
from http_trigger.post_processing import POST_PROCESSING

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

JOB_LINK_NAME = "HTTP Trigger job"
"""The extra link's button label in Airflow's task view."""


def job_operator_classes() -> list[type[BaseOperator]]:
    """Return the operator class of every action and post-processing kind, each once."""
    classes = [kind.operator_class for kind in ACTIONS.values()]
    classes += [kind.operator_class for kind in POST_PROCESSING.values()]
    return list(dict.fromkeys(classes))


class JobPageLink(BaseOperatorLink):
    """Airflow's extra link from a job DAG's task to the job's page in the plugin."""

    name = JOB_LINK_NAME
    operators: ClassVar[list[type[BaseOperator]]] = job_operator_classes()

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """Return the job page's path, or ``""`` (Airflow shows no link) for a DAG that is no job's."""
        job_id = job_id_from_dag_id(ti_key.dag_id)
        return urls.job_page_path(job_id) if job_id is not None else ""
