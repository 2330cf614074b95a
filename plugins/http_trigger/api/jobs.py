"""``/http-trigger/api/jobs``: manage jobs behind Airflow's own authentication and authorization.

Each job is one DAG, so access follows the auth manager's DAG permissions
(:mod:`http_trigger.jobs.access`), declared on each route (:mod:`http_trigger.api.deps`): reading a
job needs read access to its DAG, changing it or revealing its secrets needs edit access, copying
it needs read access and the right to create jobs. The package's errors become HTTP answers in the
app's one exception handler. Every answer shows a job through :func:`http_trigger.job_view.job_view`,
secrets masked. Every change and reveal is recorded in the job's audit (:mod:`http_trigger.jobs.audit`)
with who asked, from where and how.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, Body, Depends, Header, Query, status

from http_trigger import jobs_service
from http_trigger.api.audit_actor import AuditActorDep
from http_trigger.api.csrf import require_csrf_header
from http_trigger.api.datamodels import (
    JOB_BODY_EXAMPLES,
    BrokenJobResponse,
    DuplicateJobBody,
    FieldErrorResponse,
    JobCollectionResponse,
    JobEnabledBody,
    JobResponse,
    JobSecretsResponse,
    JobValidationResponse,
    SpecErrorResponse,
    SpecProblemResponse,
)
from http_trigger.api.deps import (
    LanguageDep,
    MayEditJobDep,
    requires_access_job,
    requires_access_to_create_jobs,
)
from http_trigger.api.errors import BODY_ERRORS, error_responses
from http_trigger.api.parameters import JobIdPath, OffsetQuery
from http_trigger.api.runs import run_response
from http_trigger.errors import JobBrokenError, JobSpecError
from http_trigger.job_view import job_view, reveal_secrets
from http_trigger.jobs.field_errors import LocatedJobBody, job_body_errors
from http_trigger.jobs.spec_names import dag_id_for
from http_trigger.jobs_service import JobDetails, JobOrder

jobs_router = APIRouter(prefix="/api/jobs", tags=["Jobs"], dependencies=[Depends(require_csrf_header)])
_NO_JOB = (404, "No such job")
_READ_ERRORS = (401, 403, _NO_JOB, (422, "A parameter is out of bounds, or the job's spec is invalid"), 503)
_WRITE_ERRORS = (*BODY_ERRORS, 401, 403, _NO_JOB, 503, 507)
_SORT_KEYS = "|".join(get_args(JobOrder))
# What a client can do next with the id of the job it created (OpenAPI links).
_JOB_LINKS = {
    operation: {"operationId": operation, "parameters": {"job_id": "$response.body#/id"}}
    for operation in (
        "get_job",
        "update_job",
        "delete_job",
        "duplicate_job",
        "rotate_job_secret",
        "reveal_job_secrets",
        "set_job_enabled",
        "list_job_runs",
        "run_job_now",
    )
}
JobBodyParam = Annotated[LocatedJobBody, Body(openapi_examples=JOB_BODY_EXAMPLES)]


def _response(details: JobDetails, *, may_edit: bool, issued: bool = False) -> JobResponse:
    return JobResponse(
        **job_view(details, may_edit=may_edit, issued=issued),
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


@jobs_router.get("", responses=error_responses(401, 403, 422, 503))
def list_jobs(
    user: GetUserDep,
    session: SessionDep,
    group: Annotated[str | None, Query(description="Only the jobs of this group.")] = None,
    search: Annotated[
        str | None, Query(description="Text in the id, name, group, description, action, account or tags.")
    ] = None,
    order_by: Annotated[
        str,
        Query(pattern=f"^-?({_SORT_KEYS})$", description="Sort key; - first for descending, e.g. -last_run."),
    ] = "id",
    limit: Annotated[int | None, Query(ge=1, le=1000, description="Page size; all jobs if omitted.")] = None,
    offset: OffsetQuery = 0,
) -> JobCollectionResponse:
    """List the jobs the user may read: filtered, sorted, a page at a time, with their last and next run."""
    descending = order_by.startswith("-")
    key = order_by.removeprefix("-")
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
        jobs=[_response(details, may_edit=details.job.dag_id in editable) for details in page.jobs],
        total_entries=page.total_entries,
        broken_jobs=[_broken_response(spec.job_id, spec.error) for spec in page.broken_jobs if spec.job_id],
        spec_errors=page.spec_errors,
        groups=page.groups,
    )


@jobs_router.post(
    "/validate",
    responses=error_responses(*BODY_ERRORS, 401, 403),
    # The body is read as it comes, to place each problem at its field; what it must be is a job body.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobBody"}}},
        }
    },
)
def validate_job(
    user: GetUserDep,
    language: LanguageDep,
    body: Annotated[Any, Body(openapi_examples=JOB_BODY_EXAMPLES)] = None,
) -> JobValidationResponse:
    """Check a job body without saving it, naming what to fix at each wrong field.

    A form asks at every step, so a body with problems is an answer, not an error: 200 with
    ``valid: false`` and the problems a create or an update of it answers in its 422's ``detail``,
    said in the language asked for (``Accept-Language``; English by default).
    """
    problems = [
        FieldErrorResponse(loc=["body", *error.loc], msg=error.msg, type=error.type)
        for error in job_body_errors(body, language)
    ]
    return JobValidationResponse(valid=not problems, problems=problems)


@jobs_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        status.HTTP_201_CREATED: {
            "description": "The new job, with the URL and token just issued in clear", "links": _JOB_LINKS
        },
        **error_responses(*_WRITE_ERRORS),
    },
    dependencies=[Depends(requires_access_to_create_jobs)],
)
def create_job(body: JobBodyParam, actor: AuditActorDep, session: SessionDep) -> JobResponse:
    """Create a job; it is triggerable as soon as Airflow has loaded it, in a few seconds."""
    details = jobs_service.create_job(session=session, body=body, actor=actor)
    return _response(details, may_edit=True, issued=True)


@jobs_router.post(
    "/{job_id:int}/duplicate",
    status_code=status.HTTP_201_CREATED,
    responses={
        status.HTTP_201_CREATED: {
            "description": "The copy, a new job with the URL and token just issued in clear",
            "links": _JOB_LINKS,
        },
        **error_responses(
            *BODY_ERRORS,
            401,
            (403, "Not allowed to read the job, or to create jobs"),
            _NO_JOB,
            (409, "The job's spec does not load"),
            (422, "The job id is out of bounds, or the name is invalid"),
            503,
            507,
        ),
    },
    dependencies=[Depends(requires_access_job("GET")), Depends(requires_access_to_create_jobs)],
)
def duplicate_job(
    job_id: JobIdPath,
    actor: AuditActorDep,
    session: SessionDep,
    body: Annotated[DuplicateJobBody | None, Body()] = None,
) -> JobResponse:
    """Create a new job with this job's definition and a new URL and token; the copy starts disabled."""
    body = body or DuplicateJobBody()
    details = jobs_service.duplicate_job(
        session=session, job_id=job_id, actor=actor, name=body.name, enabled=body.enabled
    )
    return _response(details, may_edit=True, issued=True)


@jobs_router.get(
    "/{job_id:int}",
    responses=error_responses(*_READ_ERRORS),
    dependencies=[Depends(requires_access_job("GET"))],
)
def get_job(job_id: JobIdPath, may_edit: MayEditJobDep, session: SessionDep) -> JobResponse | BrokenJobResponse:
    """Show one job, its secrets masked; a job whose spec does not load, with its problems."""
    try:
        details = jobs_service.get_job_details(session=session, job_id=job_id)
    except JobBrokenError as error:
        return _broken_response(job_id, error.spec_error)
    return _response(details, may_edit=may_edit)


@jobs_router.put(
    "/{job_id:int}",
    responses=error_responses(*_WRITE_ERRORS, (409, "Changed or deleted")),
    dependencies=[Depends(requires_access_job("PUT"))],
)
def update_job(
    job_id: JobIdPath,
    body: JobBodyParam,
    actor: AuditActorDep,
    session: SessionDep,
    if_match: Annotated[str | None, Header()] = None,
) -> JobResponse:
    """Replace a job's definition; send the version you read in ``If-Match`` to avoid lost updates.

    A secret sent back masked, as it was read, keeps its value.
    """
    details = jobs_service.update_job(
        session=session, job_id=job_id, body=body, actor=actor, expected_version=if_match
    )
    return _response(details, may_edit=True)


@jobs_router.delete(
    "/{job_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, _NO_JOB, 422, 503, 507),
    dependencies=[Depends(requires_access_job("DELETE"))],
)
def delete_job(job_id: JobIdPath, actor: AuditActorDep, session: SessionDep) -> None:
    """Delete a job; its URL and token stop working at once, its runs stay in Airflow."""
    jobs_service.delete_job(session=session, job_id=job_id, actor=actor)


@jobs_router.post(
    "/{job_id:int}/rotate",
    responses=error_responses(*_READ_ERRORS, (409, "Deleted")),
    dependencies=[Depends(requires_access_job("PUT"))],
)
def rotate_job_secret(job_id: JobIdPath, actor: AuditActorDep, session: SessionDep) -> JobResponse:
    """Replace the job's URL and token; the old ones answer 404 from now on."""
    details = jobs_service.rotate_secret(session=session, job_id=job_id, actor=actor)
    return _response(details, may_edit=True, issued=True)


@jobs_router.post(
    "/{job_id:int}/secrets/reveal",
    responses=error_responses(401, 403, _NO_JOB, (409, "The job's spec does not load"), 422, 503),
    dependencies=[Depends(requires_access_job("PUT"))],
)
def reveal_job_secrets(job_id: JobIdPath, actor: AuditActorDep, session: SessionDep) -> JobSecretsResponse:
    """Show a job's trigger URL, token and spec secrets in clear; the job's audit records who did."""
    details = jobs_service.get_job_details(session=session, job_id=job_id)
    revealed = reveal_secrets(session=session, details=details, actor=actor)
    return JobSecretsResponse.model_validate(revealed.as_json())


@jobs_router.patch(
    "/{job_id:int}/enabled",
    responses=error_responses(
        *BODY_ERRORS, 401, 403, _NO_JOB, (503, "Not loaded by Airflow yet, or the database is busy")
    ),
    dependencies=[Depends(requires_access_job("PUT"))],
)
def set_job_enabled(
    job_id: JobIdPath, body: JobEnabledBody, actor: AuditActorDep, session: SessionDep
) -> JobResponse:
    """Enable or disable a job (unpause or pause its DAG)."""
    details = jobs_service.set_enabled(session=session, job_id=job_id, enabled=body.enabled, actor=actor)
    return _response(details, may_edit=True)
