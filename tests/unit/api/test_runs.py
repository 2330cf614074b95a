"""``/api/jobs/{id}/runs``: the execution log, one run with its tasks, Run now, and the CSRF rule."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.models.dagrun import DagRun
from airflow.sdk import Param
from airflow.utils.session import create_session
from fastapi.testclient import TestClient
from http_trigger import dag_builder
from http_trigger.actions import ACTIONS
from http_trigger.api.app import create_app
from http_trigger.api.csrf import CSRF_HEADER, CSRF_MESSAGE
from http_trigger.post_processing.base import secret_parameters
from sqlalchemy import select

from ..api_support import body, create, post, runs_of
from ..runs_support import settle

PAGES_HEADERS = {CSRF_HEADER: "http-trigger-ui"}
EC2_AT_EXECUTION = {"type": "ec2_start_instances", "aws_conn_id": "aws_demo", "parameters_at_execution": True}


@pytest.fixture
def client(airflow_db, jobs_folder) -> Iterator[TestClient]:
    with TestClient(create_app(), base_url="http://trigger.example") as test_client:
        yield test_client


def jwt(role: str) -> str:
    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=role, role=role))


def bearer(role: str = "admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt(role)}"}


def use_cookie(client: TestClient, role: str = "admin") -> None:
    client.cookies.set("_token", jwt(role))


def test_runs_list_http_runs_newest_first_with_the_callers_address(client):
    details = create()
    first = post(client, details).json()["dag_run_id"]
    second = post(client, details).json()["dag_run_id"]

    response = client.get(f"/api/jobs/{details.job.id}/runs", headers=bearer())

    assert response.status_code == 200
    listed = response.json()
    assert listed["total_entries"] == 2
    assert [run["dag_run_id"] for run in listed["runs"]] == [second, first]
    run = listed["runs"][0]
    assert (run["trigger_source"], run["caller_address"], run["state"]) == ("http", "testclient", "queued")
    quoted_run_id = second.replace(":", "%3A").replace("+", "%2B")
    assert run["grid_url"] == f"/dags/{details.job.dag_id}/runs/{quoted_run_id}"


def test_runs_are_paged(client):
    details = create()
    run_ids = [post(client, details).json()["dag_run_id"] for _ in range(3)]

    page = client.get(f"/api/jobs/{details.job.id}/runs?limit=2&offset=2", headers=bearer()).json()

    assert page["total_entries"] == 3
    assert [run["dag_run_id"] for run in page["runs"]] == [run_ids[0]]


def test_one_run_shows_its_tasks_and_where_their_logs_are(client):
    webhook = {"type": "webhook", "parameters": {"url": "https://hooks.example/x"}}
    details = create(body(post_processing={"on_failure": [webhook]}))
    run_id = post(client, details).json()["dag_run_id"]

    response = client.get(f"/api/jobs/{details.job.id}/runs/{run_id}", headers=bearer())

    assert response.status_code == 200
    run = response.json()
    assert run["dag_run_id"] == run_id
    assert [task["task_id"] for task in run["tasks"]] == ["action", "on_failure_1_webhook"]
    assert all(task["log_url"] is None for task in run["tasks"])  # nothing has run yet
    assert run["outcome"] == "queued"
    assert run["post_processing"] == [
        {"task_id": "on_failure_1_webhook", "when": "on_failure", "index": 1, "type": "webhook",
         "state": None, "error": None}
    ]


def test_a_run_whose_notification_failed_reads_succeeded_with_warnings_and_names_the_steps_error(client):
    webhook = {"type": "webhook", "parameters": {"url": "https://hooks.example/x"}}
    details = create(body(post_processing={"on_success": [webhook], "on_failure": [webhook]}))
    run_id = post(client, details).json()["dag_run_id"]
    error = "AirflowException: The webhook https://hooks.example answered 500 Internal Server Error to POST"
    settle(
        details.job.dag_id, run_id, "success", errors={"on_success_1_webhook": error},
        action="success", on_success_1_webhook="failed", on_failure_1_webhook="skipped",
    )

    run = client.get(f"/api/jobs/{details.job.id}/runs/{run_id}", headers=bearer()).json()
    listed = client.get(f"/api/jobs/{details.job.id}/runs", headers=bearer()).json()["runs"][0]
    jobs = client.get("/api/jobs", headers=bearer()).json()["jobs"]

    assert (run["state"], run["outcome"]) == ("success", "succeeded_with_warnings")
    assert run["post_processing"] == [
        {"task_id": "on_success_1_webhook", "when": "on_success", "index": 1, "type": "webhook",
         "state": "failed", "error": error},
        {"task_id": "on_failure_1_webhook", "when": "on_failure", "index": 1, "type": "webhook",
         "state": "skipped", "error": None},
    ]
    assert listed["outcome"] == "succeeded_with_warnings"
    assert [job["last_run"]["outcome"] for job in jobs if job["id"] == details.job.id] == ["succeeded_with_warnings"]


def test_404_for_a_run_the_job_does_not_have(client):
    details = create()

    response = client.get(f"/api/jobs/{details.job.id}/runs/manual__nope", headers=bearer())

    assert response.status_code == 404
    assert response.json() == {"detail": f"Job {details.job.id} has no run manual__nope"}


def test_run_now_starts_a_manual_run_by_the_user(client):
    details = create()

    response = client.post(f"/api/jobs/{details.job.id}/runs", headers=bearer("user"))

    assert response.status_code == 201, response.text
    run = response.json()
    assert run["dag_run_id"].startswith("manual__")
    assert (run["trigger_source"], run["triggered_by"], run["triggering_user"]) == ("manual", "ui", "user")
    assert run["caller_address"] is None


def test_run_now_refuses_a_disabled_job_and_a_job_taking_parameters_at_execution_without_a_body(client):
    disabled = create(body(enabled=False))
    at_execution = create(body(action=EC2_AT_EXECUTION))

    paused = client.post(f"/api/jobs/{disabled.job.id}/runs", headers=bearer())
    needs_body = client.post(f"/api/jobs/{at_execution.job.id}/runs", headers=bearer())

    assert paused.status_code == 409
    assert paused.json() == {"detail": f"Job {disabled.job.id} is disabled; enable it to run it"}
    assert needs_body.status_code == 409
    assert needs_body.json() == {
        "detail": f"Job {at_execution.job.id} takes its parameters at execution; send them as a JSON object in the body"
    }


def test_run_now_starts_a_job_taking_parameters_at_execution_with_the_conf_its_trigger_gives(client):
    details = create(body(action=EC2_AT_EXECUTION))
    parameters = {"tag_key": "Env", "tag_value": "test"}

    response = client.post(f"/api/jobs/{details.job.id}/runs", headers=bearer("user"), json=parameters)
    triggered = post(client, details, json=parameters)

    assert response.status_code == 201, response.text
    assert (response.json()["trigger_source"], response.json()["triggering_user"]) == ("manual", "user")
    confs = {run.run_id: run.conf for run in runs_of(details.job.dag_id)}
    expected = {"instance_ids": [], "tag_key": "Env", "tag_value": "test", "wait_until_final_state": True}
    assert confs == {response.json()["dag_run_id"]: expected, triggered.json()["dag_run_id"]: expected}


def test_run_now_answers_422_placing_each_invalid_parameter_at_its_field(client):
    details = create(body(action=EC2_AT_EXECUTION))

    response = client.post(
        f"/api/jobs/{details.job.id}/runs", headers=bearer(), json={"instance_ids": ["i-nope"], "colour": "red"}
    )

    assert response.status_code == 422
    assert response.json() == {
        "message": "The parameters are invalid: instance_ids.0: Enter instance ids such as "
        "i-0123456789abcdef0 (entry 1); colour: Remove colour: there is no such setting",
        "detail": [
            {"loc": ["body", "instance_ids", "0"], "type": "value_error",
             "msg": "Enter instance ids such as i-0123456789abcdef0 (entry 1)"},
            {"loc": ["body", "colour"], "type": "value_error",
             "msg": "Remove colour: there is no such setting"},
        ],
    }
    assert runs_of(details.job.dag_id) == []


def test_run_now_says_each_problem_in_the_language_the_page_asks_for(client):
    details = create(body(action=EC2_AT_EXECUTION))

    in_japanese = {**bearer(), "Accept-Language": "ja"}
    runs = f"/api/jobs/{details.job.id}/runs"
    wrong_id = client.post(runs, headers=in_japanese, json={"instance_ids": ["x"]})
    no_target = client.post(runs, headers=in_japanese, json={})

    assert wrong_id.status_code == no_target.status_code == 422
    assert wrong_id.json()["detail"] == [
        {"loc": ["body", "instance_ids", "0"], "type": "value_error",
         "msg": "「インスタンス ID」を i-0123456789abcdef0 のような形式で入力してください（1 件目）"},
    ]
    assert wrong_id.json()["message"].startswith("The parameters are invalid: instance_ids.0: Enter instance")
    assert no_target.json()["detail"] == [
        {"loc": ["body"], "type": "value_error",
         "msg": "対象のインスタンスを選ぶには、instance_ids、または tag_key と tag_value を指定してください"},
    ]


def test_run_now_places_a_rule_of_the_whole_body_at_the_body(client):
    details = create(body(action=EC2_AT_EXECUTION))

    response = client.post(f"/api/jobs/{details.job.id}/runs", headers=bearer(), json={})

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body"]
    assert "instance_ids" in problem["msg"] and "tag_key" in problem["msg"]


def test_run_now_refuses_parameters_for_a_job_whose_parameters_are_fixed_and_takes_an_empty_object(client):
    details = create()

    refused = client.post(f"/api/jobs/{details.job.id}/runs", headers=bearer(), json={"tag_value": "prod"})
    empty = client.post(f"/api/jobs/{details.job.id}/runs", headers=bearer(), json={})

    assert refused.status_code == 400
    assert refused.json() == {
        "detail": f"Job {details.job.id} takes no parameters at execution (they were fixed when it was created); "
        "send an empty body"
    }
    assert empty.status_code == 201, empty.text
    assert [run.conf for run in runs_of(details.job.dag_id)] == [{}]


@pytest.mark.parametrize("sent", [[1, 2], "text", 3])
def test_run_now_refuses_a_body_that_is_not_a_json_object(client, sent):
    details = create(body(action=EC2_AT_EXECUTION))

    response = client.post(f"/api/jobs/{details.job.id}/runs", headers=bearer(), json=sent)

    assert response.status_code == 422
    assert [problem["loc"] for problem in response.json()["detail"]] == [["body"]]


def test_runs_need_a_login_and_run_now_the_right_to_run(client):
    details = create()

    assert client.get(f"/api/jobs/{details.job.id}/runs").status_code == 401
    assert client.get(f"/api/jobs/{details.job.id}/runs", headers=bearer("viewer")).status_code == 200
    refused = client.post(f"/api/jobs/{details.job.id}/runs", headers=bearer("viewer"))
    assert (refused.status_code, refused.json()) == (403, {"detail": "You are not allowed to do this"})


class TestCsrf:
    def test_a_change_with_the_login_cookie_needs_the_pages_header(self, client):
        details = create()
        use_cookie(client)

        forged = client.post(f"/api/jobs/{details.job.id}/rotate")
        from_the_pages = client.post(f"/api/jobs/{details.job.id}/rotate", headers=PAGES_HEADERS)

        assert (forged.status_code, forged.json()) == (403, {"detail": CSRF_MESSAGE})
        assert from_the_pages.status_code == 200

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("POST", "/api/jobs"),
            ("PUT", "/api/jobs/{id}"),
            ("DELETE", "/api/jobs/{id}"),
            ("PATCH", "/api/jobs/{id}/enabled"),
            ("POST", "/api/jobs/{id}/runs"),
            ("POST", "/api/jobs/validate"),
        ],
    )
    def test_every_state_changing_route_checks_it(self, client, method, path):
        details = create()
        use_cookie(client)

        response = client.request(method, path.format(id=details.job.id), json={})

        assert (response.status_code, response.json()) == (403, {"detail": CSRF_MESSAGE})

    def test_reading_with_the_cookie_needs_no_header(self, client):
        details = create()
        use_cookie(client)

        assert client.get(f"/api/jobs/{details.job.id}").status_code == 200
        assert client.get(f"/api/jobs/{details.job.id}/runs").status_code == 200

    def test_a_bearer_token_needs_no_header(self, client):
        details = create()
        use_cookie(client)

        response = client.post(f"/api/jobs/{details.job.id}/rotate", headers=bearer())

        assert response.status_code == 200

    def test_without_any_credential_the_answer_is_401(self, client):
        details = create()

        assert client.post(f"/api/jobs/{details.job.id}/rotate").status_code == 401


def test_run_now_answers_422_when_the_dag_airflow_holds_refuses_the_conf(client, monkeypatch):
    """A DAG parsed from an older action model may declare other params: Airflow's refusal is the caller's."""
    stricter = {"tag_key": Param("Env", type="string", enum=["Env"])}
    monkeypatch.setattr(dag_builder, "action_params", lambda action, scheduled=False: stricter)
    details = create(body(action=EC2_AT_EXECUTION))

    response = client.post(
        f"/api/jobs/{details.job.id}/runs", headers=bearer(), json={"tag_key": "Team", "tag_value": "ops"}
    )

    assert response.status_code == 422
    assert response.json()["detail"].startswith("Airflow refused the run's parameters: Invalid input for param tag_key")
    assert runs_of(details.job.dag_id) == []


CLIENT_ERROR = (
    "ClientError: An error occurred (InvalidInstanceID.NotFound) when calling the StartInstances operation: "
    "The instance ID 'i-0000000000000dead' does not exist"
)


def test_a_failed_run_opens_on_the_actions_error_on_one_line_and_links_to_airflow(client):
    details = create(body(post_processing={"on_failure": [{"type": "webhook", "parameters": {"url": "https://hooks.example/x"}}]}))
    run_id = post(client, details).json()["dag_run_id"]
    settle(details.job.dag_id, run_id, "failed", errors={"action": CLIENT_ERROR},
           action="failed", on_failure_1_webhook="success")

    run = client.get(f"/api/jobs/{details.job.id}/runs/{run_id}", headers=bearer()).json()

    assert run["failure"] == {
        "task_id": "action", "severity": "error", "error_type": "ClientError",
        "message": "An error occurred (InvalidInstanceID.NotFound) when calling the StartInstances operation: "
                   "The instance ID 'i-0000000000000dead' does not exist",
    }
    dag_id = details.job.dag_id
    quoted_run_id = run_id.replace(":", "%3A").replace("+", "%2B")
    assert run["dag_url"] == f"/dags/{dag_id}"
    assert [task["airflow_url"] for task in run["tasks"]] == [
        f"/dags/{dag_id}/runs/{quoted_run_id}/tasks/action",
        f"/dags/{dag_id}/runs/{quoted_run_id}/tasks/on_failure_1_webhook",
    ]


def test_an_error_without_a_message_is_never_shown_as_its_bare_type(client):
    details = create()
    run_id = post(client, details).json()["dag_run_id"]
    settle(details.job.dag_id, run_id, "failed", errors={"action": "AirflowException: "}, action="failed")

    run = client.get(f"/api/jobs/{details.job.id}/runs/{run_id}", headers=bearer()).json()

    assert run["failure"] == {"task_id": "action", "severity": "error", "message": None, "error_type": "AirflowException"}


def test_a_failed_notification_after_a_successful_action_comes_first_as_a_warning(client):
    webhook = {"type": "webhook", "parameters": {"url": "https://hooks.example/x"}}
    details = create(body(post_processing={"on_success": [webhook, webhook]}))
    run_id = post(client, details).json()["dag_run_id"]
    error = "AirflowException: The webhook https://hooks.example answered 500 Internal Server Error to POST"
    settle(details.job.dag_id, run_id, "success", errors={"on_success_2_webhook": error},
           action="success", on_success_1_webhook="success", on_success_2_webhook="failed")

    run = client.get(f"/api/jobs/{details.job.id}/runs/{run_id}", headers=bearer()).json()

    assert run["failure"] == {
        "task_id": "on_success_2_webhook", "severity": "warning", "error_type": "AirflowException",
        "message": "The webhook https://hooks.example answered 500 Internal Server Error to POST",
    }


def test_a_run_that_succeeded_has_no_failure_and_a_fixed_job_run_received_no_parameters(client):
    details = create()
    run_id = post(client, details).json()["dag_run_id"]
    settle(details.job.dag_id, run_id, "success", action="success")

    run = client.get(f"/api/jobs/{details.job.id}/runs/{run_id}", headers=bearer()).json()

    assert (run["failure"], run["parameters"]) == (None, {})


def test_a_run_shows_the_parameters_it_received_to_a_viewer(client):
    details = create(body(action={**EC2_AT_EXECUTION, "parameters": {}}))
    started = client.post(
        f"/api/jobs/{details.job.id}/runs", json={"tag_key": "Env", "tag_value": "test"}, headers=bearer()
    )
    assert started.status_code == 201, started.text

    run = client.get(f"/api/jobs/{details.job.id}/runs/{started.json()['dag_run_id']}", headers=bearer("viewer")).json()

    assert run["parameters"] == {
        "instance_ids": [], "tag_key": "Env", "tag_value": "test", "wait_until_final_state": True
    }


def test_a_value_under_a_sensitive_key_in_a_conf_given_through_airflow_reads_masked(client):
    details = create()
    run_id = post(client, details).json()["dag_run_id"]
    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == details.job.dag_id, DagRun.run_id == run_id))
        run.conf = {"note": "restart after patching", "api_token": "s3cr3t-value", "nested": {"password": "pw-1"}}

    response = client.get(f"/api/jobs/{details.job.id}/runs/{run_id}", headers=bearer("viewer"))

    assert response.json()["parameters"] == {
        "note": "restart after patching", "api_token": "***", "nested": {"password": "***"}
    }
    assert "s3cr3t-value" not in response.text and "pw-1" not in response.text


@pytest.mark.parametrize("action", list(ACTIONS.values()), ids=lambda action: action.name)
def test_no_action_takes_a_secret_so_a_runs_parameters_may_be_shown_to_its_readers(action):
    # A run's conf is its action's parameters, shown to whoever may read the job's runs: an action
    # taking a secret would need it masked there, as the spec's secrets are.
    assert secret_parameters(action.parameters_model) == {}
