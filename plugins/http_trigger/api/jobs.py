"""``/http-trigger/api/jobs``: manage jobs behind Airflow's own authentication and authorization.

Each job is one DAG, so access follows the auth manager's DAG permissions: reading a job needs
read access to its DAG, seeing its token or changing it needs edit access.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, status

from http_trigger import jobs_service
from http_trigger.api.csrf import require_csrf_header
from http_trigger.api.datamodels import (
    BrokenJobResponse,
    JobCollectionResponse,
    JobEnabledBody,
    JobResponse,
    JobValidationResponse,
    SpecErrorResponse,
    SpecProblemResponse,
)
from http_trigger.api.errors import status_for
from http_trigger.api.runs import run_response
from http_trigger.errors import HttpTriggerError, JobBrokenError, JobSpecError
from http_trigger.field_errors import job_body_errors
from http_trigger.job_model import JobBody, dag_id_for
from http_trigger.jobs_service import JobDetails, JobOrder

jobs_router = APIRouter(prefix="/api/jobs", tags=["Jobs"], dependencies=[Depends(require_csrf_header)])
_ERROR_RESPONSES = {
    401: {"description": "Not authenticated"},
    403: {"description": "Not allowed"},
    404: {"description": "No such job"},
    503: {"description": "The metadata database is busy or unavailable; retry after Retry-After seconds"},
}
_WRITE_RESPONSES = {
    **_ERROR_RESPONSES,
    507: {"description": "The jobs folder refused the write (full or read-only); nothing was changed"},
}


def _allowed(user, method: str, dag_id: str | None) -> bool:
    details = DagDetails(id=dag_id) if dag_id else None
    return get_auth_manager().is_authorized_dag(method=method, details=details, user=user)


def _require(user, method: str, dag_id: str | None = None) -> None:
    if not _allowed(user, method, dag_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "You are not allowed to do this")


def _http_error(error: HttpTriggerError) -> HTTPException:
    return HTTPException(status_for(error), str(error))


def _response(details: JobDetails, *, with_secret: bool) -> JobResponse:
    secret_fields = (
        {"trigger_url": details.trigger_url, "token": details.secret.token, "curl": details.curl}
        if with_secret and details.secret
        else {"trigger_url": details.trigger_url, "token": None, "curl": None}
    )
    return JobResponse(
        **details.job.model_dump(),
        dag_id=details.job.dag_id,
        version=details.stored.version,
        is_paused=details.is_paused,
        **secret_fields,
        last_run=run_response(details.last_run) if details.last_run else None,
        next_run_after=details.next_run_after,
    )


def _broken_response(job_id: int, error: JobSpecError) -> BrokenJobResponse:
    return BrokenJobResponse(
        id=job_id,
        dag_id=dag_id_for(job_id),
        spec_error=SpecErrorResponse(
            file=error.source,
            message=str(error),
            problems=[SpecProblemResponse(field=field, reason=reason) for field, reason in error.problems],
        ),
    )


@jobs_router.get("", responses=_ERROR_RESPONSES)
def list_jobs(
    user: GetUserDep,
    session: SessionDep,
    group: Annotated[str | None, Query(description="Only the jobs of this group.")] = None,
    search: Annotated[
        str | None, Query(description="Text in the id, name, group, description, action, account or tags.")
    ] = None,
    order_by: Annotated[
        str, Query(description="Sort key; prefix with - for descending, e.g. -last_run.")
    ] = "id",
    limit: Annotated[int | None, Query(ge=1, le=1000, description="Page size; all jobs if omitted.")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JobCollectionResponse:
    """List the jobs the user may read: filtered, sorted, a page at a time, with their last and next run."""
    descending = order_by.startswith("-")
    key = order_by.removeprefix("-")
    if key not in get_args(JobOrder):
        known = ", ".join(get_args(JobOrder))
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"Cannot sort by {key!r}; use one of {known}"
        )
    auth_manager = get_auth_manager()
    page = jobs_service.find_jobs(
        session=session,
        readable=lambda dag_ids: auth_manager.filter_authorized_dag_ids(
            dag_ids=dag_ids, user=user, method="GET"
        ),
        group=group,
        search=search,
        order_by=key,  # type: ignore[arg-type]
        descending=descending,
        limit=limit,
        offset=offset,
    )
    editable = auth_manager.filter_authorized_dag_ids(
        dag_ids={details.job.dag_id for details in page.jobs}, user=user, method="PUT"
    )
    return JobCollectionResponse(
        jobs=[_response(details, with_secret=details.job.dag_id in editable) for details in page.jobs],
        total_entries=page.total_entries,
        broken_jobs=[_broken_response(spec.job_id, spec.error) for spec in page.broken_jobs if spec.job_id],
        spec_errors=page.spec_errors,
        groups=page.groups,
    )


@jobs_router.post(
    "/validate",
    responses={401: {"description": "Not authenticated"}, 422: {"description": "The errors, field by field"}},
)
def validate_job(user: GetUserDep, body: Annotated[Any, Body()] = None) -> JobValidationResponse:
    """Check a job body without saving it; a 422 names each wrong field, as forms need.

    The detail has FastAPI's shape (``loc``, ``msg``, ``type``), with each action or
    post-processing parameter at its own ``loc`` rather than one message on ``action``.
    """
    errors = job_body_errors(body)
    if errors:
        detail = [{"loc": ["body", *error.loc], "msg": error.msg, "type": error.type} for error in errors]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)
    return JobValidationResponse()


@jobs_router.post("", status_code=status.HTTP_201_CREATED, responses=_WRITE_RESPONSES)
def create_job(body: JobBody, user: GetUserDep, session: SessionDep) -> JobResponse:
    """Create a job; it is triggerable as soon as Airflow has loaded it, in a few seconds."""
    _require(user, "POST")
    try:
        details = jobs_service.create_job(session=session, body=body)
    except HttpTriggerError as error:
        raise _http_error(error) from error
    return _response(details, with_secret=True)


@jobs_router.get("/{job_id}", responses=_ERROR_RESPONSES)
def get_job(job_id: int, user: GetUserDep, session: SessionDep) -> JobResponse | BrokenJobResponse:
    """Show one job, the token only to editors; a job whose spec does not load, with its problems."""
    _require(user, "GET", dag_id_for(job_id))
    try:
        details = jobs_service.get_job_details(session=session, job_id=job_id)
    except JobBrokenError as error:
        return _broken_response(job_id, error.spec_error)
    except HttpTriggerError as error:
        raise _http_error(error) from error
    return _response(details, with_secret=_allowed(user, "PUT", details.job.dag_id))


@jobs_router.put("/{job_id}", responses={**_WRITE_RESPONSES, 409: {"description": "Changed meanwhile"}})
def update_job(
    job_id: int,
    body: JobBody,
    user: GetUserDep,
    session: SessionDep,
    if_match: Annotated[str | None, Header()] = None,
) -> JobResponse:
    """Replace a job's definition; send the version you read in ``If-Match`` to avoid lost updates."""
    _require(user, "PUT", dag_id_for(job_id))
    try:
        details = jobs_service.update_job(
            session=session, job_id=job_id, body=body, expected_version=if_match
        )
    except HttpTriggerError as error:
        raise _http_error(error) from error
    return _response(details, with_secret=True)


@jobs_router.delete("/{job_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_WRITE_RESPONSES)
def delete_job(job_id: int, user: GetUserDep, session: SessionDep) -> None:
    """Delete a job; its URL and token stop working at once, its runs stay in Airflow."""
    _require(user, "DELETE", dag_id_for(job_id))
    try:
        jobs_service.delete_job(session=session, job_id=job_id)
    except HttpTriggerError as error:
        raise _http_error(error) from error


@jobs_router.post("/{job_id}/rotate", responses=_ERROR_RESPONSES)
def rotate_job_secret(job_id: int, user: GetUserDep, session: SessionDep) -> JobResponse:
    """Replace the job's URL and token; the old ones answer 404 from now on."""
    _require(user, "PUT", dag_id_for(job_id))
    try:
        details = jobs_service.rotate_secret(session=session, job_id=job_id)
    except HttpTriggerError as error:
        raise _http_error(error) from error
    return _response(details, with_secret=True)


@jobs_router.patch(
    "/{job_id}/enabled",
    responses={**_ERROR_RESPONSES, 503: {"description": "Not loaded by Airflow yet, or the database is busy"}},
)
def set_job_enabled(job_id: int, body: JobEnabledBody, user: GetUserDep, session: SessionDep) -> JobResponse:
    """Enable or disable a job (unpause or pause its DAG)."""
    _require(user, "PUT", dag_id_for(job_id))
    try:
        details = jobs_service.set_enabled(session=session, job_id=job_id, enabled=body.enabled)
    except HttpTriggerError as error:
        raise _http_error(error) from error
    return _response(details, with_secret=True)
