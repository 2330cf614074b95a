"""The utility actions: the delay defers to a TimeDeltaTrigger, "no action" just succeeds.

The deferral itself (the triggerer firing and the task resuming) runs in the integration tests.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred
from pydantic import ValidationError

from http_trigger.actions.utility import (
    DEFERRAL_GRACE,
    DelayOperator,
    DelayParameters,
    NoActionOperator,
    NoActionParameters,
)


def make(operator_class, parameters):
    return operator_class(
        task_id="action",
        aws_conn_id="aws_default",
        region_name="eu-west-1",
        parameters=parameters,
        execution_timeout=timedelta(minutes=60),
    )


def execute(operator, conf=None):
    return operator.execute({"dag_run": SimpleNamespace(conf=conf)})


class TestDelayOperator:
    def test_defers_to_a_trigger_firing_after_the_delay(self):
        before = datetime.now(timezone.utc)

        with pytest.raises(TaskDeferred) as deferred:
            execute(make(DelayOperator, {"minutes": 1.5}))

        trigger = deferred.value.trigger
        assert isinstance(trigger, DateTimeTrigger)
        assert before + timedelta(seconds=90) <= trigger.moment <= datetime.now(timezone.utc) + timedelta(seconds=90)
        assert deferred.value.method_name == "execute_complete"
        assert deferred.value.kwargs == {"minutes": 1.5}
        assert deferred.value.timeout == timedelta(seconds=90) + DEFERRAL_GRACE

    def test_sleeps_in_the_worker_for_a_wait_of_seconds(self):
        started = time.monotonic()

        result = execute(make(DelayOperator, {"minutes": 0.01}))

        assert time.monotonic() - started >= 0.6
        assert result == {"delayed_minutes": 0.01, "until": None}

    def test_reads_the_delay_from_the_dag_run_conf(self):
        with pytest.raises(TaskDeferred) as deferred:
            execute(make(DelayOperator, None), conf={"minutes": 2})
        assert deferred.value.kwargs == {"minutes": 2}

    def test_resumes_with_a_summary(self):
        moment = datetime(2026, 3, 1, 9, 31, tzinfo=timezone.utc)

        result = make(DelayOperator, {"minutes": 1}).execute_complete({}, event=moment, minutes=1)

        assert result == {"delayed_minutes": 1, "until": "2026-03-01 09:31:00+00:00"}

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({}, r"minutes\n  Field required"),
            ({"minutes": 0}, r"minutes\n  Input should be greater than 0"),
            ({"minutes": 1441}, r"minutes\n  Input should be less than or equal to 1440"),
            ({"minutes": "soon"}, r"minutes\n  Input should be a valid number"),
        ],
    )
    def test_parameters_refuse(self, data, message):
        with pytest.raises(ValidationError, match=message):
            DelayParameters.model_validate(data)

    def test_invalid_parameters_fail_without_retry_naming_the_field(self):
        message = "Invalid parameters for task action: minutes: Input should be greater"
        with pytest.raises(AirflowFailException, match=message):
            execute(make(DelayOperator, {"minutes": -5}))


class TestNoActionOperator:
    def test_succeeds_with_its_note(self):
        assert execute(make(NoActionOperator, {"note": "Only tells the team"})) == {"note": "Only tells the team"}

    def test_takes_no_parameters_at_all(self):
        assert execute(make(NoActionOperator, {})) == {"note": ""}
        assert NoActionParameters.model_validate({}).note == ""

    def test_keeps_the_builders_aws_arguments_without_using_them(self):
        operator = make(NoActionOperator, {})
        assert (operator.aws_conn_id, operator.region_name) == ("aws_default", "eu-west-1")

    def test_refuses_unknown_parameters(self):
        with pytest.raises(AirflowFailException, match=r"instance_ids: Extra inputs are not permitted"):
            execute(make(NoActionOperator, {"instance_ids": ["i-0123456789abcdef0"]}))
