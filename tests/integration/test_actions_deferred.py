"""Long waits in the triggerer, on real processes: many ECS waits stay deferred on four worker slots.

The stack runs with ``[core] parallelism`` 4. moto server holds every ECS task RUNNING (its state
manager advances a task only after a billion looks), so each run of the ECS job starts its task,
checks once, and defers its wait to the triggerer. While all of them wait there, another job's
action still gets a worker slot and succeeds. Then the moto state changes: half of the tasks are
stopped, and those runs succeed with their exit codes; the moto account is then reset, so the
other half's tasks are gone, and those runs fail with an error naming the tasks and the state.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from devstack import demo
from devstack.stack import EmbeddedStack

from .conftest import create_job, stack_config, trigger, wait_for, wait_for_run_end

pytestmark = pytest.mark.integration
# Concurrent waits; far more than the worker slots, few enough for a two-core machine.
WAITS = 50
PARALLELISM = 4
CLUSTER = "held"
HELD = {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 10**9}}


@pytest.fixture(scope="module")
def deferring_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    config = stack_config(
        tmp_path_factory.mktemp("deferring-home"),
        extra_env={
            "AIRFLOW__CORE__PARALLELISM": str(PARALLELISM),
            # Every run of the one ECS job may be active at once.
            "AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG": str(WAITS * 2),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(WAITS * 2),
        },
    )
    with EmbeddedStack(config) as running:
        demo.ensure_aws_connection(running)
        yield running


@pytest.fixture(scope="module")
def api(deferring_stack: EmbeddedStack) -> Iterator[httpx.Client]:
    token = deferring_stack.get_api_token()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=deferring_stack.api_url, headers=headers, timeout=30) as client:
        yield client


def aws(stack: EmbeddedStack, service: str):
    return boto3.client(
        service, region_name=demo.REGION, endpoint_url=stack.moto_url,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


def action_job(name: str, action_type: str, parameters: dict[str, Any]) -> dict[str, Any]:
    action = {"type": action_type, "aws_conn_id": demo.AWS_CONN_ID, "region": demo.REGION, "parameters": parameters}
    return {"name": name, "group": "integration", "action": action}


def ecs_parameters(stack: EmbeddedStack) -> dict[str, Any]:
    """Hold moto's ECS tasks RUNNING and create a cluster and a Fargate task definition to run."""
    httpx.post(f"{stack.moto_url}/moto-api/state-manager/set-transition", json=HELD).raise_for_status()
    ecs, ec2 = aws(stack, "ecs"), aws(stack, "ec2")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(
        family="long-report", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "report", "image": "busybox", "memory": 512}],
    )
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    security_group = ec2.create_security_group(GroupName="long-tasks", Description="tasks")["GroupId"]
    return {
        "cluster": CLUSTER, "task_definition": "long-report", "subnets": [subnet],
        "security_groups": [security_group],
    }


def action_instances(api: httpx.Client, dag_id: str, state: str) -> dict[str, dict[str, Any]]:
    """Return the job's action task instances in ``state``, by run id."""
    response = api.get(
        f"/api/v2/dags/{dag_id}/dagRuns/~/taskInstances",
        params={"task_id": "action", "state": state, "limit": WAITS * 2},
    )
    assert response.status_code == 200, response.text
    return {ti["dag_run_id"]: ti for ti in response.json()["task_instances"]}


def xcom(api: httpx.Client, dag_id: str, run_id: str, key: str) -> Any:
    response = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/action/xcomEntries/{key}")
    assert response.status_code == 200, response.text
    value = response.json()["value"]
    return json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value


def task_log(api: httpx.Client, dag_id: str, run_id: str) -> str:
    response = api.get(
        f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/action/logs/1", headers={"Accept": "text/plain"}
    )
    return response.text


# Fifty runs go through four worker slots twice (to defer, then to end): longer than the suite's
# default limit on a two-core machine.
@pytest.mark.timeout(2400)
def test_many_long_waits_stay_deferred_while_other_actions_run(deferring_stack, api):
    stack = deferring_stack
    ecs = aws(stack, "ecs")
    waiting = create_job(api, action_job("long-ecs-waits", "ecs_run_task", ecs_parameters(stack)))
    instance_ids = demo.ensure_demo_instances(stack)
    other = create_job(api, action_job("meanwhile-ec2", "ec2_start_instances", {"instance_ids": instance_ids}))
    dag_id = waiting["dag_id"]

    run_ids = []
    for _ in range(WAITS):
        response = trigger(waiting)
        assert response.status_code == 200, response.text
        run_ids.append(response.json()["dag_run_id"])

    # Every run starts its task and defers: far more waits than the four worker slots.
    deferred = wait_for(
        lambda: len(found := action_instances(api, dag_id, "deferred")) == WAITS and found,
        timeout=900, interval=3, what=f"{WAITS} ECS waits to be deferred",
    )
    assert set(deferred) == set(run_ids)
    task_arns = ecs.list_tasks(cluster=CLUSTER, desiredStatus="RUNNING")["taskArns"]
    assert len(task_arns) == WAITS

    # Another job's action gets a worker slot and succeeds meanwhile.
    response = trigger(other)
    assert response.status_code == 200, response.text
    other_run = response.json()["dag_run_id"]
    assert wait_for_run_end(api, other["dag_id"], other_run) == "success", task_log(api, other["dag_id"], other_run)
    assert xcom(api, other["dag_id"], other_run, "return_value")["states"] == dict.fromkeys(instance_ids, "running")
    assert set(action_instances(api, dag_id, "deferred")) == set(run_ids)

    # The state changes in moto: half of the tasks stop, and exactly their runs succeed.
    stopped = set(task_arns[: WAITS // 2])
    for task_arn in stopped:
        ecs.stop_task(cluster=CLUSTER, task=task_arn, reason="done")
    states = wait_for(
        lambda: list((found := run_states(api, dag_id)).values()).count("success") == len(stopped) and found,
        timeout=900, interval=3, what=f"the {len(stopped)} runs of the stopped tasks to succeed",
    )
    succeeded = {run_id for run_id, state in states.items() if state == "success"}
    assert set(action_instances(api, dag_id, "deferred")) == set(run_ids) - succeeded
    results = [xcom(api, dag_id, run_id, "return_value") for run_id in succeeded]
    assert {arn for result in results for arn in result["task_arns"]} == stopped
    for result in results:
        [task_arn] = result["task_arns"]
        assert result["exit_codes"] == {task_arn.rsplit("/", 1)[-1]: {"report": 0}}

    # The moto account is reset: the other tasks are gone, and their runs fail naming them.
    httpx.post(f"{stack.moto_url}/moto-api/reset").raise_for_status()
    states = wait_for(
        lambda: set((found := run_states(api, dag_id)).values()) <= {"success", "failed"} and found,
        timeout=900, interval=3, what="every run to end",
    )
    failed = {run_id for run_id, state in states.items() if state == "failed"}
    assert failed == set(run_ids) - succeeded
    named = set()
    for run_id in failed:
        error = xcom(api, dag_id, run_id, "error")
        assert error.startswith("AirflowException: ECS tasks "), error
        task = error.removeprefix("AirflowException: ECS tasks ").split(" ", 1)[0]
        assert error == (
            f"AirflowException: ECS tasks {task} of task definition long-report on ECS cluster {CLUSTER} did not "
            "become stopped: Waiter TasksStopped failed: An error occurred (ClusterNotFoundException): "
            "Cluster not found."
        )
        named.add(task)
    assert named == {arn.rsplit("/", 1)[-1] for arn in task_arns} - {arn.rsplit("/", 1)[-1] for arn in stopped}


def run_states(api: httpx.Client, dag_id: str) -> dict[str, str]:
    response = api.get(f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": WAITS * 2})
    assert response.status_code == 200, response.text
    return {run["dag_run_id"]: run["state"] for run in response.json()["dag_runs"]}
