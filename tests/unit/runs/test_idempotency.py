"""``Idempotency-Key``: one run per key and parameters, whatever the retries and races; on PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from airflow.sdk.timezone import utcnow
from airflow.utils.session import create_session
from http_trigger.db.models import IdempotencyKey, TriggerCall
from http_trigger.jobs_service import set_enabled
from sqlalchemy import select, update

from ..api_support import body, create, post, runs_of
from ..jobs_support import ACTOR

PARAMETERS_JOB = {"type": "ec2_start_instances", "aws_conn_id": "aws_demo", "parameters_at_execution": True}


def _keyed(client, details, key: str | bytes, parameters: dict | None = None):
    content = json.dumps(parameters) if parameters is not None else b""
    return post(client, details, content=content, headers={"Idempotency-Key": key})


def _outcomes(job_id: int) -> list[str]:
    with create_session() as session:
        outcomes = select(TriggerCall.outcome).where(TriggerCall.job_id == job_id).order_by(TriggerCall.id)
        return list(session.scalars(outcomes))


def test_a_retry_with_the_same_key_gets_the_first_run_and_starts_none(client):
    details = create()
    first = _keyed(client, details, "order-42")
    retry = _keyed(client, details, "order-42")

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    [run] = runs_of(details.job.dag_id)
    assert run.run_id == first.json()["dag_run_id"]
    assert _outcomes(details.job.id) == ["started", "replayed"]


def test_another_key_or_no_key_starts_another_run(client):
    details = create()
    ids = {_keyed(client, details, key).json()["dag_run_id"] for key in ("a", "b")}
    ids.add(post(client, details).json()["dag_run_id"])
    assert len(ids) == 3 == len(runs_of(details.job.dag_id))


def test_the_same_parameters_however_spelled_are_a_retry_and_other_parameters_a_422(client):
    details = create(body(action=PARAMETERS_JOB))
    first = post(
        client,
        details,
        content='{"tag_key": "Env", "tag_value": "test"}',
        headers={"Idempotency-Key": "k"},
    )
    spelled_otherwise = _keyed(client, details, "k", {"tag_value": "test", "tag_key": "Env"})
    other = _keyed(client, details, "k", {"tag_key": "Env", "tag_value": "prod"})

    assert first.status_code == 200, first.text
    assert spelled_otherwise.json()["dag_run_id"] == first.json()["dag_run_id"]
    assert other.status_code == 422
    assert "already used for this job with other parameters" in other.json()["message"]
    assert len(runs_of(details.job.dag_id)) == 1


@pytest.mark.parametrize("key", ["", "k" * 129, "clé".encode(), "tab\there"])
def test_a_key_that_is_not_1_to_128_printable_ascii_characters_is_a_400(client, key):
    details = create()
    response = _keyed(client, details, key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["message"]
    assert runs_of(details.job.dag_id) == []


def test_a_key_of_128_characters_is_accepted(client):
    assert _keyed(client, create(), "k" * 128).status_code == 200


def test_a_call_that_started_nothing_keeps_no_key(client):
    details = create(body(enabled=False))
    assert _keyed(client, details, "later").status_code == 409
    with create_session() as session:
        set_enabled(session=session, job_id=details.job.id, enabled=True, actor=ACTOR)
    assert _keyed(client, details, "later").status_code == 200
    assert len(runs_of(details.job.dag_id)) == 1


def test_an_expired_key_starts_a_new_run(client):
    details = create()
    first = _keyed(client, details, "daily")
    with create_session() as session:
        session.execute(update(IdempotencyKey).values(created_at=utcnow() - timedelta(days=2)))
    second = _keyed(client, details, "daily")

    assert second.json()["dag_run_id"] != first.json()["dag_run_id"]
    assert len(runs_of(details.job.dag_id)) == 2


def test_racing_calls_with_one_key_start_exactly_one_run_and_all_get_it(client):
    details = create()
    answers = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def call() -> None:
        start.wait()
        response = _keyed(client, details, "race")
        with lock:
            answers.append((response.status_code, response.json().get("dag_run_id")))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    [run] = runs_of(details.job.dag_id)
    assert answers == [(200, run.run_id)] * 8
