"""Read a job's execution history: Airflow's DAG runs and task instances, joined with the trigger-call log.

Airflow keeps the runs; the plugin adds what only it knows: which runs an HTTP call started and
from which address, and how each run ended, notifications included (:mod:`http_trigger.runs.outcome`),
which Airflow's run state does not say. Everything here reads; it never changes a run and knows
nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow._shared.secrets_masker import redact
from airflow.models.dag import DagModel
from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from sqlalchemy import Select, func, select, tuple_

from http_trigger.db.models import TriggerCall
from http_trigger.jobs.spec_names import DAG_ID_PREFIX, dag_id_for
from http_trigger.run_contract import ACTION_TASK_ID, ERROR_XCOM_KEY
from http_trigger.run_sources import TriggerSource, source_of
from http_trigger.runs.outcome import RunOutcome, run_outcome

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import Session

# A run's task states by task id: what its outcome is computed from.
_TaskStates = dict[str, str | None]


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
    outcome: RunOutcome
    parameters: dict[str, Any] = field(default_factory=dict)
    """The run's conf: the action's parameters for a job taking them at execution, else empty."""

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


def _state(state: object) -> str | None:
    return str(getattr(state, "value", state)) if state else None


def _parameters(conf: object) -> dict[str, Any]:
    """Return a run's conf as its readers may see it.

    A job's conf holds only its action's parameters, and no action takes a secret; but a run
    started from Airflow's own API can carry any conf, so a value under a key Airflow deems
    sensitive (``password``, ``token``, ``secret`` …) is masked, as Airflow masks such values.
    """
    if not isinstance(conf, dict):
        return {}
    return redact(conf)


def _summary(run: DagRun, caller_address: str | None, task_states: _TaskStates) -> RunSummary:
    state = _state(run.state)
    triggered_by = getattr(run.triggered_by, "value", run.triggered_by)
    return RunSummary(
        dag_id=run.dag_id,
        run_id=run.run_id,
        state=state,
        run_type=str(getattr(run.run_type, "value", run.run_type)),
        trigger_source=source_of(run_id=run.run_id, run_type=run.run_type, triggered_by=run.triggered_by),
        triggered_by=str(triggered_by) if triggered_by else None,
        triggering_user=run.triggering_user_name,
        caller_address=caller_address,
        queued_at=run.queued_at,
        start_date=run.start_date,
        end_date=run.end_date,
        run_after=run.run_after,
        outcome=run_outcome(state, task_states),
        parameters=_parameters(run.conf),
    )


def _task_states(session: Session, which: ColumnElement[bool]) -> dict[tuple[str, str], _TaskStates]:
    """Return the state of each task of the runs ``which`` selects, by (DAG id, run id) and task id."""
    rows = session.execute(
        select(TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.task_id, TaskInstance.state).where(which)
    )
    states: dict[tuple[str, str], _TaskStates] = {}
    for dag_id, run_id, task_id, state in rows:
        states.setdefault((dag_id, run_id), {})[task_id] = _state(state)
    return states


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
    run_ids = [run.run_id for run in runs]
    callers = _caller_addresses(session, job_id, run_ids)
    tasks = _task_states(session, (TaskInstance.dag_id == dag_id) & TaskInstance.run_id.in_(run_ids))
    return [
        _summary(run, callers.get(run.run_id), tasks.get((dag_id, run.run_id), {})) for run in runs
    ], total


def get_run(*, session: Session, job_id: int, run_id: str) -> RunSummary | None:
    """Return one run of a job, or None when the job has no run with this id."""
    found = get_run_with_tasks(session=session, job_id=job_id, run_id=run_id)
    return found[0] if found else None


def get_run_with_tasks(
    *, session: Session, job_id: int, run_id: str
) -> tuple[RunSummary, list[TaskSummary]] | None:
    """Return one run of a job and its tasks, reading the tasks once for both; None when there is no such run."""
    run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id_for(job_id), DagRun.run_id == run_id))
    if run is None:
        return None
    tasks = list_tasks(session=session, job_id=job_id, run_id=run_id)
    states = {task.task_id: task.state for task in tasks}
    return _summary(run, _caller_addresses(session, job_id, [run_id]).get(run_id), states), tasks


def list_tasks(*, session: Session, job_id: int, run_id: str) -> list[TaskSummary]:
    """Return a run's tasks in start order: the action first, then the post-processing steps."""
    instances = session.scalars(
        select(TaskInstance).where(TaskInstance.dag_id == dag_id_for(job_id), TaskInstance.run_id == run_id)
    )
    tasks = [
        TaskSummary(
            task_id=ti.task_id,
            state=_state(ti.state),
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
            task.task_id != ACTION_TASK_ID, task.start_date is None, task.start_date or 0, task.task_id
        ),
    )


def _newest_run_ids(dag_ids: Collection[str] | None) -> Select[tuple[int]]:
    """Select the id of the newest run of each job DAG, or of each of ``dag_ids``."""
    which = (
        DagRun.dag_id.in_(dag_ids)
        if dag_ids is not None
        else DagRun.dag_id.startswith(DAG_ID_PREFIX, autoescape=True)
    )
    return select(func.max(DagRun.id)).where(which).group_by(DagRun.dag_id)


def latest_runs(*, session: Session, dag_ids: Collection[str]) -> dict[str, RunSummary]:
    """Return the newest run of each of ``dag_ids`` (one page of jobs), by DAG id, in two queries.

    Only the runs of these DAGs are read, through Airflow's index on ``dag_run.dag_id``, so a page
    costs the same with a hundred thousand runs in the table as with a hundred.
    """
    if not dag_ids:
        return {}
    runs = list(session.scalars(select(DagRun).where(DagRun.id.in_(_newest_run_ids(dag_ids)))))
    tasks = _task_states(
        session, tuple_(TaskInstance.dag_id, TaskInstance.run_id).in_([(run.dag_id, run.run_id) for run in runs])
    )
    # The list shows no caller address, so the call log is not read here.
    return {run.dag_id: _summary(run, None, tasks.get((run.dag_id, run.run_id), {})) for run in runs}


def latest_run_times(*, session: Session) -> dict[str, datetime]:
    """Return when the newest run of every job DAG was due, by DAG id: what the job list sorts by.

    One grouped read of two columns, without the runs' tasks: sorting needs no more.
    """
    rows = session.execute(
        select(DagRun.dag_id, DagRun.run_after).where(DagRun.id.in_(_newest_run_ids(None)))
    )
    return {dag_id: run_after for dag_id, run_after in rows}


def task_errors(*, session: Session, job_id: int, run_id: str) -> dict[str, str]:
    """Return the one-line error each failed task of a run left, by task id (the latest try's)."""
    rows = session.scalars(
        select(XComModel).where(
            XComModel.dag_id == dag_id_for(job_id), XComModel.run_id == run_id, XComModel.key == ERROR_XCOM_KEY
        )
    )
    return {row.task_id: str(XComModel.deserialize_value(row)) for row in rows}


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
