"""Read a job's execution history: Airflow's DAG runs and task instances, joined with the trigger-call log.

Airflow keeps the runs; the plugin adds what only it knows: which runs an HTTP call started and
from which address. Everything here reads; it never changes a run and knows nothing of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from airflow.models.dag import DagModel
from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from sqlalchemy import func, select

from http_trigger.db.models import TriggerCall
from http_trigger.job_model import DAG_ID_PREFIX, dag_id_for
from http_trigger.run_sources import TriggerSource, source_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

@dataclass(frozen=True)
class RunSummary:
    """One execution of a job: Airflow's run with how it was started and, for HTTP, by whom."""

    dag_id: str
    run_id: str
    state: str | None
    run_type: str
    trigger_source: TriggerSource
    triggered_by: str | None
    triggering_user: str | None
    caller_address: str | None
    queued_at: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    run_after: datetime | None

    @property
    def duration_seconds(self) -> float | None:
        if self.start_date is None or self.end_date is None:
            return None
        return max(0.0, (self.end_date - self.start_date).total_seconds())


@dataclass(frozen=True)
class TaskSummary:
    """One task of a run: the action or a post-processing step."""

    task_id: str
    state: str | None
    try_number: int
    map_index: int
    operator: str | None
    start_date: datetime | None
    end_date: datetime | None
    duration_seconds: float | None


@dataclass(frozen=True)
class DagState:
    """What Airflow knows about a job's DAG: paused or not, and when the schedule runs it next."""

    is_paused: bool
    next_run_after: datetime | None


def _summary(run: DagRun, caller_address: str | None) -> RunSummary:
    triggered_by = getattr(run.triggered_by, "value", run.triggered_by)
    return RunSummary(
        dag_id=run.dag_id,
        run_id=run.run_id,
        state=str(getattr(run.state, "value", run.state)) if run.state else None,
        run_type=str(getattr(run.run_type, "value", run.run_type)),
        trigger_source=source_of(run_id=run.run_id, run_type=run.run_type, triggered_by=run.triggered_by),
        triggered_by=str(triggered_by) if triggered_by else None,
        triggering_user=run.triggering_user_name,
        caller_address=caller_address,
        queued_at=run.queued_at,
        start_date=run.start_date,
        end_date=run.end_date,
        run_after=run.run_after,
    )


def _caller_addresses(session: Session, job_id: int, run_ids: list[str]) -> dict[str, str | None]:
    if not run_ids:
        return {}
    rows = session.execute(
        select(TriggerCall.dag_run_id, TriggerCall.source_address).where(
            TriggerCall.job_id == job_id, TriggerCall.dag_run_id.in_(run_ids)
        )
    )
    return {run_id: address for run_id, address in rows}


def list_runs(
    *, session: Session, job_id: int, limit: int = 50, offset: int = 0
) -> tuple[list[RunSummary], int]:
    """Return one page of a job's runs, newest first, and how many runs it has in all.

    Works for deleted jobs too: their runs stay in Airflow, under the DAG id the job id names.
    """
    dag_id = dag_id_for(job_id)
    total = session.scalar(select(func.count()).select_from(DagRun).where(DagRun.dag_id == dag_id)) or 0
    runs = list(
        session.scalars(
            select(DagRun)
            .where(DagRun.dag_id == dag_id)
            .order_by(DagRun.run_after.desc(), DagRun.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
    callers = _caller_addresses(session, job_id, [run.run_id for run in runs])
    return [_summary(run, callers.get(run.run_id)) for run in runs], total


def get_run(*, session: Session, job_id: int, run_id: str) -> RunSummary | None:
    """Return one run of a job, or None when the job has no run with this id."""
    run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id_for(job_id), DagRun.run_id == run_id))
    if run is None:
        return None
    return _summary(run, _caller_addresses(session, job_id, [run_id]).get(run_id))


def list_tasks(*, session: Session, job_id: int, run_id: str) -> list[TaskSummary]:
    """Return a run's tasks in start order: the action first, then the post-processing steps."""
    instances = session.scalars(
        select(TaskInstance).where(TaskInstance.dag_id == dag_id_for(job_id), TaskInstance.run_id == run_id)
    )
    tasks = [
        TaskSummary(
            task_id=ti.task_id,
            state=str(getattr(ti.state, "value", ti.state)) if ti.state else None,
            try_number=ti.try_number or 0,
            map_index=ti.map_index,
            operator=ti.custom_operator_name or ti.operator,
            start_date=ti.start_date,
            end_date=ti.end_date,
            duration_seconds=ti.duration,
        )
        for ti in instances
    ]
    # The action comes first; then the steps in the order they ran (never-run ones last, by name).
    return sorted(
        tasks,
        key=lambda task: (
            task.task_id != "action", task.start_date is None, task.start_date or 0, task.task_id
        ),
    )


def latest_runs(*, session: Session) -> dict[str, RunSummary]:
    """Return the newest run of every job DAG, by DAG id, in two queries whatever the number of jobs."""
    newest_ids = (
        select(func.max(DagRun.id))
        .where(DagRun.dag_id.startswith(DAG_ID_PREFIX, autoescape=True))
        .group_by(DagRun.dag_id)
    )
    runs = session.scalars(select(DagRun).where(DagRun.id.in_(newest_ids)))
    # The list shows no caller address, so the call log is not read here.
    return {run.dag_id: _summary(run, None) for run in runs}


def dag_states(*, session: Session) -> dict[str, DagState]:
    """Return the paused flag and next scheduled run of every job DAG Airflow has loaded, by DAG id."""
    rows = session.execute(
        select(DagModel.dag_id, DagModel.is_paused, DagModel.next_dagrun_create_after).where(
            DagModel.dag_id.startswith(DAG_ID_PREFIX, autoescape=True), ~DagModel.is_stale
        )
    )
    return {
        dag_id: DagState(is_paused=bool(is_paused), next_run_after=next_run)
        for dag_id, is_paused, next_run in rows
    }
