"""Turn errors into JSON HTTP answers, in one place, and document those answers for OpenAPI.

Every answer of the app is JSON. The plugin's own errors carry ``{"message": …}``: the trigger's
answers, a refused body (:mod:`http_trigger.api.bodies`), a request that fails validation (with
``detail`` placing each problem at its field, as the forms need), an unknown route or method,
database trouble, an unexpected fault. An ``HTTPException`` raised by a route or by Airflow's own
dependencies (authentication) keeps FastAPI's and Airflow's shape, ``{"detail": …}``.

Database trouble (a server restarting, a dropped connection, a connection pool with none free,
SQLite's lock) passes by itself, so it answers 503 with ``Retry-After`` wherever it happens, never
a bare 500: the trigger route asks :func:`database_unavailable` itself, because it must record the
call whatever happens; every other route gets the answer from :func:`answer_error`, the one handler
:func:`install_error_handlers` puts on the app. Every 503 says when to retry. Logs name the error's
kind, never its statement's parameters, which may hold a URL id.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.api_fastapi.core_api.openapi.exceptions import HTTPExceptionResponse
from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import (
    TimeoutError as PoolTimeoutError,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from http_trigger import settings
from http_trigger.api.datamodels import DefinitionInUseResponse, ErrorResponse, ValidationErrorResponse
from http_trigger.errors import (
    DefinitionConflictError,
    DefinitionInUseError,
    DefinitionNotFoundError,
    HttpTriggerError,
    IdempotencyKeyReusedError,
    InvalidIdempotencyKeyError,
    InvalidParametersError,
    JobBrokenError,
    JobConflictError,
    JobNotFoundError,
    JobNotReadyError,
    JobPausedError,
    JobSpecError,
    JobStorageError,
    ParametersNotAcceptedError,
    ParametersRequiredError,
    RateLimitedError,
    RunNotFoundError,
    SignatureError,
    UnknownTriggerError,
)
from http_trigger.jobs.field_errors import SAID_IN
from http_trigger.translations import accepted_language

log = logging.getLogger(__name__)

JSON_API_PREFIX = "/api/"
"""Where the JSON API's routes are, within the plugin's app."""
DATABASE_UNAVAILABLE_MESSAGE = "The metadata database is busy or unavailable; nothing was changed, try again shortly"
UNEXPECTED_MESSAGE = "Unexpected server error; the API server's log tells more"
_SUMMED_UP_PROBLEMS = 10

_STATUS_BY_ERROR: tuple[tuple[type[HttpTriggerError], int], ...] = (
    (JobNotFoundError, status.HTTP_404_NOT_FOUND),
    (UnknownTriggerError, status.HTTP_404_NOT_FOUND),
    (RunNotFoundError, status.HTTP_404_NOT_FOUND),
    (DefinitionNotFoundError, status.HTTP_404_NOT_FOUND),
    (DefinitionConflictError, status.HTTP_409_CONFLICT),
    (RateLimitedError, status.HTTP_429_TOO_MANY_REQUESTS),
    (SignatureError, status.HTTP_403_FORBIDDEN),
    (ParametersNotAcceptedError, status.HTTP_400_BAD_REQUEST),
    (InvalidIdempotencyKeyError, status.HTTP_400_BAD_REQUEST),
    (IdempotencyKeyReusedError, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (ParametersRequiredError, status.HTTP_409_CONFLICT),  # before its base: a conflict, not a 422
    (InvalidParametersError, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (JobPausedError, status.HTTP_409_CONFLICT),
    (JobBrokenError, status.HTTP_409_CONFLICT),
    (JobConflictError, status.HTTP_409_CONFLICT),
    (JobSpecError, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (JobNotReadyError, status.HTTP_503_SERVICE_UNAVAILABLE),
    (JobStorageError, status.HTTP_507_INSUFFICIENT_STORAGE),
)


def json_error(status_code: int, message: str, *, retry_after: int | None = None) -> JSONResponse:
    """Answer ``{"message": ...}``; a 429 and a 503 always say when to retry."""
    headers = {}
    if retry_after is None and status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        retry_after = settings.retry_after_seconds()
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse({"message": message}, status_code=status_code, headers=headers)


def error_answer(error: HttpTriggerError) -> JSONResponse:
    """Answer one of the package's errors with its status, its message and, when it has one, its delay."""
    return json_error(status_for(error), str(error), retry_after=getattr(error, "retry_after", None))


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


# What each error status means on the JSON API, and the shapes its body takes there.
_ANSWERS: dict[int, tuple[str, Any]] = {
    status.HTTP_400_BAD_REQUEST: (
        "The body is not JSON text, is nested too deep or holds too long a number",
        ErrorResponse | HTTPExceptionResponse,
    ),
    status.HTTP_401_UNAUTHORIZED: ("Not authenticated", HTTPExceptionResponse),
    status.HTTP_403_FORBIDDEN: ("Not allowed", HTTPExceptionResponse),
    status.HTTP_404_NOT_FOUND: ("Not found", HTTPExceptionResponse | ErrorResponse),
    status.HTTP_408_REQUEST_TIMEOUT: ("The body did not arrive in time", ErrorResponse),
    status.HTTP_409_CONFLICT: ("Conflict", HTTPExceptionResponse),
    status.HTTP_413_CONTENT_TOO_LARGE: (
        "The body is larger than [http_trigger] max_body_bytes", ErrorResponse
    ),
    status.HTTP_422_UNPROCESSABLE_CONTENT: (
        "The request is invalid; detail names each problem at its field",
        ValidationErrorResponse | HTTPExceptionResponse,
    ),
    status.HTTP_503_SERVICE_UNAVAILABLE: (
        "The metadata database is busy or unavailable; retry after Retry-After seconds",
        ErrorResponse | HTTPExceptionResponse,
    ),
    status.HTTP_507_INSUFFICIENT_STORAGE: (
        "The jobs folder refused the write (full or read-only); nothing was changed", HTTPExceptionResponse
    ),
}
BODY_ERRORS = (
    status.HTTP_400_BAD_REQUEST,
    status.HTTP_408_REQUEST_TIMEOUT,
    status.HTTP_413_CONTENT_TOO_LARGE,
    status.HTTP_422_UNPROCESSABLE_CONTENT,
)
_RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer"},
    }
}


def error_responses(
    *answers: int | tuple[int, str] | tuple[int, str, Any], model: Any = None
) -> dict[int, dict[str, Any]]:
    """Document a route's error answers for OpenAPI, as ``responses=`` takes them.

    Each answer is a status, or a ``(status, description)`` pair where the route says it better,
    as with Airflow's ``create_openapi_http_exception_doc``, or a ``(status, description, model)``
    triple where one status has a shape of its own; the body's shape comes from the table above,
    unless ``model`` gives it for every other status (the trigger answers only ``message``).
    """
    documented: dict[int, dict[str, Any]] = {}
    for answer in answers:
        status_code, description, *own_model = answer if isinstance(answer, tuple) else (answer, _ANSWERS[answer][0])
        shape = own_model[0] if own_model else model or _ANSWERS[status_code][1]
        response: dict[str, Any] = {"description": description, "model": shape}
        if status_code in (status.HTTP_429_TOO_MANY_REQUESTS, status.HTTP_503_SERVICE_UNAVAILABLE):
            response["headers"] = _RETRY_AFTER_HEADER
        documented[status_code] = response
    return dict(sorted(documented.items()))


def install_error_handlers(app: FastAPI) -> None:
    """Make every error of ``app`` answer JSON, through :func:`answer_error`."""
    for error_type in (StarletteHTTPException, RequestValidationError, HttpTriggerError, SQLAlchemyError, Exception):
        app.add_exception_handler(error_type, answer_error)


def answer_error(request: Request, error: Exception) -> JSONResponse:
    """Answer ``error`` with JSON: the one exception handler of the app."""
    language = accepted_language(request.headers.get("accept-language"))
    if isinstance(error, RequestValidationError):
        return _invalid_request(error, language)
    on_json_api = _route_path(request).startswith(JSON_API_PREFIX)
    if isinstance(error, InvalidParametersError) and error.problems and on_json_api:
        return _invalid_parameters(error, language)
    if isinstance(error, DefinitionInUseError):
        return _definition_in_use(error)
    if isinstance(error, HttpTriggerError) and on_json_api:
        # The JSON API answers as Airflow's own API does, ``{"detail": ...}``, the trigger as callers expect.
        retry_after = getattr(error, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        error = HTTPException(status_for(error), str(error), headers=headers)
    if isinstance(error, HTTPException):  # a route's answer, or Airflow's authentication
        headers = dict(error.headers or {})
        if error.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
            headers.setdefault("Retry-After", str(settings.retry_after_seconds()))
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=headers)
    if isinstance(error, StarletteHTTPException):  # Starlette's routing: no route, or not this method
        return _no_route(request, error)
    if isinstance(error, HttpTriggerError):  # the package's own errors carry their status and message
        return error_answer(error)
    route = _route_path(request)
    if database_unavailable(error):
        log.warning("%s %s answered 503: %s", request.method, route, describe_database_error(error))
        return json_error(status.HTTP_503_SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE_MESSAGE)
    if isinstance(error, SQLAlchemyError):
        # Starlette re-raises (and so logs) only what reaches its last handler, which this is not.
        log.error("%s %s answered 500: %s", request.method, route, describe_database_error(error))
    return json_error(status.HTTP_500_INTERNAL_SERVER_ERROR, UNEXPECTED_MESSAGE)


def _route_path(request: Request) -> str:
    """Return the template of the request's route, never its path: a trigger path holds a secret."""
    return getattr(request.scope.get("route"), "path", "?")


def _invalid_request(error: RequestValidationError, language: str) -> JSONResponse:
    """Answer 422 naming each problem once, without echoing the input (it may be large, or a secret).

    A path parameter that the route and its access checks both take is validated by each of them:
    FastAPI reports its problem once per taker. A job body's problem is in ``detail`` in the language
    asked for, as the validate answers are (:data:`~http_trigger.jobs.field_errors.SAID_IN`); the
    message is the API's, in English.
    """
    found = dict.fromkeys(
        (tuple(item["loc"]), item["msg"].removeprefix("Value error, "), item["type"], _said(item, language))
        for item in error.errors()
    )
    problems = [{"loc": list(loc), "msg": said, "type": kind} for loc, _, kind, said in found]
    summed_up = "; ".join(
        f"{'.'.join(str(part) for part in loc)}: {msg}"
        for loc, msg, _, _ in list(found)[:_SUMMED_UP_PROBLEMS]
    )
    if len(problems) > _SUMMED_UP_PROBLEMS:
        summed_up += f"; and {len(problems) - _SUMMED_UP_PROBLEMS} more"
    return JSONResponse(
        {"message": f"The request is invalid: {summed_up}", "detail": problems},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def _said(item: Any, language: str) -> str:
    """Return a problem's message in ``language`` where it keeps one, else pydantic's."""
    said_in = (item.get("ctx") or {}).get(SAID_IN) or {}
    return said_in.get(language) or item["msg"].removeprefix("Value error, ")


def _invalid_parameters(error: InvalidParametersError, language: str) -> JSONResponse:
    """Answer 422 placing each problem of a run's parameters at its field of the body, as a refused request.

    The message is the API's, in English; each problem is in the language the caller asks for, as
    the validate answers are, for the form that shows it at its field.
    """
    problems = [
        {"loc": ["body", *_field_path(field)], "msg": reason, "type": "value_error"}
        for field, reason in error.problems_in(language)
    ]
    return JSONResponse(
        {"message": f"The parameters are invalid: {error}", "detail": problems},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def _definition_in_use(error: DefinitionInUseError) -> JSONResponse:
    """Answer 409 naming the jobs that use the definition, in the message and as data for clients."""
    body = DefinitionInUseResponse(
        message=str(error), detail=str(error), jobs=[{"id": job_id, "name": name} for job_id, name in error.jobs]
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status.HTTP_409_CONFLICT)


def _field_path(field: str) -> list[str]:
    """Split a problem's ``field.path``; a problem of the whole object (``(spec)``) sits at the body."""
    return [] if field == "(spec)" else field.split(".")


def _no_route(request: Request, error: StarletteHTTPException) -> JSONResponse:
    path = request.url.path
    if error.status_code != status.HTTP_405_METHOD_NOT_ALLOWED:
        return JSONResponse({"message": f"No route matches {path}"}, status_code=error.status_code)
    # Starlette's Allow names the first route of the path only; a path can have one per method.
    allowed = ", ".join(
        sorted(
            method
            for route in request.app.router.routes
            if route.matches(request.scope)[0] is not Match.NONE
            for method in getattr(route, "methods", None) or ()
        )
    )
    return JSONResponse(
        {"message": f"{request.method} is not allowed on {path}; allowed: {allowed}"},
        status_code=error.status_code,
        headers={"Allow": allowed},
    )
