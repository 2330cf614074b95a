"""Back-pressure on the trigger: a job's rate limit, an address throttled for wrong tokens, a source
allowlist, and the server's places for trigger calls."""

from __future__ import annotations

import threading
import time

import pytest
from airflow.sdk.timezone import utcnow
from airflow.utils.session import create_session
from fastapi.testclient import TestClient
from http_trigger.api.app import create_app
from http_trigger.api.trigger import SERVER_BUSY_MESSAGE
from http_trigger.db.models import IdempotencyKey, TriggerCall
from sqlalchemy import select, text

from ..api_support import NOT_FOUND, body, create, post, runs_of


@pytest.fixture
def client_at(airflow_db, jobs_folder):
    """Open test clients calling from given addresses."""
    opened: list[TestClient] = []

    def open_client(address: str) -> TestClient:
        test_client = TestClient(create_app(), base_url="http://trigger.example", client=(address, 40000))
        opened.append(test_client.__enter__())
        return test_client

    yield open_client
    for test_client in opened:
        test_client.__exit__(None, None, None)


def test_beyond_the_jobs_rate_limit_the_trigger_answers_429_with_retry_after_and_starts_nothing(client):
    details = create(body(trigger={"rate_limit": "2/minute"}))
    answers = [post(client, details) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
    assert answers[2].json() == {
        "message": f"Job {details.job.id} may be started at most 2/minute by its trigger; try again later"
    }
    assert len(runs_of(details.job.dag_id)) == 2


def test_the_default_rate_limit_applies_to_jobs_that_set_none_and_each_job_counts_alone(client, monkeypatch):
    monkeypatch.setenv("AIRFLOW__HTTP_TRIGGER__DEFAULT_RATE_LIMIT", "1/hour")
    first, second = create(), create()

    assert [post(client, first).status_code, post(client, first).status_code] == [200, 429]
    assert post(client, second).status_code == 200


def test_a_retry_with_an_idempotency_key_is_answered_even_at_the_limit(client):
    details = create(body(trigger={"rate_limit": "1/hour"}))
    first = post(client, details, headers={"Idempotency-Key": "once"})
    retry = post(client, details, headers={"Idempotency-Key": "once"})

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json()["dag_run_id"] == first.json()["dag_run_id"]
    assert post(client, details, headers={"Idempotency-Key": "another"}).status_code == 429


@pytest.mark.parametrize("rate", ["10/day", "0/minute", "ten/minute", "10 per minute"])
def test_a_rate_limit_that_is_not_count_per_unit_is_refused_when_the_job_is_written(rate):
    with pytest.raises(ValueError, match="is not a rate like '10/minute'"):
        body(trigger={"rate_limit": rate})


def test_an_address_that_keeps_failing_the_token_is_throttled_and_others_are_not(client_at, monkeypatch):
    monkeypatch.setenv("AIRFLOW__HTTP_TRIGGER__FAILED_TOKEN_LIMIT", "3/minute")
    details = create()
    guesser, caller = client_at("198.51.100.7"), client_at("203.0.113.9")

    guesses = [post(guesser, details, token="wrong").status_code for _ in range(4)]
    throttled = post(guesser, details)

    assert guesses == [404, 404, 404, 429]
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
    assert post(caller, details).status_code == 200


def test_unknown_and_impossible_url_ids_count_as_failures_and_are_throttled_too(client_at, monkeypatch):
    monkeypatch.setenv("AIRFLOW__HTTP_TRIGGER__FAILED_TOKEN_LIMIT", "3/minute")
    details = create()
    guesser = client_at("198.51.100.8")
    auth = {"Authorization": f"CAAuth {details.secret.token}"}

    guesses = [
        guesser.post("/trigger/no-such-url-id", headers=auth).status_code,
        guesser.post("/trigger/not%20a%20url%20id", headers=auth).status_code,
        post(guesser, details, token=False).status_code,
    ]
    throttled = [
        guesser.post("/trigger/no-such-url-id", headers=auth).status_code,
        guesser.post("/trigger/not%20a%20url%20id", headers=auth).status_code,
        post(guesser, details).status_code,
    ]

    assert guesses == [404, 404, 404]
    assert throttled == [429, 429, 429]
    assert runs_of(details.job.dag_id) == []


def test_a_job_with_allowed_sources_answers_only_those_and_others_get_the_wrong_token_404(client_at):
    details = create(body(trigger={"allowed_sources": ["10.0.0.0/8", "203.0.113.9"]}))

    inside, listed, outside = client_at("10.1.2.3"), client_at("203.0.113.9"), client_at("198.51.100.7")

    assert post(inside, details).status_code == 200
    assert post(listed, details).status_code == 200
    refused = post(outside, details)
    assert (refused.status_code, refused.json()) == (404, NOT_FOUND)
    assert len(runs_of(details.job.dag_id)) == 2


def test_a_call_finding_every_place_taken_answers_503_in_time_and_is_recorded(
    airflow_db, jobs_folder, monkeypatch
):
    monkeypatch.setenv("AIRFLOW__HTTP_TRIGGER__TRIGGER_CONCURRENCY", "1")
    monkeypatch.setenv("AIRFLOW__HTTP_TRIGGER__TRIGGER_QUEUE_SECONDS", "1")
    details = create()
    began = utcnow()
    answers = []
    app = create_app()
    with create_session(scoped=False) as holder, TestClient(app, base_url="http://trigger.example") as client:
        # Another transaction holds the Idempotency-Key the first call inserts: that call waits for
        # it, in the server's only place.
        holder.add(IdempotencyKey(job_id=details.job.id, idempotency_key="held", request_sha256="0" * 64,
                                  dag_run_id="held"))  # fmt: skip
        holder.flush()
        first = threading.Thread(
            target=lambda: answers.append(post(client, details, headers={"Idempotency-Key": "held"}))
        )
        first.start()
        with create_session(scoped=False) as watcher:
            deadline = time.monotonic() + 60
            while not watcher.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
                assert time.monotonic() < deadline, "the first call never waited for the held key"
                time.sleep(0.05)

        refused = post(client, details)

        holder.rollback()
        first.join()

    assert refused.status_code == 503
    assert refused.json() == {"message": SERVER_BUSY_MESSAGE}
    assert refused.headers["Retry-After"] == "5"
    assert [answer.status_code for answer in answers] == [200]
    assert len(runs_of(details.job.dag_id)) == 1
    with create_session() as session:
        recorded = session.execute(
            select(TriggerCall.status_code, TriggerCall.outcome).where(
                TriggerCall.message == SERVER_BUSY_MESSAGE, TriggerCall.called_at >= began
            )
        ).all()
    assert recorded == [(503, "busy")]
