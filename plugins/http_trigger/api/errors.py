"""Turn the package's domain errors into JSON HTTP answers, in one place."""

from __future__ import annotations

from fastapi import status
from fastapi.responses import JSONResponse

from http_trigger import settings
from http_trigger.errors import (
    HttpTriggerError,
    JobBrokenError,
    JobConflictError,
    JobNotFoundError,
    JobNotReadyError,
    JobPausedError,
    JobSpecError,
)

_STATUS_BY_ERROR: tuple[tuple[type[HttpTriggerError], int], ...] = (
    (JobNotFoundError, status.HTTP_404_NOT_FOUND),
    (JobPausedError, status.HTTP_409_CONFLICT),
    (JobBrokenError, status.HTTP_409_CONFLICT),
    (JobConflictError, status.HTTP_409_CONFLICT),
    (JobSpecError, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (JobNotReadyError, status.HTTP_503_SERVICE_UNAVAILABLE),
)


def json_error(status_code: int, message: str) -> JSONResponse:
    """Answer ``{"message": ...}``; a 503 always says when to retry."""
    headers = {}
    if status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        headers["Retry-After"] = str(settings.retry_after_seconds())
    return JSONResponse({"message": message}, status_code=status_code, headers=headers)


def status_for(error: HttpTriggerError) -> int:
    """Return the HTTP status of a domain error (500 for one with no mapping)."""
    for error_type, status_code in _STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status_code
    return status.HTTP_500_INTERNAL_SERVER_ERROR
