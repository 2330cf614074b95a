"""Shared parts of the EC2 and EBS tests: instances run in moto and their states read back."""

from __future__ import annotations

from moto.ec2.models.amis import AMIS


def create_instances(client, count: int, *, env: str) -> list[str]:
    """Run ``count`` instances tagged Env=<env>; return their ids."""
    reservation = client.run_instances(
        ImageId=AMIS[0]["ami_id"],
        MinCount=count,
        MaxCount=count,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Env", "Value": env}]}],
    )
    return [instance["InstanceId"] for instance in reservation["Instances"]]


def create_instance(client, *, env: str) -> tuple[str, str]:
    """Run an instance tagged Env=<env>; return its id and its root volume's id."""
    [instance_id] = create_instances(client, 1, env=env)
    [instance] = client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"]
    return instance_id, instance["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]


def states(client, instance_ids: list[str]) -> dict[str, str]:
    """Return each instance's state name by id."""
    reservations = client.describe_instances(InstanceIds=instance_ids)["Reservations"]
    return {
        instance["InstanceId"]: instance["State"]["Name"]
        for reservation in reservations
        for instance in reservation["Instances"]
    }
