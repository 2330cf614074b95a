"""The one model of an operation job, shared by the DAG factory, the JSON API and the CLI.

A job is stored as one YAML file; the model validates it completely (the action's and each
post-processing step's parameters against their own models) so that a bad spec is refused when
it is written and reported precisely when a hand-written file is parsed.

Valid here means loads in Airflow: every value that reaches ``DAG()`` is held to Airflow's own
limits (read from Airflow, not copied), so the API never accepts a job whose DAG Airflow refuses.
That includes what Airflow only meets after the factory has returned, when it writes the DAGs of
the factory file to the metadata database: see :func:`_nul_character_at`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from airflow.sdk.definitions.dag import TAG_MAX_LEN
from croniter import croniter
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)

from http_trigger.actions import ACTIONS
from http_trigger.catalogue import Catalogue
from http_trigger.field_messages import Rule
from http_trigger.jobs.spec_names import MAX_JOB_ID, dag_id_for
from http_trigger.post_processing import POST_PROCESSING
from http_trigger.post_processing.base import secret_parameters
from http_trigger.regions import REGION_EXAMPLE, region_pattern
from http_trigger.validation import describe_validation_error

DAG_TAG = "http-trigger"
GROUP_TAG_PREFIX = "group:"
GROUP_MAX_LEN = TAG_MAX_LEN - len(GROUP_TAG_PREFIX)
NAME_MAX_LEN = 200
CRON_EXAMPLE = "0 9 * * 1-5"
_TAG_PATTERN = re.compile(rf"^[\w .:/@-]{{1,{TAG_MAX_LEN}}}$")


def _parameters_model(catalogue: Catalogue[Any], type_name: str) -> type[BaseModel]:
    """Return the parameter model of a catalogue entry, refusing an unknown type."""
    entry = catalogue.get(type_name)
    if entry is None:
        raise ValueError(catalogue.unknown_message(type_name))
    return entry.parameters_model


def _validated_parameters(
    model: type[BaseModel], parameters: dict[str, Any], *, exclude_none: bool = False
) -> dict[str, Any]:
    """Validate a spec's parameters with their model; errors name the full field path, never a secret."""
    secrets = secret_parameters(model)

    def hidden(loc: tuple[str | int, ...], value: Any) -> bool:
        marker = secrets.get(str(loc[0])) if loc else None
        return marker is not None and (not isinstance(value, str) or marker.hides(value))

    try:
        validated = model.model_validate(parameters)
    except ValidationError as error:
        raise ValueError(describe_validation_error(error, "parameters", hidden=hidden)) from None
    return validated.model_dump(mode="json", exclude_none=exclude_none)


def may_hold_a_secret(loc: tuple[str | int, ...], value: Any) -> bool:
    """Tell whether the input of a spec error at ``loc`` may hold a step's secret, so no message repeats it.

    Secrets live in the steps' parameters, whose own errors never repeat one (see
    :func:`_validated_parameters`). But a hand-written spec can put them elsewhere: a mapping where
    the list of steps belongs, a URL where a step's parameters belong, a misspelt key holding them.
    So whatever stands in the place of the steps, of a step or of its parameters, and any mapping
    or list among the steps, is called "the value" instead.
    """
    if not loc or loc[0] != "post_processing":
        return False
    in_place_of_parameters = len(loc) <= 3 or (len(loc) == 4 and loc[3] == "parameters")
    return in_place_of_parameters or isinstance(value, (dict, list))


def _nul_character_at(value: Any) -> str | None:
    """Say where ``value`` (a string, or lists and mappings of them at any depth) holds a NUL character.

    Return None when it holds none, ``""`` when the string itself does, else the path inside it.
    Airflow writes every DAG of the factory file, with its tasks' parameters, to PostgreSQL in one
    transaction, and PostgreSQL's text and JSON cannot hold the NUL character (``\\x00``, which YAML
    writes as ``"\\0"`` and JSON as ``"\\u0000"``). One such value made that write fail for every job
    and the DAG processor exit, again at each start; refused here, it stays its own job's problem.
    """
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            return path
        if isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and "\x00" in key:
                    return f"{path} (a key)".lstrip()
                pending.append((f"{path}.{key}".lstrip("."), child))
        elif isinstance(item, list):
            pending.extend((f"{path}.{index}".lstrip("."), child) for index, child in enumerate(item))
    return None


_NUL_CHARACTER = Rule(
    "jobs.nul_character",
    "{where}the NUL character (\\x00) is not allowed: Airflow's metadata database cannot store it",
)
_PARAMETERS_AT_EXECUTION = Rule(
    "jobs.parameters_at_execution", "parameters must be empty when they are given at execution"
)
_NOT_A_RATE = Rule(
    "jobs.not_a_rate",
    "{value} is not a rate like '10/minute' (a count of 1-999999 per second, minute or hour)",
)
_NETWORK_AS_TEXT = Rule(
    "jobs.network_as_text", "an address or CIDR network is written as text, e.g. '10.0.0.0/8', not {value}"
)
_NOT_CRON = Rule("jobs.not_cron", "Enter a cron expression such as {example}: {value} is not one")
_GROUP_TOO_LONG = Rule(
    "jobs.group_too_long",
    "at most {limit} characters, not {length}: the job's DAG is tagged '{prefix}<group>', "
    "and Airflow allows tags of at most {tag_limit} characters",
)
_BAD_TAG = Rule(
    "jobs.bad_tag",
    "tag {tag} must be 1-{limit} letters, digits, spaces or ._:/@- "
    "(Airflow allows tags of at most {limit} characters)",
)


class _StrictModel(BaseModel):
    """Base of every spec model: unknown fields are mistakes, not extensions.

    Values must have their documented types, as the OpenAPI document and the YAML show them:
    ``0`` is no ``false`` and ``"2"`` no ``2``, which lax validation would turn them into.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    @field_validator("*")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        where = _nul_character_at(value)
        if where is not None:
            raise _NUL_CHARACTER.error(where=f"{where}: " if where else "")
        return value


class ActionSpec(_StrictModel):
    """The AWS operation a job performs, on which account and region, with which parameters."""

    # The document lists the catalogue; the validator answers an unknown name with the known ones.
    type: str = Field(
        title="Action",
        description="Name of an action in the catalogue, e.g. ec2_start_instances.",
        json_schema_extra={"enum": list(ACTIONS)},
    )
    aws_conn_id: str = Field(
        default="aws_default", min_length=1, title="AWS connection", description="Airflow AWS connection id."
    )
    # A region that is not one would fail only when the action calls AWS: refused here instead.
    region: Annotated[str | None, BeforeValidator(lambda value: value or None)] = Field(
        default=None,
        pattern=region_pattern(),
        examples=[REGION_EXAMPLE],
        description="AWS region; the connection's region if empty.",
    )
    parameters_at_execution: bool = Field(
        default=False, description="Take the parameters from the trigger's JSON body instead of the spec."
    )
    parameters: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _validate_parameters(self) -> ActionSpec:
        model = _parameters_model(ACTIONS, self.type)
        if self.parameters_at_execution:
            if self.parameters:
                raise _PARAMETERS_AT_EXECUTION.error()
            return self
        self.parameters = _validated_parameters(model, self.parameters)
        return self


class PostProcessingSpec(_StrictModel):
    """One notification sent after the action, e.g. a webhook call."""

    type: str = Field(
        title="Post-processing",
        description="Name of a post-processing kind, e.g. webhook.",
        json_schema_extra={"enum": list(POST_PROCESSING)},
    )
    retries: int = Field(
        default=2, ge=0, le=10, description="How often Airflow retries the step when it fails, 10 s apart."
    )
    parameters: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _validate_parameters(self) -> PostProcessingSpec:
        model = _parameters_model(POST_PROCESSING, self.type)
        self.parameters = _validated_parameters(model, self.parameters, exclude_none=True)
        return self


DEFINITION_NAME_MAX_LEN = 64
DEFINITION_NAME_PATTERN = rf"^[a-z0-9](?:[a-z0-9-]{{0,{DEFINITION_NAME_MAX_LEN - 2}}}[a-z0-9])?$"
_DEFINITION_NAME_FIELD = Field(
    pattern=DEFINITION_NAME_PATTERN,
    description="Name of a shared post-processing definition: lowercase letters, digits and inner hyphens, "
    f"at most {DEFINITION_NAME_MAX_LEN} characters, e.g. team-slack.",
)


class PostProcessingDefinition(PostProcessingSpec):
    """A step defined once under a name, which many jobs reference instead of repeating it.

    It is an inline step (the same type, retries and parameters, validated alike) plus its name,
    which is also its file's name, so it is a slug that never changes.
    """

    name: str = _DEFINITION_NAME_FIELD


class PostProcessingRef(_StrictModel):
    """A step of a job that is a shared definition, resolved when the job's DAG is built.

    Resolving late is what makes a change of the definition change every job using it; a job
    naming a definition that does not exist is broken, as any job whose spec cannot be built.
    """

    ref: str = _DEFINITION_NAME_FIELD


def _inline_or_ref(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Validate a step as a reference when it has ``ref``, else as an inline step.

    Picked by hand rather than by a pydantic union, whose errors would name both branches and put
    the branch in each error's path: a step's errors keep the paths they have always had
    (``post_processing.on_success.0.parameters.url``).
    """
    if isinstance(value, (PostProcessingSpec, PostProcessingRef)):
        return value
    if isinstance(value, dict) and "ref" in value:
        return PostProcessingRef.model_validate(value)
    return PostProcessingSpec.model_validate(value)


PostProcessingStep = Annotated[PostProcessingSpec | PostProcessingRef, WrapValidator(_inline_or_ref)]
"""One item of a job's success or failure list: an inline step, or a reference to a definition."""


class PostProcessing(_StrictModel):
    """What runs after the action: the success list when it succeeded, the failure list otherwise."""

    on_success: list[PostProcessingStep] = Field(default_factory=list)
    on_failure: list[PostProcessingStep] = Field(default_factory=list)

    def references(self) -> set[str]:
        """Return the names of the shared definitions the job's steps reference."""
        return {step.ref for step in (*self.on_success, *self.on_failure) if isinstance(step, PostProcessingRef)}


RATE_PATTERN = re.compile(r"^([1-9][0-9]{0,5})/(second|minute|hour)$")
MAX_ALLOWED_SOURCES = 100
MAX_ROTATION_GRACE_SECONDS = 7 * 24 * 3600


def check_rate(value: str) -> str:
    """Refuse a rate that is not ``<count>/<second|minute|hour>`` (count 1 to 999999)."""
    if not RATE_PATTERN.fullmatch(value):
        raise _NOT_A_RATE.error(value=repr(value))
    return value


def _network_as_text(value: object) -> object:
    """Refuse a number or boolean where an address is due: ``ip_network(False)`` is 0.0.0.0/32."""
    if isinstance(value, (int, float)):
        raise _NETWORK_AS_TEXT.error(value=repr(value))
    return value


SourceNetwork = Annotated[IPvAnyNetwork, BeforeValidator(_network_as_text)]


class TriggerSettings(_StrictModel):
    """Who may call the job's trigger and how often; the defaults let any holder of the token in at any pace."""

    rate_limit: str | None = Field(
        default=None,
        description="At most this many runs started by the trigger, e.g. '10/minute'; more calls answer 429. "
        "Empty: [http_trigger] default_rate_limit.",
    )
    allowed_sources: list[SourceNetwork] = Field(
        default_factory=list,
        max_length=MAX_ALLOWED_SOURCES,
        description="Addresses or CIDR networks the trigger answers; a call from elsewhere gets the same "
        "404 as a wrong token. Empty: any address.",
    )

    require_signature: bool = Field(
        default=False,
        description="Accept only calls signed with the job's signing secret (Standard Webhooks headers).",
    )
    rotation_grace_seconds: int = Field(
        default=0,
        ge=0,
        le=MAX_ROTATION_GRACE_SECONDS,
        description="After Update (rotation), the previous URL and token keep working this long; 0: stop at once.",
    )

    @field_validator("rate_limit")
    @classmethod
    def _check_rate_limit(cls, value: str | None) -> str | None:
        return check_rate(value) if value else None


class JobBody(_StrictModel):
    """Everything a user writes about a job; the id is allocated by the store."""

    name: str = Field(min_length=1, max_length=NAME_MAX_LEN)
    group: str = Field(default="default", min_length=1, json_schema_extra={"maxLength": GROUP_MAX_LEN})
    description: str = Field(default="", max_length=2000)
    enabled: bool = Field(default=True, description="Whether a new job's DAG starts unpaused.")
    action: ActionSpec
    post_processing: PostProcessing = Field(default_factory=PostProcessing)
    schedule: str | None = Field(
        default=None,
        title="Cron expression",
        examples=[CRON_EXAMPLE],
        description="Optional cron expression, besides the trigger.",
    )
    tags: list[str] = Field(default_factory=list)
    trigger: TriggerSettings = Field(default_factory=TriggerSettings)

    @field_validator("schedule")
    @classmethod
    def _check_cron(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not croniter.is_valid(value):
            raise _NOT_CRON.error(example=CRON_EXAMPLE, value=repr(value))
        return value

    @field_validator("group")
    @classmethod
    def _check_group(cls, value: str) -> str:
        if len(value) > GROUP_MAX_LEN:
            raise _GROUP_TOO_LONG.error(
                limit=GROUP_MAX_LEN, length=len(value), prefix=GROUP_TAG_PREFIX, tag_limit=TAG_MAX_LEN
            )
        return value

    @field_validator("tags")
    @classmethod
    def _check_tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not _TAG_PATTERN.match(tag):
                raise _BAD_TAG.error(tag=repr(tag), limit=TAG_MAX_LEN)
        return value

    @property
    def dag_tags(self) -> set[str]:
        """Return the tags of the job's DAG: the plugin's, the group's and the job's own."""
        return {DAG_TAG, f"{GROUP_TAG_PREFIX}{self.group}", *self.tags}


class Job(JobBody):
    """A stored job: its body plus the immutable integer id that callers see as ``trigger_job_id``."""

    id: int = Field(ge=1, le=MAX_JOB_ID)

    @property
    def dag_id(self) -> str:
        return dag_id_for(self.id)


PostProcessingStatus = Literal["success", "failure"]
