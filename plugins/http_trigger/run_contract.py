"""What a job's action task and the post-processing tasks after it agree on within one run.

Actions and post-processing never import each other: both import this. A failing task leaves a
one-line summary of its error under :data:`ERROR_XCOM_KEY`: the action's goes into the failure
steps' payload, and each one is what the run's history shows as that task's error (Airflow 3 keeps
no error on a task instance). Each post-processing step runs for one of :data:`RUN_OUTCOMES`, and
its task id says which, in what place and of what kind, so the history can read it back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow.sdk.log import redact

if TYPE_CHECKING:
    from logging import Logger

    from airflow.sdk import Context

ERROR_XCOM_KEY = "error"
"""The XCom key under which a failing task pushes a one-line summary of its error."""

RUN_OUTCOMES = ("success", "failure")
"""How an action can end, i.e. when a post-processing step may run (``on_success`` / ``on_failure``)."""

ACTION_TASK_ID = "action"
"""The task id of every job's action task."""

_ERROR_SUMMARY_MAX_CHARS = 1000
_STEP_TASK_ID = re.compile(rf"^on_({'|'.join(RUN_OUTCOMES)})_([1-9][0-9]*)_(\w+)$")


@dataclass(frozen=True)
class StepName:
    """Which post-processing step a task is: when it runs, its place in that list, its kind."""

    status: str
    index: int
    kind: str

    @property
    def task_id(self) -> str:
        """Name the step's task so the grid reads in order: ``on_success_1_webhook``."""
        return f"on_{self.status}_{self.index}_{self.kind}"


def step_name(task_id: str) -> StepName | None:
    """Read which post-processing step a task id names, or None for any other task (the action)."""
    match = _STEP_TASK_ID.match(task_id)
    if match is None:
        return None
    return StepName(status=match[1], index=int(match[2]), kind=match[3])


def report_error(context: Context, error: BaseException, *, task_id: str, log: Logger) -> None:
    """Push a one-line summary of a task's error under :data:`ERROR_XCOM_KEY`; never raise.

    Unlike the task log, XCom is not masked, and anyone who may read the job's runs sees the
    summary: so every secret the task registered with Airflow's masker is taken out of it first.
    """
    ti = context.get("ti")
    if ti is None:
        return
    summary = redact(f"{type(error).__name__}: {error}")[:_ERROR_SUMMARY_MAX_CHARS]
    try:
        ti.xcom_push(key=ERROR_XCOM_KEY, value=summary)
    except Exception:
        # Never let the report hide the error itself.
        log.warning("Could not record the error of task %s", task_id, exc_info=True)
