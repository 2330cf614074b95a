"""No secret is ever written down or shown to a viewer, proved on the real stack.

Jobs that carry every kind of secret — their own trigger URL ids and tokens, another job's trigger
URL and ``CAAuth <token>`` in a chaining webhook step, a webhook's own Authorization value and a
credential in its query string, Slack webhook URLs with a secret path, a signing secret — go through
the whole product: trigger calls right and wrong, the status URL, success and failure
post-processing, the chained job, Run now, a rotation, reads by an editor and a viewer, the CLI.
Then every file under the stack's AIRFLOW_HOME (the processes' output with the API server's access
log, task logs, DAG processor logs, PostgreSQL's server log), the test's own output and everything
a viewer (or an editor reading) received are searched for each secret: none may hold one.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_trigger.urls import TRIGGER_ROUTE, trigger_url_id
from standardwebhooks.webhooks import Webhook

from devstack import demo
from devstack.stack import EmbeddedStack, airflow_bin, free_port

from .conftest import (
    WebhookReceiver,
    create_job,
    no_action_job,
    task_states,
    trigger,
    wait_for,
    wait_for_run_end,
)

# The whole product's flow, a dozen runs and every file searched: longer than the suite's 10 minutes
# on a busy machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]
# A step that finds nothing to start fails the action, so the job's failure steps run.
MISSING_INSTANCE = "i-0000000000000dead"
HAND_WRITTEN_JOB_ID = 990001


@dataclass(frozen=True)
class Secret:
    """One value nothing may write down; ``configured_in``: the jobs whose specs hold it by their author's choice."""

    what: str
    value: str
    configured_in: frozenset[int] = frozenset()


@dataclass
class Secrets:
    """Every secret the flow handled, and the specs that may hold each."""

    all: list[Secret] = field(default_factory=list)

    def add(self, what: str, value: str) -> str:
        self.all.append(Secret(what, value))
        return value

    def add_job(self, name: str, job: dict[str, Any]) -> None:
        """Add the URL id and token a create or a rotation answered for job ``name``."""
        url_id = trigger_url_id(job["trigger_url"])
        assert url_id, job["trigger_url"]
        self.add(f"{name}'s URL id", url_id)
        self.add(f"{name}'s token", job["token"])

    def configure(self, job_id: int, values: Iterable[str]) -> None:
        """Mark the secrets held in ``values`` as written into job ``job_id``'s spec by its author."""
        values = list(values)
        self.all = [
            Secret(s.what, s.value, s.configured_in | {job_id}) if any(s.value in value for value in values) else s
            for s in self.all
        ]

    def found_in(self, where: str, content: bytes | str, *, spec_of: int | None = None) -> list[str]:
        """Return one line per secret in ``content``, naming ``where`` and the line."""
        data = content.encode() if isinstance(content, str) else content
        leaks = []
        for secret in self.all:
            if spec_of in secret.configured_in:
                continue
            needle = secret.value.encode()
            for number, line in enumerate(data.split(b"\n"), start=1):
                if needle in line:
                    leaks.append(f"{where}:{number}: {secret.what}")
        return leaks


def marker(kind: str) -> str:
    """Return a value found nowhere else, so a hit can only be this secret."""
    return f"leak-{kind}-{secrets.token_hex(12)}"


def signed_headers(signing_secret: str, content: str) -> dict[str, str]:
    """Return the Standard Webhooks headers of a call signed with ``signing_secret``."""
    webhook_id, moment = f"msg_{secrets.token_hex(8)}", datetime.now(timezone.utc)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(signing_secret).sign(webhook_id, moment, content),
    }


def settle(api: httpx.Client, job: dict[str, Any], runs: int) -> list[str]:
    """Wait until the job has ``runs`` runs, each final with every task final; return their ids."""
    run_ids = wait_for(
        lambda: len(ids := [r["dag_run_id"] for r in
                            api.get(f"/api/v2/dags/{job['dag_id']}/dagRuns").json()["dag_runs"]]) >= runs and ids,
        timeout=120, what=f"{runs} runs of {job['dag_id']}",
    )  # fmt: skip
    for run_id in run_ids:
        wait_for_run_end(api, job["dag_id"], run_id)
        task_states(api, job["dag_id"], run_id)
    return run_ids


def viewer_paths(api: httpx.Client, job: dict[str, Any], run_ids: list[str]) -> list[str]:
    """Return every path a viewer opens to read a job, its runs and each task's details and log."""
    dag = f"/api/v2/dags/{job['dag_id']}"
    paths = [
        f"/http-trigger/api/jobs/{job['id']}",
        f"/http-trigger/api/jobs/{job['id']}/runs",
        f"/http-trigger/ui/jobs/{job['id']}",
        f"/http-trigger/ui/jobs/{job['id']}/runs",
        f"{dag}/details",
        f"{dag}/tasks",
        f"{dag}/dagRuns",
        f"/api/v2/dagSources/{job['dag_id']}",
        f"/api/v2/eventLogs?dag_id={job['dag_id']}",
    ]
    for run_id in run_ids:
        detail = api.get(f"/http-trigger/api/jobs/{job['id']}/runs/{run_id}").json()
        run = f"{dag}/dagRuns/{run_id}"
        paths += [f"/http-trigger/api/jobs/{job['id']}/runs/{run_id}", f"/http-trigger/ui/jobs/{job['id']}/runs/{run_id}",
                  run, f"{run}/taskInstances"]  # fmt: skip
        for task in detail["tasks"]:
            instance = f"{run}/taskInstances/{task['task_id']}"
            xcoms = api.get(f"{instance}/xcomEntries").json()["xcom_entries"]
            paths += [instance, f"{instance}/xcomEntries", *(f"{instance}/xcomEntries/{x['key']}" for x in xcoms)]
            if task["log_url"]:
                # As the run log page reads it: the whole log.
                paths.append(f"{task['log_url']}?full_content=true")
    return paths


def cli(stack: EmbeddedStack, *args: str) -> str:
    """Run ``http-trigger`` in a shell with only the stack's AIRFLOW_HOME set; return what it printed."""
    shell_env = {"PATH": os.environ["PATH"], "AIRFLOW_HOME": str(stack.config.home)}
    command = [str(airflow_bin().parent / "http-trigger"), *args]
    done = subprocess.run(command, env=shell_env, capture_output=True, text=True, check=True)
    return done.stdout + done.stderr


@pytest.fixture
def hand_written_spec(stack: EmbeddedStack) -> Iterator[Path]:
    """Where a person writes a spec by hand, removed afterwards: a broken spec is every reader's problem."""
    path = stack.config.jobs_folder / f"job_{HAND_WRITTEN_JOB_ID}.yaml"
    yield path
    path.unlink(missing_ok=True)


def files_under(home: Path, excluded: Path) -> Iterable[Path]:
    for path in sorted(home.rglob("*")):
        if path.is_file() and not path.is_relative_to(excluded):
            yield path


def test_no_secret_is_written_down_or_shown_to_a_viewer(
    stack: EmbeddedStack,
    api: httpx.Client,
    viewer: httpx.Client,
    webhook_receiver: WebhookReceiver,
    hand_written_spec: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
):
    found = Secrets()
    demo.ensure_demo_instances(stack)

    # --- Jobs carrying every kind of secret.
    target = create_job(api, no_action_job("leaks-target"))
    found.add_job("the chained job", target)
    hook_authorization = found.add("a webhook's Authorization value", f"Bearer {marker('authorization')}")
    hook_url = f"{webhook_receiver.url}/leaks/hook?key={found.add('a webhook URL credential', marker('query'))}"
    slack_url = f"{webhook_receiver.url}/leaks/slack/T0/B0/{found.add('a Slack URL path', marker('slack'))}"
    on_success = [
        {"type": "webhook", "parameters": {"url": target["trigger_url"], "authorization": f"CAAuth {target['token']}"}},
        {"type": "webhook", "parameters": {"url": hook_url, "authorization": hook_authorization}},
        {"type": "slack", "parameters": {"webhook_url": slack_url, "text": "{{ name }} {{ status }}"}},
    ]
    job = create_job(api, no_action_job("leaks-chain", on_success=on_success, on_failure=on_success[1:]))
    found.add_job("the chaining job", job)
    found.configure(job["id"], [target["trigger_url"], target["token"], hook_url, hook_authorization, slack_url])

    failure_authorization = found.add("a failure webhook's Authorization value", f"Basic {marker('failure')}")
    failure_slack_url = f"{webhook_receiver.url}/leaks/slack/T1/B1/{found.add('a Slack URL path', marker('slack'))}"
    # Steps that fail (the receiver answers 500 under /broken; nothing listens on a free port):
    # their error messages are where a target's full URL would show.
    broken_hook_url = f"{webhook_receiver.url}/broken/hook?key={found.add('a webhook URL credential', marker('query'))}"
    unreachable_url = f"http://127.0.0.1:{free_port()}/leaks?key={found.add('a webhook URL credential', marker('query'))}"
    broken_slack_url = f"{webhook_receiver.url}/broken/slack/{found.add('a Slack URL path', marker('slack'))}"
    failing = create_job(api, {
        "name": "leaks-failing",
        "group": "integration",
        "action": {"type": "ec2_start_instances", "aws_conn_id": demo.AWS_CONN_ID, "region": demo.REGION,
                   "parameters": {"instance_ids": [MISSING_INSTANCE]}},
        "post_processing": {
            "on_success": [{"type": "webhook", "parameters": {"url": hook_url}}],
            "on_failure": [
                {"type": "webhook", "parameters": {"url": f"{webhook_receiver.url}/leaks/failure",
                                                   "authorization": failure_authorization}},
                {"type": "slack", "parameters": {"webhook_url": failure_slack_url}},
                {"type": "webhook", "retries": 0, "parameters": {"url": broken_hook_url}},
                {"type": "webhook", "retries": 0, "parameters": {"url": unreachable_url}},
                {"type": "slack", "retries": 0, "parameters": {"webhook_url": broken_slack_url}},
            ],
        },
    })  # fmt: skip
    found.add_job("the failing job", failing)
    found.configure(failing["id"], [hook_url, failure_authorization, failure_slack_url, broken_hook_url,
                                    unreachable_url, broken_slack_url])

    signed = create_job(api, {**no_action_job("leaks-signed"), "trigger": {"require_signature": True}})
    found.add_job("the signed job", signed)
    signing_secret = api.post(f"/http-trigger/api/jobs/{signed['id']}/secrets/reveal").json()["signing_secret"]
    assert signing_secret
    found.add("the signing secret", signing_secret)
    found.add("the signing secret's key", signing_secret.removeprefix("whsec_"))

    # A spec written by hand with its secrets out of place, so that it does not load: its problems
    # reach every reader of the job list and the DAG processor's log.
    misplaced_slack_url = f"https://hooks.example.com/T2/B2/{found.add('a Slack URL path', marker('slack'))}"
    misplaced_url = f"https://hooks.example.com/?key={found.add('a webhook URL credential', marker('query'))}"
    hand_written_spec.write_text(json.dumps({
        "name": "leaks-by-hand",
        "action": {"type": "utility_no_action", "aws_conn_id": demo.AWS_CONN_ID, "region": demo.REGION},
        "post_processing": {
            "on_success": {"type": "slack", "parameters": {"webhook_url": misplaced_slack_url}},
            "on_failure": [{"type": "webhook", "parameters": misplaced_url}],
        },
    }))  # fmt: skip
    found.configure(HAND_WRITTEN_JOB_ID, [misplaced_slack_url, misplaced_url])

    # --- Trigger calls: right, with a wrong token, at a wrong URL id, signed; each followed to its end.
    wrong_token, wrong_url_id = found.add("a wrong token", marker("token")), found.add("a wrong URL id", marker("url"))
    assert trigger(job, token=wrong_token).status_code == 404
    wrong_url = job["trigger_url"].replace(trigger_url_id(job["trigger_url"]), wrong_url_id)
    assert trigger(job, url=wrong_url).status_code == 404
    started = trigger(job).json()
    trigger_ids = {"failing": trigger(failing).json()["dag_run_id"]}
    # A signature comes on top of the token.
    headers = {"Authorization": f"CAAuth {signed['token']}", **signed_headers(signing_secret, "")}
    assert httpx.post(signed["trigger_url"], content="", headers=headers, timeout=30).status_code == 200
    status = wait_for(
        lambda: (body := httpx.get(started["status_url"], params={"wait": 60}, timeout=90,
                                   headers={"Authorization": f"CAAuth {job['token']}"}).json())["final"] and body,
        timeout=300, what="the run's end through its status URL",
    )  # fmt: skip
    assert status["state"] == "success"
    # The chain started the target once per run of the chaining job: wait for those too.
    settle(api, job, 1)
    settle(api, failing, 1)
    settle(api, signed, 1)
    settle(api, target, 1)
    assert task_states(api, failing["dag_id"], trigger_ids["failing"]) == {
        "action": "failed", "on_success_1_webhook": "upstream_failed", "on_failure_1_webhook": "success",
        "on_failure_2_slack": "success", "on_failure_3_webhook": "failed", "on_failure_4_webhook": "failed",
        "on_failure_5_slack": "failed",
    }

    # --- Run now, then a rotation: the replaced URL id and token stay secrets, the new ones are too.
    ran = api.post(f"/http-trigger/api/jobs/{job['id']}/runs")
    assert ran.status_code == 201, ran.text
    settle(api, job, 2)
    rotated = api.post(f"/http-trigger/api/jobs/{job['id']}/rotate").json()
    found.add_job("the rotated job", rotated)
    rotated_url_id = trigger_url_id(rotated["trigger_url"])
    assert trigger(job).status_code == 404
    assert trigger(rotated).status_code == 200
    run_ids = {name: settle(api, each, runs) for name, each, runs in (
        ("chain", job, 3), ("failing", failing, 1), ("signed", signed, 1), ("target", target, 3),
    )}  # fmt: skip

    # --- Reads: an editor's (masked), a viewer's, the CLI's.
    answers: list[tuple[str, str]] = []
    for path in ("/http-trigger/api/jobs", *(f"/http-trigger/api/jobs/{each['id']}" for each in (job, failing, signed))):
        answers.append((f"editor GET {path}", api.get(path).text))
    paths = ["/http-trigger/api/jobs", "/http-trigger/ui/jobs", "/api/v2/eventLogs?limit=100", "/api/v2/importErrors"]
    for each in (job, failing, signed, target):
        paths += viewer_paths(api, each, run_ids[each["name"].removeprefix("leaks-")])
    for path in paths:
        # Task logs come as JSON, as the run log page reads them.
        response = viewer.get(path, headers={"Accept": "application/json"} if "/logs/" in path else {})
        assert response.status_code == 200, (path, response.text[:500])
        answers.append((f"viewer GET {path}", response.text))
    for args in (("jobs", "list"), ("jobs", "show", str(job["id"])), ("jobs", "show", str(job["id"]), "-o", "json")):
        answers.append((f"http-trigger {' '.join(args)}", cli(stack, *args)))

    # The rotation asked the DAG processor to re-parse the jobs; the hand-written spec's problems
    # reach its log once that parse is done, which the search below must see.
    logs = stack.config.logs_folder
    wait_for(
        lambda: any(f"Job spec not loaded: {hand_written_spec.name}" in path.read_text(errors="replace")
                    for path in (logs / "dag_processor").rglob("*") if path.is_file()),
        timeout=180, what="the DAG processor's log of the hand-written spec",
    )  # fmt: skip

    # --- Search: every answer, the test's own output, every file of the stack.
    # First, that the search finds secrets: an editor's reveal holds every secret of the chaining job.
    revealed = api.post(f"/http-trigger/api/jobs/{job['id']}/secrets/reveal").text
    held = [s for s in found.all if job["id"] in s.configured_in or s.value in (rotated["token"], rotated_url_id)]
    assert len(found.found_in("the reveal", revealed)) == len(held) == 7
    leaks = [leak for where, text in answers for leak in found.found_in(where, text)]
    out, err = capfd.readouterr()
    leaks += found.found_in("the test's stdout", out) + found.found_in("the test's stderr", err)
    leaks += found.found_in("the test's log", caplog.text)
    home = stack.config.home
    # PostgreSQL's data folder: the database is the credential store (URL ids, encrypted tokens), not a
    # log; the server's own log is logs/postgres.log, searched below.
    database = stack.config.postgres.data_dir
    searched = list(files_under(home, database))
    for path in searched:
        # A job's spec file is the configuration store: it keeps the step secrets its author wrote in
        # it (and no other: never the job's own URL id or token).
        is_spec = path.parent == stack.config.jobs_folder and path.name.startswith("job_")
        spec_of = int(path.stem.removeprefix("job_")) if is_spec else None
        leaks += found.found_in(str(path.relative_to(home)), path.read_bytes(), spec_of=spec_of)

    # The search saw what it claims to: the access log, the steps' task logs, PostgreSQL's log, the
    # hand-written spec's problems in the job list and the DAG processor's log.
    assert any(hand_written_spec.name in text for where, text in answers if where == "viewer GET /http-trigger/api/jobs")
    assert any(f"Job spec not loaded: {hand_written_spec.name}" in path.read_text(errors="replace")
               for path in searched if "dag_processor" in path.parts)  # fmt: skip
    assert TRIGGER_ROUTE in (logs / "api-server.log").read_text(errors="replace")
    assert (logs / "postgres.log") in searched
    assert any("Posting an empty body to the job trigger at" in p.read_text(errors="replace")
               for p in searched if f"dag_id={job['dag_id']}" in str(p))  # fmt: skip
    assert leaks == [], "secrets found:\n" + "\n".join(leaks)
