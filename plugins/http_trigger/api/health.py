"""``GET /http-trigger/health``: can a trigger start a run right now?"""

from __future__ import annotations

from typing import Any

from airflow.api.common.airflow_health import HEALTHY, get_airflow_health
from airflow.utils.session import create_session
from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from http_trigger import jobs_service, settings
from http_trigger.api.datamodels import HealthResponse
from http_trigger.jobs.files import BrokenSpec, load_jobs

health_router = APIRouter(tags=["Health"])
_REQUIRED_COMPONENTS = ("metadatabase", "scheduler", "dag_processor")
DEGRADED = "degraded"
UNHEALTHY = "unhealthy"


def _broken_specs() -> list[BrokenSpec]:
    """Return the spec files that give no job able to run, as the job list shows them.

    Telling whether Airflow has a job's DAG needs the database; while it does not answer (the
    health says so), the files' own problems are still reported.
    """
    try:
        with create_session(scoped=False) as session:
            return jobs_service.broken_specs(session=session)
    except SQLAlchemyError:
        return load_jobs(settings.jobs_folder())[1]


def _jobs_health() -> dict[str, Any]:
    """Report the spec files that give no runnable job, by name only: this route answers without a login.

    Broken specs stop only their own jobs, so they degrade the service; they never take it down.
    """
    try:
        broken = _broken_specs()
    except OSError as error:
        return {"status": DEGRADED, "error": f"the jobs folder cannot be read: {error.strerror}"}
    if not broken:
        return {"status": HEALTHY}
    return {"status": DEGRADED, "broken_spec_files": [spec.path.name for spec in broken]}


@health_router.get(
    "/health",
    response_model=None,
    responses={
        200: {"description": "Every required component is healthy", "model": HealthResponse},
        503: {"description": "A required component is unhealthy", "model": HealthResponse},
    },
)
def get_health() -> JSONResponse:
    """Report the metadata DB, scheduler and DAG processor (503 unless all are healthy) and the job specs."""
    health: dict[str, Any] = {**get_airflow_health(), "jobs": _jobs_health()}
    healthy = all(health.get(name, {}).get("status") == HEALTHY for name in _REQUIRED_COMPONENTS)
    overall = health["jobs"]["status"] if healthy else UNHEALTHY
    body = {"status": overall, **health}
    return JSONResponse(body, status_code=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE)
