"""Say first why a run went wrong: the failed task's error, as one line an operator reads.

A failed run is read for one thing: what went wrong. The action's error comes first; a run whose
action succeeded but a post-processing step failed reads as a success in Airflow, so that step's
error comes first as a warning. The line is the message a failing task left under
:data:`~http_trigger.run_contract.ERROR_XCOM_KEY` (``"<exception type>: <message>"``), without the
exception type: ``AirflowException:`` says nothing to an operator. A task that left no message (it
was killed, timed out before reporting, or raised an exception without one) has none here; the
pages then read the line from its log, where Airflow's log permission applies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from airflow.utils.state import TaskInstanceState

from http_trigger.run_contract import ACTION_TASK_ID
from http_trigger.runs.outcome import RunOutcome, StepResult

# "<type>: <message>", the form run_contract.report_error writes; the type may be dotted.
_SUMMARY = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::(?P<message>.*))?$", re.DOTALL)
# Exceptions whose own message tells an operator nothing (a process id, a bare class name).
_MESSAGES_OF_TYPES = {
    "AirflowTaskTimeout": "The task ran longer than its time limit and was stopped",
    "AirflowTaskTerminated": "The task was stopped from outside (marked failed, or its worker shut down)",
}


class FailureSeverity(StrEnum):
    """How bad what the headline says is."""

    ERROR = "error"
    """The action failed: the run did not do its job."""
    WARNING = "warning"
    """The action succeeded, but a post-processing step failed: someone was not told."""


@dataclass(frozen=True)
class ReadableError:
    """A task's stored error split for people: one line of message, and the exception type apart."""

    message: str | None
    error_type: str | None


@dataclass(frozen=True)
class RunFailure:
    """What a run's page opens on: which task went wrong, how badly, and why in one line."""

    task_id: str
    severity: FailureSeverity
    message: str | None
    """One line; None when the task left no message (the pages read one from its log)."""
    error_type: str | None


def readable_error(summary: str | None) -> ReadableError:
    """Split a stored ``"<type>: <message>"`` into its message (on one line) and its type.

    A summary in another form is all message; an empty message is None, never the bare type.
    """
    text = " ".join((summary or "").split())
    if not text:
        return ReadableError(message=None, error_type=None)
    match = _SUMMARY.match(text)
    if match is None:
        return ReadableError(message=text, error_type=None)
    error_type = match["type"]
    message = (match["message"] or "").strip() or None
    short_type = error_type.rsplit(".", 1)[-1]
    if short_type in _MESSAGES_OF_TYPES:
        message = _MESSAGES_OF_TYPES[short_type]
    return ReadableError(message=message, error_type=error_type)


def _marked_failed(action_state: str | None) -> str:
    """Word a run someone marked failed in Airflow while, or after, its action ran."""
    if action_state is None:
        return "The run was marked failed in Airflow before its action started"
    if action_state == TaskInstanceState.SUCCESS.value:
        return "The run was marked failed in Airflow, although its action succeeded"
    return f"The run was marked failed in Airflow while its action was {action_state.replace('_', ' ')}"


def _failure(task_id: str, severity: FailureSeverity, summary: str | None) -> RunFailure:
    error = readable_error(summary)
    return RunFailure(task_id=task_id, severity=severity, message=error.message, error_type=error.error_type)


def run_failure(
    outcome: RunOutcome,
    task_states: Mapping[str, str | None],
    errors: Mapping[str, str],
    steps: list[StepResult],
) -> RunFailure | None:
    """Return what went wrong in a finished run, or None when nothing did (or it has not ended).

    ``steps`` are the run's post-processing steps in their order
    (:func:`~http_trigger.runs.outcome.step_results`); the first failed one is the warning.
    """
    if outcome is RunOutcome.FAILED:
        action_state = task_states.get(ACTION_TASK_ID)
        if action_state == TaskInstanceState.FAILED.value or ACTION_TASK_ID in errors:
            return _failure(ACTION_TASK_ID, FailureSeverity.ERROR, errors.get(ACTION_TASK_ID))
        return RunFailure(
            task_id=ACTION_TASK_ID,
            severity=FailureSeverity.ERROR,
            message=_marked_failed(action_state),
            error_type=None,
        )
    if outcome is RunOutcome.SUCCEEDED_WITH_WARNINGS:
        for step in steps:
            if step.state in (TaskInstanceState.FAILED.value, TaskInstanceState.UPSTREAM_FAILED.value):
                return _failure(step.task_id, FailureSeverity.WARNING, step.error)
    return None
