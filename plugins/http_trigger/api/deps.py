"""The JSON API's access checks, declared on routes as Airflow's own routes declare ``requires_access_dag``.

Each check runs before its route, with the job id of the path, and answers 403 when the auth
manager says no (:mod:`http_trigger.jobs.access` says what each permission means for a job).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends, Header, HTTPException, status

from http_trigger.api.parameters import JobIdPath
from http_trigger.jobs.access import may_access_job, may_create_jobs, may_edit_definitions, may_read_definitions
from http_trigger.translations import accepted_language

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.base_auth_manager import ResourceMethod
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity

FORBIDDEN_MESSAGE = "You are not allowed to do this"


def _refuse_unless(allowed: bool) -> None:
    if not allowed:
        raise HTTPException(status.HTTP_403_FORBIDDEN, FORBIDDEN_MESSAGE)


def requires_access_job(
    method: ResourceMethod, access_entity: DagAccessEntity | None = None
) -> Callable[[int, GetUserDep], None]:
    """Return a dependency refusing whoever may not ``method`` the path's job (or its ``access_entity``)."""

    def inner(job_id: JobIdPath, user: GetUserDep) -> None:
        _refuse_unless(may_access_job(user, method, job_id, access_entity))

    return inner


def requires_access_to_create_jobs(user: GetUserDep) -> None:
    """Refuse whoever may not create jobs."""
    _refuse_unless(may_create_jobs(user))


def _may_edit_job(job_id: JobIdPath, user: GetUserDep) -> bool:
    return may_access_job(user, "PUT", job_id)


MayEditJobDep = Annotated[bool, Depends(_may_edit_job)]
"""Whether the user may edit the path's job: a reader sees its secrets masked, and no edit controls."""


def requires_access_to_read_definitions(user: GetUserDep) -> None:
    """Refuse whoever may not read the shared post-processing definitions."""
    _refuse_unless(may_read_definitions(user))


def requires_access_to_edit_definitions(user: GetUserDep) -> None:
    """Refuse whoever may not create, change or delete shared post-processing definitions."""
    _refuse_unless(may_edit_definitions(user))


def _may_edit_definitions(user: GetUserDep) -> bool:
    return may_edit_definitions(user)


MayEditDefinitionsDep = Annotated[bool, Depends(_may_edit_definitions)]
"""Whether the user may change definitions: a reader sees no edit controls."""


def _language(
    accept_language: Annotated[
        str | None,
        Header(description="The language of the texts of the answer: `ja` for Japanese; English by default."),
    ] = None,
) -> str:
    return accepted_language(accept_language)


LanguageDep = Annotated[str, Depends(_language)]
"""The language the caller asks for: the pages send theirs; a caller that asks for none gets English."""
