"""The wait trigger on a real moto server: the triggerer's async client, its events and their words.

moto in-process answers botocore only, so these tests start moto's threaded server on a free port
and point both clients at it; each test runs one trigger to its first event, as the triggerer does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import boto3
import pytest
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from http_trigger.actions.aws import ecs as ecs_helpers
from http_trigger.actions.aws.ec2 import instances_wait
from http_trigger.actions.waiting import OUT_OF_CHECKS, WaitTrigger

from .ec2_support import create_instances
from .support import REGION


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": url,
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield url
    finally:
        server.stop()


def first_event(trigger: WaitTrigger) -> dict:
    """Run the trigger (rebuilt from what it serializes, as the triggerer does) to its first event."""
    classpath, kwargs = trigger.serialize()
    assert classpath == "http_trigger.actions.waiting.WaitTrigger"
    rebuilt = WaitTrigger(**kwargs)

    async def first() -> dict:
        async for event in rebuilt.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(first())


def trigger_for(wait, client_type: str, *, attempts: int = 3) -> WaitTrigger:
    return WaitTrigger(
        wait=wait.serialize(),
        client_type=client_type,
        waiter_delay=0,
        waiter_max_attempts=attempts,
        aws_conn_id=None,
        region_name=REGION,
    )


def test_instances_in_their_final_state_end_the_wait_with_success(moto_server):
    ec2 = boto3.client("ec2", region_name=REGION)
    instance_ids = create_instances(ec2, 2, env="test")
    wait = instances_wait(instance_ids, waiter_name="instance_running", final_state="running")

    event = first_event(trigger_for(wait, "ec2"))

    assert event == {"status": "success", "resources": f"EC2 instances {', '.join(instance_ids)}"}


def test_a_wait_that_runs_out_of_checks_says_so(moto_server):
    ec2 = boto3.client("ec2", region_name=REGION)
    instance_ids = create_instances(ec2, 1, env="test")
    wait = instances_wait(instance_ids, waiter_name="instance_stopped", final_state="stopped")

    event = first_event(trigger_for(wait, "ec2", attempts=2))

    assert event["status"] == "error"
    assert event["reason"] == OUT_OF_CHECKS
    assert event["message"] == "Waiter error: max attempts reached"


def test_an_aws_error_fails_with_the_workers_words(moto_server):
    wait = ecs_helpers.tasks_wait(
        "gone", ["arn:aws:ecs:us-east-1:123456789012:task/gone/abc"], task_definition="report"
    )

    event = first_event(trigger_for(wait, "ecs"))

    assert event["status"] == "error"
    assert "reason" not in event
    assert event["message"] == (
        "ECS tasks abc of task definition report on ECS cluster gone did not become stopped: "
        "Waiter TasksStopped failed: An error occurred (ClusterNotFoundException): Cluster not found."
    )
