"""``GET /http-trigger/health``: can a trigger start a run right now?"""

from __future__ import annotations

from typing import Any

from airflow.api.common.airflow_health import HEALTHY, get_airflow_health
from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

health_router = APIRouter(tags=["Health"])
_REQUIRED_COMPONENTS = ("metadatabase", "scheduler", "dag_processor")


@health_router.get("/health", responses={503: {"description": "A required component is unhealthy"}})
def get_health() -> JSONResponse:
    """Report the metadata DB, scheduler and DAG processor; 503 unless all three are healthy."""
    health: dict[str, Any] = get_airflow_health()
    healthy = all(health.get(name, {}).get("status") == HEALTHY for name in _REQUIRED_COMPONENTS)
    body = {"status": HEALTHY if healthy else "unhealthy", **health}
    return JSONResponse(body, status_code=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE)
