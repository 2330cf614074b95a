"""Queue one run of a job's DAG, the way Airflow's own REST route creates manual runs.

Unlike that route, a paused DAG is refused instead of getting a queued run that never starts, a
missing DAG is told apart (not loaded yet, or left out by the factory for good), and the caller
commits: the trigger endpoint answers 200 only once the run is in the database.
"""

from __future__ import annotations

from typing import Any

from airflow.models.dag import DagModel
from airflow.models.dagbag import DBDagBag
from airflow.models.dagrun import DagRun
from airflow.sdk import timezone
from airflow.utils.state import DagRunState
from airflow.utils.types import DagRunTriggeredByType, DagRunType
from sqlalchemy import select
from sqlalchemy.orm import Session

from pydantic import ValidationError

from http_trigger.actions import get_action
from http_trigger.dag_builder import missing_dag_error
from http_trigger.errors import (
    InvalidParametersError,
    JobNotReadyError,
    JobPausedError,
    ParametersNotAcceptedError,
)
from http_trigger.job_files import StoredJob
from http_trigger.job_model import Job
from http_trigger.run_ids import http_run_id
from http_trigger.validation import describe_validation_error

TRIGGERING_USER = "http-trigger"


def execution_conf(job: Job, parameters: dict[str, Any]) -> dict[str, Any]:
    """Validate parameters sent at execution and return the run's ``conf`` (empty for fixed jobs)."""
    if not job.action.parameters_at_execution:
        if parameters:
            raise ParametersNotAcceptedError(
                f"Job {job.id} takes no parameters at execution (they were fixed when it was created); "
                "send an empty body"
            )
        return {}
    try:
        validated = get_action(job.action.type).parameters_model.model_validate(parameters)
    except ValidationError as error:
        raise InvalidParametersError(describe_validation_error(error)) from None
    return validated.model_dump(mode="json")


def queue_job_run(
    *,
    session: Session,
    dag_bag: DBDagBag,
    stored: StoredJob,
    conf: dict[str, Any] | None = None,
    run_id: str | None = None,
    triggered_by: DagRunTriggeredByType = DagRunTriggeredByType.REST_API,
) -> DagRun:
    """Create a queued run of the job read from ``stored``; the caller commits the session.

    Without a DAG in Airflow, raise :class:`JobBrokenError` when the factory cannot build the
    job's DAG (waiting will not help) and :class:`JobNotReadyError` otherwise.
    """
    job_id, dag_id = stored.job.id, stored.job.dag_id
    dag_model = session.scalar(select(DagModel).where(DagModel.dag_id == dag_id, ~DagModel.is_stale))
    if dag_model is None:
        raise missing_dag_error(stored)
    if dag_model.is_paused:
        raise JobPausedError(job_id)
    dag = dag_bag.get_latest_version_of_dag(dag_id, session=session)
    if dag is None:
        raise JobNotReadyError(job_id)
    return dag.create_dagrun(
        run_id=run_id or http_run_id(),
        logical_date=None,
        data_interval=None,
        run_after=timezone.utcnow(),
        conf=conf or {},
        run_type=DagRunType.MANUAL,
        triggered_by=triggered_by,
        triggering_user_name=TRIGGERING_USER,
        state=DagRunState.QUEUED,
        session=session,
    )
