"""The health check: Airflow's components decide up or down; broken job specs only degrade it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from airflow.jobs.job import Job as AirflowJob
from airflow.sdk import timezone
from airflow.utils.session import create_session
from airflow.utils.state import JobState
from http_trigger import dag_builder
from http_trigger.api.datamodels import HealthResponse
from sqlalchemy import delete

GOOD_SPEC = """\
id: {job_id}
name: good
action: {{type: ec2_start_instances, parameters: {{tag_key: Env, tag_value: test}}}}
"""
# Ids no other test registers or deletes: the suite shares one metadata database, and a spec
# of a deleted job's id is reported as such.
GOOD_ID, BROKEN_ID = 2_147_482_000, 2_147_482_001


@pytest.fixture
def components_alive(airflow_db) -> Iterator[None]:
    """Heartbeats of a running scheduler and DAG processor, as those processes write them."""
    with create_session() as session:
        jobs = [
            AirflowJob(job_type=job_type, state=JobState.RUNNING, latest_heartbeat=timezone.utcnow())
            for job_type in ("SchedulerJob", "DagProcessorJob")
        ]
        session.add_all(jobs)
        session.flush()
        ids = [job.id for job in jobs]
    yield
    with create_session() as session:
        session.execute(delete(AirflowJob).where(AirflowJob.id.in_(ids)))


def test_healthy_with_every_spec_loading(client, jobs_folder, components_alive):
    (jobs_folder / f"job_{GOOD_ID}.yaml").write_text(GOOD_SPEC.format(job_id=GOOD_ID))

    response = client.get("/health")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["jobs"]) == ("healthy", {"status": "healthy"})


def test_broken_specs_degrade_the_service_but_do_not_take_it_down(client, jobs_folder, components_alive):
    (jobs_folder / f"job_{GOOD_ID}.yaml").write_text(GOOD_SPEC.format(job_id=GOOD_ID))
    (jobs_folder / f"job_{BROKEN_ID}.yaml").write_text("name: [unclosed\n")
    (jobs_folder / "notes.yaml").write_text("remember: the milk\n")

    response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    # By name only: the route answers without a login, and reasons may quote a spec's values.
    assert body["jobs"] == {"status": "degraded", "broken_spec_files": [f"job_{BROKEN_ID}.yaml", "notes.yaml"]}
    assert {body[name]["status"] for name in ("metadatabase", "scheduler", "dag_processor")} == {"healthy"}


def test_a_job_whose_dag_cannot_be_built_degrades_the_service(client, jobs_folder, components_alive, monkeypatch):
    # Ids no other test's DAG has: a job whose DAG Airflow has loaded is not built again.
    good, bad = 2_147_483_000, 2_147_483_001
    for job_id in (good, bad):
        (jobs_folder / f"job_{job_id}.yaml").write_text(GOOD_SPEC.format(job_id=job_id))
    real = dag_builder.build_dag
    monkeypatch.setattr(dag_builder, "build_dag", lambda job: real(job) if job.id != bad else 1 / 0)

    response = client.get("/health")

    assert (response.status_code, response.json()["status"]) == (200, "degraded")
    assert response.json()["jobs"] == {"status": "degraded", "broken_spec_files": [f"job_{bad}.yaml"]}


def test_a_component_down_is_unhealthy_whatever_the_specs(client, jobs_folder):
    (jobs_folder / f"job_{BROKEN_ID}.yaml").write_text("name: [unclosed\n")

    response = client.get("/health")

    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["jobs"] == {"status": "degraded", "broken_spec_files": [f"job_{BROKEN_ID}.yaml"]}
    HealthResponse.model_validate(response.json())  # the documented shape


def test_the_answer_has_the_documented_shape(client, jobs_folder, components_alive):
    unreadable = jobs_folder / f"job_{GOOD_ID}.yaml"
    unreadable.mkdir()

    healthy = client.get("/health")

    assert healthy.status_code == 200
    report = HealthResponse.model_validate(healthy.json())
    assert report.jobs.status == "degraded" and report.triggerer.status is None

