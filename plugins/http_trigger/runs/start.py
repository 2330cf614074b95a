"""Start one run of a job: the product's central use case, whoever asks for it.

The HTTP trigger (a URL id and its token), Run now (a signed-in user the route has authorised)
and the CLI only translate their request into a call here and the outcome into their answer.
Here the job is found, its parameters validated, the run id chosen for the source, the run
queued the way Airflow's own REST route creates manual runs, and an HTTP call recorded with it.

Unlike Airflow's route, a paused DAG is refused instead of getting a queued run that never starts,
a missing DAG is told apart (not loaded yet, or left out by the DAG factory for good), and the
caller commits: the trigger endpoint answers 200 only once the run is in the database.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.api_fastapi.common.dagbag import create_dag_bag
from airflow.exceptions import ParamValidationError
from airflow.models.dag import DagModel
from airflow.models.dag_version import DagVersion
from airflow.models.dagbag import DBDagBag
from airflow.models.serialized_dag import SerializedDagModel
from airflow.sdk import timezone
from airflow.utils.state import DagRunState
from airflow.utils.types import DagRunType
from pydantic import ValidationError
from sqlalchemy import select

from http_trigger import settings
from http_trigger.actions import get_action
from http_trigger.dag_builder import missing_dag_error
from http_trigger.errors import (
    HttpTriggerError,
    InvalidParametersError,
    JobNotReadyError,
    JobPausedError,
    ParametersNotAcceptedError,
    ParametersRequiredError,
    SignatureError,
    UnknownTriggerError,
)
from http_trigger.jobs import audit as job_audit
from http_trigger.jobs.audit import Actor, JobEvent
from http_trigger.jobs.files import StoredJob, get_job
from http_trigger.jobs.model import Job
from http_trigger.run_sources import TRIGGERED_BY, TriggerSource, new_run_id
from http_trigger.runs import idempotency, limits, signatures, trigger_calls
from http_trigger.runs.trigger_calls import TriggerOutcome
from http_trigger.validation import describe_problems, parameter_problems

if TYPE_CHECKING:
    from sqlalchemy import ScalarSelect
    from sqlalchemy.orm import Session

TRIGGERING_USER = "http-trigger"
"""Who Airflow shows as the triggering user of runs started without a signed-in user."""


@dataclass(frozen=True)
class StartedRun:
    """A queued run (not yet committed) of a job; ``replayed`` when an ``Idempotency-Key`` found an earlier one."""

    job: Job
    run_id: str
    replayed: bool = False


@functools.cache
def _dag_bag() -> DBDagBag:
    """The process's cache of deserialized DAGs, made as Airflow's API server makes its own.

    Its size and lifetime are Airflow's ``[api] dag_cache_size`` and ``dag_cache_ttl``; an entry is
    checked against the database's DAG hash at most every ``[core] min_serialized_dag_update_interval``.
    """
    return create_dag_bag()


def _latest_version_id(dag_id: str) -> ScalarSelect:
    """The id of the DAG's latest serialized version, which Airflow's ``get_latest_version_of_dag`` reads.

    The ordering is that of Airflow's ``SerializedDagModel.latest_item_select_object``, which selects
    the whole serialized row; Airflow has no select of the version id alone.
    """
    return (
        select(SerializedDagModel.dag_version_id)
        .join(DagVersion, SerializedDagModel.dag_version_id == DagVersion.id)
        .where(SerializedDagModel.dag_id == dag_id)
        .order_by(DagVersion.version_number.desc())
        .limit(1)
        .scalar_subquery()
    )


def parameters_from_json(text: str | bytes, *, sent_as: str) -> dict[str, Any]:
    """Read action parameters sent as JSON (``sent_as`` names where, for the message): an object, or nothing."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ParametersNotAcceptedError(f"{sent_as} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ParametersNotAcceptedError(
            f"{sent_as} must be a JSON object of action parameters, not {type(data).__name__}"
        )
    return data


def execution_conf(job: Job, parameters: dict[str, Any] | None) -> dict[str, Any]:
    """Validate the parameters a run is started with and return the run's ``conf``.

    ``None`` means the starter sent none (Run now or the CLI without a body): fine for a job whose
    parameters are fixed, refused for one that takes them at execution.
    """
    if not job.action.parameters_at_execution:
        if parameters:
            raise ParametersNotAcceptedError(
                f"Job {job.id} takes no parameters at execution (they were fixed when it was created); "
                "send an empty body",
                job_id=job.id,
            )
        return {}
    if parameters is None:
        raise ParametersRequiredError(
            f"Job {job.id} takes its parameters at execution; send them as a JSON object in the body",
            job_id=job.id,
        )
    model = get_action(job.action.type).parameters_model
    try:
        validated = model.model_validate(parameters)
    except ValidationError as error:
        problems = parameter_problems(error, model)
        raise InvalidParametersError(
            describe_problems(problems),
            job_id=job.id,
            problems=problems,
            said_in=functools.partial(parameter_problems, error, model),
        ) from None
    return validated.model_dump(mode="json")


def start_run(
    *,
    session: Session,
    job_id: int,
    source: TriggerSource,
    parameters: dict[str, Any] | None,
    actor: Actor,
    triggering_user: str = TRIGGERING_USER,
) -> StartedRun:
    """Queue one run of job ``job_id`` for a signed-in user or the CLI; audits it. The caller commits."""
    stored = get_job(settings.jobs_folder(), job_id)
    conf = execution_conf(stored.job, parameters)
    started = _queue(
        session=session, stored=stored, source=source, conf=conf, triggering_user=triggering_user
    )
    details = {"dag_run_id": started.run_id}
    job_audit.record(session, event=JobEvent.RUN_NOW, actor=actor, job_id=job_id, details=details)
    return started


def _queue(
    *,
    session: Session,
    stored: StoredJob,
    source: TriggerSource,
    conf: dict[str, Any],
    triggering_user: str = TRIGGERING_USER,
) -> StartedRun:
    """Create the queued run of the job read from ``stored``; refuse a DAG Airflow has not loaded or paused.

    Without a DAG in Airflow, raise :class:`JobBrokenError` when the DAG factory cannot build the
    job's DAG (waiting will not help) and :class:`JobNotReadyError` otherwise.
    """
    job = stored.job
    # One statement: whether the DAG is paused, and its latest version, whose deserialized DAG the
    # process keeps (Airflow's get_latest_version_of_dag reads and deserializes it on every call).
    found = session.execute(
        select(DagModel.is_paused, _latest_version_id(job.dag_id)).where(
            DagModel.dag_id == job.dag_id, ~DagModel.is_stale
        )
    ).first()
    if found is None:
        raise missing_dag_error(stored)
    paused, version_id = found
    if paused:
        raise JobPausedError(job.id)
    dag = _dag_bag().get_dag(version_id, session=session) if version_id is not None else None
    if dag is None:
        raise JobNotReadyError(job.id)
    try:
        dag_run = dag.create_dagrun(
            run_id=new_run_id(source),
            logical_date=None,
            data_interval=None,
            run_after=timezone.utcnow(),
            conf=conf,
            run_type=DagRunType.MANUAL,
            triggered_by=TRIGGERED_BY[source],
            triggering_user_name=triggering_user,
            state=DagRunState.QUEUED,
            session=session,
        )
    except ParamValidationError as error:
        # The DAG's params come from the same model the conf passed; a DAG Airflow still holds in
        # an older version (the action's model changed since) may disagree: the caller's to know.
        raise InvalidParametersError(f"Airflow refused the run's parameters: {error}", job_id=job.id) from None
    return StartedRun(job=job, run_id=dag_run.run_id)


def _allowed(job: Job, caller_address: str | None) -> bool:
    """Whether the job's trigger answers ``caller_address`` (any address, unless the job lists some)."""
    networks = job.trigger.allowed_sources
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(caller_address or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


def start_run_with_token(
    *,
    session: Session,
    url_id: str,
    token: str | None,
    body: str | bytes,
    caller_address: str | None,
    idempotency_key: str | None = None,
    signature_headers: Mapping[str, str] | None = None,
) -> StartedRun:
    """Start the run of the live job this URL id and token belong to, with the parameters ``body`` holds.

    An address that keeps failing the token is refused first (:mod:`.limits`). Then the token is
    checked before anything else: whoever lacks it learns nothing of the job, and the same
    :class:`UnknownTriggerError` answers an unknown URL id, a wrong token, no token and an address
    the job does not allow. A job that requires signed calls checks ``signature_headers`` next
    (:mod:`.signatures`). With an ``idempotency_key``, a retry of a call that started a run gets
    that run back; only a new run counts against the job's rate limit.
    """
    job_id = limits.find_job_id_unless_throttled(
        session=session, url_id=url_id, token=token, source_address=caller_address
    )
    if job_id is None:
        raise UnknownTriggerError()
    stored = get_job(settings.jobs_folder(), job_id)
    job = stored.job
    if not _allowed(job, caller_address):
        raise UnknownTriggerError()
    webhook_id = None
    if job.trigger.require_signature:
        raw_body = body.encode() if isinstance(body, str) else body
        webhook_id = signatures.verify(session=session, job_id=job_id, body=raw_body, headers=signature_headers or {})
    try:
        parameters = parameters_from_json(body, sent_as="The request body")
        key = idempotency.checked_key(idempotency_key)
        replay_key = idempotency.checked_key(signatures.WEBHOOK_ID_KEY_PREFIX + webhook_id) if webhook_id else None
    except HttpTriggerError as error:
        error.job_id = job_id
        raise
    if replay_key is not None:
        seen = idempotency.claim(session=session, job_id=job_id, key=replay_key, digest=idempotency.request_digest({}))
        if seen is not None:
            raise SignatureError(
                f"This webhook-id was already received (run {seen}); a new call needs a new webhook-id",
                job_id=job_id,
            )
    if key is not None:
        digest = idempotency.request_digest(parameters)
        earlier_run_id = idempotency.claim(session=session, job_id=job_id, key=key, digest=digest)
        if earlier_run_id is not None:
            _record_started(session, job_id, caller_address, earlier_run_id, TriggerOutcome.REPLAYED)
            return StartedRun(job=job, run_id=earlier_run_id, replayed=True)
    conf = execution_conf(job, parameters)  # a caller's mistake answers before the rate limit counts
    limits.check_job_rate(session=session, job_id=job_id, rate_limit=job.trigger.rate_limit)
    started = _queue(session=session, stored=stored, source=TriggerSource.HTTP, conf=conf)
    _record_started(session, job_id, caller_address, started.run_id, TriggerOutcome.STARTED)
    for claimed in (key, replay_key):
        if claimed is not None:
            idempotency.settle(session=session, job_id=job_id, key=claimed, dag_run_id=started.run_id)
    return started


def _record_started(
    session: Session, job_id: int, caller_address: str | None, run_id: str, outcome: TriggerOutcome
) -> None:
    trigger_calls.record_call(
        session=session,
        job_id=job_id,
        source_address=caller_address,
        status_code=200,
        outcome=outcome,
        dag_run_id=run_id,
    )
