"""Who may do what to a job: a job is one DAG, so its permissions are its DAG's, per Airflow's auth manager.

Reading a job is reading its DAG; changing it or revealing its secrets is editing it; its runs and
its audit are the DAG's runs and audit log. The DAG goes to the auth manager with its team, as
Airflow's own ``requires_access_dag`` sends it, so multi-team deployments hold here too. The JSON
API declares these checks on its routes (:mod:`http_trigger.api.deps`); the pages ask them to
show or hide what a user may not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.models.dag import DagModel

from http_trigger.jobs.spec_names import dag_id_for

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.base_auth_manager import ResourceMethod
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

CREATE_METHOD: ResourceMethod = "PUT"
"""What creating a job asks: edit access to every DAG.

Creating a job creates a DAG, which Airflow's permissions have no action for: the FAB auth manager
grants no role "can create" on DAGs (POST), while its Admin, Op and User roles may edit every DAG.
SimpleAuthManager treats both alike.
"""


def may_access_job(
    user: BaseUser,
    method: ResourceMethod,
    job_id: int | None = None,
    access_entity: DagAccessEntity | None = None,
) -> bool:
    """Tell whether ``user`` may ``method`` the job ``job_id`` (every job when None), or its ``access_entity``."""
    details = None
    if job_id is not None:
        dag_id = dag_id_for(job_id)
        details = DagDetails(id=dag_id, team_name=DagModel.get_team_name(dag_id))
    return get_auth_manager().is_authorized_dag(
        method=method, access_entity=access_entity, details=details, user=user
    )


def may_create_jobs(user: BaseUser) -> bool:
    """Tell whether ``user`` may create jobs (see :data:`CREATE_METHOD`)."""
    return may_access_job(user, CREATE_METHOD)


def may_read_definitions(user: BaseUser) -> bool:
    """Tell whether ``user`` may read the shared post-processing definitions: read access to every DAG.

    A definition is part of every job using it, whatever their groups, so it is read and changed
    under the permissions that span all jobs.
    """
    return may_access_job(user, "GET")


def may_edit_definitions(user: BaseUser) -> bool:
    """Tell whether ``user`` may create, change and delete definitions: as creating jobs, edit access to every DAG.

    A change of a definition changes every job using it.
    """
    return may_create_jobs(user)
