"""Move a run and its tasks to given states in the metadata DB, as the scheduler and the tasks would."""

from __future__ import annotations

from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from sqlalchemy import select

from http_trigger.run_contract import ERROR_XCOM_KEY


def settle(dag_id: str, run_id: str, run_state: str, *, errors: dict[str, str] | None = None, **task_states: str) -> None:
    """Set the run's state and each named task's state; push each task's error where a failing task does."""
    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        run.set_state(run_state)
        for ti in session.scalars(select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)):
            if ti.task_id in task_states:
                ti.state = task_states[ti.task_id]
        session.flush()
        for task_id, error in (errors or {}).items():
            XComModel.set(ERROR_XCOM_KEY, error, dag_id=dag_id, task_id=task_id, run_id=run_id, session=session)
