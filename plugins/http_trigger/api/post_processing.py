"""``/http-trigger/api/post-processing``: the shared post-processing definitions that jobs reference.

A definition is part of every job using it, whatever their groups, so changing one needs the right
to create jobs; reading one, the right to read, create or edit some job (a user of one group reads
what their job form may reference), and the jobs using each are listed only as far as the reader
may read them (:mod:`http_trigger.jobs.access`). Secrets read masked for everyone, as a job's step
secrets do; each write is audited with who asked, from where and how
(:mod:`http_trigger.definitions_service`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter, Body, Depends, Header, status

from http_trigger import definitions_service
from http_trigger.api.audit_actor import AuditActorDep
from http_trigger.api.csrf import require_csrf_header
from http_trigger.api.datamodels import (
    DefinitionInUseResponse,
    PostProcessingDefinitionCollectionResponse,
    PostProcessingDefinitionResponse,
    SpecErrorResponse,
    SpecProblemResponse,
)
from http_trigger.api.deps import (
    MayEditDefinitionsDep,
    requires_access_to_edit_definitions,
    requires_access_to_read_definitions,
)
from http_trigger.api.errors import BODY_ERRORS, error_responses
from http_trigger.api.parameters import DefinitionNamePath
from http_trigger.definitions_service import DefinitionDetails
from http_trigger.jobs.model import PostProcessingDefinition, PostProcessingSpec, dag_id_for

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

post_processing_router = APIRouter(
    prefix="/api/post-processing", tags=["Post-processing"], dependencies=[Depends(require_csrf_header)]
)
_NO_DEFINITION = (404, "No such post-processing definition")
_WRITE_ERRORS = (*BODY_ERRORS, 401, 403, 503, 507)
_DEFINITION_LINKS = {
    operation: {"operationId": operation, "parameters": {"name": "$response.body#/name"}}
    for operation in ("get_post_processing_definition", "update_post_processing_definition", "delete_post_processing_definition")
}
_EXAMPLES = {
    "team_webhook": {
        "summary": "The team's webhook",
        "value": {"name": "team-hook", "type": "webhook", "parameters": {"url": "https://hooks.example.com/ops"}},
    }
}


def _response(details: DefinitionDetails, *, may_edit: bool, user: BaseUser) -> PostProcessingDefinitionResponse:
    readable = get_auth_manager().filter_authorized_dag_ids(
        dag_ids={job.dag_id for job in details.used_by}, user=user, method="GET"
    )
    readable_ids = {job.id for job in details.used_by if dag_id_for(job.id) in readable}
    return PostProcessingDefinitionResponse.model_validate(
        definitions_service.definition_view(details, may_edit=may_edit, readable_job_ids=readable_ids)
    )


@post_processing_router.get(
    "", responses=error_responses(401, 403, 503), dependencies=[Depends(requires_access_to_read_definitions)]
)
def list_post_processing_definitions(
    user: GetUserDep, may_edit: MayEditDefinitionsDep
) -> PostProcessingDefinitionCollectionResponse:
    """List every post-processing definition, its secrets masked, and each definition file that does not load."""
    loaded, broken = definitions_service.list_definitions()
    return PostProcessingDefinitionCollectionResponse(
        definitions=[_response(details, may_edit=may_edit, user=user) for details in loaded],
        spec_errors=[
            SpecErrorResponse(
                file=spec.error.source,
                message=str(spec.error),
                problems=[SpecProblemResponse(field=field, reason=reason) for field, reason in spec.error.problems],
            )
            for spec in broken
        ],
    )


@post_processing_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        status.HTTP_201_CREATED: {"description": "The new definition", "links": _DEFINITION_LINKS},
        **error_responses(*_WRITE_ERRORS, (409, "A definition of that name exists")),
    },
    dependencies=[Depends(requires_access_to_edit_definitions)],
)
def create_post_processing_definition(
    body: Annotated[PostProcessingDefinition, Body(openapi_examples=_EXAMPLES)],
    user: GetUserDep,
    actor: AuditActorDep,
    session: SessionDep,
) -> PostProcessingDefinitionResponse:
    """Create a post-processing definition that jobs can reference as ``{"ref": <name>}``."""
    details = definitions_service.create_definition(session=session, body=body, actor=actor)
    return _response(details, may_edit=True, user=user)


@post_processing_router.get(
    "/{name}",
    responses=error_responses(
        401, 403, _NO_DEFINITION, (422, "The name is invalid, or the definition's file does not load"), 503
    ),
    dependencies=[Depends(requires_access_to_read_definitions)],
)
def get_post_processing_definition(
    name: DefinitionNamePath, user: GetUserDep, may_edit: MayEditDefinitionsDep
) -> PostProcessingDefinitionResponse:
    """Show one post-processing definition, its secrets masked, with the jobs using it."""
    return _response(definitions_service.get_definition_details(name=name), may_edit=may_edit, user=user)


@post_processing_router.put(
    "/{name}",
    responses=error_responses(*_WRITE_ERRORS, _NO_DEFINITION, (409, "Changed by someone else")),
    dependencies=[Depends(requires_access_to_edit_definitions)],
)
def update_post_processing_definition(
    name: DefinitionNamePath,
    body: PostProcessingSpec,
    user: GetUserDep,
    actor: AuditActorDep,
    session: SessionDep,
    if_match: Annotated[str | None, Header()] = None,
) -> PostProcessingDefinitionResponse:
    """Replace a definition's step; every job using it runs with it from its next run.

    Send the version you read in ``If-Match`` to avoid lost updates; a secret sent back masked keeps its value.
    """
    details = definitions_service.update_definition(
        session=session, name=name, body=body, actor=actor, expected_version=if_match
    )
    return _response(details, may_edit=True, user=user)


@post_processing_router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(
        401,
        403,
        _NO_DEFINITION,
        (409, "Jobs use the definition: the message names them", DefinitionInUseResponse),
        422,
        503,
        507,
    ),
    dependencies=[Depends(requires_access_to_edit_definitions)],
)
def delete_post_processing_definition(name: DefinitionNamePath, actor: AuditActorDep, session: SessionDep) -> None:
    """Delete a definition that no job uses."""
    definitions_service.delete_definition(session=session, name=name, actor=actor)
