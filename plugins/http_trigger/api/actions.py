"""``/http-trigger/api/actions``: the action catalogue, with each action's parameter schema.

The catalogue is the same for everyone and holds no data of any job, so any logged-in Airflow
user may read it (the create form needs it before any job exists). Its titles and descriptions are
in the language the caller asks for (``Accept-Language``), English by default.
"""

from __future__ import annotations

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter

from http_trigger.actions import catalogue
from http_trigger.api.datamodels import ActionCollectionResponse, ActionResponse
from http_trigger.api.deps import LanguageDep
from http_trigger.api.errors import error_responses

actions_router = APIRouter(prefix="/api/actions", tags=["Actions"])


@actions_router.get("", responses=error_responses(401, 403))
def list_actions(user: GetUserDep, language: LanguageDep) -> ActionCollectionResponse:
    """List every action a job can run, with its parameters' JSON schema."""
    actions = [ActionResponse(**action) for action in catalogue(language)]
    return ActionCollectionResponse(actions=actions, total_entries=len(actions))
