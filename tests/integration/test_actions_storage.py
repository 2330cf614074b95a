"""Backup and database actions on real processes: a job's run changes the moto server's state.

One test per service family (EC2 images, EBS snapshots, RDS): each creates a job through the
JSON API, starts it with its trigger URL, waits for the run to succeed, and reads the result
with boto3 from the stack's moto server. The images and snapshots carry the job's real DAG id.
"""

from __future__ import annotations

from typing import Any

import boto3
import httpx
import pytest
from http_trigger.actions.backups import JOB_TAG, SOURCE_TAG

from devstack import demo
from devstack.stack import EmbeddedStack

from .conftest import create_job, trigger, wait_for_run_end

pytestmark = pytest.mark.integration


def aws_client(stack: EmbeddedStack, service: str):
    return boto3.client(
        service, region_name=demo.REGION, endpoint_url=stack.moto_url,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


def action_job(name: str, action_type: str, parameters: dict[str, Any] | None) -> dict[str, Any]:
    """A job body without post-processing; ``parameters=None`` takes them at execution."""
    action: dict[str, Any] = {"type": action_type, "aws_conn_id": demo.AWS_CONN_ID, "region": demo.REGION}
    if parameters is None:
        action["parameters_at_execution"] = True
    else:
        action["parameters"] = parameters
    return {"name": name, "group": "integration", "action": action}


def run_to_success(api: httpx.Client, job: dict[str, Any], **kwargs: Any) -> None:
    response = trigger(job, **kwargs)
    assert response.status_code == 200, response.text
    assert wait_for_run_end(api, job["dag_id"], response.json()["dag_run_id"]) == "success"


def tagged_instance(stack: EmbeddedStack, key: str, value: str) -> tuple[str, str]:
    """Run an instance carrying one tag; return its id and its root volume's id."""
    ec2 = aws_client(stack, "ec2")
    image_id = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
    [instance] = ec2.run_instances(
        ImageId=image_id, InstanceType="t3.micro", MinCount=1, MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": key, "Value": value}]}],
    )["Instances"]
    attached = [{"Name": "attachment.instance-id", "Values": [instance["InstanceId"]]}]
    volumes = ec2.describe_volumes(Filters=attached)
    return instance["InstanceId"], volumes["Volumes"][0]["VolumeId"]


def test_create_image_keeps_only_the_newest_ami_and_drops_the_old_snapshots(stack, api):
    ec2 = aws_client(stack, "ec2")
    instance_id, _ = tagged_instance(stack, "Backup", "ami-integration")
    job = create_job(api, action_job("ami-backup", "ec2_create_image", {
        "tag_key": "Backup", "tag_value": "ami-integration", "keep_newest": 1,
        "tags": {"Purpose": "integration"},
    }))
    job_filters = [{"Name": f"tag:{JOB_TAG}", "Values": [job["dag_id"]]},
                   {"Name": f"tag:{SOURCE_TAG}", "Values": [instance_id]}]

    run_to_success(api, job)
    [first] = ec2.describe_images(Owners=["self"], Filters=job_filters)["Images"]
    first_snapshots = [m["Ebs"]["SnapshotId"] for m in first["BlockDeviceMappings"] if "Ebs" in m]
    assert first["Name"].startswith(f"{instance_id}-") and first["State"] == "available"
    assert {"Key": "Purpose", "Value": "integration"} in first["Tags"]

    run_to_success(api, job)
    [second] = ec2.describe_images(Owners=["self"], Filters=job_filters)["Images"]
    assert second["ImageId"] != first["ImageId"]
    assert first_snapshots
    gone = ec2.describe_snapshots(Filters=[{"Name": "snapshot-id", "Values": first_snapshots}])["Snapshots"]
    assert gone == []


def test_ebs_snapshots_the_volumes_of_the_tagged_instances(stack, api):
    ec2 = aws_client(stack, "ec2")
    instance_id, volume_id = tagged_instance(stack, "Backup", "ebs-integration")
    job = create_job(api, action_job("ebs-backup", "ebs_create_snapshots", {
        "tag_key": "Backup", "tag_value": "ebs-integration",
        "description_template": "{volume_id} of {instance_id}",
    }))

    run_to_success(api, job)

    [snapshot] = ec2.describe_snapshots(
        OwnerIds=["self"], Filters=[{"Name": "volume-id", "Values": [volume_id]}]
    )["Snapshots"]
    assert snapshot["State"] == "completed"
    assert snapshot["Description"] == f"{volume_id} of {instance_id}"
    assert {"Key": JOB_TAG, "Value": job["dag_id"]} in snapshot["Tags"]


def test_rds_stops_the_instance_named_in_the_trigger_body(stack, api):
    rds = aws_client(stack, "rds")
    rds.create_db_instance(
        DBInstanceIdentifier="integration-orders", DBInstanceClass="db.t3.micro", Engine="postgres",
        MasterUsername="admin", MasterUserPassword="password123", AllocatedStorage=20,
    )
    job = create_job(api, action_job("stop-orders-db", "rds_stop_db_instance", None))

    run_to_success(api, job, headers={"Authorization": f"CAAuth {job['token']}"},
                   json={"db_instance_identifiers": ["integration-orders"]})

    [db] = rds.describe_db_instances(DBInstanceIdentifier="integration-orders")["DBInstances"]
    assert db["DBInstanceStatus"] == "stopped"
