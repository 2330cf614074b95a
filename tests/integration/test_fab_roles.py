"""Job groups as Airflow access control, under the FAB auth manager of docker-compose.yaml's settings.

One stack for the module (``devstack.distributed``, one API server): FAB's own CLI creates a role
per group and a user in each, plus a user of FAB's read-only Viewer role, and grants "can read on
Plugins" the way the README's production section says. ``[http_trigger] group_roles`` maps each
group to its role; the admin creates one job per group. The tests then check what FAB stored for
the jobs' DAGs after the DAG processor parsed them, and speak HTTP as each user. The last one maps
a group to a role that does not exist yet, to show what the README warns of.

A group's user also reads the shared post-processing definitions (their job form offers them), with
only the group's jobs among the jobs using each, and changes none.

The job list page is a shell whose script loads the jobs from the JSON API, so what a user sees in
the list is proven on the API; the pages are checked where they decide for themselves: the edit
page of another group's job, and the "New job" button.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from http_trigger.secrets.spec_secrets import MASK

from devstack.distributed import admin_credentials
from devstack.stack import EmbeddedStack, airflow_bin

from .conftest import create_job, wait_for
from .distributed_support import api_client, job_body, query, running_distributed_stack

pytestmark = [pytest.mark.integration, pytest.mark.distributed]

GROUP_ROLES = {"group-a": "Group A", "group-b": "Group B"}
# Mapped like the others, but its role is created only by the last test, once a job has named it.
LATE_GROUP, LATE_ROLE = "group-c", "Group C"
USER_ROLES = {"alice": "Group A", "bob": "Group B", "vera": "Viewer"}
# The README's grant for the "HTTP Trigger" entry; Group B is left without it, to show it matters.
PLUGIN_READERS = ["Group A", "Viewer"]
GROUP_RIGHTS = {
    ("DAGs", "can_read"), ("DAGs", "can_edit"), ("DAGs", "can_delete"),
    ("DAG Runs", "can_read"), ("DAG Runs", "can_create"), ("DAG Runs", "can_delete"),
}  # fmt: skip
FORBIDDEN = {"detail": "You are not allowed to do this"}
# Every role's rights on the given FAB resources (Admin's aside: it is granted everything anyway).
DAG_LEVEL_GRANTS = """
SELECT role.name, resource.name, action.name
FROM ab_permission_view_role AS granted
JOIN ab_role AS role ON role.id = granted.role_id
JOIN ab_permission_view AS permission ON permission.id = granted.permission_view_id
JOIN ab_permission AS action ON action.id = permission.permission_id
JOIN ab_view_menu AS resource ON resource.id = permission.view_menu_id
WHERE resource.name = ANY(%s) AND role.name <> 'Admin'
"""


@pytest.fixture(scope="module")
def passwords() -> dict[str, str]:
    return {user: secrets.token_urlsafe(16) for user in USER_ROLES}


@pytest.fixture(scope="module")
def fab_stack(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, broker_prefix: str, passwords: dict[str, str]
) -> Iterator[EmbeddedStack]:
    users = [
        ["users", "create", "--role", role, "--username", user, "--password", passwords[user],
         "--firstname", user, "--lastname", "Tester", "--email", f"{user}@example.com"]
        for user, role in USER_ROLES.items()
    ]  # fmt: skip
    with running_distributed_stack(
        tmp_path_factory.mktemp("fab-home"),
        database_url=database_url,
        broker_prefix=broker_prefix,
        api_servers=1,
        extra_env={
            "AIRFLOW__HTTP_TRIGGER__GROUP_ROLES": json.dumps(
                {group: [role] for group, role in {**GROUP_ROLES, LATE_GROUP: LATE_ROLE}.items()}
            )
        },
        init_commands=[
            ["roles", "create", *GROUP_ROLES.values()],
            *users,
            ["roles", "add-perms", *PLUGIN_READERS, "--resource", "Plugins", "--action", "can_read"],
        ],
    ) as stack:
        yield stack


def dag_level_grants(database_url: str, dag_id: str) -> set[tuple[str, str, str]]:
    """Return (role, resource, action) of every non-Admin role's right on one DAG's own resources."""
    return set(query(database_url, DAG_LEVEL_GRANTS, [f"DAG:{dag_id}", f"DAG Run:{dag_id}"]))


def group_grants(role: str, dag_id: str) -> set[tuple[str, str, str]]:
    prefixes = {"DAGs": "DAG", "DAG Runs": "DAG Run"}
    return {(role, f"{prefixes[kind]}:{dag_id}", action) for kind, action in GROUP_RIGHTS}


@pytest.fixture(scope="module")
def admin(fab_stack: EmbeddedStack) -> Iterator[httpx.Client]:
    with api_client(fab_stack.api_url, fab_stack.get_api_token(*admin_credentials())) as client:
        yield client


@pytest.fixture(scope="module")
def jobs(admin: httpx.Client, database_url: str) -> dict[str, dict[str, Any]]:
    """One job per group, created by the admin, once the DAG processor has synced their DAGs' rights."""
    created = {
        group: create_job(admin, job_body(f"{group} job", "utility_no_action", group=group))
        for group in GROUP_ROLES
    }
    for group, job in created.items():
        expected = group_grants(GROUP_ROLES[group], job["dag_id"])
        wait_for(
            lambda job=job, expected=expected: dag_level_grants(database_url, job["dag_id"]) == expected,
            what=f"FAB to grant {GROUP_ROLES[group]} the DAG of job {job['id']}",
        )
    return created


@pytest.fixture(scope="module")
def clients(fab_stack: EmbeddedStack, passwords: dict[str, str], jobs) -> Iterator[dict[str, httpx.Client]]:
    """A client per user, logged in through FAB's token route after the rights were synced.

    The FAB auth manager keeps a user it has read for ``[fab] cache_ttl`` seconds, so the first
    request of each user comes after the sync.
    """
    clients = {
        user: api_client(fab_stack.api_url, fab_stack.get_api_token(user, password))
        for user, password in passwords.items()
    }
    yield clients
    for client in clients.values():
        client.close()


def test_fab_grants_each_groups_role_its_jobs_dag_and_no_other_role_any_dag_level_right(jobs, database_url):
    for group, job in jobs.items():
        expected = group_grants(GROUP_ROLES[group], job["dag_id"])
        assert dag_level_grants(database_url, job["dag_id"]) == expected


def test_a_groups_user_lists_only_the_groups_jobs_and_groups(jobs, clients):
    for user, group in (("alice", "group-a"), ("bob", "group-b")):
        listed = clients[user].get("/http-trigger/api/jobs")
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert [job["id"] for job in page["jobs"]] == [jobs[group]["id"]]
        assert (page["total_entries"], page["groups"]) == (1, [group])


def test_a_groups_user_reads_edits_reveals_rotates_disables_and_runs_the_groups_job(jobs, clients):
    alice, job = clients["alice"], jobs["group-a"]
    path = f"/http-trigger/api/jobs/{job['id']}"

    read = alice.get(path).json()
    assert (read["token"], read["can_edit"]) == (MASK, True)
    revealed = alice.post(f"{path}/secrets/reveal")
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["token"] == job["token"]
    body = job_body("group-a job, renamed", "utility_no_action", group="group-a")
    updated = alice.put(path, json=body, headers={"If-Match": read["version"]})
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "group-a job, renamed"
    rotated = alice.post(f"{path}/rotate")
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["token"] not in (MASK, job["token"])
    run = alice.post(f"{path}/runs")
    assert run.status_code == 201, run.text
    assert alice.get(f"{path}/runs").json()["runs"][0]["dag_run_id"] == run.json()["dag_run_id"]
    disabled = alice.patch(f"{path}/enabled", json={"enabled": False})
    assert (disabled.status_code, disabled.json()["is_paused"]) == (200, True)


def _every_route(job_id: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    path = f"/http-trigger/api/jobs/{job_id}"
    body = job_body("taken over", "utility_no_action", group="group-a")
    return [
        ("GET", path, None),
        ("PUT", path, body),
        ("POST", f"{path}/secrets/reveal", None),
        ("POST", f"{path}/rotate", None),
        ("PATCH", f"{path}/enabled", {"enabled": False}),
        ("GET", f"{path}/runs", None),
        ("POST", f"{path}/runs", None),
        ("DELETE", path, None),
    ]


def test_every_route_of_another_groups_job_answers_403(jobs, clients):
    answers = {
        (method, path): clients["alice"].request(method, path, json=body)
        for method, path, body in _every_route(jobs["group-b"]["id"])
    }

    assert {route: (answer.status_code, answer.json()) for route, answer in answers.items()} == {
        route: (403, FORBIDDEN) for route in answers
    }


def test_a_viewer_sees_every_job_with_secrets_masked_and_changes_nothing(jobs, clients):
    vera = clients["vera"]

    listed = vera.get("/http-trigger/api/jobs").json()
    assert sorted(job["id"] for job in listed["jobs"]) == sorted(job["id"] for job in jobs.values())
    assert all((job["token"], job["can_edit"]) == (MASK, False) for job in listed["jobs"])
    job_id = jobs["group-b"]["id"]
    read = vera.get(f"/http-trigger/api/jobs/{job_id}").json()
    assert (read["token"], read["trigger_url"].rsplit("/", 1)[-1], read["curl"]) == (MASK, MASK, None)
    for method, path, body in _every_route(job_id):
        if method != "GET":
            answer = vera.request(method, path, json=body)
            assert (method, path, answer.status_code, answer.json()) == (method, path, 403, FORBIDDEN)


def test_a_groups_user_reads_the_shared_definitions_with_only_the_groups_jobs_among_their_users(
    admin: httpx.Client, jobs, clients
):
    definition = {
        "name": "team-hook",
        "type": "webhook",
        "parameters": {"url": "https://hooks.example.com/ops", "authorization": "CAAuth hook-secret"},
    }
    created = admin.post("/http-trigger/api/post-processing", json=definition)
    assert created.status_code == 201, created.text
    using = {"on_failure": [{"ref": "team-hook"}]}
    for group, job in jobs.items():
        body = job_body(f"{group} job", "utility_no_action", group=group, post_processing=using)
        updated = admin.put(f"/http-trigger/api/jobs/{job['id']}", json=body)
        assert updated.status_code == 200, updated.text

    listed = clients["alice"].get("/http-trigger/api/post-processing")
    assert listed.status_code == 200, listed.text
    [shown] = listed.json()["definitions"]
    assert ([user["id"] for user in shown["used_by"]], shown["can_edit"]) == ([jobs["group-a"]["id"]], False)
    assert "hook-secret" not in listed.text
    refused = clients["alice"].delete("/http-trigger/api/post-processing/team-hook")
    assert (refused.status_code, refused.json()) == (403, FORBIDDEN)
    seen_by_viewer = clients["vera"].get("/http-trigger/api/post-processing/team-hook").json()["used_by"]
    assert sorted(user["id"] for user in seen_by_viewer) == sorted(job["id"] for job in jobs.values())


def test_the_http_trigger_nav_entry_comes_with_can_read_on_plugins(clients):
    # Airflow's UI builds its navigation's plugin entries from this route.
    for user in ("alice", "vera"):
        plugins = clients[user].get("/api/v2/plugins")
        assert plugins.status_code == 200, plugins.text
        [ours] = [plugin for plugin in plugins.json()["plugins"] if plugin["name"] == "http_trigger"]
        assert [(view["name"], view["destination"]) for view in ours["external_views"]] == [
            ("HTTP Trigger", "nav")
        ], user
    assert clients["bob"].get("/api/v2/plugins").status_code == 403


def test_the_pages_offer_a_groups_user_no_new_job_and_no_edit_form_of_another_groups_job(
    fab_stack: EmbeddedStack, jobs, clients
):
    token = clients["alice"].headers["Authorization"].removeprefix("Bearer ")
    ui = f"{fab_stack.api_url}/http-trigger/ui"
    with httpx.Client(cookies={"_token": token}, timeout=60) as browser:
        job_list = browser.get(f"{ui}/jobs")
        own = browser.get(f"{ui}/jobs/{jobs['group-a']['id']}/edit")
        other = browser.get(f"{ui}/jobs/{jobs['group-b']['id']}/edit")

    assert job_list.status_code == 200 and 'id="new-job"' not in job_list.text
    assert own.status_code == 200
    assert other.status_code == 303
    assert other.headers["location"] == f"/http-trigger/ui/jobs/{jobs['group-b']['id']}"


def _factory_file_errors(admin: httpx.Client) -> list[str]:
    errors = admin.get("/api/v2/importErrors").json()["import_errors"]
    return [error["stack_trace"] for error in errors if error["filename"].endswith("http_trigger_jobs.py")]


def _stale(admin: httpx.Client, dag_id: str) -> bool:
    return admin.get(f"/api/v2/dags/{dag_id}").json()["is_stale"]


def test_a_mapped_role_that_does_not_exist_stales_every_jobs_dag_until_it_is_created(
    fab_stack: EmbeddedStack, admin: httpx.Client, jobs, database_url: str
):
    # Last in the module: it takes every job's DAG away for a while.
    body = job_body("late job", "utility_no_action", group=LATE_GROUP)
    response = admin.post("/http-trigger/api/jobs", json=body)
    assert response.status_code == 201, response.text
    late_dag_id = response.json()["dag_id"]

    [error] = wait_for(
        lambda: _factory_file_errors(admin), timeout=120, what="FAB to refuse the unknown role"
    )
    assert f"includes a role named '{LATE_ROLE}', but that role does not exist" in error
    assert all(_stale(admin, job["dag_id"]) for job in jobs.values())

    create_role = [str(airflow_bin()), "roles", "create", LATE_ROLE]
    subprocess.run(create_role, env=fab_stack.env, check=True, timeout=300)

    # The DAG processor parses the factory file again on its own interval; no job file changed.
    wait_for(
        lambda: not _factory_file_errors(admin), timeout=180, interval=2, what="the import error to clear"
    )
    assert not any(_stale(admin, job["dag_id"]) for job in jobs.values())
    assert dag_level_grants(database_url, late_dag_id) == group_grants(LATE_ROLE, late_dag_id)
