"""``/http-trigger/api/jobs/{job_id}/audit``: who changed a job, when, from where and how; as JSON or CSV.

The entries are Airflow's audit-log entries of the job's DAG (:mod:`http_trigger.jobs.audit`), so
reading them follows Airflow's permission for exactly that: the audit log of the job's DAG. A
deleted job keeps its audit, like its runs; an id that never named a job answers 404.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Annotated

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from http_trigger import jobs_service
from http_trigger.api.csrf import require_csrf_header
from http_trigger.api.datamodels import JobAuditCollectionResponse, JobAuditEntryResponse
from http_trigger.api.deps import requires_access_job
from http_trigger.api.errors import error_responses
from http_trigger.api.parameters import JobIdPath, OffsetQuery
from http_trigger.jobs import audit as job_audit
from http_trigger.jobs.audit import AuditEntry

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

audit_router = APIRouter(
    prefix="/api/jobs/{job_id:int}",
    tags=["Audit"],
    dependencies=[Depends(require_csrf_header), Depends(requires_access_job("GET", DagAccessEntity.AUDIT_LOG))],
)
_ERRORS = error_responses(401, 403, (404, "No such job"), 422, 503)
MAX_CSV_ENTRIES = 100_000


def _readable_entries(
    session: Session, job_id: int, *, limit: int, offset: int = 0
) -> tuple[list[AuditEntry], int]:
    """Return a page of the job's audit, after checking that the job exists."""
    if not jobs_service.job_known(session=session, job_id=job_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Job {job_id} does not exist")
    return job_audit.job_audit_entries(session=session, job_id=job_id, limit=limit, offset=offset)


@audit_router.get("/audit", responses=_ERRORS)
def list_job_audit(
    job_id: JobIdPath,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.")] = 50,
    offset: OffsetQuery = 0,
) -> JobAuditCollectionResponse:
    """List who changed the job, ran it now or revealed its secrets: when, from where and how, newest first."""
    entries, total = _readable_entries(session, job_id, limit=limit, offset=offset)
    return JobAuditCollectionResponse(
        entries=[JobAuditEntryResponse.model_validate(entry, from_attributes=True) for entry in entries],
        total_entries=total,
    )


@audit_router.get(
    "/audit.csv",
    # A plain Response: the 200 is documented as CSV below, the errors stay JSON.
    response_class=Response,
    responses={
        status.HTTP_200_OK: {
            "description": "The job's audit as CSV, newest first, with a header row",
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": {
                "Content-Disposition": {
                    "description": "attachment; filename=job-<id>-audit.csv",
                    "required": True,
                    "schema": {"type": "string"},
                }
            },
        },
        **_ERRORS,
    },
)
def export_job_audit(
    job_id: JobIdPath,
    session: SessionDep,
    limit: Annotated[
        int, Query(ge=1, le=MAX_CSV_ENTRIES, description="The most entries to export, the newest.")
    ] = MAX_CSV_ENTRIES,
) -> Response:
    """Download the job's audit as CSV, as ``http-trigger audit export --job`` writes it."""
    entries, _ = _readable_entries(session, job_id, limit=limit)
    out = io.StringIO()
    job_audit.write_csv(entries, out)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="job-{job_id}-audit.csv"'},
    )
