"""Webhook post-processing: POST the run's payload as JSON to a URL, e.g. another job's trigger.

The Authorization header value is a secret, and is best given as ``authorization_conn_id``: an
Airflow HTTP connection whose *password* is the header's whole value (``CAAuth <token>``), kept in
Airflow's connections or secrets backend. A literal ``authorization`` is still accepted for chaining
jobs (``CAAuth <the other job's token>``, which the UI fills in): it is then stored in the job's
spec file, write-only for readers of the job and masked in task logs, as is a URL that embeds a
credential or is a job's trigger URL. The step's log names only the target's scheme and host.

A job's trigger takes a JSON body as its action's parameters, so a step aimed at a trigger URL
starts that job the way its curl line does, with an empty body (or ``trigger_parameters`` for a
job that takes its parameters at execution) rather than send it the payload, and with an
``Idempotency-Key`` derived from this run and step, so a retried step never starts it twice.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Annotated, Any

import requests
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk import BaseHook, Connection
from airflow.sdk.exceptions import AirflowException, AirflowNotFoundException
from pydantic import ConfigDict, Field, model_validator

from http_trigger.post_processing.base import (
    URL_MAX_LENGTH,
    ConnectionId,
    HttpUrl,
    PostProcessingOperator,
    PostProcessingParameters,
    PostProcessingType,
    Secret,
    mask_in_logs,
    url_carries_credential,
    url_origin,
)
from http_trigger.urls import is_trigger_url
from http_trigger.field_messages import Rule

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["URL_MAX_LENGTH", "WebhookParameters", "WebhookPostProcessingOperator"]


_ONE_AUTHORIZATION = Rule(
    "webhook.one_authorization", "give authorization or authorization_conn_id, not both"
)
_AUTHORIZATION_LINES = Rule("webhook.authorization_lines", "authorization must be a single line")
_PARAMETERS_TO_TRIGGER = Rule(
    "webhook.parameters_to_trigger", "trigger_parameters are sent only to another job's trigger URL"
)


class WebhookParameters(PostProcessingParameters):
    """Where to POST the payload, with which Authorization header, and how long to wait for a reply."""

    model_config = ConfigDict(title="Webhook")

    url: Annotated[HttpUrl, Secret(when=url_carries_credential)] = Field(
        title="URL",
        description=(
            "The http or https address that receives the JSON payload (at most 2,048 characters); "
            "write-only when it embeds a credential or is a job's trigger URL."
        ),
    )
    authorization_conn_id: ConnectionId | None = Field(
        default=None,
        title="Authorization connection",
        examples=["ops_webhook_auth"],
        description=(
            "An Airflow HTTP connection whose password is the Authorization header's value; "
            "the way to keep the secret out of the job's spec file."
        ),
    )
    authorization: Annotated[str | None, Secret()] = Field(
        default=None,
        min_length=1,
        max_length=4096,
        title="Authorization header",
        description=(
            'Sent as the Authorization header, e.g. "CAAuth <token>" to start another job. '
            "Stored in the job's spec file: prefer the connection for any other secret."
        ),
    )
    trigger_parameters: dict[str, Any] | None = Field(
        default=None,
        title="Parameters for the chained job",
        description=(
            "Only for a URL that is another job's trigger and takes its parameters at execution: "
            "the JSON object sent as its parameters (the payload is not sent to a trigger)."
        ),
    )
    timeout_seconds: int = Field(default=30, ge=1, le=300, title="Timeout (seconds)")

    @model_validator(mode="after")
    def _one_authorization(self) -> WebhookParameters:
        if self.authorization and self.authorization_conn_id:
            raise _ONE_AUTHORIZATION.error()
        if self.authorization is not None and any(c in self.authorization for c in "\r\n"):
            raise _AUTHORIZATION_LINES.error()
        if self.trigger_parameters is not None and not is_trigger_url(self.url):
            raise _PARAMETERS_TO_TRIGGER.error()
        return self


class _UrlHttpHook(HttpHook):
    """
    An ``HttpHook`` aimed at one full URL rather than at an Airflow connection.

    HttpHook 6.x always loads ``http_conn_id`` from Airflow's connections, but a webhook's address
    is part of the job spec. This hook answers that lookup with an in-memory connection whose
    host is the whole URL: HttpHook takes a host containing ``://`` as the base URL unchanged.
    """

    def __init__(self, *, url: str, **kwargs: Any) -> None:
        super().__init__(method="POST", http_conn_id="http_trigger_webhook", **kwargs)
        self.url = url

    def get_connection(self, conn_id: str) -> Connection:  # type: ignore[override]
        return Connection(conn_id=conn_id, conn_type="http", host=self.url)

    def run_and_check(
        self, session: requests.Session, prepped_request: requests.PreparedRequest, extra_options: dict[str, Any]
    ) -> requests.Response:
        """Send the request and return the answer, whatever it is, logging nothing.

        HttpHook's own logs a connection error's message, the full URL with its query, as a warning.
        Airflow's masker hides the secret in the task's log file, but the LocalExecutor copies every
        task log line to the scheduler's output through a masker that never learnt the task's
        secrets. The step names its target by scheme and host in its own messages instead.
        """
        settings = session.merge_environment_settings(
            prepped_request.url, proxies=session.proxies, stream=session.stream, verify=session.verify,
            cert=session.cert,
        )  # fmt: skip
        return session.send(
            prepped_request,
            timeout=extra_options.get("timeout"),
            allow_redirects=extra_options.get("allow_redirects", True),
            **settings,
        )


def chain_idempotency_key(dag_id: str, run_id: str, task_id: str) -> str:
    """Return the key that makes every try of one step of one run start the chained job once."""
    step = f"{dag_id}/{run_id}/{task_id}"
    return f"http-trigger-chain-{hashlib.sha256(step.encode()).hexdigest()}"


def authorization_from_connection(conn_id: str) -> str:
    """Return the Authorization value kept as the password of the Airflow connection ``conn_id``."""
    try:
        connection = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise AirflowException(
            f"The Authorization connection {conn_id!r} is not defined in Airflow's connections"
        ) from None
    if not connection.password:
        raise AirflowException(
            f"The Authorization connection {conn_id!r} has no password: put the header's value there"
        )
    return connection.password


class WebhookPostProcessingOperator(PostProcessingOperator[WebhookParameters]):
    """
    POST the job run's payload as JSON to a URL; a reply other than 2xx fails the task.

    Redirects are not followed (a redirected POST would arrive as a GET), so a 3xx fails too.
    """

    parameters_model = WebhookParameters
    kind = "webhook"
    ui_color = "#c9e4f2"

    def send(
        self, parameters: WebhookParameters, payload: dict[str, Any], context: Context
    ) -> dict[str, Any]:
        chaining = is_trigger_url(parameters.url)
        headers = {"Content-Type": "application/json"}
        authorization = parameters.authorization
        if parameters.authorization_conn_id:
            authorization = authorization_from_connection(parameters.authorization_conn_id)
            mask_in_logs(authorization)
        if authorization:
            headers["Authorization"] = authorization
        target = f"{'job trigger' if chaining else 'webhook'} at {url_origin(parameters.url)}"
        if chaining:
            # A trigger takes parameters or nothing; the key keeps a retried step from starting it twice.
            dag_run = context["dag_run"]
            headers["Idempotency-Key"] = chain_idempotency_key(dag_run.dag_id, dag_run.run_id, self.task_id)
            body = json.dumps(parameters.trigger_parameters) if parameters.trigger_parameters else ""
            sent = "its parameters" if parameters.trigger_parameters else "an empty body"
        else:
            body, sent = json.dumps(payload), f"the {self.status} payload"

        self.log.info("Posting %s to the %s", sent, target)
        try:
            response = _UrlHttpHook(url=parameters.url).run(
                headers=headers,
                data=body,
                extra_options={
                    "timeout": parameters.timeout_seconds,
                    "check_response": False,
                    "allow_redirects": False,
                },
            )
        except requests.RequestException as error:
            # requests' own message repeats the full URL, query string included.
            raise AirflowException(
                f"The {target} could not be reached with {sent}: {type(error).__name__}"
            ) from None
        if not 200 <= response.status_code < 300:
            raise AirflowException(f"The {target} answered {response.status_code} {response.reason} to {sent}")
        self.log.info("The %s answered %s", target, response.status_code)
        result: dict[str, Any] = {"target": target, "status_code": response.status_code}
        if chaining:
            result["chained_run_id"] = _chained_run_id(response)
        return result


def _chained_run_id(response: requests.Response) -> str | None:
    """Return the run the chained job's trigger answered with, when it says."""
    try:
        answer = response.json()
    except ValueError:
        return None
    return answer.get("dag_run_id") if isinstance(answer, dict) else None


POST_PROCESSING_TYPE = PostProcessingType(
    name="webhook",
    title="Webhook",
    description="POST the payload as JSON to a URL, or start the job of a trigger URL; any answer but 2xx "
    "fails the step.",
    parameters_model=WebhookParameters,
    operator_class=WebhookPostProcessingOperator,
)
