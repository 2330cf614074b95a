"""Build one Airflow DAG per job: the ``action`` task, then post-processing on success or failure.

Post-processing tasks are marked as teardown tasks. Airflow leaves teardowns out when it decides
a run's final state, so the run succeeds or fails exactly as the action did, while a failing
notification is still a visible, retried, failed task. Each step keeps its own trigger rule:
the success list needs the action to succeed, the failure list needs it to fail.

This module reads files only: Airflow forbids metadata-DB access while DAG files are parsed. That
includes the shared post-processing definitions a job's steps reference: they are files beside the
specs (:mod:`http_trigger.jobs.definitions`), resolved at each build, so a changed definition
reaches every job using it at their next parse. Each is read once per version of its file, however
many jobs reference it.

Jobs' DAGs come from factory files, each building many jobs (all of them, or one share: see
:mod:`http_trigger.factory_files`), and Airflow marks every DAG of a file stale when the file
raises, flagging them all with import errors when it reports one. So nothing one spec holds may
raise here or reach Airflow as an error: :func:`build_dags` builds each job on its own, runs
the checks Airflow's DagBag runs before bagging a DAG, leaves a broken job out with one warning
line naming its file, field and reason, and never raises. ``http-trigger jobs check`` runs the
same :func:`build_specs`, so a spec that passes it is a spec the factory builds.

A job the factory leaves out has no DAG in Airflow, which the API alone would take for "not
loaded yet" (a 503, forever). So the API asks :func:`missing_dag_error` why a job has no DAG: the
same build, in the API server's process, tells a job that cannot run until its file is fixed (a
409 naming the reason) from one that will run in a moment.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pydantic
from airflow.sdk import DAG, Param
from airflow.sdk.bases.operator import BaseOperator
from airflow.task.trigger_rule import TriggerRule
from pydantic_core import to_jsonable_python

from http_trigger import settings, urls
from http_trigger.actions import get_action
from http_trigger.actions.base import ActionType
from http_trigger.errors import JobBrokenError, JobNotReadyError, JobSpecError
from http_trigger.factory_files import Shard
from http_trigger.jobs.definitions import definitions_folder, references_version, resolve_references
from http_trigger.jobs.files import BrokenSpec, StoredJob, read_specs
from http_trigger.jobs.group_access import access_control
from http_trigger.jobs.model import Job, PostProcessingSpec, PostProcessingStatus
from http_trigger.jobs.spec_names import spec_candidates
from http_trigger.post_processing import get_post_processing
from http_trigger.run_contract import ACTION_TASK_ID, StepName

log = logging.getLogger(__name__)

DAG_CHECK = "(dag)"
# A fixed date in the past: jobs start on demand, and cron schedules never back-fill (catchup=False).
_START_DATE = datetime(2024, 1, 1, tzinfo=timezone.utc)
_POST_PROCESSING_RULES: dict[PostProcessingStatus, TriggerRule] = {
    "success": TriggerRule.ALL_SUCCESS,
    "failure": TriggerRule.ALL_FAILED,
}
# Every ASCII punctuation character may be backslash-escaped in Markdown, and then reads as itself.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# Airflow's "current DAG" (the one a new operator joins) is one stack per process, not per thread:
# two builds at once in the API server's thread pool would put one job's tasks into the other's DAG.
_building = threading.Lock()
# Each spec's build outcome by file, for the version built (of the spec and of the definitions it
# references): the API asks again on every read until Airflow has loaded the job, and a build costs
# milliseconds.
_build_outcomes: dict[Path, tuple[tuple[str, str], JobSpecError | None]] = {}


def _post_processing_task(
    job: Job, status: PostProcessingStatus, index: int, spec: PostProcessingSpec
) -> BaseOperator:
    task = get_post_processing(spec.type).operator_class(
        task_id=StepName(status=status, index=index, kind=spec.type).task_id,
        parameters=spec.parameters,
        job_id=job.id,
        job_name=job.name,
        status=status,
        retries=spec.retries,
        retry_delay=timedelta(seconds=10),
    )
    task.is_teardown = True
    task.trigger_rule = _POST_PROCESSING_RULES[status]
    return task


def markdown_text(text: str) -> str:
    """Return ``text`` as Markdown that shows it as written: no markup, no HTML, its line breaks kept.

    Airflow renders a DAG's docs as Markdown and drops HTML, so a description holding ``<b>`` or
    ``*`` would show changed, or blank; each punctuation character is escaped instead.
    """
    paragraphs = re.split(r"\n\s*\n", text.strip())
    escaped = (
        "\\\n".join(_MARKDOWN_PUNCTUATION.sub(r"\\\1", line.strip()) for line in paragraph.splitlines())
        for paragraph in paragraphs
    )
    return "\n\n".join(escaped)


def dag_docs(job: Job) -> str:
    """Write a job DAG's docs: the job's description as text, then a link to the job's page.

    Airflow shows them on the DAG's page, so a user there reaches the job's trigger URL, its
    settings and its execution logs in one click.
    """
    link = (
        f"[Open the job in HTTP Trigger]({urls.job_page_path(job.id)}): its trigger, settings and executions."
    )
    # Never ending in ".md": Airflow would read such docs as the path of a file to show.
    return f"{markdown_text(job.description)}\n\n{link}\n" if job.description else f"{link}\n"


def _inline_refs(schema: Any, definitions: dict[str, Any], depth: int = 0) -> Any:
    """Replace each ``$ref`` of a pydantic schema by its definition: a param's schema stands alone."""
    if depth > 20:  # a recursive model; no action has one, and a param need not describe it fully
        return {}
    if isinstance(schema, list):
        return [_inline_refs(item, definitions, depth) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        rest = {key: value for key, value in schema.items() if key != "$ref"}
        target = definitions.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return _inline_refs({**target, **rest}, definitions, depth + 1)
    return {key: _inline_refs(value, definitions, depth) for key, value in schema.items() if key != "$defs"}


def _nullable_as_type_list(schema: dict[str, Any]) -> dict[str, Any]:
    """Write pydantic's ``anyOf: [X, null]`` as ``type: [X, "null"]``, the form Airflow's trigger form reads."""
    variants = schema.get("anyOf")
    if not isinstance(variants, list):
        return schema
    concrete = [variant for variant in variants if variant.get("type") != "null"]
    if len(concrete) != 1 or len(variants) != 2 or not isinstance(concrete[0].get("type"), str):
        return schema
    outer = {key: value for key, value in schema.items() if key != "anyOf"}
    return {**concrete[0], **outer, "type": [concrete[0]["type"], "null"]}


def action_params(action: ActionType, *, scheduled: bool = False) -> dict[str, Param]:
    """Declare an action's parameters as DAG params, so Airflow's own trigger form asks for them.

    Each field of the action's model becomes a :class:`~airflow.sdk.Param` with the field's JSON
    schema (refs inlined, so each param validates alone), its title, description and default; a
    required field has no default, so Airflow refuses a run without it. The HTTP trigger's conf
    (the model's dump, every field set) passes these params, and a run from Airflow's form
    carries one value per param: the action validates either with the same model. Cross-field
    rules (an id list or a tag) stay the model's, checked when the action runs.

    Airflow refuses a schedule on a DAG with a param that has no valid default (a scheduled run
    has no conf), so on a scheduled job a required field gets ``None`` as default, and null as
    a type: the scheduled run fails on it, as it does without params.
    """
    model: type[pydantic.BaseModel] = action.parameters_model
    schema = model.model_json_schema()
    definitions = schema.get("$defs", {})
    required = set(schema.get("required", ()))
    params: dict[str, Param] = {}
    for name, field_schema in schema.get("properties", {}).items():
        field = _nullable_as_type_list(_inline_refs(field_schema, definitions))
        description = field.pop("description", None)
        field.pop("default", None)
        if name in required:
            if scheduled:
                if isinstance(field.get("type"), str):
                    field["type"] = [field["type"], "null"]
                else:
                    field = {"anyOf": [field, {"type": "null"}], "title": field.get("title", name)}
                params[name] = Param(None, description=description, **field)
            else:
                params[name] = Param(description=description, **field)
            continue
        default = to_jsonable_python(model.model_fields[name].get_default(call_default_factory=True))
        params[name] = Param(default, description=description, **field)
    return params


def build_dag(job: Job) -> DAG:
    """Return the DAG that runs ``job``; one that takes its parameters at execution declares them as params.

    References among its steps are resolved against the definitions of the configured jobs folder,
    unless the caller has resolved them already (:func:`build_job_dag`, against those beside the file).
    """
    job = resolve_references(job, definitions_folder(settings.jobs_folder()), source=f"job {job.id}")
    action_type = get_action(job.action.type)
    action_parameters: dict[str, Any] | None = (
        None if job.action.parameters_at_execution else job.action.parameters
    )
    params = (
        action_params(action_type, scheduled=job.schedule is not None)
        if job.action.parameters_at_execution
        else None
    )
    with DAG(
        dag_id=job.dag_id,
        dag_display_name=job.name,
        description=job.description or None,
        schedule=job.schedule,
        start_date=_START_DATE,
        catchup=False,
        is_paused_upon_creation=not job.enabled,
        tags=job.dag_tags,
        access_control=access_control(job.group),
        doc_md=dag_docs(job),
        params=params,
        # Registered only by the factory returning it: a DAG that fails half-way (or fails the
        # checks below) must not reach Airflow through the context manager's auto-registration.
        auto_register=False,
    ) as dag:
        action = action_type.operator_class(
            task_id=ACTION_TASK_ID,
            aws_conn_id=job.action.aws_conn_id,
            region_name=job.action.region,
            parameters=action_parameters,
            execution_timeout=timedelta(minutes=settings.action_timeout_minutes()),
        )
        for status, specs in (
            ("success", job.post_processing.on_success),
            ("failure", job.post_processing.on_failure),
        ):
            for index, spec in enumerate(specs, start=1):
                action >> _post_processing_task(job, status, index, spec)
    return dag


def build_job_dag(stored: StoredJob) -> DAG:
    """Build a job's DAG and check it as Airflow's DagBag does before bagging it.

    Its references are resolved against the definitions beside its file; one that names no
    loadable definition raises a :class:`JobSpecError` naming it. Any other exception becomes a
    :class:`JobSpecError` of the job's file too: the model is meant to refuse whatever Airflow
    would, and this keeps a gap in it one job's problem, not the factory file's.
    """
    job = resolve_references(stored.job, definitions_folder(stored.path.parent), source=stored.path.name)
    try:
        with _building:
            dag = build_dag(job)
        dag.validate()
        dag.check_cycle()
    except Exception as error:
        reason = " ".join(f"the job's DAG cannot be built: {type(error).__name__}: {error}".split())
        raise JobSpecError(stored.path.name, (DAG_CHECK, reason)) from error
    return dag


def build_problem(stored: StoredJob) -> JobSpecError | None:
    """Return why the factory leaves this job out (its DAG cannot be built), or None when it builds it."""
    version = (stored.version, references_version(stored.job, definitions_folder(stored.path.parent)))
    known = _build_outcomes.get(stored.path)
    if known is not None and known[0] == version:
        return known[1]
    try:
        build_job_dag(stored)
        problem = None
    except JobSpecError as error:
        problem = error
    _build_outcomes[stored.path] = (version, problem)
    return problem


def missing_dag_error(stored: StoredJob) -> JobBrokenError | JobNotReadyError:
    """Say why Airflow has no DAG for a job whose spec loads: the factory cannot build it, or not yet."""
    problem = build_problem(stored)
    return JobBrokenError(stored.job.id, problem) if problem else JobNotReadyError(stored.job.id)


@dataclass(frozen=True)
class BuiltJobs:
    """The DAGs of the specs that load, by DAG id, and every file that does not."""

    dags: dict[str, DAG]
    broken: list[BrokenSpec]


def build_specs(paths: Iterable[Path]) -> BuiltJobs:
    """Load, validate and build each spec file; one file's problem is that file's alone.

    Two files for one job (possible when files come from several folders) keep the first.
    """
    stored_jobs, broken = read_specs(paths)
    dags: dict[str, DAG] = {}
    built_from: dict[str, Path] = {}
    for stored in stored_jobs:
        dag_id = stored.job.dag_id
        try:
            if dag_id in dags:
                already = f"job {stored.job.id} is already defined by {built_from[dag_id]}"
                raise JobSpecError(stored.path.name, ("id", already))
            dags[dag_id] = build_job_dag(stored)
            built_from[dag_id] = stored.path
        except JobSpecError as error:
            broken.append(BrokenSpec(path=stored.path, job_id=stored.job.id, error=error))
    return BuiltJobs(dags=dags, broken=broken)


def build_dags(folder: Path | None = None, *, shard: Shard | None = None) -> dict[str, DAG]:
    """Build the DAG of every spec in the jobs folder (of ``shard``'s share of it) that loads; log each
    one that does not; never raise."""
    try:
        folder = folder or settings.jobs_folder()
        built = build_specs(shard.spec_files(folder) if shard else spec_candidates(folder))
    except Exception:
        log.exception("The jobs folder cannot be read, so no job's DAG is built")
        return {}
    for broken in built.broken:
        log.warning("Job spec not loaded: %s", broken.error)
    return built.dags
