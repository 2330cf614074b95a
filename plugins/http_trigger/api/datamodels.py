"""Request and response bodies of the plugin's HTTP API (named by role, as Airflow's own API does)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Body
from pydantic import BaseModel, ConfigDict, Field

from http_trigger.jobs.audit import JobEvent
from http_trigger.jobs.model import NAME_MAX_LEN, JobBody, PostProcessingDefinition
from http_trigger.run_sources import TriggerSource
from http_trigger.runs.failure import FailureSeverity
from http_trigger.runs.outcome import RunOutcome


class ErrorResponse(BaseModel):
    """The plugin's own error answer: the trigger's, a refused body's, database trouble, an unknown route."""

    message: str


class FieldErrorResponse(BaseModel):
    """One problem of a refused request, at its place (``["body", "action", "type"]``), as forms need."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorResponse(ErrorResponse):
    """A request refused by validation: the message sums it up, ``detail`` places each problem."""

    detail: list[FieldErrorResponse]


JOB_BODY_EXAMPLES = {
    "ec2_start_by_tag": {
        "summary": "Start the test EC2 instances",
        "value": {
            "name": "Start test EC2 instances",
            "group": "test-environment",
            "action": {
                "type": "ec2_start_instances",
                "aws_conn_id": "aws_demo",
                "parameters": {"tag_key": "Env", "tag_value": "test"},
            },
        },
    }
}


class TriggerResponse(BaseModel):
    """The trigger's success answer; ``result`` and ``trigger_job_id`` never change meaning."""

    result: Literal["ok"] = "ok"
    trigger_job_id: int = Field(description="The id of the job that started.")
    dag_id: str
    dag_run_id: str = Field(description="The run's id, as in Airflow's REST API, to follow the run.")
    status_url: str = Field(
        description="GET it with the same Authorization header for the run's state and tasks; "
        "add ?wait=N to wait up to N seconds for the run to end."
    )


_OUTCOME_DESCRIPTION = (
    "How the run ended: succeeded; succeeded_with_warnings when the action succeeded but a "
    "post-processing step failed; failed when the action failed; else queued or running."
)


class TaskStatusResponse(BaseModel):
    """One task of a run, as the caller that started it sees it."""

    task_id: str
    state: str | None
    start_date: datetime | None
    end_date: datetime | None


class RunStatusResponse(BaseModel):
    """A run's state for the caller holding the job's token: no parameters, logs or results."""

    trigger_job_id: int
    dag_run_id: str
    state: str | None = Field(description="Airflow's run state: queued, running, success or failed.")
    final: bool = Field(description="Whether the run has ended (success or failed) and will change no more.")
    outcome: RunOutcome = Field(description=_OUTCOME_DESCRIPTION)
    start_date: datetime | None
    end_date: datetime | None
    tasks: list[TaskStatusResponse] = Field(description="The action first, then the post-processing steps.")




class JobRunResponse(BaseModel):
    """One execution of a job: Airflow's DAG run, how it was started and, for HTTP, from where."""

    dag_id: str
    dag_run_id: str
    state: str | None = Field(description="Airflow's run state: queued, running, success or failed.")
    outcome: RunOutcome = Field(description=_OUTCOME_DESCRIPTION)
    run_type: str
    trigger_source: TriggerSource
    triggered_by: str | None
    triggering_user: str | None
    caller_address: str | None = Field(description="The HTTP caller's address, from the trigger-call log.")
    queued_at: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    duration_seconds: float | None
    run_after: datetime | None
    grid_url: str = Field(description="The run in Airflow's own grid view.")


class JobRunCollectionResponse(BaseModel):
    """One page of a job's runs, newest first."""

    runs: list[JobRunResponse]
    total_entries: int


class TaskInstanceResponse(BaseModel):
    """One task of a run (the action or a post-processing step) and where to read its log."""

    task_id: str
    state: str | None
    try_number: int
    map_index: int
    operator: str | None
    start_date: datetime | None
    end_date: datetime | None
    duration_seconds: float | None
    log_url: str | None = Field(description="Airflow's REST route of the latest try's log; None before it ran.")
    airflow_url: str = Field(description="The task in Airflow's UI, which opens on its log.")


class StepResultResponse(BaseModel):
    """One post-processing step of a run and how it went."""

    task_id: str
    when: Literal["on_success", "on_failure"] = Field(description="Which outcome of the action the step reports.")
    index: int = Field(description="The step's place in its list, from 1.")
    type: str = Field(description="The step's kind: webhook, slack, email, sns or sqs.")
    state: str | None = Field(description="Airflow's task state; skipped when the action's outcome was the other.")
    error: str | None = Field(description="The one-line error of the step's latest failed try, if any.")


class RunFailureResponse(BaseModel):
    """What went wrong in a run, first: the failed action's error, or a failed step's as a warning."""

    task_id: str = Field(description="The task that failed: the action, or a post-processing step.")
    severity: FailureSeverity = Field(
        description="error: the action failed. "
        "warning: the action succeeded, but this post-processing step failed."
    )
    message: str | None = Field(
        description="The error on one line, without the exception type; None when the task left none "
        "(killed, or failed without a message): its log then tells why."
    )
    error_type: str | None = Field(
        description="The exception's type, e.g. ClientError, when the task reported one."
    )


class JobRunDetailResponse(JobRunResponse):
    """A run with what went wrong, the parameters it received, its tasks and its steps' results."""

    failure: RunFailureResponse | None = Field(
        description="What went wrong, for a failed run or one whose post-processing failed; None otherwise."
    )
    parameters: dict[str, Any] = Field(
        description="The run's conf: the action's parameters it was started with (empty for a job whose "
        "parameters are fixed); a value under a key Airflow deems sensitive reads ***."
    )
    dag_url: str = Field(description="The job's DAG in Airflow's UI.")
    tasks: list[TaskInstanceResponse]
    post_processing: list[StepResultResponse] = Field(
        description="The success steps, then the failure steps, each in its order."
    )


class JobValidationResponse(BaseModel):
    """Whether a job body would be accepted as it is, and if not, each problem at its field.

    The problems are those a create or an update of the same body answers in its 422's ``detail``.
    """

    valid: bool
    problems: list[FieldErrorResponse] = Field(default_factory=list)


_MASKED_DESCRIPTION = (
    "A secret reads masked: it contains ••••, followed in the spec's secrets by a reference to the "
    "value (a URL keeps its scheme and host, e.g. https://hooks.slack.com/••••1f2e3d4c). Sent back "
    "unchanged in an update, a masked value keeps the secret it stands for. Editors get the values "
    "from POST /api/jobs/{job_id}/secrets/reveal."
)


class JobResponse(JobBody):
    """A job as the API shows it: its spec and its DAG, every secret masked.

    The secrets are the trigger URL and token and, in ``post_processing``, a webhook's
    ``authorization``, a webhook ``url`` that embeds a credential or is a job's trigger URL, and a
    Slack ``webhook_url``. Only the answers to a create and a rotation carry the trigger URL and
    token they issued in clear.
    """

    id: int
    dag_id: str
    version: str = Field(description="Send it back in If-Match to update only what you read.")
    is_paused: bool | None = Field(description="None until Airflow has loaded the job's DAG.")
    trigger_url: str | None = Field(
        description="The URL to POST to, masked (.../http-trigger/trigger/••••) but just after a create "
        "or a rotation; None once the job is deleted."
    )
    token: str | None = Field(description="The access token: •••• but just after a create or a rotation.")
    signing_secret: str | None = Field(
        default=None,
        description="The Standard Webhooks secret callers sign with when the job's trigger.require_signature "
        "is set: •••• but just after a create or a rotation.",
    )
    previous_secret_valid_until: datetime | None = Field(
        default=None,
        description="While set, the URL and token the last Update replaced still work, until then "
        "(the job's trigger.rotation_grace_seconds).",
    )
    curl: str | None = Field(description="The ready command line; None while the token is masked.")
    can_edit: bool = Field(description="Whether the user may change the job and reveal its secrets.")
    masked_fields: list[str] = Field(
        description="The fields shown masked, e.g. token, "
        f"post_processing.on_failure.0.parameters.authorization. {_MASKED_DESCRIPTION}"
    )
    last_run: JobRunResponse | None = Field(default=None, description="The newest run (in the job list).")
    next_run_after: datetime | None = Field(default=None, description="The schedule's next run, if any.")


class SecretFieldResponse(BaseModel):
    """One secret of a job's spec in clear."""

    field: str = Field(
        description="Its path in the job, e.g. post_processing.on_failure.0.parameters.authorization."
    )
    value: str


class JobSecretsResponse(BaseModel):
    """Every secret of a job in clear, for an editor who asked; Airflow's audit log records each reveal."""

    id: int
    trigger_url: str
    token: str
    signing_secret: str | None = Field(description="The secret signed calls are signed with (whsec_…).")
    curl: str = Field(description="The ready command line that starts the job.")
    fields: list[SecretFieldResponse] = Field(description="The secrets of the job's spec, in its order.")


class SpecProblemResponse(BaseModel):
    """One thing wrong in a spec file."""

    field: str = Field(description="The field path, e.g. action.parameters.tag_value; (file): the file.")
    reason: str


class SpecErrorResponse(BaseModel):
    """A spec file that cannot be loaded, problem by problem."""

    file: str
    message: str = Field(description="Every problem on one line: file: field: reason; field: reason.")
    problems: list[SpecProblemResponse]


class BrokenJobResponse(BaseModel):
    """A job whose spec file does not load: it cannot run (its trigger answers 409) until it is fixed."""

    id: int
    dag_id: str
    spec_error: SpecErrorResponse


class JobCollectionResponse(BaseModel):
    """The jobs the user may read (one page of them), and the spec files that could not be loaded."""

    jobs: list[JobResponse]
    total_entries: int = Field(description="How many jobs match the filters, on every page.")
    broken_jobs: list[BrokenJobResponse] = Field(
        description="The jobs the user may read whose spec does not load, whatever the filters and page."
    )
    spec_errors: list[str] = Field(
        description="The message of every spec file that does not load, files tied to no job included."
    )
    groups: list[str] = Field(default_factory=list, description="Every group of the jobs the user may read.")


class DefinitionUserResponse(BaseModel):
    """A job that references a post-processing definition."""

    id: int
    name: str


class PostProcessingDefinitionResponse(PostProcessingDefinition):
    """A shared post-processing definition as the API shows it: its step, every secret masked."""

    version: str = Field(description="Send it back in If-Match to update only what you read.")
    used_by: list[DefinitionUserResponse] = Field(
        description="The jobs the user may read that reference the definition; an update changes them all."
    )
    can_edit: bool = Field(description="Whether the user may change and delete definitions.")
    masked_fields: list[str] = Field(
        description="The fields shown masked, e.g. parameters.url. A secret reads masked as in a job; sent "
        "back unchanged in an update, a masked value keeps the secret it stands for."
    )


class DefinitionInUseResponse(BaseModel):
    """A delete refused because jobs use the definition: remove it from them first."""

    message: str = Field(description="What was refused, naming each job using the definition by id and name.")
    detail: str = Field(description="The message again, where Airflow's API puts it.")
    jobs: list[DefinitionUserResponse]


class PostProcessingDefinitionCollectionResponse(BaseModel):
    """Every shared post-processing definition, and each definition file that does not load."""

    definitions: list[PostProcessingDefinitionResponse]
    spec_errors: list[SpecErrorResponse] = Field(description="The definition files that do not load.")


class JobAuditEntryResponse(BaseModel):
    """One change of a job (or reveal of its secrets), as Airflow's audit log holds it."""

    when: datetime
    event: JobEvent = Field(description="Airflow's audit-log event, e.g. http_trigger.update.")
    user: str | None
    job_id: int | None
    dag_id: str | None
    channel: str | None = Field(description="Where the change was asked from: page, api or cli.")
    source_address: str | None = Field(description="The caller's address; None from the CLI.")
    details: dict[str, Any] = Field(
        description="What the event recorded besides: the names of the fields changed or revealed "
        "(never a value), the run started."
    )


class JobAuditCollectionResponse(BaseModel):
    """One page of a job's audit, newest first."""

    entries: list[JobAuditEntryResponse]
    total_entries: int


class JobEnabledBody(BaseModel):
    """Enable or disable a job."""

    model_config = ConfigDict(extra="forbid", strict=True)

    enabled: bool


class DuplicateJobBody(BaseModel):
    """What a copy of a job may have of its own; everything else is its original's."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=NAME_MAX_LEN,
        description="The copy's name; the original's followed by ' (copy)' if omitted.",
    )
    enabled: bool = Field(
        default=False,
        description="Whether the copy starts enabled; disabled by default, so that a copy of a scheduled "
        "job does not run beside its original before it is changed.",
    )


class ActionResponse(BaseModel):
    """One action a job can run, with its parameters as a JSON schema (the form to fill)."""

    name: str = Field(description="The action's type in a job spec, e.g. ec2_start_instances.")
    title: str
    description: str
    parameters_schema: dict[str, Any] = Field(description="JSON schema of the action's parameters.")


class ActionCollectionResponse(BaseModel):
    """Every action of the catalogue."""

    actions: list[ActionResponse]
    total_entries: int


class ComponentHealthResponse(BaseModel):
    """One Airflow component as Airflow's own health check reports it, with its latest heartbeat."""

    model_config = ConfigDict(extra="allow")

    status: Literal["healthy", "unhealthy"] | None = Field(
        description="None for a component that never ran (the triggerer, the DAG processor)."
    )


class JobSpecsHealthResponse(BaseModel):
    """The job spec files: a broken one degrades the service, it never takes it down."""

    status: Literal["healthy", "degraded"]
    broken_spec_files: list[str] | None = Field(
        default=None, description="The files that do not load, by name."
    )
    error: str | None = Field(default=None, description="Why the jobs folder cannot be read.")


class HealthResponse(BaseModel):
    """Whether a trigger can start a run now: the metadata DB, the scheduler and the DAG processor."""

    status: Literal["healthy", "degraded", "unhealthy"]
    metadatabase: ComponentHealthResponse
    scheduler: ComponentHealthResponse
    triggerer: ComponentHealthResponse
    dag_processor: ComponentHealthResponse
    jobs: JobSpecsHealthResponse


RunParametersBody = Annotated[
    dict[str, Any] | None,
    Body(
        description=(
            "The action's parameters, for a job that takes them at execution: the JSON object its "
            "trigger URL takes, checked against the action's parameter schema (`GET /api/actions`). "
            "Leave the body out (or send `{}`) for a job whose parameters are fixed."
        ),
        openapi_examples={
            "fixed": {"summary": "A job whose parameters are fixed", "value": {}},
            "ec2_by_tag": {
                "summary": "EC2 instances chosen by tag, for an EC2 start job",
                "value": {"tag_key": "Env", "tag_value": "test"},
            },
        },
    ),
]
"""The body of "Run now": a job's parameters at execution, as its trigger URL takes them."""
