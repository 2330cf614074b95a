"""Every post-processing kind on real processes: the run's payload reaches real local receivers.

A job's steps run as Airflow tasks in the stack's LocalExecutor workers; the receivers are a local
HTTP server (webhook and Slack), a local SMTP server (email), and SQS queues in the stack's moto
server (SQS directly, SNS through a subscribed queue). A step that fails never changes the run's state.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import boto3
import pytest
from aiosmtpd.controller import Controller

from devstack import demo
from devstack.stack import EmbeddedStack, airflow_bin, free_port

from .conftest import WebhookReceiver, create_job, no_action_job, task_states, trigger, wait_for, wait_for_run_end

pytestmark = pytest.mark.integration
SMTP_CONN_ID = "smtp_integration"


def aws_client(stack: EmbeddedStack, service: str):
    return boto3.client(
        service, region_name=demo.REGION, endpoint_url=stack.moto_url,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


class MailServer:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def mail_server(stack: EmbeddedStack) -> Iterator[MailServer]:
    """A local SMTP server and the stack's Airflow SMTP connection to it."""
    handler = MailServer()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    connection = {
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        "extra": {"from_email": "airflow@ops.example.com", "disable_tls": True, "disable_ssl": True},
    }
    subprocess.run(
        [str(airflow_bin()), "connections", "add", SMTP_CONN_ID, "--conn-json", json.dumps(connection)],
        env=stack.env, check=True, capture_output=True,
    )
    yield handler
    controller.stop()


def job_body(name: str, on_success: list[dict[str, Any]], on_failure: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "group": "integration",
        "action": {"type": "ec2_start_instances", "aws_conn_id": demo.AWS_CONN_ID, "region": demo.REGION,
                   "parameters": {"tag_key": "Env", "tag_value": "test"}},
        "post_processing": {"on_success": on_success, "on_failure": on_failure},
    }


def check_payload(payload: dict[str, Any], job: dict[str, Any], run_id: str, stack: EmbeddedStack) -> None:
    assert payload["name"] == job["name"]
    assert (payload["trigger_job_id"], payload["status"]) == (job["id"], "success")
    assert (payload["dag_id"], payload["dag_run_id"]) == (job["dag_id"], run_id)
    assert payload["trigger_source"] == "http"
    assert payload["started_at"] and payload["finished_at"]
    assert payload["log_url"].startswith(f"{stack.api_url}/dags/{job['dag_id']}/runs/")
    assert "error" not in payload


def test_every_kind_sends_the_success_payload(stack, api, webhook_receiver: WebhookReceiver, mail_server):
    demo.ensure_demo_instances(stack)
    sqs = aws_client(stack, "sqs")
    queue_url = sqs.create_queue(QueueName="pp-success-events")["QueueUrl"]
    sns_inbox_url = sqs.create_queue(QueueName="pp-success-sns-inbox")["QueueUrl"]
    inbox = sqs.get_queue_attributes(QueueUrl=sns_inbox_url, AttributeNames=["QueueArn"])
    inbox_arn = inbox["Attributes"]["QueueArn"]
    topic_arn = aws_client(stack, "sns").create_topic(Name="pp-success")["TopicArn"]
    aws_client(stack, "sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
    aws = {"aws_conn_id": demo.AWS_CONN_ID}
    job = create_job(api, job_body(
        "pp-every-kind",
        on_success=[
            {"type": "webhook", "parameters": {"url": f"{webhook_receiver.url}/pp/webhook"}},
            {"type": "slack", "parameters": {"webhook_url": f"{webhook_receiver.url}/pp/slack/T0/B0/x",
                                             "text": "{{ name }} {{ status }} {{ dag_run_id }}"}},
            {"type": "sqs", "parameters": {"queue_url": queue_url, **aws}},
            {"type": "sns", "parameters": {"topic_arn": topic_arn, **aws}},
            {"type": "email", "parameters": {"to": ["ops@example.com"], "smtp_conn_id": SMTP_CONN_ID,
                                             "subject": "{{ name }} {{ status }}"}},
        ],
        on_failure=[{"type": "webhook", "parameters": {"url": f"{webhook_receiver.url}/pp/failure"}}],
    ))

    answer = trigger(job).json()
    run_id = answer["dag_run_id"]
    assert wait_for_run_end(api, job["dag_id"], run_id) == "success"

    assert task_states(api, job["dag_id"], run_id) == {
        "action": "success",
        "on_success_1_webhook": "success",
        "on_success_2_slack": "success",
        "on_success_3_sqs": "success",
        "on_success_4_sns": "success",
        "on_success_5_email": "success",
        "on_failure_1_webhook": "skipped",
    }
    [webhook] = webhook_receiver.to("/pp/webhook")
    check_payload(webhook.body, job, run_id, stack)
    [slack] = webhook_receiver.to("/pp/slack/T0/B0/x")
    assert slack.body == {"text": f"pp-every-kind success {run_id}"}
    [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    check_payload(json.loads(message["Body"]), job, run_id, stack)
    [notification] = sqs.receive_message(QueueUrl=sns_inbox_url)["Messages"]
    check_payload(json.loads(json.loads(notification["Body"])["Message"]), job, run_id, stack)
    [envelope] = mail_server.envelopes
    mail = message_from_bytes(envelope.content, policy=policy.default)
    assert (envelope.rcpt_tos, mail["Subject"]) == (["ops@example.com"], "pp-every-kind success")
    assert run_id in mail.get_body(preferencelist=("html",)).get_content()
    assert webhook_receiver.to("/pp/failure") == []


def test_a_failing_step_fails_alone_and_the_run_keeps_the_actions_state(stack, api, webhook_receiver):
    demo.ensure_demo_instances(stack)
    job = create_job(api, job_body(
        "pp-broken-webhook",
        on_success=[
            {"type": "webhook", "retries": 0, "parameters": {"url": f"{webhook_receiver.url}/broken/pp"}},
            {"type": "webhook", "parameters": {"url": f"{webhook_receiver.url}/pp/after-broken"}},
        ],
        on_failure=[],
    ))

    run_id = trigger(job).json()["dag_run_id"]

    assert wait_for_run_end(api, job["dag_id"], run_id) == "success"
    assert task_states(api, job["dag_id"], run_id) == {
        "action": "success", "on_success_1_webhook": "failed", "on_success_2_webhook": "success",
    }
    [broken] = webhook_receiver.to("/broken/pp")  # retries 0: one attempt only
    assert broken.body["status"] == "success"
    assert len(webhook_receiver.to("/pp/after-broken")) == 1


def test_a_webhook_step_aimed_at_another_jobs_trigger_starts_that_job_once(stack, api):
    """Chaining as documented: job A's success step starts job B (fixed parameters) with B's token."""
    demo.ensure_demo_instances(stack)
    second = create_job(api, {
        "name": "pp-chained-second",
        "group": "integration",
        "action": {"type": "utility_no_action", "aws_conn_id": demo.AWS_CONN_ID, "region": demo.REGION},
    })
    first = create_job(api, job_body(
        "pp-chained-first",
        on_success=[{"type": "webhook", "parameters": {
            "url": second["trigger_url"], "authorization": f"CAAuth {second['token']}",
        }}],
        on_failure=[],
    ))

    run_id = trigger(first).json()["dag_run_id"]
    assert wait_for_run_end(api, first["dag_id"], run_id) == "success"
    assert task_states(api, first["dag_id"], run_id)["on_success_1_webhook"] == "success"

    chained = wait_for(
        lambda: api.get(f"/http-trigger/api/jobs/{second['id']}/runs").json()["runs"],
        what="the chained job's run",
    )
    assert len(chained) == 1
    assert chained[0]["trigger_source"] == "http"
    assert wait_for_run_end(api, second["dag_id"], chained[0]["dag_run_id"]) == "success"
    # The step's task log names the chained trigger by its route, never by its URL id.
    log = api.get(
        f"/api/v2/dags/{first['dag_id']}/dagRuns/{run_id}/taskInstances/on_success_1_webhook/logs/1",
        headers={"Accept": "application/json"},
    ).text
    assert "Posting an empty body to the job trigger at" in log
    assert second["trigger_url"].rsplit("/", 1)[1] not in log
    assert second["token"] not in log


def test_a_shared_definition_runs_as_a_step_of_each_job_using_it_and_a_change_reaches_the_next_run(
    stack, api, webhook_receiver
):
    definition = {"name": "shared-hook", "type": "webhook", "parameters": {"url": f"{webhook_receiver.url}/shared/v1"}}
    assert api.post("/http-trigger/api/post-processing", json=definition).status_code == 201
    job = create_job(api, no_action_job("pp-shared-definition", on_success=[{"ref": "shared-hook"}]))
    assert job["post_processing"]["on_success"] == [{"ref": "shared-hook"}]

    first_run = trigger(job).json()["dag_run_id"]
    assert wait_for_run_end(api, job["dag_id"], first_run) == "success"
    assert task_states(api, job["dag_id"], first_run) == {"action": "success", "on_success_1_webhook": "success"}
    [received] = webhook_receiver.to("/shared/v1")
    assert (received.body["dag_run_id"], received.body["name"]) == (first_run, "pp-shared-definition")

    parsed_before = api.get(f"/api/v2/dags/{job['dag_id']}/details").json()["last_parsed_time"]
    changed = {"type": "webhook", "parameters": {"url": f"{webhook_receiver.url}/shared/v2"}}
    updated = api.put("/http-trigger/api/post-processing/shared-hook", json=changed)
    assert updated.status_code == 200, updated.text
    assert updated.json()["used_by"] == [{"id": job["id"], "name": "pp-shared-definition"}]
    # The update asked Airflow to re-parse the job's factory file: well before the periodic re-parse.
    wait_for(
        lambda: api.get(f"/api/v2/dags/{job['dag_id']}/details").json()["last_parsed_time"] != parsed_before,
        timeout=20,
        what="the job's DAG to be parsed again",
    )

    second_run = trigger(job).json()["dag_run_id"]
    assert wait_for_run_end(api, job["dag_id"], second_run) == "success"
    [moved] = webhook_receiver.to("/shared/v2")
    assert moved.body["dag_run_id"] == second_run
    assert len(webhook_receiver.to("/shared/v1")) == 1

    in_use = api.delete("/http-trigger/api/post-processing/shared-hook")
    assert (in_use.status_code, in_use.json()["jobs"]) == (409, [{"id": job["id"], "name": "pp-shared-definition"}])
