"""Say how a run ended for the people who started it: the action's result and its notifications'.

Post-processing tasks are teardowns, so Airflow's run state is the action's alone: a run whose
action succeeded reads "success" even when every notification of it failed. The outcome tells that
case apart, and the step results say which notification failed and why, from the one-line error a
failing step leaves under :data:`~http_trigger.run_contract.ERROR_XCOM_KEY`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from airflow.utils.state import DagRunState, TaskInstanceState

from http_trigger.run_contract import step_name

# A step in one of these states will not deliver its message in this run.
_STEP_FAILED_STATES = frozenset({TaskInstanceState.FAILED.value, TaskInstanceState.UPSTREAM_FAILED.value})


class RunOutcome(StrEnum):
    """How a run ended, or that it has not yet."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    SUCCEEDED_WITH_WARNINGS = "succeeded_with_warnings"
    """The action succeeded, but at least one post-processing step failed."""
    FAILED = "failed"
    """The action failed, whatever its failure notifications did."""


@dataclass(frozen=True)
class StepResult:
    """One post-processing step of a run: which it is, its state and, once it failed, why."""

    task_id: str
    when: str
    index: int
    kind: str
    state: str | None
    error: str | None


def run_outcome(run_state: str | None, task_states: Mapping[str, str | None]) -> RunOutcome:
    """Return a run's outcome from Airflow's run state and its tasks' states, by task id."""
    if run_state == DagRunState.FAILED.value:
        return RunOutcome.FAILED
    if run_state == DagRunState.RUNNING.value:
        return RunOutcome.RUNNING
    if run_state != DagRunState.SUCCESS.value:
        return RunOutcome.QUEUED
    if any(step_name(task_id) and state in _STEP_FAILED_STATES for task_id, state in task_states.items()):
        return RunOutcome.SUCCEEDED_WITH_WARNINGS
    return RunOutcome.SUCCEEDED


def step_results(task_states: Mapping[str, str | None], errors: Mapping[str, str]) -> list[StepResult]:
    """Return a run's post-processing steps, success list then failure list, each in its order."""
    results = []
    for task_id, state in task_states.items():
        name = step_name(task_id)
        if name is not None:
            results.append(
                StepResult(
                    task_id=task_id,
                    when=f"on_{name.status}",
                    index=name.index,
                    kind=name.kind,
                    state=state,
                    error=errors.get(task_id),
                )
            )
    return sorted(results, key=lambda result: (result.when != "on_success", result.index))
