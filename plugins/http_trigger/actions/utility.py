"""Utility actions that touch no AWS resource: wait some minutes, or do nothing (notify-only jobs).

The DAG builder passes every action the job's ``aws_conn_id`` and ``region_name``; these
operators keep them (so every action task looks alike) and use neither.

``utility_delay`` defers to the standard provider's ``TimeDeltaTrigger``: the wait happens in
Airflow's triggerer, not in a worker slot, so a long delay costs nothing; it needs a running
triggerer (``airflow triggerer``, part of every Airflow deployment and of the embedded stack).
Airflow does not apply ``execution_timeout`` while a task is deferred, so a delay may be
longer than the action timeout; the deferral's own timeout (the delay plus a grace period)
fails the task if no triggerer fires it.

A wait shorter than :data:`SHORTEST_DEFERRAL` sleeps in the worker instead. Airflow 3.3 fails a
deferred task whose trigger fires before the scheduler has read the worker's exit on deferring
(the exit reads as "finished while queued"; apache/airflow#67287, fixed after 3.3.2), and only a
wait of seconds leaves that window open; a worker slot for under a minute costs little.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import BaseOperator
from pydantic import ConfigDict, Field

from http_trigger.actions.base import ActionOperatorMixin, ActionParameters, ActionType

if TYPE_CHECKING:
    from airflow.sdk import Context

MAX_DELAY_MINUTES = 1440
DEFERRAL_GRACE = timedelta(minutes=10)
SHORTEST_DEFERRAL = timedelta(minutes=1)


class DelayParameters(ActionParameters):
    """Choose how long to wait."""

    model_config = ConfigDict(title="Delay", json_schema_extra={"examples": [{"minutes": 5}]})

    minutes: float = Field(
        gt=0,
        le=MAX_DELAY_MINUTES,
        title="Minutes",
        description=f"How long to wait, up to {MAX_DELAY_MINUTES} (a day); fractions are allowed, e.g. 0.5.",
    )


class NoActionParameters(ActionParameters):
    """Say why the job has no action (it is written to the task log)."""

    model_config = ConfigDict(
        title="No action",
        json_schema_extra={"examples": [{"note": "a step of a chain that does nothing on AWS"}]},
    )

    note: str = Field(
        default="",
        max_length=1000,
        title="Note",
        description="Written to the task log, e.g. why this job only sends its notifications.",
    )


class _UtilityOperator(ActionOperatorMixin, BaseOperator):
    """Base of the actions without AWS: parameters in, the builder's AWS arguments kept but unused."""

    template_fields: Sequence[str] = ("parameters",)
    template_fields_renderers = {"parameters": "json"}
    ui_color = "#e8e8e8"

    def __init__(
        self,
        *,
        parameters: dict[str, Any] | None = None,
        aws_conn_id: str | None = None,
        region_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.parameters = parameters
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name


class DelayOperator(_UtilityOperator):
    """Wait some minutes in the triggerer (seconds in the worker), then succeed."""

    parameters_model: ClassVar[type[DelayParameters]] = DelayParameters

    def run_action(self, context: Context, parameters: DelayParameters) -> dict[str, Any] | None:
        delta = timedelta(minutes=parameters.minutes)
        if delta < SHORTEST_DEFERRAL:
            self.log.info("Waiting %s minutes in the worker", parameters.minutes)
            time.sleep(delta.total_seconds())
            return self.execute_complete(context, minutes=parameters.minutes)
        trigger = TimeDeltaTrigger(delta)
        self.log.info("Waiting %s minutes, until %s", parameters.minutes, trigger.moment.isoformat())
        self.defer(
            trigger=trigger,
            method_name="execute_complete",
            kwargs={"minutes": parameters.minutes},
            # The scheduler fails a deferral past its timeout, so a job whose triggerer is down
            # fails with a TaskDeferralTimeout instead of staying deferred for ever.
            timeout=delta + DEFERRAL_GRACE,
        )

    def execute_complete(
        self, context: Context, event: Any = None, minutes: float | None = None
    ) -> dict[str, Any]:
        """Finish once the trigger has fired; ``event`` is the moment it was waiting for."""
        self.log.info("Waited %s minutes", minutes)
        return {"delayed_minutes": minutes, "until": str(event) if event is not None else None}


class NoActionOperator(_UtilityOperator):
    """Do nothing and succeed, so that the job's success notifications run."""

    parameters_model: ClassVar[type[NoActionParameters]] = NoActionParameters

    def run_action(self, context: Context, parameters: NoActionParameters) -> dict[str, Any]:
        self.log.info("No action to run%s", f": {parameters.note}" if parameters.note else "")
        return {"note": parameters.note}


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        name="utility_delay",
        title="Utility: Delay",
        description="Wait a number of minutes, then succeed (a wait of a minute or more runs in Airflow's triggerer).",
        operator_class=DelayOperator,
        iam_actions=(),
    ),
    ActionType(
        name="utility_no_action",
        title="Utility: No action",
        description="Do nothing and succeed: for jobs that only send their notifications.",
        operator_class=NoActionOperator,
        iam_actions=(),
    ),
)
