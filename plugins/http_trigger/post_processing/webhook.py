"""Webhook post-processing: POST the run's payload as JSON to a URL, e.g. another job's trigger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk import BaseOperator, Connection
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from airflow.sdk.log import mask_secret
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from http_trigger.post_processing.payload import build_payload

if TYPE_CHECKING:
    from airflow.sdk import Context

URL_MAX_LENGTH = 2048


class WebhookParameters(BaseModel):
    """Where to POST the payload, with which Authorization header, and how long to wait for a reply."""

    model_config = ConfigDict(extra="forbid", title="Webhook")

    url: str = Field(
        max_length=URL_MAX_LENGTH,
        title="URL",
        description="The http or https address that receives the JSON payload.",
    )
    authorization: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        title="Authorization header",
        description='Sent as the Authorization header, e.g. "CAAuth <token>" to start another job.',
        json_schema_extra={"format": "password", "writeOnly": True},
    )
    timeout_seconds: int = Field(default=30, ge=1, le=300, title="Timeout (seconds)")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
            raise ValueError(f"{value!r} is not an http or https URL")
        return value


def _loggable_url(url: str) -> str:
    """Drop credentials and the query string, which often carry tokens, from a URL shown in logs."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


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


class WebhookPostProcessingOperator(BaseOperator):
    """
    POST the job run's payload as JSON to a URL; a reply other than 2xx fails the task.

    Redirects are not followed (a redirected POST would arrive as a GET), so a 3xx fails too.

    :param parameters: the step's parameters, see :class:`WebhookParameters`.
    :param job_id: the job's integer id, sent as ``trigger_job_id``.
    :param job_name: the job's name, sent as ``name``.
    :param status: ``success`` or ``failure``: which outcome of the action this step reports.
    """

    ui_color = "#c9e4f2"

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
        self.parameters = parameters
        self.job_id = job_id
        self.job_name = job_name
        self.status = status

    def execute(self, context: Context) -> dict[str, Any]:
        try:
            webhook = WebhookParameters.model_validate(self.parameters)
        except ValidationError as error:
            fields = "; ".join(
                f"{'.'.join(str(part) for part in item['loc']) or 'parameters'}: {item['msg']}"
                for item in error.errors()
            )
            raise AirflowFailException(
                f"Invalid webhook parameters for task {self.task_id}: {fields}"
            ) from None

        headers = {"Content-Type": "application/json"}
        if webhook.authorization:
            mask_secret(webhook.authorization)
            headers["Authorization"] = webhook.authorization
        payload = build_payload(context, job_id=self.job_id, job_name=self.job_name, status=self.status)
        shown_url = _loggable_url(webhook.url)

        self.log.info("Posting %s payload to %s", self.status, shown_url)
        response = _UrlHttpHook(url=webhook.url).run(
            headers=headers,
            json=payload,
            extra_options={
                "timeout": webhook.timeout_seconds,
                "check_response": False,
                "allow_redirects": False,
            },
        )
        if not 200 <= response.status_code < 300:
            raise AirflowException(
                f"Webhook {shown_url} answered {response.status_code} {response.reason} "
                f"to the {self.status} payload"
            )
        self.log.info("Webhook %s answered %s", shown_url, response.status_code)
        return {"url": shown_url, "status_code": response.status_code}
