"""``/http-trigger/api/jobs/{job_id}/runs``: a job's execution log, one run with its tasks, "Run now".

Runs are Airflow's DAG runs; these routes add what the plugin knows (how a run was started, the
HTTP caller's address) and follow Airflow's DAG-run permissions: reading runs needs read access to
the job's DAG runs, starting one needs the right to create them. Task logs stay with Airflow's own
REST route (``log_url``), under its own permission for task logs.
"""

from __future__ import annotations

from urllib.parse import quote

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, HTTPException, Query, status

from http_trigger import settings, urls
from http_trigger.api.audit_actor import AuditActorDep
from http_trigger.api.csrf import require_csrf_header
from http_trigger.api.datamodels import (
    JobRunCollectionResponse,
    JobRunDetailResponse,
    JobRunResponse,
    RunFailureResponse,
    RunParametersBody,
    StepResultResponse,
    TaskInstanceResponse,
)
from http_trigger.api.deps import requires_access_job
from http_trigger.api.errors import BODY_ERRORS, error_responses
from http_trigger.api.parameters import DagRunIdPath, JobIdPath, OffsetQuery
from http_trigger.run_sources import TriggerSource
from http_trigger.runs import history
from http_trigger.runs.failure import run_failure
from http_trigger.runs.history import RunSummary, TaskSummary
from http_trigger.runs.outcome import step_results
from http_trigger.runs.start import TRIGGERING_USER, start_run

runs_router = APIRouter(
    prefix="/api/jobs/{job_id:int}/runs", tags=["Runs"], dependencies=[Depends(require_csrf_header)]
)
_READ_ERRORS = (401, 403, (404, "No such job or run"), 422, 503)


_MAY_READ_RUNS = Depends(requires_access_job("GET", DagAccessEntity.RUN))


def run_response(run: RunSummary) -> JobRunResponse:
    """Turn a run of the history into its API answer."""
    return JobRunResponse(
        dag_id=run.dag_id,
        dag_run_id=run.run_id,
        state=run.state,
        outcome=run.outcome,
        run_type=run.run_type,
        trigger_source=run.trigger_source,
        triggered_by=run.triggered_by,
        triggering_user=run.triggering_user,
        caller_address=run.caller_address,
        queued_at=run.queued_at,
        start_date=run.start_date,
        end_date=run.end_date,
        duration_seconds=run.duration_seconds,
        run_after=run.run_after,
        grid_url=urls.run_path(run.dag_id, run.run_id),
    )


def _task_response(dag_id: str, run_id: str, task: TaskSummary) -> TaskInstanceResponse:
    log_url = None
    if task.try_number > 0:
        log_url = (
            f"{settings.airflow_base_path()}/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/"
            f"{quote(run_id, safe='')}/taskInstances/{quote(task.task_id, safe='')}/logs/{task.try_number}"
            + (f"?map_index={task.map_index}" if task.map_index >= 0 else "")
        )
    return TaskInstanceResponse(
        task_id=task.task_id,
        state=task.state,
        try_number=task.try_number,
        map_index=task.map_index,
        operator=task.operator,
        start_date=task.start_date,
        end_date=task.end_date,
        duration_seconds=task.duration_seconds,
        log_url=log_url,
        airflow_url=urls.task_instance_path(dag_id, run_id, task.task_id, task.map_index),
    )


@runs_router.get("", responses=error_responses(*_READ_ERRORS), dependencies=[_MAY_READ_RUNS])
def list_job_runs(
    job_id: JobIdPath,
    session: SessionDep,
    limit: int = Query(50, ge=1, le=500),
    offset: OffsetQuery = 0,
) -> JobRunCollectionResponse:
    """List a job's runs, newest first, with how each was started; deleted jobs keep their history."""
    runs, total = history.list_runs(session=session, job_id=job_id, limit=limit, offset=offset)
    return JobRunCollectionResponse(runs=[run_response(run) for run in runs], total_entries=total)


@runs_router.get("/{dag_run_id}", responses=error_responses(*_READ_ERRORS), dependencies=[_MAY_READ_RUNS])
def get_job_run(job_id: JobIdPath, dag_run_id: DagRunIdPath, session: SessionDep) -> JobRunDetailResponse:
    """Show one run of a job: what went wrong first, then its parameters, tasks, logs and steps' results."""
    found = history.get_run_with_tasks(session=session, job_id=job_id, run_id=dag_run_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Job {job_id} has no run {dag_run_id}")
    run, tasks = found
    errors = history.task_errors(session=session, job_id=job_id, run_id=dag_run_id)
    task_states = {task.task_id: task.state for task in tasks}
    steps = step_results(task_states, errors)
    failure = run_failure(run.outcome, task_states, errors, steps)
    return JobRunDetailResponse(
        **run_response(run).model_dump(),
        failure=RunFailureResponse(
            task_id=failure.task_id, severity=failure.severity, message=failure.message,
            error_type=failure.error_type,
        ) if failure else None,
        parameters=run.parameters,
        dag_url=urls.dag_path(run.dag_id),
        tasks=[_task_response(run.dag_id, run.run_id, task) for task in tasks],
        post_processing=[
            StepResultResponse(
                task_id=step.task_id, when=step.when, index=step.index, type=step.kind, state=step.state,
                error=step.error,
            )
            for step in steps
        ],
    )


@runs_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        status.HTTP_201_CREATED: {
            "description": "The queued run",
            "links": {
                "get_job_run": {
                    "operationId": "get_job_run",
                    "parameters": {
                        "job_id": "$request.path.job_id",
                        "dag_run_id": "$response.body#/dag_run_id",
                    },
                }
            },
        },
        **error_responses(
            *BODY_ERRORS,
            401,
            403,
            (404, "No such job"),
            (
                400,
                "The body is not JSON text, is nested too deep or holds too long a number, or it holds "
                "parameters for a job whose parameters are fixed",
            ),
            (
                409,
                "The job is disabled, its spec is invalid until someone fixes the file, or it takes its "
                "parameters at execution and the body holds none",
            ),
            (
                422,
                "The job id is out of bounds, the body is not a JSON object, or a parameter fails the "
                "action's model (detail places each problem at its field) or the DAG's params",
            ),
            (503, "Airflow has not loaded the job yet, or the database is busy"),
        ),
    },
    dependencies=[Depends(requires_access_job("POST", DagAccessEntity.RUN))],
)
def run_job_now(
    job_id: JobIdPath, actor: AuditActorDep, session: SessionDep, parameters: RunParametersBody = None
) -> JobRunResponse:
    """Start one run of the job now ("Run now"), with its parameters when it takes them at execution.

    The body is what the job's trigger URL takes, checked the same way: the action's parameters
    for a job taking them at execution, nothing (or ``{}``) for one whose parameters are fixed.
    """
    started = start_run(
        session=session,
        job_id=job_id,
        source=TriggerSource.MANUAL,
        parameters=parameters,
        actor=actor,
        # Airflow's trigger button records who pressed it; so does this one.
        triggering_user=actor.user_name or TRIGGERING_USER,
    )
    session.flush()
    summary = history.get_run(session=session, job_id=job_id, run_id=started.run_id)
    assert summary is not None  # just created in this session
    return run_response(summary)
