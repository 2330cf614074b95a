"""The trigger endpoint's contract, status by status, on a real PostgreSQL metadata DB.

DAGs are parsed by Airflow's DagBag and written by its own sync, as the DAG processor does.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from airflow.models.dag import DagModel
from airflow.utils.session import create_session
from http_trigger import dag_builder, jobs_service
from http_trigger.db.models import TriggerCall
from http_trigger.jobs.spec_names import spec_path
from http_trigger.runs import trigger_calls
from sqlalchemy import select

from ..api_support import NOT_FOUND, body, create, parse_jobs_into_db, post, runs_of
from ..jobs_support import ACTOR


def test_200_only_with_a_committed_run_and_the_exact_body(client):
    details = create()
    response = post(client, details, headers={"Content-Length": "0"})
    assert response.status_code == 200, response.text
    answer = response.json()
    [run] = runs_of(details.job.dag_id)
    assert answer == {
        "result": "ok",
        "trigger_job_id": details.job.id,
        "dag_id": details.job.dag_id,
        "dag_run_id": run.run_id,
        "status_url": f"{details.trigger_url}/runs/{quote(run.run_id, safe='')}",
    }
    assert run.run_id.startswith("http__")
    assert run.state == "queued"
    assert run.conf == {}
    with create_session() as session:
        [call] = trigger_calls.recent_calls(session=session, job_id=details.job.id)
        assert (call.status_code, call.outcome, call.dag_run_id) == (200, "started", run.run_id)


def test_bearer_scheme_is_accepted_too(client):
    details = create()
    assert post(client, details, scheme="Bearer").status_code == 200


@pytest.mark.parametrize("case", ["unknown url", "no header", "wrong token", "wrong scheme", "empty token"])
def test_404_is_the_same_for_every_way_of_not_matching(client, case):
    details = create()
    if case == "unknown url":
        response = client.post("/trigger/not-a-real-url-id", headers={"Authorization": f"CAAuth {details.secret.token}"})
    elif case == "no header":
        response = post(client, details, token=False)
    elif case == "wrong token":
        response = post(client, details, token="x" * 32)
    elif case == "wrong scheme":
        response = post(client, details, scheme="Basic")
    else:
        response = client.post(f"/trigger/{details.secret.url_id}", headers={"Authorization": "CAAuth "})
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert runs_of(details.job.dag_id) == []


def test_409_for_a_disabled_job_and_no_run_queued(client):
    details = create(body(enabled=False))
    response = post(client, details)
    assert response.status_code == 409
    assert response.json() == {"message": f"Job {details.job.id} is disabled; enable it to run it"}
    assert runs_of(details.job.dag_id) == []


def test_409_for_a_job_whose_spec_is_broken_while_the_other_jobs_still_start(client, jobs_folder):
    good = create()
    bad = create()
    spec_path(jobs_folder, bad.job.id).write_text("name: [unclosed\n")
    parse_jobs_into_db()  # the factory file has no import error: one broken spec is its job's alone

    assert post(client, good).status_code == 200
    response = post(client, bad)

    message = (
        f"Job {bad.job.id} cannot run: its spec is invalid (job_{bad.job.id}.yaml: (file): not valid YAML: "
        "while parsing a flow sequence (line 1, column 7): did not find expected ',' or ']' (line 2, column 1)); "
        "fix the file"
    )
    assert (response.status_code, response.json()) == (409, {"message": message})
    assert "Retry-After" not in response.headers
    assert runs_of(bad.job.dag_id) == []
    with create_session() as session:
        [call] = trigger_calls.recent_calls(session=session, job_id=bad.job.id)
        assert (call.status_code, call.outcome, call.message, call.dag_run_id) == (409, "invalid_spec", message, None)


def test_409_for_a_job_whose_dag_cannot_be_built_not_a_503_forever(client, monkeypatch):
    good = create()
    real = dag_builder.build_dag

    def failing_for_one_job(job):
        if job.name == "Cannot be built":
            raise RuntimeError("the notifier exploded")
        return real(job)

    monkeypatch.setattr(dag_builder, "build_dag", failing_for_one_job)
    bad = create(body(name="Cannot be built"))  # the factory leaves it out: Airflow never has its DAG

    assert post(client, good).status_code == 200
    response = post(client, bad)

    message = (
        f"Job {bad.job.id} cannot run: its spec is invalid (job_{bad.job.id}.yaml: (dag): the job's DAG "
        "cannot be built: RuntimeError: the notifier exploded); fix the file"
    )
    assert (response.status_code, response.json()) == (409, {"message": message})
    assert "Retry-After" not in response.headers
    assert runs_of(bad.job.dag_id) == []


def test_503_with_retry_after_before_airflow_has_loaded_the_job(client):
    details = create(parse=False)
    response = post(client, details)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "not loaded by Airflow yet" in response.json()["message"]


def test_503_with_retry_after_while_the_database_refuses_connections(client, airflow_db, test_databases):
    details = create()
    with test_databases.refusing_connections(airflow_db):
        response = post(client, details)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {"message": "The metadata database is busy; the job was not started, try again shortly"}
    assert runs_of(details.job.dag_id) == []


def test_500_leaves_no_run_behind(client, monkeypatch):
    details = create()

    def fail(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(trigger_calls, "record_call", fail)
    response = post(client, details)
    assert response.status_code == 500
    assert response.json() == {"message": "Unexpected error; the job was not started"}
    assert runs_of(details.job.dag_id) == []


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        (b"{not json", 400, "The request body is not valid JSON: "),
        (b"[1, 2]", 400, "The request body must be a JSON object of action parameters, not list"),
        (b'{"tag_key": "Env"}', 400, "takes no parameters at execution (they were fixed when it was created); send an empty body"),
    ],
)
def test_4xx_for_a_bad_body_of_a_job_with_fixed_parameters(client, payload, status, message):
    details = create()
    response = post(client, details, content=payload, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert message in response.json()["message"]
    assert runs_of(details.job.dag_id) == []


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("1e999", "The request body holds a number out of range: 1e999"),
        ("NaN", "The request body holds NaN or Infinity, which JSON has not"),
    ],
)
def test_a_number_json_cannot_carry_is_refused_before_any_run(client, number, problem):
    lambda_action = {"type": "lambda_invoke_function", "aws_conn_id": "aws_demo", "parameters_at_execution": True}
    details = create(body(action=lambda_action))
    payload = b'{"function_name": "nightly", "payload": {"x": ' + number.encode() + b"}}"

    response = post(client, details, content=payload)

    assert (response.status_code, response.json()) == (400, {"message": problem})
    assert runs_of(details.job.dag_id) == []


def test_413_for_a_body_over_the_limit(client):
    details = create()
    response = post(client, details, content=b"{" + b" " * (64 * 1024) + b"}")
    assert response.status_code == 413
    assert response.json() == {"message": "The request body is larger than 65536 bytes"}
    assert runs_of(details.job.dag_id) == []


def test_parameters_at_execution_are_validated_and_become_the_run_conf(client):
    details = create(body(action={"type": "ec2_start_instances", "aws_conn_id": "aws_demo", "parameters_at_execution": True}))
    bad = post(client, details, content=json.dumps({"instance_ids": ["i-1"], "colour": "red"}))
    assert bad.status_code == 422
    assert bad.json() == {
        "message": "instance_ids.0: Enter instance ids such as i-0123456789abcdef0 (entry 1); "
        "colour: Remove colour: there is no such setting"
    }
    assert runs_of(details.job.dag_id) == []
    good = post(client, details, content=json.dumps({"instance_ids": ["i-0123456789abcdef0"]}))
    assert good.status_code == 200
    [run] = runs_of(details.job.dag_id)
    assert run.conf["instance_ids"] == ["i-0123456789abcdef0"]


def test_rotate_makes_old_url_and_token_404_at_once(client):
    details = create()
    with create_session() as session:
        rotated = jobs_service.rotate_secret(session=session, actor=ACTOR, job_id=details.job.id)
    assert rotated.secret.url_id != details.secret.url_id and rotated.secret.token != details.secret.token
    assert post(client, details).status_code == 404
    assert post(client, rotated).status_code == 200


def test_every_attempt_is_recorded_without_the_token(client):
    details = create()
    post(client, details, token="wrong-token-value")
    post(client, details)
    with create_session() as session:
        calls = list(session.scalars(select(TriggerCall).order_by(TriggerCall.id.desc()).limit(2)))
        paused = session.scalar(select(DagModel.is_paused).where(DagModel.dag_id == details.job.dag_id))
    assert paused is False
    assert [(c.status_code, c.outcome) for c in calls] == [(200, "started"), (404, "not_found")]
    for call in calls:
        stored = json.dumps([call.message, call.source_address, call.dag_run_id])
        assert details.secret.token not in stored and details.secret.url_id not in stored


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"instance_ids": ["i-0123456789abcdef0"]}, "instance_type: Enter an instance type"),
        ({"instance_ids": "i-0123456789abcdef0", "instance_type": "t3.small"}, "instance_ids: Enter a list"),
        (
            {"instance_ids": ["i-0123456789abcdef0"], "instance_type": "t3.small", "when": "now"},
            "when: Remove when: there is no such setting",
        ),
        (
            {"instance_type": "t3.small"},
            "give instance_ids, or tag_key and tag_value, to choose the instances",
        ),
    ],
)
def test_parameters_at_execution_missing_wrong_type_or_unknown_field_get_422_and_no_run(client, payload, message):
    details = create(body(action={"type": "ec2_change_instance_type", "aws_conn_id": "aws_demo", "parameters_at_execution": True}))
    response = post(client, details, content=json.dumps(payload), headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json() == {"message": message}
    assert runs_of(details.job.dag_id) == []


def test_the_trigger_answers_in_english_whatever_language_the_caller_prefers(client):
    action = {"type": "ec2_start_instances", "aws_conn_id": "aws_demo", "parameters_at_execution": True}
    details = create(body(action=action))
    response = post(
        client, details, content=json.dumps({"instance_ids": ["i-1"]}), headers={"Accept-Language": "ja"}
    )
    assert response.status_code == 422
    message = "instance_ids.0: Enter instance ids such as i-0123456789abcdef0 (entry 1)"
    assert response.json() == {"message": message}
