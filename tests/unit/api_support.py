"""Shared parts of the route tests: a job created and parsed as Airflow would, a call of its trigger, a user.

Jobs are created through the jobs service and their DAGs parsed by Airflow's DagBag and written by
its own sync, as the DAG processor does, so the routes meet what they meet in a running stack.
"""

from __future__ import annotations

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.dag_processing.bundles.manager import DagBundlesManager
from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session
from fastapi.testclient import TestClient
from http_trigger import jobs_service
from http_trigger.jobs.model import JobBody
from sqlalchemy import select

from ..conftest import REPO
from .jobs_support import ACTOR

NOT_FOUND = {"message": "No job matches this URL and access token"}


def body(**overrides) -> JobBody:
    data = {
        "name": "Start test EC2 instances",
        "action": {"type": "ec2_start_instances", "aws_conn_id": "aws_demo", "parameters": {"tag_key": "Env", "tag_value": "test"}},
    }
    data.update(overrides)
    return JobBody.model_validate(data)


def parse_jobs_into_db() -> None:
    """Do what the DAG processor does after a job file changes."""
    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(REPO / "dags"), bundle_path=REPO / "dags")
    assert bag.import_errors == {}
    sync_bag_to_db(bag, bundle_name="dags-folder", bundle_version=None)


def create(job_body: JobBody | None = None, *, parse: bool = True) -> jobs_service.JobDetails:
    with create_session() as session:
        details = jobs_service.create_job(session=session, actor=ACTOR, body=job_body or body())
    if parse:
        parse_jobs_into_db()
    return details


def rotate(job_id: int) -> jobs_service.JobDetails:
    with create_session() as session:
        return jobs_service.rotate_secret(session=session, actor=ACTOR, job_id=job_id)


def runs_of(dag_id: str) -> list[DagRun]:
    with create_session() as session:
        return list(session.scalars(select(DagRun).where(DagRun.dag_id == dag_id)))


def post(client: TestClient, details: jobs_service.JobDetails, *, token: str | None = None, scheme="CAAuth", **kwargs):
    headers = kwargs.pop("headers", {})
    if token is not False:
        headers["Authorization"] = f"{scheme} {token or details.secret.token}"
    return client.post(f"/trigger/{details.secret.url_id}", headers=headers, **kwargs)


def bearer(role: str) -> dict[str, str]:
    """The Authorization header of a user of SimpleAuthManager's role ``role`` (its name too)."""
    token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=role, role=role))
    return {"Authorization": f"Bearer {token}"}
