"""EC2 instances and AMIs over the provider's ``EC2Hook`` (client mode), for the EC2 and EBS actions.

The hook reads, starts and stops instances; this module adds choosing instances and AMIs by tag,
the checks that keep an action from half-running (reboot only running instances, free AMI names
first), AMI creation, copy and rotation, and waits with EC2's own boto waiters.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError

from http_trigger.actions.backups import JOB_TAG, SOURCE_TAG, aws_tags, older_generations
from http_trigger.actions.targets import Tag, listed
from http_trigger.actions.waiting import Wait, WaitLimits, wait_until

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.ec2 import EC2Hook

log = logging.getLogger(__name__)

# Instances that can still be started or stopped; shutting-down ones are on their way to terminated.
LIVE_INSTANCE_STATES = ["pending", "running", "stopping", "stopped"]


def instance_ids_tagged(hook: EC2Hook, tag: Tag, *, states: list[str], label: str) -> list[str]:
    """Return the ids of the instances in ``states`` carrying the tag, or fail naming the tag.

    ``label`` tells in the error which instances a tag may choose, e.g. "(running)".
    """
    instance_ids = hook.get_instance_ids(
        filters=[tag.ec2_filter(), {"Name": "instance-state-name", "Values": states}]
    )
    if not instance_ids:
        raise AirflowException(f"No EC2 instance {label} is tagged {tag}")
    log.info("EC2 instances tagged %s: %s", tag, listed(instance_ids))
    return instance_ids


def describe_instances(hook: EC2Hook, instance_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Return each instance's description by id; an unknown id fails naming the instances."""
    try:
        instances = hook.get_instances(instance_ids=instance_ids)
    except ClientError as error:
        raise AirflowException(f"Describing EC2 instances {listed(instance_ids)} failed: {error}") from error
    return {instance["InstanceId"]: instance for instance in instances}


def instance_states(hook: EC2Hook, instance_ids: list[str]) -> dict[str, str]:
    """Return each instance's state name (``running``, ``stopped``…) by id."""
    instances = describe_instances(hook, instance_ids)
    return {iid: instance["State"]["Name"] for iid, instance in instances.items()}


def start_instances(hook: EC2Hook, instance_ids: list[str], *, again: bool = False) -> list[dict[str, Any]]:
    """Ask EC2 to start the instances; return the state changes it answered.

    ``again`` says, in the log and the error, that this action stopped them itself.
    """
    suffix = " again" if again else ""
    log.info("Starting EC2 instances %s%s", listed(instance_ids), suffix)
    try:
        return hook.start_instances(instance_ids=instance_ids)["StartingInstances"]
    except ClientError as error:
        raise AirflowException(
            f"Starting EC2 instances {listed(instance_ids)}{suffix} failed: {error}"
        ) from error


def stop_instances(hook: EC2Hook, instance_ids: list[str]) -> list[dict[str, Any]]:
    """Ask EC2 to stop the instances; return the state changes it answered."""
    log.info("Stopping EC2 instances %s", listed(instance_ids))
    try:
        return hook.stop_instances(instance_ids=instance_ids)["StoppingInstances"]
    except ClientError as error:
        raise AirflowException(f"Stopping EC2 instances {listed(instance_ids)} failed: {error}") from error


def reboot_running_instances(hook: EC2Hook, instance_ids: list[str]) -> None:
    """Reboot the instances, refusing them all, before any reboot, if one is not running."""
    not_running = {
        iid: state for iid, state in instance_states(hook, instance_ids).items() if state != "running"
    }
    if not_running:
        details = ", ".join(f"{iid} is {state}" for iid, state in not_running.items())
        raise AirflowException(f"Only running EC2 instances can be rebooted: {details}")
    log.info("Rebooting EC2 instances %s", listed(instance_ids))
    try:
        hook.conn.reboot_instances(InstanceIds=instance_ids)
    except ClientError as error:
        raise AirflowException(f"Rebooting EC2 instances {listed(instance_ids)} failed: {error}") from error


def modify_instance_types(hook: EC2Hook, instance_ids: list[str], instance_type: str) -> str | None:
    """Change the type of each stopped instance; return the first failure's message, if any.

    The failure is returned rather than raised so the caller can start its instances again first.
    """
    for iid in instance_ids:
        log.info("Changing the type of EC2 instance %s to %s", iid, instance_type)
        try:
            hook.conn.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": instance_type})
        except ClientError as error:
            return f"Changing the type of EC2 instance {iid} to {instance_type} failed: {error}"
    return None


def change_plan(hook: EC2Hook, instance_ids: list[str], instance_type: str) -> dict[str, list[str]]:
    """Return which instances need the change (``to_change``), which are ``unchanged``, and which run.

    EC2 changes the type of stopped instances only, so ``was_running`` are those to stop first
    and start again; an instance on its way to terminated fails naming it.
    """
    instances = describe_instances(hook, instance_ids)
    to_change = [iid for iid in instance_ids if instances[iid]["InstanceType"] != instance_type]
    unchanged = [iid for iid in instance_ids if iid not in to_change]
    if unchanged:
        log.info("EC2 instances %s are already %s", listed(unchanged), instance_type)
    states = {iid: instances[iid]["State"]["Name"] for iid in to_change}
    gone = {iid: state for iid, state in states.items() if state not in LIVE_INSTANCE_STATES}
    if gone:
        details = ", ".join(f"{iid} is {state}" for iid, state in gone.items())
        raise AirflowException(f"Cannot change the type of EC2 instances that are going away: {details}")
    was_running = [iid for iid in to_change if states[iid] in ("pending", "running")]
    return {"to_change": to_change, "unchanged": unchanged, "was_running": was_running}


def modify_and_restart(
    hook: EC2Hook, to_change: list[str], instance_type: str, was_running: list[str]
) -> str | None:
    """Change the type of the stopped instances, then start again those that were running.

    Return the first change's failure, to be raised (:func:`raise_change_failure`) once the
    instances run again.
    """
    failure = modify_instance_types(hook, to_change, instance_type)
    if was_running:
        start_instances(hook, was_running, again=True)
    return failure


def raise_change_failure(failure: str | None, was_running: list[str]) -> None:
    """Fail with a type change's failure, saying which instances were started again."""
    if failure is not None:
        again = f"; started {listed(was_running)} again" if was_running else ""
        raise AirflowException(f"{failure}{again}")


def instances_wait(instance_ids: list[str], *, waiter_name: str, final_state: str) -> Wait:
    """Describe a wait with EC2's boto waiter ``waiter_name`` until all are ``final_state``."""
    return Wait(
        waiter_name=waiter_name,
        args={"InstanceIds": instance_ids},
        resources=f"EC2 instances {listed(instance_ids)}",
        final_state=final_state,
        status_args=["Reservations[].Instances[].[InstanceId, State.Name]"],
    )


def wait_for_instances(
    hook: EC2Hook, instance_ids: list[str], *, waiter_name: str, final_state: str, limits: WaitLimits
) -> None:
    """Wait in the worker until all instances are ``final_state`` (see :func:`instances_wait`)."""
    wait_until(
        hook, instances_wait(instance_ids, waiter_name=waiter_name, final_state=final_state), limits=limits
    )


def status_ok_wait(instance_ids: list[str]) -> Wait:
    """Describe a wait until every instance passes EC2's status check (failing while its OS is down)."""
    return Wait(
        waiter_name="instance_status_ok",
        args={"InstanceIds": instance_ids},
        resources=f"EC2 instances {listed(instance_ids)}",
        final_state="running with their status check passed",
        status_args=["InstanceStatuses[].[InstanceId, InstanceStatus.Status]"],
    )


def wait_for_status_ok(hook: EC2Hook, instance_ids: list[str], *, limits: WaitLimits) -> None:
    """Wait in the worker until every instance passes its status check (see :func:`status_ok_wait`)."""
    wait_until(hook, status_ok_wait(instance_ids), limits=limits)


def check_image_names_free(hook: EC2Hook, names: Collection[str]) -> None:
    """Fail naming the AMIs of this account that already use one of ``names`` in the hook's region."""
    taken = hook.conn.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": list(names)}])
    if taken["Images"]:
        existing = ", ".join(f"{image['Name']!r} ({image['ImageId']})" for image in taken["Images"])
        raise AirflowException(f"AMI names already taken in {hook.conn_region_name}: {existing}")


def create_images(
    hook: EC2Hook, names: Mapping[str, str], *, job: str, no_reboot: bool, tags: Mapping[str, str]
) -> dict[str, str]:
    """Create an AMI of each instance (``names``: instance id → AMI name), tagged as ``job``'s.

    Return the new AMI id by instance id; a failure names the AMIs already created, which stay.
    """
    images: dict[str, str] = {}
    for iid, name in names.items():
        log.info("Creating AMI %s of EC2 instance %s (no_reboot=%s)", name, iid, no_reboot)
        try:
            response = hook.conn.create_image(
                InstanceId=iid,
                Name=name,
                Description=f"Created from {iid} by {job}",
                NoReboot=no_reboot,
                TagSpecifications=[{"ResourceType": "image", "Tags": aws_tags(tags, job=job, source=iid)}],
            )
        except ClientError as error:
            made = f" (AMIs already created: {listed(images.values())})" if images else ""
            raise AirflowException(f"Creating an AMI of EC2 instance {iid} failed: {error}{made}") from error
        images[iid] = response["ImageId"]
    return images


def images_wait(image_ids: list[str], *, resources: str) -> Wait:
    """Describe a wait until the AMIs are available; ``resources`` names them in messages."""
    return Wait(
        waiter_name="image_available",
        args={"ImageIds": image_ids},
        resources=resources,
        final_state="available",
        status_args=["Images[].[ImageId, State]"],
    )


def wait_for_images(hook: EC2Hook, image_ids: list[str], *, resources: str, limits: WaitLimits) -> None:
    """Wait in the worker until the AMIs in the hook's region are available (see :func:`images_wait`)."""
    wait_until(hook, images_wait(image_ids, resources=resources), limits=limits)


def job_images(hook: EC2Hook, *, job: str, source: str) -> list[dict[str, Any]]:
    """Return the AMIs ``job`` made of instance ``source`` (by the tags it put on them)."""
    filters = [
        {"Name": f"tag:{JOB_TAG}", "Values": [job]},
        {"Name": f"tag:{SOURCE_TAG}", "Values": [source]},
    ]
    pages = hook.conn.get_paginator("describe_images").paginate(Owners=["self"], Filters=filters)
    return [image for page in pages for image in page["Images"]]


def _creation_date(image: dict[str, Any]) -> str:
    # ISO 8601 in UTC, so the text sorts as the time does.
    return image.get("CreationDate", "")


def rotate_images(hook: EC2Hook, images: Mapping[str, str], *, job: str, keep: int) -> dict[str, list[str]]:
    """Keep ``keep`` of ``job``'s AMIs per instance, the new ones (``images``) counted first.

    Older AMIs are deregistered and their EBS snapshots deleted, which EC2 would otherwise keep
    (and bill) after a deregistration. Every instance is tried before a failure is raised.
    """
    deregistered: list[str] = []
    deleted_snapshots: list[str] = []
    failures: list[str] = []
    for iid, new_image_id in images.items():
        previous = [
            image for image in job_images(hook, job=job, source=iid) if image["ImageId"] != new_image_id
        ]
        for image in older_generations(previous, keep=keep, created_at=_creation_date):
            image_id = image["ImageId"]
            snapshot_ids = [
                mapping["Ebs"]["SnapshotId"]
                for mapping in image.get("BlockDeviceMappings", [])
                if mapping.get("Ebs", {}).get("SnapshotId")
            ]
            log.info(
                "Deregistering AMI %s of EC2 instance %s and deleting its snapshots %s",
                image_id,
                iid,
                listed(snapshot_ids),
            )
            try:
                hook.conn.deregister_image(ImageId=image_id)
                deregistered.append(image_id)
                for snapshot_id in snapshot_ids:
                    hook.conn.delete_snapshot(SnapshotId=snapshot_id)
                    deleted_snapshots.append(snapshot_id)
            except ClientError as error:
                failures.append(f"{image_id}: {error}")
    if failures:
        raise AirflowException(
            f"Created AMIs {listed(images.values())}, but removing older AMIs failed: {'; '.join(failures)}"
        )
    return {"deregistered": deregistered, "deleted_snapshots": deleted_snapshots}


def available_images(hook: EC2Hook, image_ids: list[str]) -> list[dict[str, Any]]:
    """Return the AMIs' descriptions in the order given; fail if one is missing or not available."""
    try:
        images = hook.conn.describe_images(ImageIds=image_ids)["Images"]
    except ClientError as error:
        raise AirflowException(f"Describing AMIs {listed(image_ids)} failed: {error}") from error
    found = {image["ImageId"]: image for image in images}
    missing = [image_id for image_id in image_ids if image_id not in found]
    if missing:
        raise AirflowException(f"AMIs {listed(missing)} do not exist in {hook.conn_region_name}")
    unavailable = [
        f"{iid} is {found[iid]['State']}" for iid in image_ids if found[iid]["State"] != "available"
    ]
    if unavailable:
        raise AirflowException(f"Only available AMIs can be copied: {', '.join(unavailable)}")
    return [found[image_id] for image_id in image_ids]


def available_images_tagged(hook: EC2Hook, tag: Tag) -> list[dict[str, Any]]:
    """Return this account's available AMIs carrying the tag, or fail naming the tag."""
    images = hook.conn.describe_images(
        Owners=["self"], Filters=[tag.ec2_filter(), {"Name": "state", "Values": ["available"]}]
    )["Images"]
    if not images:
        raise AirflowException(f"No available AMI owned by this account is tagged {tag}")
    log.info("AMIs tagged %s: %s", tag, listed(image["ImageId"] for image in images))
    return images


def copy_image(
    target: EC2Hook, image: dict[str, Any], *, source_region: str, name: str, tags: list[dict[str, str]]
) -> str:
    """Copy an AMI from ``source_region`` into ``target``'s region as ``name``, tag it; return its id."""
    image_id, destination = image["ImageId"], target.conn_region_name
    log.info("Copying AMI %s from %s to %s as %s", image_id, source_region, destination, name)
    try:
        copy_id = target.conn.copy_image(
            SourceImageId=image_id,
            SourceRegion=source_region,
            Name=name,
            Description=image.get("Description") or f"Copy of {image_id} from {source_region}",
        )["ImageId"]
        # Tagged after the copy rather than through CopyImage's TagSpecifications, which
        # some EC2-compatible endpoints (moto among them) ignore.
        target.conn.create_tags(Resources=[copy_id], Tags=tags)
    except ClientError as error:
        raise AirflowException(f"Copying AMI {image_id} to {destination} failed: {error}") from error
    return copy_id
