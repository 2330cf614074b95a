"""Fill a running embedded stack with the demo: an AWS account on moto, test instances, one job.

Every step is idempotent, so ``make run`` can be repeated: the ``aws_demo`` connection and the
demo job are created once (they live in ``.airflow/``); the moto server keeps its state in memory,
so its two stopped instances tagged ``Env=test`` are created whenever they are missing.
Airflow and the job are managed through their own command lines, as a user would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

from devstack import stack as embedded_stack
from devstack.stack import REPO_ROOT, EmbeddedStack, EmbeddedStackError, airflow_bin

AWS_CONN_ID = "aws_demo"
REGION = "us-east-1"
DEMO_JOB_FILE = REPO_ROOT / "dags" / "example_jobs" / "start_test_ec2_instances.yaml"
DEMO_JOB_NAME = "Start test EC2 instances"
DEMO_TAGS = {"Env": "test", "Purpose": "http-trigger-demo"}
# moto accepts any credentials; these are its documented dummies, not secrets.
_MOTO_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class DemoJob:
    """What the demo prints: the job and how to start it."""

    job_id: int
    dag_id: str
    trigger_url: str
    token: str
    curl: str


def _run(stack: EmbeddedStack, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, env=stack.env, capture_output=True, text=True)
    if check and result.returncode != 0:
        command = " ".join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv[:4]))
        raise EmbeddedStackError(f"{command} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return result


def ensure_aws_connection(stack: EmbeddedStack) -> None:
    """Create the Airflow AWS connection ``aws_demo`` pointing at the moto server, once."""
    if _run(stack, str(airflow_bin()), "connections", "get", AWS_CONN_ID, check=False).returncode == 0:
        return
    connection = {
        "conn_type": "aws",
        "description": "Demo AWS account served by the local moto server",
        "login": _MOTO_CREDENTIALS["aws_access_key_id"],
        "password": _MOTO_CREDENTIALS["aws_secret_access_key"],
        "extra": {"endpoint_url": stack.moto_url, "region_name": REGION},
    }
    _run(stack, str(airflow_bin()), "connections", "add", AWS_CONN_ID, "--conn-json", json.dumps(connection))


def ensure_demo_instances(stack: EmbeddedStack) -> list[str]:
    """Make sure two stopped demo instances tagged ``Env=test`` exist in the moto account."""
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=stack.moto_url, **_MOTO_CREDENTIALS)
    filters = [{"Name": f"tag:{key}", "Values": [value]} for key, value in DEMO_TAGS.items()]
    filters.append({"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]})
    reservations = ec2.describe_instances(Filters=filters)["Reservations"]
    existing = [instance["InstanceId"] for r in reservations for instance in r["Instances"]]
    missing = 2 - len(existing)
    if missing > 0:
        image_id = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
        created = ec2.run_instances(
            ImageId=image_id,
            InstanceType="t3.micro",
            MinCount=missing,
            MaxCount=missing,
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in DEMO_TAGS.items()]}
            ],
        )
        new_ids = [instance["InstanceId"] for instance in created["Instances"]]
        ec2.stop_instances(InstanceIds=new_ids)
        existing += new_ids
    return existing


def _http_trigger(stack: EmbeddedStack, *argv: str) -> list[dict[str, Any]]:
    """Run an ``http-trigger`` command and return the records it printed as JSON."""
    cli = Path(airflow_bin()).parent / "http-trigger"
    return json.loads(_run(stack, str(cli), *argv, "-o", "json").stdout)


def ensure_demo_job(stack: EmbeddedStack, timeout: float = 120) -> DemoJob:
    """Create the demo job once, wait until Airflow has loaded it (it is then triggerable), reveal its secrets.

    ``jobs show`` prints them masked; ``jobs reveal`` records, in Airflow's audit log, that ``make run``
    printed them.
    """
    jobs = _http_trigger(stack, "jobs", "list")
    job = next((job for job in jobs if job["name"] == DEMO_JOB_NAME), None)
    if job is None:
        [job] = _http_trigger(stack, "jobs", "create", "-f", str(DEMO_JOB_FILE))
    deadline = time.monotonic() + timeout
    while job["is_paused"] is None and time.monotonic() < deadline:
        time.sleep(1)
        [job] = _http_trigger(stack, "jobs", "show", str(job["id"]))
    [revealed] = _http_trigger(stack, "jobs", "reveal", str(job["id"]))
    return DemoJob(
        job_id=job["id"],
        dag_id=job["dag_id"],
        trigger_url=revealed["trigger_url"],
        token=revealed["token"],
        curl=revealed["curl"],
    )


def seed_demo(stack: EmbeddedStack) -> DemoJob:
    """Create whatever of the demo is missing and return the demo job."""
    ensure_aws_connection(stack)
    ensure_demo_instances(stack)
    return ensure_demo_job(stack)


def describe(stack: EmbeddedStack, demo: DemoJob) -> str:
    """Return the text ``make run`` prints once everything is up."""
    return (
        f"\nhttp-trigger is running.\n"
        f"  Airflow UI:    {stack.api_url}  (user {stack.admin_username}, password {stack.admin_password})\n"
        f"  Demo AWS:      moto server at {stack.moto_url}, Airflow connection '{AWS_CONN_ID}'\n"
        f"  Demo job:      {demo.job_id} '{DEMO_JOB_NAME}'  ->  {stack.api_url}/dags/{demo.dag_id}\n"
        f"  Trigger URL:   {demo.trigger_url}\n"
        f"  Access token:  {demo.token}\n"
        f"\nStart the job:\n  {demo.curl}\n"
        f"\nCLI: AIRFLOW_HOME={stack.config.home} .venv/bin/http-trigger jobs list\n"
        "Press Ctrl-C to stop everything."
    )


def reseed_after_restart(stack: EmbeddedStack, component: str) -> None:
    """Give a restarted moto server (it keeps its state in memory) the demo instances again."""
    if component != "moto":
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            ensure_demo_instances(stack)
            return
        except (OSError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            time.sleep(0.5)
    print("The restarted moto server did not answer; the demo instances are missing", file=sys.stderr)


def main() -> int:
    """Start the embedded stack with the demo, as ``make run`` does, until Ctrl-C."""
    return embedded_stack.main(
        on_started=lambda stack: describe(stack, seed_demo(stack)), on_restarted=reseed_after_restart
    )


if __name__ == "__main__":
    sys.exit(main())
