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

from http_trigger.jobs.spec_names import DAG_ID_PREFIX, dag_id_for

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
    """Tell whether ``user`` may ``method`` the job ``job_id``, or its ``access_entity``.

    With no job, Airflow's auth managers answer a question about DAGs in general: for ``GET``,
    whether the user may list DAGs (the FAB auth manager: read at least one); for a change, whether
    they may change every DAG.
    """
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


def _may_edit_some_job(user: BaseUser) -> bool:
    """Tell whether ``user`` may edit at least one job, e.g. those of the groups their roles are given.

    One question to the auth manager for all the DAGs the user may edit (the FAB auth manager answers
    it from the user's roles), whatever the number of jobs.
    """
    editable = get_auth_manager().get_authorized_dag_ids(user=user, method="PUT")
    return any(dag_id.startswith(DAG_ID_PREFIX) for dag_id in editable)


def may_read_definitions(user: BaseUser) -> bool:
    """Tell whether ``user`` may read the shared post-processing definitions, their secrets masked as always.

    Whoever may read, create or edit some job does, in whatever group: a definition is shared
    configuration those users reference from the jobs they write, so their job form offers it.
    Which jobs use a definition is shown to each reader only for the jobs they may read
    (:mod:`http_trigger.api.post_processing`). May read some job is what the auth manager answers
    about listing DAGs; one whose rules name DAGs one by one may say no there to a user who may
    edit some of them, hence the last question.
    """
    return may_access_job(user, "GET") or may_create_jobs(user) or _may_edit_some_job(user)


def may_edit_definitions(user: BaseUser) -> bool:
    """Tell whether ``user`` may create, change and delete definitions: as creating jobs, edit access to every DAG.

    A change of a definition changes every job using it, whatever their groups, so it needs the
    permission that spans all jobs.
    """
    return may_create_jobs(user)
