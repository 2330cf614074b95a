"""What a caller holding a job's token may see of a run it started: its state, times and tasks, nothing else.

A caller that started a run by HTTP often needs to know how it ended (to chain a step, or to
alert) without an Airflow account. The trigger's URL id and token are enough to read the state of
that job's runs, never of another job's, and never the run's parameters, logs or XComs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from airflow.utils.state import DagRunState

from http_trigger.errors import RunNotFoundError, UnknownTriggerError
from http_trigger.runs import history
from http_trigger.runs.outcome import RunOutcome
from http_trigger.secrets import trigger_credentials

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

FINAL_RUN_STATES = frozenset({DagRunState.SUCCESS.value, DagRunState.FAILED.value})
"""States after which a run changes no more: a waiting caller is answered at once."""


@dataclass(frozen=True)
class TaskStatus:
    task_id: str
    state: str | None
    start_date: datetime | None
    end_date: datetime | None


@dataclass(frozen=True)
class RunStatus:
    """A run as its caller sees it."""

    trigger_job_id: int
    dag_run_id: str
    state: str | None
    outcome: RunOutcome
    start_date: datetime | None
    end_date: datetime | None
    tasks: list[TaskStatus]

    @property
    def final(self) -> bool:
        return self.state in FINAL_RUN_STATES


def run_status_with_token(*, session: Session, url_id: str, token: str | None, run_id: str) -> RunStatus:
    """Return the status of run ``run_id`` of the job this URL id and token belong to.

    An unknown URL id, a wrong token and no token all raise :class:`UnknownTriggerError`, as on the
    trigger; a run of another job, or none, raises :class:`RunNotFoundError`.
    """
    job_id = trigger_credentials.find_job_id(session=session, url_id=url_id, token=token) if token else None
    if job_id is None:
        raise UnknownTriggerError()
    found = history.get_run_with_tasks(session=session, job_id=job_id, run_id=run_id)
    if found is None:
        raise RunNotFoundError(job_id, run_id)
    run, tasks = found
    return RunStatus(
        trigger_job_id=job_id,
        dag_run_id=run.run_id,
        state=run.state,
        outcome=run.outcome,
        start_date=run.start_date,
        end_date=run.end_date,
        tasks=[TaskStatus(task.task_id, task.state, task.start_date, task.end_date) for task in tasks],
    )
