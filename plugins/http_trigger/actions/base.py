"""What every action shares: its catalogue entry, and how its operator reads and reports.

An action operator takes ``parameters`` (a dict fixed at job creation, or None for "given at
execution", then read from the run's ``conf``), validates them with the action's model when it
runs, and on failure leaves a one-line error summary in XCom for the failure notifications
(a task cannot see another task's exception in Airflow 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import pydantic
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowTaskTimeout

from http_trigger.run_contract import report_error
from http_trigger.validation import describe_validation_error

if TYPE_CHECKING:
    from airflow.sdk import Context


@dataclass(frozen=True)
class ActionType:
    """One kind of AWS operation: how it is named and shown, and the operator that runs it.

    What the action takes is the operator's own ``parameters_model``, stated once there, so the
    catalogue (forms, schemas, validation when a job is saved) and the running task cannot
    disagree about it.
    """

    name: str
    title: str
    description: str
    operator_class: type[BaseOperator]
    iam_actions: tuple[str, ...]
    """Every IAM action (``service:Operation``) the operator's AWS calls and waits need.

    Read from the calls the action makes, the provider hook methods it goes through, and the
    Describe calls its waiters poll; :mod:`http_trigger.actions.iam_policy` turns these into a
    least-privilege policy. Empty for an action that makes no AWS call.
    """

    @property
    def parameters_model(self) -> type[pydantic.BaseModel]:
        """The parameter model of the action's operator: the form, the JSON schema, the validation."""
        return self.operator_class.parameters_model  # type: ignore[attr-defined]


class ActionParameters(pydantic.BaseModel):
    """Base of every action's parameter model: unknown fields are mistakes."""

    model_config = pydantic.ConfigDict(extra="forbid", str_strip_whitespace=True)


class ActionOperatorMixin:
    """Validate the parameters, run the action, and report a failure to the notifications.

    Mixed into an operator class (before the operator base); subclasses implement
    :meth:`run_action` and set ``self.parameters`` in their constructor.
    """

    parameters_model: ClassVar[type[pydantic.BaseModel]]
    parameters: dict[str, Any] | None
    task_id: str

    def execute(self, context: Context) -> Any:
        try:
            return self.run_action(context, self.validated_parameters(context))
        except (Exception, AirflowTaskTimeout) as error:
            report_error(context, error, task_id=self.task_id, log=self.log)  # type: ignore[attr-defined]
            raise

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        # A deferred action resumes here, not in execute: its failure, or its trigger's, is
        # reported the same way.
        try:
            return super().resume_execution(next_method, next_kwargs, context)  # type: ignore[misc]
        except (Exception, AirflowTaskTimeout) as error:
            report_error(context, error, task_id=self.task_id, log=self.log)  # type: ignore[attr-defined]
            raise

    def run_action(self, context: Context, parameters: Any) -> Any:
        """Do the AWS operation; return a small JSON-able summary (the task's XCom)."""
        raise NotImplementedError

    def validated_parameters(self, context: Context) -> Any:
        """Return the parameters as the action's model, from the spec or the run's ``conf``."""
        raw = self.parameters if self.parameters is not None else (context["dag_run"].conf or {})
        try:
            return self.parameters_model.model_validate(raw)
        except pydantic.ValidationError as error:
            # Wrong parameters stay wrong on a retry.
            raise AirflowFailException(
                f"Invalid parameters for task {self.task_id}: {describe_validation_error(error)}"
            ) from None
