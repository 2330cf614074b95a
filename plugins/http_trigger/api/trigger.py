"""``POST /http-trigger/trigger/{url_id}``: start a job with its access token — the product's promise.

The contract (kept exact, callers script against it): 200 ``{"result": "ok", "trigger_job_id": …}``
only after the run is committed; the same 404 for an unknown URL, a missing header and a wrong
token; 409 for a disabled job, and for one whose spec file does not load (waiting will not help,
unlike the 503); 4xx with a JSON ``message`` for a caller's mistake; 503 with ``Retry-After`` when
the job can start soon (database trouble included); 500 otherwise — and a 5xx never leaves a run
behind. Every attempt is recorded, without the token or the URL id: a started run in the run's own
transaction, a refusal in a transaction of its own afterwards, and a refusal for database trouble
later, from :data:`http_trigger.trigger_calls.backlog` (asking the database again at once would
only make the caller wait twice).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from airflow.utils.session import create_session
from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from http_trigger import settings, trigger_calls, trigger_secrets
from http_trigger.api.datamodels import ErrorResponse, TriggerResponse
from http_trigger.api.errors import (
    database_unavailable,
    describe_database_error,
    error_responses,
    json_error,
    status_for,
)
from http_trigger.errors import (
    HttpTriggerError,
    InvalidParametersError,
    JobBrokenError,
    JobNotFoundError,
    JobPausedError,
    ParametersNotAcceptedError,
)
from http_trigger.job_files import get_job
from http_trigger.job_model import Job
from http_trigger.job_runs import execution_conf, queue_job_run
from http_trigger.trigger_calls import Call, TriggerOutcome

log = logging.getLogger(__name__)
trigger_router = APIRouter(tags=["Trigger"])

NOT_FOUND_MESSAGE = "No job matches this URL and access token"
BUSY_MESSAGE = "The metadata database is busy; the job was not started, try again shortly"
_TOKEN_SCHEMES = frozenset({"caauth", "bearer"})
_OUTCOME_BY_ERROR: dict[type[HttpTriggerError], TriggerOutcome] = {
    JobPausedError: TriggerOutcome.PAUSED,
    JobBrokenError: TriggerOutcome.INVALID_SPEC,
}


class CallerError(HttpTriggerError):
    """The request itself is wrong (body, parameters); the message tells the caller what to fix."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def token_from_header(authorization: str | None) -> str | None:
    """Return the token of ``CAAuth <token>`` or ``Bearer <token>``, else None."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() not in _TOKEN_SCHEMES or not value.strip():
        return None
    return value.strip()


def run_conf_from_body(job: Job, body: bytes) -> dict[str, Any]:
    """Validate the request body against the job and return the run's ``conf``."""
    data: Any = {}
    if body.strip():
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CallerError(status.HTTP_400_BAD_REQUEST, f"The request body is not valid JSON: {error}")
        if not isinstance(data, dict):
            raise CallerError(
                status.HTTP_400_BAD_REQUEST,
                f"The request body must be a JSON object of action parameters, not {type(data).__name__}",
            )
    try:
        return execution_conf(job, data)
    except ParametersNotAcceptedError as error:
        raise CallerError(status.HTTP_400_BAD_REQUEST, str(error)) from None
    except InvalidParametersError as error:
        raise CallerError(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None


class UnknownTriggerError(HttpTriggerError):
    """No live job has this URL id and token; deliberately the same answer for every cause."""


def record_kept_calls() -> None:
    """Write the calls kept while the database was unavailable, if it answers now."""
    _record([])


def _record(calls: list[Call]) -> None:
    """Write ``calls``, and those kept earlier, in a transaction of their own; keep them if that fails."""
    calls = trigger_calls.backlog.take() + calls
    if not calls:
        return
    try:
        with create_session(scoped=False) as session:
            trigger_calls.record_calls(session=session, calls=calls)
    except Exception as error:
        log.warning("Could not record %d trigger calls: %s", len(calls), describe_database_error(error))
        if database_unavailable(error):
            _keep(calls)


def _keep(calls: list[Call]) -> None:
    waiting = trigger_calls.backlog.keep(calls)
    log.warning("%d trigger calls wait to be recorded until the metadata database answers again", waiting)


def _attempt(request: Request, url_id: str, token: str | None, body: bytes) -> tuple[JSONResponse, Call | None]:
    """Start the run; return the answer, and the call still to record unless it started a run."""
    source = request.client.host if request.client else None
    job_id: int | None = None

    def refused(
        status_code: int, outcome: TriggerOutcome, message: str, *, answer: str | None = None
    ) -> tuple[JSONResponse, Call]:
        call = Call(job_id=job_id, source_address=source, status_code=status_code, outcome=outcome, message=message)
        return json_error(status_code, answer or message), call

    try:
        with create_session(scoped=False) as session:
            job_id = trigger_secrets.find_job_id(session=session, url_id=url_id, token=token) if token else None
            if job_id is None:
                raise UnknownTriggerError()
            stored = get_job(settings.jobs_folder(), job_id)
            job = stored.job
            conf = run_conf_from_body(job, body)
            dag_run = queue_job_run(session=session, dag_bag=request.app.state.dag_bag, stored=stored, conf=conf)
            trigger_calls.record_call(
                session=session,
                job_id=job_id,
                source_address=source,
                status_code=status.HTTP_200_OK,
                outcome=TriggerOutcome.STARTED,
                dag_run_id=dag_run.run_id,
            )
            session.commit()
            log.info("Job %s started by HTTP trigger from %s: run %s", job_id, source, dag_run.run_id)
            answer = TriggerResponse(trigger_job_id=job_id, dag_id=job.dag_id, dag_run_id=dag_run.run_id)
            return JSONResponse(answer.model_dump()), None
    except (UnknownTriggerError, JobNotFoundError):
        return refused(
            status.HTTP_404_NOT_FOUND, TriggerOutcome.NOT_FOUND, "unknown URL or token", answer=NOT_FOUND_MESSAGE
        )
    except CallerError as error:
        return refused(error.status_code, TriggerOutcome.BAD_REQUEST, str(error))
    except HttpTriggerError as error:
        outcome = _OUTCOME_BY_ERROR.get(type(error), TriggerOutcome.NOT_READY)
        return refused(status_for(error), outcome, str(error))
    except Exception as error:
        if database_unavailable(error):
            log.warning("Job %s not started: %s", job_id, describe_database_error(error))
            return refused(status.HTTP_503_SERVICE_UNAVAILABLE, TriggerOutcome.BUSY, BUSY_MESSAGE)
        if isinstance(error, SQLAlchemyError):
            # Its text holds the statement's parameters, the URL id among them: name it only.
            log.error("Unexpected database error while starting job %s: %s", job_id, describe_database_error(error))
        else:
            log.exception("Unexpected error while starting job %s", job_id)
        return refused(
            status.HTTP_500_INTERNAL_SERVER_ERROR, TriggerOutcome.ERROR, "Unexpected error; the job was not started"
        )


def _start(request: Request, url_id: str, token: str | None, body: bytes) -> JSONResponse:
    answer, call = _attempt(request, url_id, token, body)
    if call is not None and call.outcome is TriggerOutcome.BUSY:
        _keep([call])
    else:
        _record([call] if call is not None else [])
    return answer


@trigger_router.post(
    "/trigger/{url_id}",
    response_model=TriggerResponse,
    responses=error_responses(
        (400, "Not JSON, not an object, parameters sent to a job with fixed ones, or beyond the bounds"),
        (404, NOT_FOUND_MESSAGE),
        408,
        (409, "The job is disabled, or its spec is invalid until someone fixes the file"),
        413,
        (422, "The parameters fail the action's model; the message names each field"),
        (500, "Unexpected error; no run was started"),
        (503, "Not loaded by Airflow yet, or the database is busy; retry after Retry-After seconds"),
        model=ErrorResponse,
    ),
    # The body is read as bytes (it may be empty, whatever its Content-Type), so describe it here.
    openapi_extra={
        "requestBody": {
            "required": False,
            "description": "Empty, or the action parameters of a job that takes them at execution",
            "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
        }
    },
)
async def trigger_job(url_id: str, request: Request) -> JSONResponse:
    """Start one run of the job this URL and token belong to."""
    body = await request.body()  # read and bounded already by BoundedBodyMiddleware
    token = token_from_header(request.headers.get("authorization"))
    return await run_in_threadpool(_start, request, url_id, token, body)
