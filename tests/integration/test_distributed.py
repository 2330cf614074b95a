"""The production shape on real processes: docker-compose.yaml's settings, CeleryExecutor, two API servers.

One stack for the module (``devstack.distributed``): a fresh database on the machine's PostgreSQL, a
Redis database of the machine's Redis (keys under a prefix of this run, removed at the end), two API
servers, a scheduler, a DAG processor, a triggerer and a Celery worker, each a process with its own
log, plus the moto server as the AWS account. The tests speak HTTP to the API servers as callers and
operators do, look at AWS in moto, and disturb the stack the way production gets disturbed: a worker
killed mid-run, the database cut off.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from devstack import demo
from devstack.distributed import MACHINE_SETTINGS, admin_credentials, compose_settings
from devstack.stack import EmbeddedStack, RestartPolicy
from tests.postgres import TestDatabases

from .conftest import REDIS_URL, WebhookReceiver, create_job, wait_for
from .distributed_support import api_client, job_body, query, running_distributed_stack

pytestmark = [pytest.mark.integration, pytest.mark.distributed]

# Component restarts while the database is cut off are expected; the stack must not give up on them.
POLICY = RestartPolicy(
    initial_backoff_seconds=1, max_backoff_seconds=4, fast_failure_seconds=20, max_fast_failures=10
)
BURST = 200
NOT_FOUND = {"message": "No job matches this URL and access token"}
BUSY = {"message": "The metadata database is busy; the job was not started, try again shortly"}


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, broker_prefix: str
) -> Iterator[EmbeddedStack]:
    with running_distributed_stack(
        tmp_path_factory.mktemp("distributed-home"),
        database_url=database_url,
        broker_prefix=broker_prefix,
        api_servers=2,
        restart_policy=POLICY,
        # AWS waits stay on the worker here: a test kills a worker in the middle of one. Waits in
        # the triggerer, the default, are tested in test_actions_deferred.py.
        extra_env={"AIRFLOW__HTTP_TRIGGER__DEFERRABLE_WAITS": "False"},
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def servers(cluster: EmbeddedStack) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Admin clients of API server 1 and 2; the JWT from server 1 works on server 2 (one shared secret)."""
    token = cluster.get_api_token(*admin_credentials())
    first, second = (api_client(url, token) for url in cluster.config.api_urls)
    with first, second:
        yield first, second


def aws(cluster: EmbeddedStack, service: str):
    return boto3.client(
        service, region_name=demo.REGION, endpoint_url=cluster.moto_url,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


def on_server(url: str, server: httpx.Client) -> str:
    """Return a trigger URL as reached through ``server`` (trigger URLs name the base URL, server 1)."""
    path = httpx.URL(url).raw_path.decode()
    return f"{server.base_url}".rstrip("/") + path


def trigger(url: str, token: str) -> httpx.Response:
    return httpx.post(url, headers={"Authorization": f"CAAuth {token}", "Content-Length": "0"}, timeout=60)


def run_of(server: httpx.Client, dag_id: str, run_id: str) -> dict[str, Any]:
    return server.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()


def wait_for_run_end(server: httpx.Client, dag_id: str, run_id: str, timeout: float = 180) -> str:
    return wait_for(
        lambda: (state := run_of(server, dag_id, run_id)["state"]) in ("success", "failed") and state,
        timeout=timeout, interval=1, what=f"run {run_id} to finish",
    )  # fmt: skip


def task_states(server: httpx.Client, dag_id: str, run_id: str) -> dict[str, str]:
    tasks = server.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()["task_instances"]
    return {task["task_id"]: task["state"] for task in tasks}


def run_ids(server: httpx.Client, dag_id: str) -> list[str]:
    ids: list[str] = []
    while True:
        page = server.get(f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": 100, "offset": len(ids)}).json()
        ids += [run["dag_run_id"] for run in page["dag_runs"]]
        if len(ids) >= page["total_entries"] or not page["dag_runs"]:
            return ids


def worker_log(cluster: EmbeddedStack) -> str:
    return (cluster.config.logs_folder / "celery-worker.log").read_text(errors="replace")


def test_every_process_runs_the_compose_files_airflow_settings(cluster: EmbeddedStack):
    compose = compose_settings()
    kept = {name: value for name, value in compose.items() if name not in MACHINE_SETTINGS}

    assert {name: cluster.env.get(name) for name in kept} == kept
    assert cluster.env["AIRFLOW__CORE__EXECUTOR"] == compose["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert cluster.env["AIRFLOW__CELERY__BROKER_URL"] == REDIS_URL
    components = ["api-server", "api-server-2", "scheduler", "dag-processor", "triggerer", "celery-worker"]
    assert sorted(cluster.processes) == sorted(["moto", "db-migrate", "init-1", *components])
    assert len({process.log_path for process in cluster.processes.values()}) == len(cluster.processes)
    assert cluster.celery_worker_answers()


def test_created_on_one_server_triggered_on_the_other_the_action_runs_on_the_celery_worker(cluster, servers):
    first, second = servers
    instance_ids = demo.ensure_demo_instances(cluster)
    body = job_body("start-test", "ec2_start_instances", {"tag_key": "Env", "tag_value": "test"})
    job = create_job(first, body, loaded_on=second)

    response = trigger(on_server(job["trigger_url"], second), job["token"])

    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["result"], answer["trigger_job_id"], answer["dag_id"]) == ("ok", job["id"], job["dag_id"])
    run_id = answer["dag_run_id"]
    assert wait_for_run_end(first, job["dag_id"], run_id) == "success"
    reservations = aws(cluster, "ec2").describe_instances(InstanceIds=instance_ids)["Reservations"]
    assert {i["State"]["Name"] for r in reservations for i in r["Instances"]} == {"running"}
    executed = [line for line in worker_log(cluster).splitlines() if "Executing workload in Celery" in line]
    assert any(run_id in line and "task_id='action'" in line for line in executed), executed[-5:]
    log = second.get(f"/api/v2/dags/{job['dag_id']}/dagRuns/{run_id}/taskInstances/action/logs/1")
    assert log.status_code == 200, log.text
    assert all(instance_id in log.text for instance_id in instance_ids), log.text[-2000:]


def test_a_token_rotated_on_one_server_is_refused_by_the_other_at_once(cluster, servers):
    first, second = servers
    job = create_job(first, job_body("rotated", "utility_no_action"), loaded_on=second)
    assert trigger(on_server(job["trigger_url"], first), job["token"]).status_code == 200

    rotated = second.post(f"/http-trigger/api/jobs/{job['id']}/rotate")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()

    old_on_first = trigger(on_server(job["trigger_url"], first), job["token"])
    assert (old_on_first.status_code, old_on_first.json()) == (404, NOT_FOUND)
    assert trigger(on_server(new["trigger_url"], first), job["token"]).status_code == 404
    assert trigger(on_server(new["trigger_url"], first), new["token"]).status_code == 200


def _state_machine(cluster: EmbeddedStack) -> str:
    iam = aws(cluster, "iam")
    role = iam.create_role(RoleName="distributed-states", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    definition = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    machine = aws(cluster, "stepfunctions").create_state_machine(
        name="distributed-long", definition=json.dumps(definition), roleArn=role
    )
    return machine["stateMachineArn"]


def test_a_run_whose_worker_is_killed_mid_action_ends_failed_once_a_worker_is_back(
    cluster: EmbeddedStack, servers, webhook_receiver: WebhookReceiver
):
    first, second = servers
    state_machine = _state_machine(cluster)
    # moto keeps an execution RUNNING until it is stopped: the action waits on the worker meanwhile.
    notify = {"type": "webhook", "parameters": {"url": f"{webhook_receiver.url}/failure/killed"}}
    body = job_body(
        "killed-worker", "stepfunctions_start_execution", {"state_machine_arn": state_machine},
        post_processing={"on_failure": [notify]},
    )  # fmt: skip
    job = create_job(first, body, loaded_on=second)
    run_id = trigger(on_server(job["trigger_url"], second), job["token"]).json()["dag_run_id"]
    stepfunctions = aws(cluster, "stepfunctions")
    wait_for(
        lambda: stepfunctions.list_executions(stateMachineArn=state_machine, statusFilter="RUNNING")[
            "executions"
        ],
        timeout=240, what="the action to start the execution and wait for it",
    )  # fmt: skip
    assert task_states(first, job["dag_id"], run_id)["action"] == "running"
    restarts = cluster.restarts()["celery-worker"]
    old_pid = cluster.processes["celery-worker"].pid

    cluster.processes["celery-worker"].kill()

    wait_for(
        lambda: cluster.restarts()["celery-worker"] == restarts + 1
        and cluster.processes["celery-worker"].pid != old_pid,
        timeout=60, what="the supervisor to start the worker again",
    )  # fmt: skip
    # The scheduler fails a task whose heartbeat stopped (the compose file's heartbeat timeout), then
    # the failure post-processing runs on the new worker.
    assert wait_for_run_end(first, job["dag_id"], run_id, timeout=240) == "failed"
    states = task_states(first, job["dag_id"], run_id)
    assert states == {"action": "failed", "on_failure_1_webhook": "success"}
    [notified] = wait_for(lambda: webhook_receiver.to("/failure/killed"), what="the failure webhook")
    assert (notified.body["status"], notified.body["dag_run_id"]) == ("failure", run_id)


def test_a_cut_off_database_answers_503_writes_nothing_and_triggers_work_when_it_is_back(
    cluster: EmbeddedStack, servers, database_url: str, test_databases: TestDatabases
):
    first, second = servers
    job = create_job(first, job_body("database-trouble", "utility_no_action"), loaded_on=second)
    urls = [on_server(job["trigger_url"], server) for server in (first, second)]

    busy_before = _busy_calls(database_url)

    with test_databases.refusing_connections(database_url):
        refused = [trigger(url, job["token"]) for url in urls for _ in range(3)]

    assert [response.status_code for response in refused] == [503] * 6
    assert all(response.json() == BUSY for response in refused)
    assert all(int(response.headers["Retry-After"]) > 0 for response in refused)
    started = [
        wait_for(
            lambda url=url: (answer := trigger(url, job["token"])).status_code == 200 and answer,
            timeout=120, interval=2, what=f"{url} to start the job again",
        )
        for url in urls
    ]  # fmt: skip
    assert sorted(run_ids(first, job["dag_id"])) == sorted(answer.json()["dag_run_id"] for answer in started)
    # The refused calls (their job unknown: the token could not be looked up) were kept in each API
    # server's memory and recorded once the database answered again; the started ones with their runs.
    busy = wait_for(
        lambda: len(calls := _busy_calls(database_url)[len(busy_before):]) == 6 and calls,
        timeout=60, what="the refused calls to be recorded",
    )  # fmt: skip
    assert busy == [(None, 503, None)] * 6
    recorded = query(
        database_url,
        "SELECT dag_run_id FROM http_trigger_call WHERE job_id = %s AND outcome = 'started'",
        job["id"],
    )
    assert sorted(run for (run,) in recorded) == sorted(answer.json()["dag_run_id"] for answer in started)


def _busy_calls(database_url: str) -> list[tuple[Any, ...]]:
    return query(
        database_url,
        "SELECT job_id, status_code, dag_run_id FROM http_trigger_call WHERE outcome = 'busy' ORDER BY id",
    )


async def _burst(urls: list[str], token: str) -> tuple[list[httpx.Response], Counter[int]]:
    """POST to every URL at once; a 503 is retried after its Retry-After, as the contract tells callers."""
    seen: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=len(urls), max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def post(url: str) -> httpx.Response:
            headers = {"Authorization": f"CAAuth {token}", "Content-Length": "0"}
            for _ in range(20):
                response = await client.post(url, headers=headers)
                seen[response.status_code] += 1
                if response.status_code != 503:
                    return response
                await asyncio.sleep(float(response.headers["Retry-After"]))
            return response

        return list(await asyncio.gather(*(post(url) for url in urls))), seen


def test_200_concurrent_triggers_over_both_servers_start_exactly_200_runs(cluster, servers, database_url):
    first, second = servers
    job = create_job(first, job_body("burst", "utility_no_action"), loaded_on=second)
    urls = [on_server(job["trigger_url"], (first, second)[i % 2]) for i in range(BURST)]

    started = time.monotonic()
    responses, seen = asyncio.run(_burst(urls, job["token"]))
    print(f"\n{BURST} concurrent triggers answered in {time.monotonic() - started:.1f} s: {dict(seen)}")
    # The runs would keep the worker busy for the tests that follow; a disabled job queues no more.
    first.patch(f"/http-trigger/api/jobs/{job['id']}/enabled", json={"enabled": False})

    assert Counter(response.status_code for response in responses) == {200: BURST}, seen
    answered = [response.json()["dag_run_id"] for response in responses]
    assert len(set(answered)) == BURST
    stored = run_ids(first, job["dag_id"])
    assert sorted(stored) == sorted(answered)
    recorded = query(
        database_url,
        "SELECT count(*), count(DISTINCT dag_run_id) FROM http_trigger_call"
        " WHERE job_id = %s AND outcome = 'started'",
        job["id"],
    )
    assert recorded == [(BURST, BURST)]
