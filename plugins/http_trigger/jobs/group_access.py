"""Turn a job's group into Airflow's own DAG-level access control for the roles the settings name.

``[http_trigger] group_roles`` maps groups to role names. Airflow has one way to give a role access
to some DAGs and not others: the DAG's ``access_control``, a mapping of role names to the actions
each may take on that DAG and its runs. With the FAB auth manager the DAG processor applies it
every time it writes a parsed DAG (``airflow.dag_processing.collection._sync_dag_perms`` calls the
FAB security manager's ``sync_perm_for_dag``): it grants the listed actions on the DAG's own
resources (``DAG:<dag_id>``, ``DAG Run:<dag_id>``) and revokes from every other non-Admin role the
DAG-level actions the mapping does not list. The plugin's routes already ask ``is_authorized_dag``
for the job's DAG, so a role's access to a job follows. Other auth managers ignore
``access_control`` (SimpleAuthManager has no per-DAG rights).

Each role listed for a group may do with the group's jobs what a job's editor does: read, edit,
reveal and rotate secrets, enable, delete, and start runs. Read-only access to every job comes from
Airflow's global permissions (FAB's Viewer role). Creating a job still needs edit access to all
DAGs: Airflow's permissions have no "create" on one DAG.

Unset, the option adds no ``access_control`` (``None``), and Airflow leaves DAG-level permissions
as they are. Set, every job's DAG gets one, empty for a group the option does not list, so a job
moved to another group loses the old group's roles at its next parse.

FAB refuses a mapping that names a role it does not know, and Airflow then records an import error
for the whole factory file, marking all jobs' DAGs stale until the role exists: the roles must
exist before the option names them. The factory cannot check that, since DAG files may not read
the metadata database.
"""

from __future__ import annotations

from http_trigger import settings

# The actions of Airflow's DAG-level resources (FAB's ``RESOURCE_DETAILS_MAP``), all of them but
# the DAG Runs menu entry: what the plugin's routes ask for a job and its runs.
GROUP_ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "DAGs": frozenset({"can_read", "can_edit", "can_delete"}),
    "DAG Runs": frozenset({"can_read", "can_create", "can_delete"}),
}


def access_control(group: str) -> dict[str, dict[str, set[str]]] | None:
    """Return the ``access_control`` of a job of ``group``'s DAG, or None while no group has roles."""
    roles_by_group = settings.group_roles()
    if not roles_by_group:
        return None
    return {
        role: {resource: set(actions) for resource, actions in GROUP_ROLE_ACTIONS.items()}
        for role in roles_by_group.get(group, [])
    }
