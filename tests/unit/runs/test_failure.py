"""What a run's page opens on: the failed action's error, or a failed step's as a warning, on one line."""

from __future__ import annotations

import pytest
from http_trigger.runs.failure import FailureSeverity, ReadableError, RunFailure, readable_error, run_failure
from http_trigger.runs.outcome import RunOutcome, step_results

CLIENT_ERROR = (
    "ClientError: An error occurred (InvalidInstanceID.NotFound) when calling the StartInstances operation: "
    "The instance ID 'i-0000000000000dead' does not exist"
)


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        (CLIENT_ERROR, ReadableError(CLIENT_ERROR.removeprefix("ClientError: "), "ClientError")),
        ("AirflowException: ", ReadableError(None, "AirflowException")),
        ("AirflowException:", ReadableError(None, "AirflowException")),
        ("botocore.exceptions.WaiterError", ReadableError(None, "botocore.exceptions.WaiterError")),
        ("ValueError: 1 validation error\n  tag_value\n    Field required", ReadableError("1 validation error tag_value Field required", "ValueError")),
        ("AirflowTaskTimeout: Timeout, PID: 4242", ReadableError("The task ran longer than its time limit and was stopped", "AirflowTaskTimeout")),
        ("The webhook answered 500", ReadableError("The webhook answered 500", None)),
        ("", ReadableError(None, None)),
        (None, ReadableError(None, None)),
    ],
)
def test_a_stored_error_reads_as_one_line_without_its_type(summary, expected):
    assert readable_error(summary) == expected


def test_a_failed_run_opens_on_the_actions_error():
    states = {"action": "failed", "on_failure_1_webhook": "success"}
    errors = {"action": CLIENT_ERROR}

    failure = run_failure(RunOutcome.FAILED, states, errors, step_results(states, errors))

    assert failure == RunFailure(
        task_id="action", severity=FailureSeverity.ERROR,
        message=CLIENT_ERROR.removeprefix("ClientError: "), error_type="ClientError",
    )


def test_an_action_that_failed_without_a_message_leaves_the_line_to_its_log():
    states = {"action": "failed"}

    failure = run_failure(RunOutcome.FAILED, states, {}, [])

    assert failure == RunFailure(task_id="action", severity=FailureSeverity.ERROR, message=None, error_type=None)


@pytest.mark.parametrize(
    ("action_state", "message"),
    [
        (None, "The run was marked failed in Airflow before its action started"),
        ("success", "The run was marked failed in Airflow, although its action succeeded"),
        ("up_for_retry", "The run was marked failed in Airflow while its action was up for retry"),
    ],
)
def test_a_run_marked_failed_in_airflow_says_so(action_state, message):
    states = {"action": action_state} if action_state else {}

    failure = run_failure(RunOutcome.FAILED, states, {}, [])

    assert (failure.task_id, failure.severity, failure.message) == ("action", FailureSeverity.ERROR, message)


def test_a_failed_step_after_a_successful_action_comes_first_as_a_warning():
    states = {
        "action": "success", "on_success_1_sns": "success", "on_success_2_webhook": "failed",
        "on_success_3_slack": "failed", "on_failure_1_webhook": "skipped",
    }
    errors = {
        "on_success_2_webhook": "AirflowException: The webhook http://127.0.0.1 answered 500 Internal Server Error",
        "on_success_3_slack": "AirflowException: Slack answered 404",
    }

    failure = run_failure(RunOutcome.SUCCEEDED_WITH_WARNINGS, states, errors, step_results(states, errors))

    assert failure == RunFailure(
        task_id="on_success_2_webhook", severity=FailureSeverity.WARNING,
        message="The webhook http://127.0.0.1 answered 500 Internal Server Error", error_type="AirflowException",
    )


@pytest.mark.parametrize("outcome", [RunOutcome.SUCCEEDED, RunOutcome.RUNNING, RunOutcome.QUEUED])
def test_a_run_that_went_well_or_goes_on_has_nothing_to_say(outcome):
    states = {"action": "success" if outcome is RunOutcome.SUCCEEDED else "running"}

    assert run_failure(outcome, states, {}, []) is None
