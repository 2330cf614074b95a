"""Build one Airflow DAG per job: the ``action`` task, then post-processing on success or failure.

Post-processing tasks are marked as teardown tasks. Airflow leaves teardowns out when it decides
a run's final state, so the run succeeds or fails exactly as the action did, while a failing
notification is still a visible, retried, failed task. Each step keeps its own trigger rule:
the success list needs the action to succeed, the failure list needs it to fail.

This module reads files only: Airflow forbids metadata-DB access while DAG files are parsed.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from airflow.sdk import DAG
from airflow.sdk.bases.operator import BaseOperator
from airflow.task.trigger_rule import TriggerRule

from http_trigger import settings
from http_trigger.actions import get_action
from http_trigger.errors import JobSpecError
from http_trigger.job_files import load_jobs
from http_trigger.job_model import Job, PostProcessingSpec, PostProcessingStatus
from http_trigger.post_processing import get_post_processing

ACTION_TASK_ID = "action"
# A fixed date in the past: jobs start on demand, and cron schedules never back-fill (catchup=False).
_START_DATE = datetime(2024, 1, 1, tzinfo=timezone.utc)
_POST_PROCESSING_RULES: dict[PostProcessingStatus, TriggerRule] = {
    "success": TriggerRule.ALL_SUCCESS,
    "failure": TriggerRule.ALL_FAILED,
}


def post_processing_task_id(status: PostProcessingStatus, index: int, spec: PostProcessingSpec) -> str:
    """Name a post-processing task so the grid reads in order: ``on_success_1_webhook``."""
    return f"on_{status}_{index}_{spec.type}"


def _post_processing_task(
    job: Job, status: PostProcessingStatus, index: int, spec: PostProcessingSpec
) -> BaseOperator:
    task = get_post_processing(spec.type).operator_class(
        task_id=post_processing_task_id(status, index, spec),
        parameters=spec.parameters,
        job_id=job.id,
        job_name=job.name,
        status=status,
        retries=spec.retries,
        retry_delay=timedelta(seconds=10),
    )
    task.is_teardown = True
    task.trigger_rule = _POST_PROCESSING_RULES[status]
    return task


def build_dag(job: Job) -> DAG:
    """Return the DAG that runs ``job``."""
    action_parameters: dict[str, Any] | None = (
        None if job.action.parameters_at_execution else job.action.parameters
    )
    with DAG(
        dag_id=job.dag_id,
        dag_display_name=job.name,
        description=job.description or None,
        schedule=job.schedule,
        start_date=_START_DATE,
        catchup=False,
        is_paused_upon_creation=not job.enabled,
        tags=job.dag_tags,
        # Airflow reads a doc_md ending in ".md" as the path of a file to show; a description is text.
        doc_md=f"{job.description}\n" if job.description else None,
    ) as dag:
        action = get_action(job.action.type).operator_class(
            task_id=ACTION_TASK_ID,
            aws_conn_id=job.action.aws_conn_id,
            region_name=job.action.region,
            parameters=action_parameters,
            execution_timeout=timedelta(minutes=settings.action_timeout_minutes()),
        )
        for status, specs in (
            ("success", job.post_processing.on_success),
            ("failure", job.post_processing.on_failure),
        ):
            for index, spec in enumerate(specs, start=1):
                action >> _post_processing_task(job, status, index, spec)
    return dag


class InvalidJobSpecs(DAG):
    """Carry broken job specs to Airflow's import errors without hiding the valid jobs.

    Airflow records an import error per DAG *file*; raising while the factory file is imported
    would drop every job's DAG. Airflow validates each DAG it finds before bagging it and records
    a failure as an import error of the file, keeping the other DAGs, so this DAG (never bagged)
    fails validation with a message naming each broken spec file, field and reason.
    """

    def __init__(self, errors: list[JobSpecError]) -> None:
        super().__init__(dag_id="http_trigger_invalid_job_specs", schedule=None)
        self.spec_errors = errors

    def validate(self) -> None:
        """Fail with every broken spec, one per line."""
        details = "\n".join(str(error) for error in self.spec_errors)
        raise JobSpecError(f"{len(self.spec_errors)} job spec(s) could not be loaded:\n{details}")


def build_dags(folder: Path | None = None) -> dict[str, DAG]:
    """Build the DAGs of every valid spec in the jobs folder, plus the carrier of broken ones."""
    stored_jobs, errors = load_jobs(folder or settings.jobs_folder())
    dags: dict[str, DAG] = {stored.job.dag_id: build_dag(stored.job) for stored in stored_jobs}
    if errors:
        dags["http_trigger_invalid_job_specs"] = InvalidJobSpecs(errors)
    return dags
