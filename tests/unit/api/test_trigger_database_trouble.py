"""The trigger route under database trouble: 503 with ``Retry-After``, and every call recorded anyway.

A refused call that cannot be recorded while the database is unavailable waits in the process and
is written once the database answers again; the log says so without the token or the URL id.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from airflow.utils.session import create_session
from fastapi.testclient import TestClient
from http_trigger.api.app import create_app
from http_trigger.db.models import TriggerCall
from http_trigger.runs import trigger_calls
from http_trigger.runs.trigger_calls import Call, CallBacklog, TriggerOutcome
from sqlalchemy import func, select

from ..api_support import create, post, runs_of
from ..jobs_support import database_trouble

BUSY = {"message": "The metadata database is busy; the job was not started, try again shortly"}


@pytest.fixture(autouse=True)
def no_kept_calls() -> None:
    trigger_calls.backlog.take()
    yield
    trigger_calls.backlog.take()


def calls_after(first_id: int) -> list[TriggerCall]:
    with create_session() as session:
        return list(session.scalars(select(TriggerCall).where(TriggerCall.id > first_id).order_by(TriggerCall.called_at)))


def last_call_id() -> int:
    with create_session() as session:
        return session.scalar(select(func.max(TriggerCall.id))) or 0


@pytest.mark.parametrize("kind", ["pool", "down"])
def test_503_with_retry_after_and_the_call_is_recorded_once_the_database_answers(client, kind, caplog):
    details = create()
    before = last_call_id()

    with caplog.at_level(logging.INFO), database_trouble(kind):
        refused = post(client, details)

    assert (refused.status_code, refused.headers["Retry-After"], refused.json()) == (503, "5", BUSY)
    assert runs_of(details.job.dag_id) == []
    assert calls_after(before) == []
    assert "1 trigger calls wait to be recorded until the metadata database answers again" in caplog.text
    assert details.secret.token not in caplog.text and details.secret.url_id not in caplog.text

    started = post(client, details)

    assert started.status_code == 200
    recorded = [(call.status_code, call.outcome, call.message) for call in calls_after(before)]
    assert recorded == [(503, "busy", BUSY["message"]), (200, "started", None)]


def test_a_locked_database_is_logged_without_the_url_id(client, caplog):
    details = create()

    with caplog.at_level(logging.INFO), database_trouble("pool"):
        post(client, details, token="wrong")

    assert "not started: TimeoutError: QueuePool limit of size 1 overflow 0 reached" in caplog.text
    assert details.secret.url_id not in caplog.text


def test_every_call_of_a_burst_is_recorded(client):
    details = create()
    before = last_call_id()

    with database_trouble("pool"), ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: post(client, details).status_code, range(24)))
    post(client, details)

    assert set(statuses) <= {200, 503} and 503 in statuses
    assert len(runs_of(details.job.dag_id)) == statuses.count(200) + 1
    recorded = sorted(call.status_code for call in calls_after(before))
    assert recorded == sorted([*statuses, 200])


def busy_call(job_id: int | None = None) -> Call:
    return Call(job_id=job_id, source_address="192.0.2.1", status_code=503, outcome=TriggerOutcome.BUSY)


def test_calls_still_kept_are_recorded_when_the_server_stops(airflow_db, jobs_folder):
    before = last_call_id()
    trigger_calls.backlog.keep([busy_call(7)])

    with TestClient(create_app()):
        pass

    assert [(call.job_id, call.status_code, call.outcome) for call in calls_after(before)] == [(7, 503, "busy")]


def test_the_backlog_keeps_the_newest_calls_and_logs_what_it_drops(caplog):
    backlog = CallBacklog(limit=2)

    assert backlog.keep([busy_call(number) for number in range(3)]) == 2

    assert "Dropped 1 unrecorded trigger calls: more than 2 waited for the database" in caplog.text
    assert [call.job_id for call in backlog.take()] == [1, 2]
    assert len(backlog) == 0
