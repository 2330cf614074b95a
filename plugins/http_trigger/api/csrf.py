"""Refuse cross-site requests that change state with the browser's login cookie (CSRF).

The API accepts Airflow's JWT two ways: an ``Authorization: Bearer`` header (scripts, the CLI's
peers) or the ``_token`` cookie the browser sends with every request to the Airflow host (the
pages). Another site cannot set the ``Authorization`` header, but it can make the browser send the
cookie. So a request that changes something and carries no bearer token must also carry
:data:`CSRF_HEADER`: a custom header, which a browser sends cross-site only after a CORS
preflight that Airflow does not grant. The ``_token`` cookie is also ``SameSite=Lax``; this check
does not depend on that.
"""

from __future__ import annotations

from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from fastapi import HTTPException, Request, status

CSRF_HEADER = "X-Requested-With"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_MESSAGE = (
    f"Requests that change data with the login cookie must send the {CSRF_HEADER} header "
    "(the pages do), or authenticate with an Authorization: Bearer token"
)


def _has_bearer_token(request: Request) -> bool:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(credentials.strip())


def require_csrf_header(request: Request) -> None:
    """Answer 403 to a state-changing request authenticated only by the cookie and missing the header."""
    if request.method in SAFE_METHODS or _has_bearer_token(request):
        return
    if COOKIE_NAME_JWT_TOKEN not in request.cookies:
        return  # no credential at all: authentication answers 401
    if not request.headers.get(CSRF_HEADER, "").strip():
        raise HTTPException(status.HTTP_403_FORBIDDEN, CSRF_MESSAGE)
