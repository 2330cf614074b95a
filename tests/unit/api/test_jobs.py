"""``/api/jobs`` routes that change jobs, and every route's answer to database trouble (503, never 500)."""

from __future__ import annotations

import errno
import os

import pytest
from fastapi.testclient import TestClient
from http_trigger.api.errors import DATABASE_UNAVAILABLE_MESSAGE
from http_trigger.jobs.spec_names import spec_path

from ..api_support import bearer
from ..jobs_support import EC2, database_trouble, fail_with, hidden_files, make_unreadable, visible_files

BODY = {"name": "Start test EC2", "action": EC2}


@pytest.fixture
def client(client: TestClient) -> TestClient:
    """The app of ``conftest.py``, called by the admin, logged in."""
    client.headers.update(bearer("admin"))
    return client


def create(client: TestClient, name: str = "job") -> dict:
    response = client.post("/api/jobs", json={**BODY, "name": name})
    assert response.status_code == 201, response.text
    return response.json()


class TestChangeRoutes:
    def test_put_replaces_the_definition_and_keeps_the_secrets(self, client):
        job = create(client, "before")

        response = client.put(f"/api/jobs/{job['id']}", json={**BODY, "name": "after"}, headers={"If-Match": job["version"]})

        assert response.status_code == 200, response.text
        updated = response.json()
        assert (updated["name"], updated["token"], updated["curl"]) == ("after", "••••", None)
        assert updated["version"] != job["version"]
        revealed = client.post(f"/api/jobs/{job['id']}/secrets/reveal").json()
        assert (revealed["token"], revealed["trigger_url"]) == (job["token"], job["trigger_url"])

    def test_put_with_a_stale_version_is_refused_and_changes_nothing(self, client):
        job = create(client, "before")
        client.put(f"/api/jobs/{job['id']}", json={**BODY, "name": "first"}, headers={"If-Match": job["version"]})

        response = client.put(f"/api/jobs/{job['id']}", json={**BODY, "name": "second"}, headers={"If-Match": job["version"]})

        assert response.status_code == 409
        assert response.json()["detail"].startswith(f"Job {job['id']} was changed by someone else (version ")
        assert client.get(f"/api/jobs/{job['id']}").json()["name"] == "first"

    def test_put_on_a_full_disk_answers_507_and_changes_nothing(self, client, jobs_folder, monkeypatch):
        job = create(client, "before")
        monkeypatch.setattr(os, "replace", fail_with(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))))

        response = client.put(f"/api/jobs/{job['id']}", json={**BODY, "name": "after"})

        monkeypatch.undo()
        assert (response.status_code, response.json()) == (
            507,
            {"detail": f"job_{job['id']}.yaml could not be renamed: No space left on device"},
        )
        assert client.get(f"/api/jobs/{job['id']}").json()["name"] == "before"
        assert hidden_files(jobs_folder) == []

    def test_delete_then_the_job_is_gone(self, client, jobs_folder):
        job = create(client)

        assert client.delete(f"/api/jobs/{job['id']}").status_code == 204

        assert client.get(f"/api/jobs/{job['id']}").json() == {"detail": f"Job {job['id']} does not exist"}
        assert client.delete(f"/api/jobs/{job['id']}").status_code == 404
        assert os.listdir(jobs_folder) == []

    def test_rotate_issues_a_new_url_and_token(self, client):
        job = create(client)

        rotated = client.post(f"/api/jobs/{job['id']}/rotate").json()

        assert rotated["token"] != job["token"] and rotated["trigger_url"] != job["trigger_url"]
        assert client.post(f"/api/jobs/{job['id']}/secrets/reveal").json()["token"] == rotated["token"]

    def test_patch_enabled_before_airflow_loaded_the_job_answers_503(self, client):
        job = create(client)

        response = client.patch(f"/api/jobs/{job['id']}/enabled", json={"enabled": False})

        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.json() == {"detail": f"Job {job['id']} is not loaded by Airflow yet; try again in a few seconds"}

    @pytest.mark.parametrize(
        ("body", "problem"),
        [
            (
                {"enabled": 0},
                {"loc": ["body", "enabled"], "msg": "Input should be a valid boolean", "type": "bool_type"},
            ),
            (
                {"enabled": True, "paused": True},
                {"loc": ["body", "paused"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"},
            ),
        ],
    )
    def test_patch_enabled_takes_a_boolean_and_nothing_else(self, client, body, problem):
        job = create(client)

        response = client.patch(f"/api/jobs/{job['id']}/enabled", json=body)

        assert response.status_code == 422
        assert response.json()["detail"] == [problem]

    def test_a_leftover_spec_of_a_deleted_job_is_named_not_a_500(self, client, jobs_folder):
        kept = create(client, "kept")
        job = create(client, "deleted")
        path = spec_path(jobs_folder, job["id"])
        content = path.read_bytes()
        client.delete(f"/api/jobs/{job['id']}")
        path.write_bytes(content)
        message = (
            f"job_{job['id']}.yaml: id: job {job['id']} was deleted and its id cannot be used again; "
            "remove the file, or create a new job from it without its id"
        )

        listed = client.get("/api/jobs").json()
        shown = client.get(f"/api/jobs/{job['id']}")

        assert ([listed_job["id"] for listed_job in listed["jobs"]], listed["spec_errors"]) == ([kept["id"]], [message])
        assert (shown.status_code, shown.json()) == (422, {"detail": message})

    def test_stray_files_in_the_jobs_folder_break_no_read(self, client, jobs_folder, monkeypatch):
        job = create(client)
        unreadable = create(client, "unreadable")
        (jobs_folder / "job_3.yaml").mkdir()
        (jobs_folder / f".job_{job['id']}.yaml.1234.tmp").write_text("name: [half")
        (jobs_folder / f".job_{unreadable['id'] + 1}.yaml.abcd.deleted").write_text("id: 1")
        make_unreadable(monkeypatch, spec_path(jobs_folder, unreadable["id"]))
        problem = f"job_{unreadable['id']}.yaml: (file): cannot be read: Input/output error"
        directory = "job_3.yaml: (file): not a regular file"

        listed = client.get("/api/jobs").json()

        assert ([listed_job["id"] for listed_job in listed["jobs"]], listed["spec_errors"]) == (
            [job["id"]], [directory, problem]
        )
        # A file named as a job's spec that does not load is that job's problem, shown as such.
        assert [broken["id"] for broken in listed["broken_jobs"]] == [3, unreadable["id"]]
        assert client.get("/api/jobs/3").json()["spec_error"]["message"] == directory
        assert client.get(f"/api/jobs/{unreadable['id'] + 1}").status_code == 404
        assert client.get(f"/api/jobs/{unreadable['id']}").json()["spec_error"]["message"] == problem
        assert visible_files(jobs_folder) == sorted(["job_3.yaml", f"job_{job['id']}.yaml", f"job_{unreadable['id']}.yaml"])


class TestDatabaseTrouble:
    @pytest.mark.parametrize("kind", ["pool", "down"])
    def test_reading_answers_503_with_retry_after(self, client, kind):
        create(client)

        with database_trouble(kind):
            response = client.get("/api/jobs")

        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.json() == {"message": DATABASE_UNAVAILABLE_MESSAGE}

    @pytest.mark.parametrize("kind", ["pool", "down"])
    def test_creating_answers_503_and_creates_nothing(self, client, jobs_folder, kind):
        with database_trouble(kind):
            response = client.post("/api/jobs", json=BODY)

        assert (response.status_code, response.json()) == (503, {"message": DATABASE_UNAVAILABLE_MESSAGE})
        assert os.listdir(jobs_folder) == []
        assert client.get("/api/jobs").json()["jobs"] == []
        create(client)
