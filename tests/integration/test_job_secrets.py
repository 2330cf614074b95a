"""A job's secrets on the real stack: write-only for a viewer, revealed to an editor and audit-logged.

One job chains into another (its webhook posts to the other's trigger URL with ``CAAuth <token>``)
and posts to Slack through a webhook URL. Nothing a viewer receives (the API's job, the list, the
pages) holds a secret; an admin's reveal returns them and writes a row to Airflow's audit log; an
update that sends the masked values back keeps them, and the chained job still starts.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from .conftest import WebhookReceiver, create_job, no_action_job, runs_of, trigger, wait_for, wait_for_run_end

pytestmark = pytest.mark.integration
SLACK_PATH = "/secrets/slack/T0/B0/slack-secret-9"
# What a JobResponse has besides the body that created it.
RESPONSE_ONLY = {
    "id", "dag_id", "version", "is_paused", "trigger_url", "token", "signing_secret", "curl", "can_edit",
    "masked_fields", "previous_secret_valid_until",
    "last_run", "next_run_after",
}


@pytest.fixture(scope="module")
def chain(api: httpx.Client, webhook_receiver: WebhookReceiver) -> dict[str, Any]:
    """A target job, and a job whose success webhook starts it; both as their create answered (URL, token)."""
    target = create_job(api, no_action_job("secrets-target"))
    job = create_job(api, no_action_job("secrets-chain", on_success=[
        {"type": "webhook", "parameters": {"url": target["trigger_url"], "authorization": f"CAAuth {target['token']}"}},
        {"type": "slack", "parameters": {"webhook_url": f"{webhook_receiver.url}{SLACK_PATH}", "text": "{{ name }}"}},
    ]))
    secrets = [
        target["token"], target["trigger_url"].rsplit("/", 1)[1], job["token"], job["trigger_url"].rsplit("/", 1)[1],
        SLACK_PATH,
    ]
    return {"target": target, "job": job, "secrets": secrets}


def leaked(text: str, chain: dict[str, Any]) -> list[str]:
    return [secret for secret in chain["secrets"] if secret in text]


def test_nothing_a_viewer_receives_holds_a_secret(viewer: httpx.Client, chain: dict[str, Any]):
    job = chain["job"]
    for path in (
        f"/http-trigger/api/jobs/{job['id']}",
        "/http-trigger/api/jobs",
        "/http-trigger/api/jobs?search=secrets",
        f"/http-trigger/ui/jobs/{job['id']}",
        "/http-trigger/ui/jobs",
    ):
        response = viewer.get(path)
        assert response.status_code == 200, (path, response.text)
        assert leaked(response.text, chain) == [], path
    shown = viewer.get(f"/http-trigger/api/jobs/{job['id']}").json()
    assert (shown["can_edit"], shown["token"], shown["curl"]) == (False, "••••", None)
    assert "post_processing.on_success.1.parameters.webhook_url" in shown["masked_fields"]

    edit = viewer.get(f"/http-trigger/ui/jobs/{job['id']}/edit", follow_redirects=False)
    assert (edit.status_code, edit.headers["location"]) == (303, f"/http-trigger/ui/jobs/{job['id']}")
    refused = viewer.post(f"/http-trigger/api/jobs/{job['id']}/secrets/reveal")
    assert (refused.status_code, leaked(refused.text, chain)) == (403, [])


def test_an_editors_reveal_returns_the_secrets_and_is_in_airflows_audit_log(
    api: httpx.Client, chain: dict[str, Any], webhook_receiver: WebhookReceiver
):
    job, target = chain["job"], chain["target"]

    revealed = api.post(f"/http-trigger/api/jobs/{job['id']}/secrets/reveal")

    assert revealed.status_code == 200, revealed.text
    assert {key: revealed.json()[key] for key in ("trigger_url", "token", "curl")} == {
        key: job[key] for key in ("trigger_url", "token", "curl")
    }
    assert {item["field"]: item["value"] for item in revealed.json()["fields"]} == {
        "post_processing.on_success.0.parameters.url": target["trigger_url"],
        "post_processing.on_success.0.parameters.authorization": f"CAAuth {target['token']}",
        "post_processing.on_success.1.parameters.webhook_url": f"{webhook_receiver.url}{SLACK_PATH}",
    }
    logs = api.get("/api/v2/eventLogs", params={"event": "http_trigger.reveal", "dag_id": job["dag_id"]})
    assert logs.status_code == 200, logs.text
    assert leaked(logs.text, chain) == []
    [row] = logs.json()["event_logs"]
    assert row["owner"] == "admin"
    assert json.loads(row["extra"]) == {
        "job_id": job["id"],
        "channel": "api",
        "source_address": "127.0.0.1",
        "fields": ["trigger_url", "token", "signing_secret", *(item["field"] for item in revealed.json()["fields"])],
    }


def test_an_update_with_the_masked_values_keeps_them_and_the_chain_still_starts_the_other_job(
    api: httpx.Client, chain: dict[str, Any], webhook_receiver: WebhookReceiver
):
    job, target = chain["job"], chain["target"]
    before = api.post(f"/http-trigger/api/jobs/{job['id']}/secrets/reveal").json()["fields"]
    shown = api.get(f"/http-trigger/api/jobs/{job['id']}").json()
    body = {**{key: value for key, value in shown.items() if key not in RESPONSE_ONLY}, "name": "secrets-chain (renamed)"}

    updated = api.put(f"/http-trigger/api/jobs/{job['id']}", json=body, headers={"If-Match": shown["version"]})

    assert updated.status_code == 200, updated.text
    assert leaked(updated.text, chain) == []
    assert api.post(f"/http-trigger/api/jobs/{job['id']}/secrets/reveal").json()["fields"] == before
    target_runs = runs_of(api, target["dag_id"])
    answer = trigger(job).json()
    assert wait_for_run_end(api, job["dag_id"], answer["dag_run_id"]) == "success"
    tasks = api.get(f"/api/v2/dags/{job['dag_id']}/dagRuns/{answer['dag_run_id']}/taskInstances").json()
    assert {ti["task_id"]: ti["state"] for ti in tasks["task_instances"]} == {
        "action": "success", "on_success_1_webhook": "success", "on_success_2_slack": "success",
    }
    wait_for(lambda: runs_of(api, target["dag_id"]) > target_runs, what="the chained job's run")
    assert webhook_receiver.to(SLACK_PATH)

    # The steps' task logs name their targets by scheme and host only; no secret shows.
    origin = target["trigger_url"].split("/http-trigger/")[0]
    for task_id, target_line in (
        ("on_success_1_webhook", f"Posting an empty body to the job trigger at {origin}"),
        ("on_success_2_slack", f"Posting the success message to Slack webhook at {webhook_receiver.url}"),
    ):
        log = api.get(f"/api/v2/dags/{job['dag_id']}/dagRuns/{answer['dag_run_id']}/taskInstances/{task_id}/logs/1",
                      headers={"Accept": "application/x-ndjson"})
        assert log.status_code == 200, log.text
        assert target_line in log.text, log.text[-2000:]
        assert leaked(log.text, chain) == [], task_id
