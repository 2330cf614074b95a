"""``POST /http-trigger/trigger/{url_id}``: start a job with its access token — the product's promise.

The contract (kept exact, callers script against it): 200 ``{"result": "ok", "trigger_job_id": …}``
only after the run is committed; the same 404 for an unknown URL, a missing header and a wrong
token; 409 for a disabled job, and for one whose spec file does not load (waiting will not help,
unlike the 503); 4xx with a JSON ``message`` for a caller's mistake; 503 with ``Retry-After`` when
the job can start soon (database trouble, or every place for trigger calls taken for
``[http_trigger] trigger_queue_seconds``, included); 500 otherwise — and a 5xx never leaves a run
behind. Every attempt is recorded, without the token or the URL id: a started run in the run's own
transaction, a refusal in a transaction of its own afterwards, and a refusal for database trouble
later, from :data:`http_trigger.runs.trigger_calls.backlog` (asking the database again at once would
only make the caller wait twice).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import weakref
from typing import Annotated

import anyio

from airflow.api_fastapi.core_api.openapi.exceptions import HTTPExceptionResponse
from airflow.utils.session import create_session
from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from http_trigger import settings, urls
from http_trigger.api.datamodels import ErrorResponse, RunStatusResponse, TriggerResponse
from http_trigger.api.errors import (
    database_unavailable,
    describe_database_error,
    error_answer,
    error_responses,
    json_error,
    status_for,
)
from http_trigger.api.parameters import DagRunIdPath
from http_trigger.errors import (
    HttpTriggerError,
    IdempotencyKeyReusedError,
    InvalidIdempotencyKeyError,
    InvalidParametersError,
    JobBrokenError,
    JobNotFoundError,
    JobPausedError,
    ParametersNotAcceptedError,
    RateLimitedError,
    SignatureError,
    UnknownTriggerError,
)
from http_trigger.runs import signatures, trigger_calls
from http_trigger.runs.start import start_run_with_token
from http_trigger.runs.status import RunStatus, run_status_with_token
from http_trigger.runs.trigger_calls import Call, TriggerOutcome

log = logging.getLogger(__name__)
trigger_router = APIRouter(tags=["Trigger"])

NOT_FOUND_MESSAGE = str(UnknownTriggerError())
MAX_WAIT_SECONDS = 300
_POLL_SECONDS = 1.0
BUSY_MESSAGE = "The metadata database is busy; the job was not started, try again shortly"
SERVER_BUSY_MESSAGE = (
    "The API server is busy with other trigger calls; the job was not started, try again shortly"
)
_TOKEN_SCHEMES = frozenset({"caauth", "bearer"})
# The request itself is wrong: its body, its parameters or its Idempotency-Key.
_CALLER_ERRORS = (
    SignatureError,
    ParametersNotAcceptedError,
    InvalidParametersError,
    InvalidIdempotencyKeyError,
    IdempotencyKeyReusedError,
)
_OUTCOME_BY_ERROR: dict[type[HttpTriggerError], TriggerOutcome] = {
    JobPausedError: TriggerOutcome.PAUSED,
    JobBrokenError: TriggerOutcome.INVALID_SPEC,
}


def token_from_header(authorization: str | None) -> str | None:
    """Return the token of ``CAAuth <token>`` or ``Bearer <token>``, else None."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() not in _TOKEN_SCHEMES or not value.strip():
        return None
    return value.strip()


_places_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def _trigger_places() -> anyio.CapacityLimiter:
    """The places for trigger calls in this server process: ``[http_trigger] trigger_concurrency``.

    One set per event loop (a server process runs one), as a limiter belongs to the loop it waits in.
    """
    loop = asyncio.get_running_loop()
    places = _places_by_loop.get(loop)
    if places is None:
        places = _places_by_loop[loop] = anyio.CapacityLimiter(settings.trigger_concurrency())
    return places


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


def _attempt(
    request: Request, url_id: str, token: str | None, body: bytes, idempotency_key: str | None
) -> tuple[JSONResponse, Call | None]:
    """Start the run; return the answer, and the call still to record unless it started a run."""
    source = request.client.host if request.client else None

    def refused(
        status_code: int,
        outcome: TriggerOutcome,
        message: str,
        *,
        job_id: int | None,
        answer: JSONResponse | None = None,
    ) -> tuple[JSONResponse, Call]:
        call = Call(job_id=job_id, source_address=source, status_code=status_code, outcome=outcome, message=message)
        return answer or json_error(status_code, message), call

    try:
        with create_session(scoped=False) as session:
            started = start_run_with_token(
                session=session,
                url_id=url_id,
                token=token,
                body=body,
                caller_address=source,
                idempotency_key=idempotency_key,
                signature_headers=signatures.signature_headers(request.headers),
            )
            session.commit()
    except (UnknownTriggerError, JobNotFoundError) as error:
        return refused(
            status.HTTP_404_NOT_FOUND,
            TriggerOutcome.NOT_FOUND,
            "unknown URL or token",
            job_id=error.job_id,
            answer=json_error(status.HTTP_404_NOT_FOUND, NOT_FOUND_MESSAGE),
        )
    except RateLimitedError as error:
        return refused(
            status.HTTP_429_TOO_MANY_REQUESTS,
            TriggerOutcome.RATE_LIMITED,
            str(error),
            job_id=error.job_id,
            answer=error_answer(error),
        )
    except _CALLER_ERRORS as error:
        return refused(status_for(error), TriggerOutcome.BAD_REQUEST, str(error), job_id=error.job_id)
    except HttpTriggerError as error:
        outcome = _OUTCOME_BY_ERROR.get(type(error), TriggerOutcome.NOT_READY)
        return refused(status_for(error), outcome, str(error), job_id=error.job_id)
    except Exception as error:
        if database_unavailable(error):
            log.warning("A trigger call was not started: %s", describe_database_error(error))
            return refused(status.HTTP_503_SERVICE_UNAVAILABLE, TriggerOutcome.BUSY, BUSY_MESSAGE, job_id=None)
        if isinstance(error, SQLAlchemyError):
            # Its text holds the statement's parameters, the URL id among them: name it only.
            log.error("Unexpected database error while starting a job: %s", describe_database_error(error))
        else:
            log.exception("Unexpected error while starting a job")
        return refused(
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            TriggerOutcome.ERROR,
            "Unexpected error; the job was not started",
            job_id=None,
        )
    job, run_id = started.job, started.run_id
    if started.replayed:
        log.info("Job %s: a retry from %s got the run its Idempotency-Key started: %s", job.id, source, run_id)
    else:
        log.info("Job %s started by HTTP trigger from %s: run %s", job.id, source, run_id)
    answer = TriggerResponse(
        trigger_job_id=job.id, dag_id=job.dag_id, dag_run_id=run_id, status_url=urls.run_status_url(url_id, run_id)
    )
    return JSONResponse(answer.model_dump()), None


def _start(
    request: Request, url_id: str, token: str | None, body: bytes, idempotency_key: str | None
) -> JSONResponse:
    answer, call = _attempt(request, url_id, token, body, idempotency_key)
    if call is not None and call.outcome is TriggerOutcome.BUSY:
        _keep([call])
    else:
        _record([call] if call is not None else [])
    return answer


def _not_found(description: str) -> tuple[int, str, object]:
    """Document a trigger path's 404, which Airflow itself answers for a URL id holding a line break.

    Airflow mounts the plugin's app on a pattern whose ``.`` stops at a line break, so such a path
    never reaches the plugin and gets Airflow's own ``{"detail": "Not Found"}``.
    """
    return (
        status.HTTP_404_NOT_FOUND,
        f"{description}; for a URL id holding a line break, Airflow's own answer",
        ErrorResponse | HTTPExceptionResponse,
    )


@trigger_router.post(
    "/trigger/{url_id}",
    response_model=TriggerResponse,
    responses=error_responses(
        (
            400,
            "Not JSON, not an object, parameters sent to a job with fixed ones, beyond the bounds, "
            "or an Idempotency-Key that is not 1-128 printable ASCII characters",
        ),
        (
            403,
            "The job accepts signed calls only, and this one is unsigned, badly signed, older than "
            "five minutes or a replay of a webhook-id already received",
        ),
        _not_found(NOT_FOUND_MESSAGE),
        408,
        (409, "The job is disabled, or its spec is invalid until someone fixes the file"),
        413,
        (
            422,
            "The parameters fail the action's model (the message names each field), or the "
            "Idempotency-Key was used for this job with other parameters",
        ),
        (
            429,
            "The job's rate limit is reached, or this address sent too many unknown URLs or wrong "
            "tokens; retry after Retry-After seconds",
        ),
        (500, "Unexpected error; no run was started"),
        (
            503,
            "Not loaded by Airflow yet, or the database or server is busy; retry after Retry-After seconds",
        ),
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
async def trigger_job(
    url_id: str,
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Up to 128 printable ASCII characters. A retry with the same key and parameters "
            "within [http_trigger] idempotency_ttl gets the first call's run back, never a second run.",
        ),
    ] = None,
) -> JSONResponse:
    """Start one run of the job this URL and token belong to."""
    body = await request.body()  # read and bounded already by BoundedBodyMiddleware
    token = token_from_header(request.headers.get("authorization"))
    places = _trigger_places()
    try:
        with anyio.fail_after(settings.trigger_queue_seconds()):
            await places.acquire()
    except TimeoutError:
        return _refuse_while_busy(request)
    try:
        # The places bound these threads, so they do without the default thread limiter: Airflow's
        # own routes share that one, and a flood of their requests must not hold trigger calls back.
        return await anyio.to_thread.run_sync(
            _start, request, url_id, token, body, idempotency_key, limiter=anyio.CapacityLimiter(1)
        )
    finally:
        places.release()


def _refuse_while_busy(request: Request) -> JSONResponse:
    """Answer 503 to a call that found no free place in time; record it with the next recorded call."""
    source = request.client.host if request.client else None
    log.warning("A trigger call from %s was not started: the server's %d places stayed taken for %d s",
                source, settings.trigger_concurrency(), settings.trigger_queue_seconds())  # fmt: skip
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    trigger_calls.backlog.keep(
        [Call(job_id=None, source_address=source, status_code=status_code, outcome=TriggerOutcome.BUSY,
              message=SERVER_BUSY_MESSAGE)]
    )  # fmt: skip
    return json_error(status_code, SERVER_BUSY_MESSAGE)


def _read_status(url_id: str, token: str | None, run_id: str) -> RunStatus:
    with create_session(scoped=False) as session:
        return run_status_with_token(session=session, url_id=url_id, token=token, run_id=run_id)


@trigger_router.get(
    "/trigger/{url_id}/runs/{dag_run_id}",
    responses=error_responses(
        _not_found(f"{NOT_FOUND_MESSAGE}, or the job has no such run"),
        422,
        503,
        model=ErrorResponse,
    ),
)
async def get_run_status(
    url_id: str,
    dag_run_id: DagRunIdPath,
    request: Request,
    wait: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_WAIT_SECONDS,
            description=f"Seconds (at most {MAX_WAIT_SECONDS}) to hold the answer until the run has ended.",
        ),
    ] = 0,
) -> RunStatusResponse:
    """Follow a run this job's trigger started: its state, times and tasks, read with the job's token.

    With ``wait``, the answer comes as soon as the run has ended, or after ``wait`` seconds with
    the state it is in then; polling with ``wait=300`` follows a run of any length cheaply.
    """
    token = token_from_header(request.headers.get("authorization"))
    deadline = time.monotonic() + wait
    while True:
        run = await run_in_threadpool(_read_status, url_id, token, dag_run_id)
        remaining = deadline - time.monotonic()
        if run.final or remaining <= 0 or await request.is_disconnected():
            return RunStatusResponse(**dataclasses.asdict(run), final=run.final)
        await asyncio.sleep(min(_POLL_SECONDS, remaining))
