"""Turn errors into JSON HTTP answers, in one place: the package's domain errors and database trouble.

Database trouble (a server restarting, a dropped connection, a connection pool with none free,
SQLite's lock) passes by itself, so it answers 503 with ``Retry-After`` wherever it happens, never
a bare 500: the trigger route asks :func:`database_unavailable` itself, because it must record the
call whatever happens; every other route gets the answer from the handler :func:`install_error_handlers`
puts on the app. Logs name the error's kind, never its statement's parameters, which may hold a URL id.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
    TimeoutError as PoolTimeoutError,
)

from http_trigger import settings
from http_trigger.errors import (
    HttpTriggerError,
    JobBrokenError,
    JobConflictError,
    JobNotFoundError,
    JobNotReadyError,
    JobPausedError,
    JobSpecError,
    JobStorageError,
)

log = logging.getLogger(__name__)

DATABASE_UNAVAILABLE_MESSAGE = "The metadata database is busy or unavailable; nothing was changed, try again shortly"

_STATUS_BY_ERROR: tuple[tuple[type[HttpTriggerError], int], ...] = (
    (JobNotFoundError, status.HTTP_404_NOT_FOUND),
    (JobPausedError, status.HTTP_409_CONFLICT),
    (JobBrokenError, status.HTTP_409_CONFLICT),
    (JobConflictError, status.HTTP_409_CONFLICT),
    (JobSpecError, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (JobNotReadyError, status.HTTP_503_SERVICE_UNAVAILABLE),
    (JobStorageError, status.HTTP_507_INSUFFICIENT_STORAGE),
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


def database_unavailable(error: BaseException) -> bool:
    """Tell whether ``error`` means the metadata database cannot answer now, rather than a bug.

    ``OperationalError`` covers a lost server, lock and statement timeouts, deadlocks and
    serialization failures; the pool's ``TimeoutError`` (no free connection) and a connection
    invalidated under any other driver error are the same trouble under other names.
    """
    if isinstance(error, (OperationalError, InterfaceError, PoolTimeoutError, DisconnectionError)):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def describe_database_error(error: BaseException) -> str:
    """Name a database error for a log line: its kind and the driver's first line, no SQL, no parameters."""
    cause = getattr(error, "orig", None) or error
    first_line = next(iter(str(cause).strip().splitlines()), "")
    return f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__


def install_error_handlers(app: FastAPI) -> None:
    """Make every route of ``app`` answer database trouble with 503 and ``Retry-After``."""
    app.add_exception_handler(SQLAlchemyError, _database_error)


def _database_error(request: Request, error: Exception) -> JSONResponse:
    if not database_unavailable(error):
        raise error
    route = getattr(request.scope.get("route"), "path", "?")  # the template: a trigger path holds a secret
    log.warning("%s %s answered 503: %s", request.method, route, describe_database_error(error))
    return json_error(status.HTTP_503_SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE_MESSAGE)
