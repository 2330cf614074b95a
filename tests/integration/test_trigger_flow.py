"""The core promise end to end on real processes: create a job, POST its trigger, AWS changes.

Airflow's API server, scheduler, DAG processor and triggerer and a moto server run as real
processes; the test only speaks HTTP to them (and boto3 to moto, to look at the AWS state).
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import boto3
import httpx
import pytest

from devstack import demo
from devstack.stack import EmbeddedStack, airflow_bin

from .conftest import ISSUED, WebhookReceiver, create_job, runs_of, trigger, wait_for, wait_for_run_end

pytestmark = pytest.mark.integration
NOT_FOUND = {"message": "No job matches this URL and access token"}


def ec2(stack: EmbeddedStack):
    return boto3.client(
        "ec2", region_name=demo.REGION, endpoint_url=stack.moto_url,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


def job_body(receiver: WebhookReceiver, name: str, parameters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "group": "integration",
        "action": {"type": "ec2_start_instances", "aws_conn_id": demo.AWS_CONN_ID, "region": demo.REGION,
                   "parameters": parameters},
        "post_processing": {
            "on_success": [{"type": "webhook", "parameters": {"url": f"{receiver.url}/success/{name}"}}],
            "on_failure": [{"type": "webhook", "parameters": {"url": f"{receiver.url}/failure/{name}",
                                                              "authorization": "CAAuth chained-token"}}],
        },
        **extra,
    }


def test_health_reports_the_components(stack: EmbeddedStack):
    response = httpx.get(f"{stack.api_url}/http-trigger/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert {body[c]["status"] for c in ("metadatabase", "scheduler", "dag_processor")} == {"healthy"}


def test_jobs_api_requires_airflow_login(stack: EmbeddedStack):
    assert httpx.get(f"{stack.api_url}/http-trigger/api/jobs").status_code == 401
    bad = httpx.get(f"{stack.api_url}/http-trigger/api/jobs", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 403  # Airflow answers an invalid JWT with 403


def test_post_starts_the_instances_and_notifies_success(stack, api, webhook_receiver):
    instance_ids = demo.ensure_demo_instances(stack)
    job = create_job(api, job_body(webhook_receiver, "start-by-tag", {"tag_key": "Env", "tag_value": "test"}))
    assert job["curl"] == (
        f'curl -X POST -H "Authorization: CAAuth {job["token"]}" -H "Content-Length: 0" {job["trigger_url"]}'
    )

    response = trigger(job)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer.keys() == {"result", "trigger_job_id", "dag_id", "dag_run_id", "status_url"}
    assert (answer["result"], answer["trigger_job_id"], answer["dag_id"]) == ("ok", job["id"], job["dag_id"])
    # The caller follows its run with the job's token alone, waiting on one request for the end.
    status = wait_for(
        lambda: (
            body := httpx.get(
                answer["status_url"],
                params={"wait": 60},
                headers={"Authorization": f"CAAuth {job['token']}"},
                timeout=90,
            ).json()
        )["final"]
        and body,
        timeout=300,
        what="the run's end through its status URL",
    )
    assert (status["dag_run_id"], status["state"]) == (answer["dag_run_id"], "success")
    assert (status["tasks"][0]["task_id"], status["tasks"][0]["state"]) == ("action", "success")
    assert {task["state"] for task in status["tasks"]} == {"success", "skipped"}  # the failure steps skip
    assert wait_for_run_end(api, job["dag_id"], answer["dag_run_id"]) == "success"

    states = {
        i["InstanceId"]: i["State"]["Name"]
        for r in ec2(stack).describe_instances(InstanceIds=instance_ids)["Reservations"] for i in r["Instances"]
    }
    assert states == dict.fromkeys(instance_ids, "running")
    [received] = wait_for(lambda: webhook_receiver.to("/success/start-by-tag"), what="the success webhook")
    payload = received.body
    assert payload["name"] == "start-by-tag"
    assert payload["status"] == "success"
    assert payload["trigger_job_id"] == job["id"]
    assert (payload["dag_id"], payload["dag_run_id"]) == (job["dag_id"], answer["dag_run_id"])
    assert payload["trigger_source"] == "http"
    assert payload["started_at"] and payload["finished_at"]
    assert payload["log_url"].startswith(f"{stack.api_url}/dags/{job['dag_id']}/runs/")
    assert webhook_receiver.to("/failure/start-by-tag") == []


def test_the_same_404_for_bad_token_no_header_and_unknown_url(stack, api, webhook_receiver):
    job = create_job(api, job_body(webhook_receiver, "guarded", {"tag_key": "Env", "tag_value": "none"}))
    before = runs_of(api, job["dag_id"])
    unknown_url = job["trigger_url"].rsplit("/", 1)[0] + "/not-a-url-id"
    for response in (
        trigger(job, token="wrong-token"),
        trigger(job, headers={"Content-Length": "0"}),
        trigger(job, url=unknown_url),
    ):
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    assert runs_of(api, job["dag_id"]) == before


def test_rotate_replaces_url_and_token_at_once(stack, api, webhook_receiver):
    job = create_job(api, job_body(webhook_receiver, "rotated", {"tag_key": "Env", "tag_value": "test"}))
    rotated = api.post(f"/http-trigger/api/jobs/{job['id']}/rotate").json()
    assert rotated["trigger_url"] != job["trigger_url"] and rotated["token"] != job["token"]
    assert trigger(job).status_code == 404
    assert trigger(job, token=rotated["token"]).status_code == 404
    assert trigger(rotated).status_code == 200


def test_a_disabled_job_answers_409_and_queues_nothing(stack, api, webhook_receiver):
    job = create_job(api, job_body(webhook_receiver, "paused", {"tag_key": "Env", "tag_value": "test"}))
    disabled = api.patch(f"/http-trigger/api/jobs/{job['id']}/enabled", json={"enabled": False})
    assert disabled.json()["is_paused"] is True
    response = trigger(job)
    assert response.status_code == 409
    assert response.json() == {"message": f"Job {job['id']} is disabled; enable it to run it"}
    assert runs_of(api, job["dag_id"]) == 0


def test_a_failing_action_fails_the_run_and_sends_the_failure_notification(stack, api, webhook_receiver):
    job = create_job(api, job_body(webhook_receiver, "missing-instance", {"instance_ids": ["i-0000000000000dead"]}))
    answer = trigger(job).json()
    assert wait_for_run_end(api, job["dag_id"], answer["dag_run_id"]) == "failed"
    [received] = wait_for(lambda: webhook_receiver.to("/failure/missing-instance"), what="the failure webhook")
    assert received.headers["Authorization"] == "CAAuth chained-token"
    assert received.body["status"] == "failure"
    assert "i-0000000000000dead" in received.body["error"]
    assert webhook_receiver.to("/success/missing-instance") == []
    tasks = api.get(f"/api/v2/dags/{job['dag_id']}/dagRuns/{answer['dag_run_id']}/taskInstances").json()
    states = {ti["task_id"]: ti["state"] for ti in tasks["task_instances"]}
    assert states == {"action": "failed", "on_success_1_webhook": "upstream_failed",
                      "on_failure_1_webhook": "success"}


def test_cli_shows_triggers_and_updates_the_job(stack, api, webhook_receiver, tmp_path):
    """A shell with nothing but AIRFLOW_HOME set works against the running stack."""
    demo.ensure_demo_instances(stack)
    job = create_job(api, job_body(webhook_receiver, "from-cli", {"tag_key": "Env", "tag_value": "test"}))
    cli = airflow_bin().parent / "http-trigger"
    shell_env = {"PATH": os.environ["PATH"], "AIRFLOW_HOME": str(stack.config.home)}
    [shown] = json.loads(subprocess.run([str(cli), "jobs", "show", str(job["id"]), "-o", "json"], env=shell_env,
                                        capture_output=True, text=True, check=True).stdout)
    assert {k: shown[k] for k in ("id", "name", "dag_id")} == {k: job[k] for k in ("id", "name", "dag_id")}
    assert (shown["token"], shown["curl"]) == ("••••", None)
    [revealed] = json.loads(subprocess.run([str(cli), "jobs", "reveal", str(job["id"]), "-o", "json"],
                                           env=shell_env, capture_output=True, text=True, check=True).stdout)
    assert {k: revealed[k] for k in ISSUED} == {k: job[k] for k in ISSUED}
    # The same commands are a group of Airflow's own CLI.
    listed = json.loads(subprocess.run([str(airflow_bin()), "http-trigger", "jobs", "list", "-o", "json"],
                                       env=shell_env, capture_output=True, text=True, check=True).stdout)
    assert job["id"] in [j["id"] for j in listed]

    [started] = json.loads(subprocess.run([str(cli), "jobs", "trigger", str(job["id"]), "-o", "json"],
                                          env=shell_env, capture_output=True, text=True, check=True).stdout)
    assert (started["result"], started["trigger_job_id"]) == ("ok", job["id"])
    assert wait_for_run_end(api, job["dag_id"], started["dag_run_id"]) == "success"
    run = api.get(f"/api/v2/dags/{job['dag_id']}/dagRuns/{started['dag_run_id']}").json()
    assert run["triggered_by"] == "cli"

    spec = tmp_path / "renamed.yaml"
    spec.write_text(json.dumps({**{k: shown[k] for k in ("group", "action", "post_processing")}, "name": "renamed"}))
    subprocess.run([str(cli), "jobs", "update", str(job["id"]), "-f", str(spec)], env=shell_env,
                   capture_output=True, text=True, check=True)
    assert api.get(f"/http-trigger/api/jobs/{job['id']}").json()["name"] == "renamed"
    # The spec shown masked kept the failure webhook's Authorization value.
    kept = api.post(f"/http-trigger/api/jobs/{job['id']}/secrets/reveal").json()["fields"]
    assert kept == [{"field": "post_processing.on_failure.0.parameters.authorization", "value": "CAAuth chained-token"}]
    wrong = subprocess.run([str(cli), "jobs", "trigger", str(job["id"]), "--parameters", '{"tag_key": "x"}'],
                           env=shell_env, capture_output=True, text=True)
    assert wrong.returncode == 1
    assert "takes no parameters at execution" in wrong.stderr
