"""What every post-processing kind shares: its catalogue entry, its parameters' base, its operator's base.

A kind's operator only implements :meth:`PostProcessingOperator.send`; the base validates the
step's parameters with the kind's model and builds the payload once, so every kind reports the
same document (see :mod:`http_trigger.post_processing.payload`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, TypeVar
from urllib.parse import urlsplit

import pydantic
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.log import mask_secret
from pydantic import AfterValidator, Field

from http_trigger.post_processing.payload import build_payload
from http_trigger.post_processing.templates import TEMPLATE_MAX_LENGTH, TemplateRenderError, check_template
from http_trigger.regions import REGION_EXAMPLE, region_pattern
from http_trigger.run_contract import RUN_OUTCOMES, report_error
from http_trigger.urls import is_trigger_url, trigger_url_id
from http_trigger.validation import describe_validation_error
from http_trigger.field_messages import Rule

if TYPE_CHECKING:
    from airflow.sdk import Context
    from pydantic.json_schema import JsonSchemaValue

URL_MAX_LENGTH = 2048


@dataclass(frozen=True)
class PostProcessingType:
    """One kind of notification: how it is named and shown, what it takes, what sends it."""

    name: str
    title: str
    description: str
    parameters_model: type[pydantic.BaseModel]
    operator_class: type[BaseOperator]


class PostProcessingParameters(pydantic.BaseModel):
    """Base of every kind's parameter model: unknown fields are mistakes."""

    model_config = pydantic.ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Secret:
    """Mark a parameter as a secret: ``Annotated[str, Secret()]``.

    Readers of the job see only that it is set (:mod:`http_trigger.secrets.spec_secrets` masks it), its value
    comes in clear only out of an editor's recorded reveal, and a step registers it with Airflow's
    masker before doing anything, so no task log shows it. ``when`` narrows what readers may not
    see to the values that carry a credential (a webhook's URL does only sometimes); task logs mask
    every value of the parameter regardless. An unconditional secret is a password field in forms.
    """

    when: Callable[[str], bool] | None = None

    def hides(self, value: str) -> bool:
        """Tell whether ``value`` is kept from readers of the job."""
        return self.when is None or self.when(value)

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> JsonSchemaValue:
        schema = handler(core_schema)
        if self.when is None:
            schema.update(format="password", writeOnly=True)
        return schema


def secret_parameters(model: type[pydantic.BaseModel]) -> dict[str, Secret]:
    """Return the secret parameters of a kind's model, by name."""
    return {
        name: marker
        for name, field in model.model_fields.items()
        for marker in field.metadata
        if isinstance(marker, Secret)
    }


def url_carries_credential(url: str) -> bool:
    """Tell whether a URL embeds a credential: a user or password, a query string, or a job's trigger path."""
    parts = urlsplit(url)
    return bool(parts.username or parts.password or parts.query or is_trigger_url(url))


def credential_parts(value: str) -> set[str]:
    """Return a secret value with the parts of it that are credentials on their own.

    Of a URL: its password (or its user, when there is no password), query string, path and, for
    a trigger URL, its URL id; of a header value such as ``CAAuth <token>``: the token.
    """
    parts = {value}
    split = urlsplit(value)
    if split.scheme in ("http", "https") and split.hostname:
        parts |= {split.password or split.username, split.query, trigger_url_id(value)}
        if len(split.path) > 1:
            parts.add(split.path)
    else:
        parts.add(value.partition(" ")[2].strip())
    return {part for part in parts if part}


def mask_in_logs(value: str) -> None:
    """Register a secret value, and each part of it that is a credential alone, with Airflow's masker."""
    for part in credential_parts(value):
        mask_secret(part)


_NOT_HTTP_URL = Rule("post_processing.not_http_url", "{value} is not an http or https URL")


def check_http_url(value: str) -> str:
    """Return ``value`` if it is an absolute http(s) URL with a host and no whitespace."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise _NOT_HTTP_URL.error(value=repr(value))
    return value


HttpUrl = Annotated[str, Field(max_length=URL_MAX_LENGTH), AfterValidator(check_http_url)]
"""An http(s) URL of at most 2,048 characters, kept exactly as written."""

Template = Annotated[str, Field(min_length=1, max_length=TEMPLATE_MAX_LENGTH), AfterValidator(check_template)]
"""A Jinja template over the payload's fields, checked when the job is validated."""

# The characters Airflow itself accepts in a connection id (airflow.models.connection).
ConnectionId = Annotated[str, Field(min_length=1, max_length=250, pattern=r"^[\w#!()\-.:/\\]+$")]
"""The id of an Airflow connection."""


AwsConnectionId = Annotated[
    ConnectionId,
    Field(
        title="AWS connection",
        description="The Airflow AWS connection (credentials, role, endpoint) that sends the message.",
    ),
]
"""The Airflow AWS connection of an AWS kind; declared by each kind after its target, for the form's order."""

AwsRegion = Annotated[
    str | None,
    Field(
        pattern=region_pattern(),
        examples=[REGION_EXAMPLE],
        title="Region",
        description="The target's region; if empty, the one its ARN or URL names, else the connection's.",
    ),
]


def aws_message_attributes(payload: dict[str, Any]) -> dict[str, str | int]:
    """Return the payload fields sent as SNS/SQS message attributes, e.g. for subscription filters."""
    return {
        "status": payload["status"],
        "trigger_job_id": payload["trigger_job_id"],
        "dag_id": payload["dag_id"],
        "trigger_source": payload["trigger_source"],
    }


def fifo_message_ids(payload: dict[str, Any], task_id: str) -> tuple[str, str]:
    """
    Return the message group id and deduplication id for a FIFO topic or queue.

    One group per job keeps a job's notifications in order; the deduplication id is one per step
    and run, so a retry after a send whose answer was lost does not deliver the message twice.
    """
    run = f"{payload['dag_id']}/{payload['dag_run_id']}/{task_id}"
    return payload["dag_id"], hashlib.sha256(run.encode()).hexdigest()


def url_origin(url: str) -> str:
    """Return a URL's scheme, host and port: what a log may say of a target whose path may be a secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


ParametersT = TypeVar("ParametersT", bound=PostProcessingParameters)


class PostProcessingOperator(BaseOperator, Generic[ParametersT]):
    """
    Send the job run's payload one way; subclasses set ``parameters_model`` and implement :meth:`send`.

    The parameters are validated when the task runs (as well as when the job is saved), so a spec
    edited behind the job model's back fails the task at once instead of being retried.
    ``parameters`` is deliberately not a template field: the message templates in it are rendered
    with the payload by the step itself, not with Airflow's task context.

    :param parameters: the step's parameters, validated with ``parameters_model``.
    :param job_id: the job's integer id, sent as ``trigger_job_id``.
    :param job_name: the job's name, sent as ``name``.
    :param status: ``success`` or ``failure``: which outcome of the action this step reports.
    """

    parameters_model: ClassVar[type[PostProcessingParameters]]
    # Names the kind in messages, e.g. "Invalid webhook parameters for task on_success_1_webhook".
    kind: ClassVar[str]
    template_fields = ()

    def __init__(
        self,
        *,
        parameters: dict[str, Any],
        job_id: int,
        job_name: str,
        status: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if status not in RUN_OUTCOMES:
            raise ValueError(f"status must be one of {', '.join(RUN_OUTCOMES)}, got {status!r}")
        self.parameters = parameters
        self.job_id = job_id
        self.job_name = job_name
        self.status = status

    def execute(self, context: Context) -> Any:
        # First of all, so that nothing the step or a library logs afterwards can show a secret.
        self.mask_secrets()
        try:
            return self.validate_and_send(context)
        except Exception as error:
            # The run's history shows why the step failed without opening its log.
            report_error(context, error, task_id=self.task_id, log=self.log)
            raise

    def validate_and_send(self, context: Context) -> Any:
        """Validate the parameters, build the payload and send it."""
        parameters = self.validated_parameters()
        payload = build_payload(context, job_id=self.job_id, job_name=self.job_name, status=self.status)
        try:
            return self.send(parameters, payload, context)
        except TemplateRenderError as error:
            # A template that fails once fails on every retry.
            raise AirflowFailException(f"Task {self.task_id}: {error}") from None

    def mask_secrets(self) -> None:
        """Register the step's secret parameters with Airflow's masker, before they are even validated."""
        for name in secret_parameters(self.parameters_model):
            value = self.parameters.get(name)
            if isinstance(value, str) and value:
                mask_in_logs(value)

    def validated_parameters(self) -> ParametersT:
        """Return the step's parameters as the kind's model; invalid ones fail the task without retry."""
        try:
            return self.parameters_model.model_validate(self.parameters)  # type: ignore[return-value]
        except pydantic.ValidationError as error:
            raise AirflowFailException(
                f"Invalid {self.kind} parameters for task {self.task_id}: {describe_validation_error(error)}"
            ) from None

    def send(self, parameters: ParametersT, payload: dict[str, Any], context: Context) -> Any:
        """Deliver ``payload``, return a summary; on failure raise AirflowException naming the target."""
        raise NotImplementedError
