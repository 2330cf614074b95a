"""A caller follows the run it started with the job's token: state, times, tasks; nothing of other jobs."""

from __future__ import annotations

import threading
import time
from urllib.parse import quote, urlsplit

from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session
from airflow.utils.state import DagRunState
from sqlalchemy import update

from ..api_support import NOT_FOUND, create, post


def _status(client, details, status_url: str, *, token: str | None = None, **params):
    headers = {"Authorization": f"CAAuth {token or details.secret.token}"}
    return client.get(urlsplit(status_url).path.removeprefix("/http-trigger"), headers=headers, params=params)


def _set_state(run_id: str, state: DagRunState) -> None:
    with create_session() as session:
        session.execute(update(DagRun).where(DagRun.run_id == run_id).values(state=state))


def test_the_200_names_a_status_url_that_shows_the_run_to_its_caller(client):
    details = create()
    answer = post(client, details).json()

    assert answer["status_url"] == f"{details.trigger_url}/runs/{quote(answer['dag_run_id'], safe='')}"
    status = _status(client, details, answer["status_url"])
    assert status.status_code == 200, status.text
    body = status.json()
    assert (body["trigger_job_id"], body["dag_run_id"], body["state"], body["final"], body["outcome"]) == (
        details.job.id,
        answer["dag_run_id"],
        "queued",
        False,
        "queued",
    )
    assert set(body) == {
        "trigger_job_id", "dag_run_id", "state", "final", "outcome", "start_date", "end_date", "tasks"
    }


def test_a_wrong_token_gets_the_triggers_404_and_another_jobs_token_sees_nothing(client):
    mine, other = create(), create()
    answer = post(client, mine).json()

    wrong = _status(client, mine, answer["status_url"], token="wrong")
    foreign = client.get(
        f"/trigger/{other.secret.url_id}/runs/{answer['dag_run_id']}",
        headers={"Authorization": f"CAAuth {other.secret.token}"},
    )

    assert (wrong.status_code, wrong.json()) == (404, NOT_FOUND)
    assert foreign.status_code == 404
    assert foreign.json() == {"message": f"Job {other.job.id} has no run {answer['dag_run_id']}"}


def test_wait_answers_as_soon_as_the_run_ends(client):
    details = create()
    answer = post(client, details).json()
    ender = threading.Timer(1.5, _set_state, args=(answer["dag_run_id"], DagRunState.SUCCESS))
    ender.start()
    started = time.monotonic()
    body = _status(client, details, answer["status_url"], wait=300).json()
    ender.join()

    assert (body["state"], body["final"], body["outcome"]) == ("success", True, "succeeded")
    assert time.monotonic() - started < 150  # answered when the run ended, not after the 300 s


def test_wait_answers_with_the_current_state_when_the_time_is_up(client):
    details = create()
    answer = post(client, details).json()
    body = _status(client, details, answer["status_url"], wait=1).json()
    assert (body["state"], body["final"]) == ("queued", False)


def test_wait_beyond_300_seconds_is_refused(client):
    details = create()
    answer = post(client, details).json()
    assert _status(client, details, answer["status_url"], wait=301).status_code == 422
