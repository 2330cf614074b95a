"""EC2 actions on instances chosen by id or by tag: start, stop, reboot, change type, create and copy AMIs.

The provider's EC2 operators take instance ids fixed when the DAG is parsed (start and stop take
exactly one) and some poll without a limit; a job's targets are only known when it runs (a list,
a tag, or the trigger's JSON body), so these operators call the provider's ``EC2Hook`` with the
whole list and wait with EC2's own boto waiters through the provider's logging wait helper. The
provider has no operator to change an instance type or to create, copy or deregister AMIs: those
steps use the hook's boto3 client.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from airflow.providers.amazon.aws.hooks.ec2 import EC2Hook
from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError
from pydantic import ConfigDict, Field, field_validator

from http_trigger.actions.backups import (
    DATE_PLACEHOLDERS_DOC,
    JOB_TAG,
    SOURCE_TAG,
    UserTags,
    aws_tags,
    check_template,
    keep_newest_field,
    older_generations,
    render_template,
    tags_field,
    utc_now,
)
from http_trigger.actions.aws_base import AwsActionOperator
from http_trigger.actions.base import ActionType
from http_trigger.actions.targets import (
    TargetedParameters,
    describe_tag,
    tag_key_field,
    tag_value_field,
    unique,
    wait_field,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

INSTANCE_ID_PATTERN = r"^i-[0-9a-f]{8,17}$"
IMAGE_ID_PATTERN = r"^ami-[0-9a-f]{8,17}$"
INSTANCE_TYPE_PATTERN = r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d+$"
# Instances that can still be started or stopped; shutting-down ones are on their way to terminated.
LIVE_INSTANCE_STATES = ["pending", "running", "stopping", "stopped"]
_AMI_NAME = re.compile(r"^[A-Za-z0-9()\[\] ./'@_-]{3,128}$")
_AMI_NAME_CHARACTERS = re.compile(r"^[A-Za-z0-9()\[\] ./'@_-]*$")


def _names(ids: Sequence[str]) -> str:
    return ", ".join(ids)


def _creation_date(image: dict[str, Any]) -> str:
    # ISO 8601 in UTC, so the text sorts as the time does.
    return image.get("CreationDate", "")


def _check_ami_name_template(template: str, placeholders: tuple[str, ...]) -> str:
    check_template(template, placeholders)
    literal = "".join(item[0] for item in string.Formatter().parse(template))
    if not _AMI_NAME_CHARACTERS.match(literal):
        raise ValueError(f"{template!r} may only hold letters, digits, spaces and ( ) [ ] . / - ' @ _")
    return template


class Ec2InstancesParameters(TargetedParameters):
    """Choose EC2 instances by id or by one tag, and whether to wait until they reach their final state."""

    ids_field: ClassVar[str] = "instance_ids"
    resources: ClassVar[str] = "instances"

    model_config = ConfigDict(title="EC2 instances")

    instance_ids: list[Annotated[str, Field(pattern=INSTANCE_ID_PATTERN)]] = Field(
        default_factory=list,
        title="Instance ids",
        description="The instances to act on, e.g. i-0123456789abcdef0. Leave empty to choose by tag.",
    )
    tag_key: str | None = tag_key_field("instance (not terminated)")
    tag_value: str | None = tag_value_field()
    wait_until_final_state: bool = wait_field(
        "Finish only when every instance is running (start) or stopped (stop)."
    )


class Ec2RebootInstancesParameters(Ec2InstancesParameters):
    """Choose the running EC2 instances to reboot."""

    model_config = ConfigDict(title="EC2 instances to reboot")

    tag_key: str | None = tag_key_field("running instance")
    wait_until_final_state: bool = wait_field(
        "Finish only when every instance is running and passes EC2's instance status check."
    )


class Ec2ChangeInstanceTypeParameters(Ec2InstancesParameters):
    """Choose EC2 instances and the instance type they should have."""

    model_config = ConfigDict(title="EC2 instance type change")

    wait_until_final_state: bool = wait_field(
        "Finish only when the instances that were running are running again. Stopped "
        "instances stay stopped; the action always waits for the stop it needs."
    )
    instance_type: str = Field(
        pattern=INSTANCE_TYPE_PATTERN,
        max_length=64,
        title="Instance type",
        description="The new instance type, e.g. t3.large.",
    )


class Ec2CreateImageParameters(Ec2InstancesParameters):
    """Choose EC2 instances to back up as AMIs, how to name and tag them, and how many to keep."""

    model_config = ConfigDict(title="EC2 AMI backup")

    wait_until_final_state: bool = wait_field("Finish only when every new AMI is available.")
    name_template: str = Field(
        default="{instance_id}-{datetime}",
        min_length=3,
        max_length=128,
        title="AMI name",
        description=(
            "Name of each AMI, unique in the region. "
            f"Placeholders: {{instance_id}}, {DATE_PLACEHOLDERS_DOC}. "
            "Letters, digits, spaces and ( ) [ ] . / - ' @ _ only."
        ),
    )
    no_reboot: bool = Field(
        default=True,
        title="No reboot",
        description=(
            "Take the image without rebooting the instance (default; open files may be caught "
            "mid-write). False lets EC2 shut the instance down cleanly for a consistent image."
        ),
    )
    tags: UserTags = tags_field("AMI")
    keep_newest: int | None = keep_newest_field("AMIs", "instance")

    @field_validator("name_template")
    @classmethod
    def _check_name_template(cls, value: str) -> str:
        return _check_ami_name_template(value, ("instance_id",))


class Ec2CopyImageParameters(TargetedParameters):
    """Choose AMIs by id or tag, and the region to copy them to."""

    ids_field: ClassVar[str] = "image_ids"
    resources: ClassVar[str] = "AMIs"

    model_config = ConfigDict(title="EC2 AMI copy")

    image_ids: list[Annotated[str, Field(pattern=IMAGE_ID_PATTERN)]] = Field(
        default_factory=list,
        title="AMI ids",
        description="The AMIs to copy, e.g. ami-0123456789abcdef0. Leave empty to choose by tag.",
    )
    tag_key: str | None = tag_key_field("available AMI owned by this account")
    tag_value: str | None = tag_value_field()
    destination_region: str = Field(
        pattern=REGION_PATTERN,
        title="Destination region",
        description="The region to copy the AMIs to, e.g. eu-west-1.",
    )
    name_template: str = Field(
        default="{source_name}",
        min_length=1,
        max_length=128,
        title="Copy name",
        description=(
            f"Name of each copy. Placeholders: {{source_name}}, {{image_id}} (the source AMI), "
            f"{DATE_PLACEHOLDERS_DOC}."
        ),
    )
    tags: UserTags = tags_field("AMI copy")
    wait_until_final_state: bool = wait_field(
        "Finish only when every copy is available in the destination region."
    )

    @field_validator("name_template")
    @classmethod
    def _check_name_template(cls, value: str) -> str:
        return _check_ami_name_template(value, ("source_name", "image_id"))


class EC2ActionOperator(AwsActionOperator[EC2Hook]):
    """
    Base of the actions run with the provider's EC2 hook (client mode): tag look-ups and waits.

    Real instances take about 30 s to start or stop, so the base's check every few seconds keeps
    the task short without flooding EC2.
    """

    aws_hook_class = EC2Hook
    ui_color = "#eeaa11"
    ui_fgcolor = "#ffffff"

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        # The hook's start/stop/describe helpers only exist in client mode.
        return {**super()._hook_parameters, "api_type": "client_type"}

    def instance_ids_tagged(
        self, tag_key: str | None, tag_value: str | None, *, states: list[str], label: str
    ) -> list[str]:
        """Return the ids of the instances in ``states`` carrying the tag, or fail naming the tag."""
        tag = describe_tag(tag_key, tag_value)
        instance_ids = self.hook.get_instance_ids(
            filters=[
                {"Name": f"tag:{tag_key}", "Values": [tag_value]},
                {"Name": "instance-state-name", "Values": states},
            ]
        )
        if not instance_ids:
            raise AirflowException(f"No EC2 instance {label} is tagged {tag}")
        self.log.info("EC2 instances tagged %s: %s", tag, _names(instance_ids))
        return instance_ids

    def wait_for(
        self,
        waiter_name: str,
        *,
        args: dict[str, Any],
        resources: str,
        final_state: str,
        status_args: list[str],
        hook: EC2Hook | None = None,
    ) -> None:
        """Wait with EC2's boto waiter ``waiter_name`` (on ``hook``'s region if given)."""
        self.wait_until(
            (hook or self.hook).get_waiter(waiter_name),
            args=args,
            subject=resources,
            state=final_state,
            status_args=status_args,
        )


class _EC2InstancesOperator(EC2ActionOperator):
    """Base of the actions on instances chosen by id or tag."""

    parameters_model: ClassVar[type[Ec2InstancesParameters]] = Ec2InstancesParameters
    # Which instances a tag chooses, and how an error names them.
    tag_states: ClassVar[list[str]] = LIVE_INSTANCE_STATES
    tag_states_label: ClassVar[str] = "(not terminated)"

    def resolve_instance_ids(self, parameters: Ec2InstancesParameters) -> list[str]:
        if parameters.instance_ids:
            return unique(parameters.instance_ids)
        return self.instance_ids_tagged(
            parameters.tag_key, parameters.tag_value, states=self.tag_states, label=self.tag_states_label
        )

    def describe_instances(self, instance_ids: list[str]) -> dict[str, dict[str, Any]]:
        try:
            instances = self.hook.get_instances(instance_ids=instance_ids)
        except ClientError as error:
            names = _names(instance_ids)
            raise AirflowException(f"Describing EC2 instances {names} failed: {error}") from error
        return {instance["InstanceId"]: instance for instance in instances}

    def wait_for_instances(self, waiter_name: str, instance_ids: list[str], final_state: str) -> None:
        self.wait_for(
            waiter_name,
            args={"InstanceIds": instance_ids},
            resources=f"EC2 instances {_names(instance_ids)}",
            final_state=final_state,
            status_args=["Reservations[].Instances[].[InstanceId, State.Name]"],
        )

    def current_states(self, instance_ids: list[str]) -> dict[str, str]:
        instances = self.describe_instances(instance_ids)
        return {iid: instance["State"]["Name"] for iid, instance in instances.items()}


class _EC2InstancesStateOperator(_EC2InstancesOperator):
    """Move EC2 instances to a state and, optionally, wait until they all reach it."""

    # Set by each subclass.
    verb: ClassVar[str]
    final_state: ClassVar[str]
    waiter_name: ClassVar[str]

    def run_action(self, context: Context, parameters: Ec2InstancesParameters) -> dict[str, Any]:
        instance_ids = self.resolve_instance_ids(parameters)
        self.log.info("%s EC2 instances %s", self.verb, _names(instance_ids))
        try:
            response = self._change_state(instance_ids)
        except ClientError as error:
            names = _names(instance_ids)
            raise AirflowException(f"{self.verb} EC2 instances {names} failed: {error}") from error
        if not parameters.wait_until_final_state:
            states = {item["InstanceId"]: item["CurrentState"]["Name"] for item in response}
            return {"instance_ids": instance_ids, "states": states, "waited": False}
        self.wait_for_instances(self.waiter_name, instance_ids, self.final_state)
        self.log.info("EC2 instances %s are %s", _names(instance_ids), self.final_state)
        return {"instance_ids": instance_ids, "states": self.current_states(instance_ids), "waited": True}

    def _change_state(self, instance_ids: list[str]) -> list[dict[str, Any]]:
        """Ask EC2 for the change; return the per-instance state changes it answered."""
        raise NotImplementedError


class EC2StartInstancesOperator(_EC2InstancesStateOperator):
    """Start EC2 instances chosen by id or tag and wait until they are running."""

    verb = "Starting"
    final_state = "running"
    waiter_name = "instance_running"

    def _change_state(self, instance_ids: list[str]) -> list[dict[str, Any]]:
        return self.hook.start_instances(instance_ids=instance_ids)["StartingInstances"]


class EC2StopInstancesOperator(_EC2InstancesStateOperator):
    """Stop EC2 instances chosen by id or tag and wait until they are stopped."""

    verb = "Stopping"
    final_state = "stopped"
    waiter_name = "instance_stopped"

    def _change_state(self, instance_ids: list[str]) -> list[dict[str, Any]]:
        return self.hook.stop_instances(instance_ids=instance_ids)["StoppingInstances"]


class EC2RebootInstancesOperator(_EC2InstancesOperator):
    """
    Reboot running EC2 instances chosen by id or tag, then wait until their status check passes.

    A reboot keeps an instance ``running`` throughout, so there is no state change to wait for;
    the wait is for EC2's instance status check (``instance_status_ok``), which fails while the
    operating system is down. A tag chooses only running instances; an id of an instance that is
    not running fails the task before anything is rebooted.
    """

    parameters_model: ClassVar[type[Ec2InstancesParameters]] = Ec2RebootInstancesParameters
    tag_states: ClassVar[list[str]] = ["running"]
    tag_states_label: ClassVar[str] = "(running)"

    def run_action(self, context: Context, parameters: Ec2InstancesParameters) -> dict[str, Any]:
        instance_ids = self.resolve_instance_ids(parameters)
        states = self.current_states(instance_ids)
        not_running = {iid: state for iid, state in states.items() if state != "running"}
        if not_running:
            details = ", ".join(f"{iid} is {state}" for iid, state in not_running.items())
            raise AirflowException(f"Only running EC2 instances can be rebooted: {details}")
        self.log.info("Rebooting EC2 instances %s", _names(instance_ids))
        try:
            self.hook.conn.reboot_instances(InstanceIds=instance_ids)
        except ClientError as error:
            names = _names(instance_ids)
            raise AirflowException(f"Rebooting EC2 instances {names} failed: {error}") from error
        if parameters.wait_until_final_state:
            self.wait_for(
                "instance_status_ok",
                args={"InstanceIds": instance_ids},
                resources=f"EC2 instances {_names(instance_ids)}",
                final_state="running with their status check passed",
                status_args=["InstanceStatuses[].[InstanceId, InstanceStatus.Status]"],
            )
            self.log.info("EC2 instances %s are rebooted and pass their status check", _names(instance_ids))
        return {"instance_ids": instance_ids, "waited": parameters.wait_until_final_state}


class EC2ChangeInstanceTypeOperator(_EC2InstancesOperator):
    """
    Change the instance type of EC2 instances: stop, modify, and start again those that were running.

    EC2 changes the type of stopped instances only. Instances already of the type are left
    alone. If a change fails, the instances this action stopped are started again before the
    task fails, so a bad type never leaves a service down.
    """

    parameters_model: ClassVar[type[Ec2InstancesParameters]] = Ec2ChangeInstanceTypeParameters

    def run_action(self, context: Context, parameters: Ec2ChangeInstanceTypeParameters) -> dict[str, Any]:
        instance_ids = self.resolve_instance_ids(parameters)
        new_type = parameters.instance_type
        instances = self.describe_instances(instance_ids)
        to_change = [iid for iid in instance_ids if instances[iid]["InstanceType"] != new_type]
        unchanged = [iid for iid in instance_ids if iid not in to_change]
        if unchanged:
            self.log.info("EC2 instances %s are already %s", _names(unchanged), new_type)
        summary: dict[str, Any] = {"instance_type": new_type, "changed": to_change, "unchanged": unchanged}
        if not to_change:
            return {**summary, "restarted": [], "waited": False}
        states = {iid: instances[iid]["State"]["Name"] for iid in to_change}
        gone = {iid: state for iid, state in states.items() if state not in LIVE_INSTANCE_STATES}
        if gone:
            details = ", ".join(f"{iid} is {state}" for iid, state in gone.items())
            raise AirflowException(f"Cannot change the type of EC2 instances that are going away: {details}")
        was_running = [iid for iid in to_change if states[iid] in ("pending", "running")]
        if was_running:
            self.log.info("Stopping EC2 instances %s to change their type", _names(was_running))
            try:
                self.hook.stop_instances(instance_ids=was_running)
            except ClientError as error:
                names = _names(was_running)
                raise AirflowException(f"Stopping EC2 instances {names} failed: {error}") from error
        self.wait_for_instances("instance_stopped", to_change, "stopped")
        failure = self._modify(to_change, new_type)
        if was_running:
            self._start_again(was_running, wait=parameters.wait_until_final_state)
        if failure is not None:
            again = f"; started {_names(was_running)} again" if was_running else ""
            raise AirflowException(f"{failure}{again}")
        return {**summary, "restarted": was_running, "waited": parameters.wait_until_final_state}

    def _modify(self, instance_ids: list[str], new_type: str) -> str | None:
        """Change the type of each stopped instance; return the first failure's message, if any."""
        for iid in instance_ids:
            self.log.info("Changing the type of EC2 instance %s to %s", iid, new_type)
            try:
                self.hook.conn.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": new_type})
            except ClientError as error:
                return f"Changing the type of EC2 instance {iid} to {new_type} failed: {error}"
        return None

    def _start_again(self, instance_ids: list[str], *, wait: bool) -> None:
        self.log.info("Starting EC2 instances %s again", _names(instance_ids))
        try:
            self.hook.start_instances(instance_ids=instance_ids)
        except ClientError as error:
            names = _names(instance_ids)
            raise AirflowException(f"Starting EC2 instances {names} again failed: {error}") from error
        if wait:
            self.wait_for_instances("instance_running", instance_ids, "running")


class EC2CreateImageOperator(_EC2InstancesOperator):
    """
    Create an AMI of each EC2 instance chosen by id or tag; optionally keep only the newest N.

    Every AMI is tagged with the job and its instance (see :mod:`http_trigger.actions.backups`);
    rotation deregisters this job's older AMIs of the same instance and deletes their EBS
    snapshots, which EC2 would otherwise keep (and bill) after a deregistration. It runs once
    the new AMIs exist (after the wait, when waiting).
    """

    parameters_model: ClassVar[type[Ec2InstancesParameters]] = Ec2CreateImageParameters

    def run_action(self, context: Context, parameters: Ec2CreateImageParameters) -> dict[str, Any]:
        instance_ids = self.resolve_instance_ids(parameters)
        now = utc_now()
        names = {iid: render_template(parameters.name_template, now, instance_id=iid) for iid in instance_ids}
        self._check_names(names, parameters.name_template)
        images: dict[str, str] = {}
        for iid in instance_ids:
            self.log.info(
                "Creating AMI %s of EC2 instance %s (no_reboot=%s)", names[iid], iid, parameters.no_reboot
            )
            tags = aws_tags(parameters.tags, job=self.dag_id, source=iid)
            try:
                response = self.hook.conn.create_image(
                    InstanceId=iid,
                    Name=names[iid],
                    Description=f"Created from {iid} by {self.dag_id}",
                    NoReboot=parameters.no_reboot,
                    TagSpecifications=[{"ResourceType": "image", "Tags": tags}],
                )
            except ClientError as error:
                made = f" (AMIs already created: {_names(list(images.values()))})" if images else ""
                raise AirflowException(
                    f"Creating an AMI of EC2 instance {iid} failed: {error}{made}"
                ) from error
            images[iid] = response["ImageId"]
        if parameters.wait_until_final_state:
            self.wait_for(
                "image_available",
                args={"ImageIds": list(images.values())},
                resources=f"AMIs {_names(list(images.values()))}",
                final_state="available",
                status_args=["Images[].[ImageId, State]"],
            )
        summary = {"images": images, "names": names, "waited": parameters.wait_until_final_state}
        if parameters.keep_newest is None:
            return summary
        return {**summary, **self._rotate(images, parameters.keep_newest)}

    def _check_names(self, names: dict[str, str], template: str) -> None:
        by_name: dict[str, list[str]] = {}
        for iid, name in names.items():
            if not _AMI_NAME.match(name):
                raise AirflowException(
                    f"AMI name {name!r} for EC2 instance {iid} must be 3-128 allowed characters"
                )
            by_name.setdefault(name, []).append(iid)
        for name, iids in by_name.items():
            if len(iids) > 1:
                raise AirflowException(
                    f"AMI name template {template!r} gives EC2 instances {_names(iids)} the same name "
                    f"{name!r}; add {{instance_id}}"
                )
        # Checked before creating anything: EC2 would refuse a taken name only after the other
        # instances' AMIs exist.
        taken = self.hook.conn.describe_images(
            Owners=["self"], Filters=[{"Name": "name", "Values": list(names.values())}]
        )
        if taken["Images"]:
            existing = ", ".join(f"{image['Name']!r} ({image['ImageId']})" for image in taken["Images"])
            raise AirflowException(f"AMI names already taken in {self.hook.conn_region_name}: {existing}")

    def _rotate(self, images: dict[str, str], keep: int) -> dict[str, list[str]]:
        deregistered: list[str] = []
        deleted_snapshots: list[str] = []
        failures: list[str] = []
        for iid, new_image_id in images.items():
            previous = [image for image in self._job_images_of(iid) if image["ImageId"] != new_image_id]
            for image in older_generations(previous, keep=keep, created_at=_creation_date):
                image_id = image["ImageId"]
                snapshot_ids = [
                    mapping["Ebs"]["SnapshotId"]
                    for mapping in image.get("BlockDeviceMappings", [])
                    if mapping.get("Ebs", {}).get("SnapshotId")
                ]
                self.log.info(
                    "Deregistering AMI %s of EC2 instance %s and deleting its snapshots %s",
                    image_id,
                    iid,
                    _names(snapshot_ids),
                )
                try:
                    self.hook.conn.deregister_image(ImageId=image_id)
                    deregistered.append(image_id)
                    for snapshot_id in snapshot_ids:
                        self.hook.conn.delete_snapshot(SnapshotId=snapshot_id)
                        deleted_snapshots.append(snapshot_id)
                except ClientError as error:
                    failures.append(f"{image_id}: {error}")
        if failures:
            raise AirflowException(
                f"Created AMIs {_names(list(images.values()))}, but removing older AMIs failed: "
                f"{'; '.join(failures)}"
            )
        return {"deregistered": deregistered, "deleted_snapshots": deleted_snapshots}

    def _job_images_of(self, instance_id: str) -> list[dict[str, Any]]:
        filters = [
            {"Name": f"tag:{JOB_TAG}", "Values": [self.dag_id]},
            {"Name": f"tag:{SOURCE_TAG}", "Values": [instance_id]},
        ]
        pages = self.hook.conn.get_paginator("describe_images").paginate(Owners=["self"], Filters=filters)
        return [image for page in pages for image in page["Images"]]


class EC2CopyImageOperator(EC2ActionOperator):
    """Copy AMIs chosen by id or tag to another region, tag the copies, and wait until they are available."""

    parameters_model: ClassVar[type[Ec2CopyImageParameters]] = Ec2CopyImageParameters

    def run_action(self, context: Context, parameters: Ec2CopyImageParameters) -> dict[str, Any]:
        sources = self._resolve_images(parameters)
        source_region = self.hook.conn_region_name
        destination = parameters.destination_region
        target = self.aws_hook_class(**{**self._hook_parameters, "region_name": destination})
        now = utc_now()
        copies: dict[str, str] = {}
        for image in sources:
            image_id = image["ImageId"]
            name = render_template(
                parameters.name_template, now, source_name=image.get("Name", ""), image_id=image_id
            )
            if not _AMI_NAME.match(name):
                raise AirflowException(
                    f"Copy name {name!r} for AMI {image_id} must be 3-128 allowed characters"
                )
            self.log.info("Copying AMI %s from %s to %s as %s", image_id, source_region, destination, name)
            try:
                copy_id = target.conn.copy_image(
                    SourceImageId=image_id,
                    SourceRegion=source_region,
                    Name=name,
                    Description=image.get("Description") or f"Copy of {image_id} from {source_region}",
                )["ImageId"]
                # Tagged after the copy rather than through CopyImage's TagSpecifications, which
                # some EC2-compatible endpoints (moto among them) ignore.
                target.conn.create_tags(
                    Resources=[copy_id], Tags=aws_tags(parameters.tags, job=self.dag_id, source=image_id)
                )
            except ClientError as error:
                raise AirflowException(f"Copying AMI {image_id} to {destination} failed: {error}") from error
            copies[image_id] = copy_id
        if parameters.wait_until_final_state:
            self.wait_for(
                "image_available",
                args={"ImageIds": list(copies.values())},
                resources=f"AMI copies {_names(list(copies.values()))} in {destination}",
                final_state="available",
                status_args=["Images[].[ImageId, State]"],
                hook=target,
            )
        waited = parameters.wait_until_final_state
        return {"destination_region": destination, "copies": copies, "waited": waited}

    def _resolve_images(self, parameters: Ec2CopyImageParameters) -> list[dict[str, Any]]:
        if parameters.image_ids:
            image_ids = unique(parameters.image_ids)
            try:
                images = self.hook.conn.describe_images(ImageIds=image_ids)["Images"]
            except ClientError as error:
                raise AirflowException(f"Describing AMIs {_names(image_ids)} failed: {error}") from error
            found = {image["ImageId"]: image for image in images}
            missing = [image_id for image_id in image_ids if image_id not in found]
            if missing:
                raise AirflowException(f"AMIs {_names(missing)} do not exist in {self.hook.conn_region_name}")
            unavailable = [
                f"{iid} is {found[iid]['State']}" for iid in image_ids if found[iid]["State"] != "available"
            ]
            if unavailable:
                raise AirflowException(f"Only available AMIs can be copied: {', '.join(unavailable)}")
            return [found[image_id] for image_id in image_ids]
        tag = describe_tag(parameters.tag_key, parameters.tag_value)
        images = self.hook.conn.describe_images(
            Owners=["self"],
            Filters=[
                {"Name": f"tag:{parameters.tag_key}", "Values": [parameters.tag_value]},
                {"Name": "state", "Values": ["available"]},
            ],
        )["Images"]
        if not images:
            raise AirflowException(f"No available AMI owned by this account is tagged {tag}")
        self.log.info("AMIs tagged %s: %s", tag, _names([image["ImageId"] for image in images]))
        return images


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        name="ec2_start_instances",
        title="EC2: Start instances",
        description=(
            "Start the EC2 instances given by id, or every instance carrying a tag, "
            "and wait until they are running."
        ),
        parameters_model=Ec2InstancesParameters,
        operator_class=EC2StartInstancesOperator,
    ),
    ActionType(
        name="ec2_stop_instances",
        title="EC2: Stop instances",
        description=(
            "Stop the EC2 instances given by id, or every instance carrying a tag, "
            "and wait until they are stopped."
        ),
        parameters_model=Ec2InstancesParameters,
        operator_class=EC2StopInstancesOperator,
    ),
    ActionType(
        name="ec2_reboot_instances",
        title="EC2: Reboot instances",
        description=(
            "Reboot the running EC2 instances given by id, or every running instance carrying a tag, "
            "and wait until they pass their status check."
        ),
        parameters_model=Ec2RebootInstancesParameters,
        operator_class=EC2RebootInstancesOperator,
    ),
    ActionType(
        name="ec2_change_instance_type",
        title="EC2: Change instance type",
        description=(
            "Stop the EC2 instances given by id or tag, change their instance type, and start "
            "again those that were running."
        ),
        parameters_model=Ec2ChangeInstanceTypeParameters,
        operator_class=EC2ChangeInstanceTypeOperator,
    ),
    ActionType(
        name="ec2_create_image",
        title="EC2: Create AMI",
        description=(
            "Create an AMI of each EC2 instance given by id or tag, tag it, and optionally keep only "
            "the newest AMIs of each instance, deleting older ones with their snapshots."
        ),
        parameters_model=Ec2CreateImageParameters,
        operator_class=EC2CreateImageOperator,
    ),
    ActionType(
        name="ec2_copy_image",
        title="EC2: Copy AMI to another region",
        description=(
            "Copy the AMIs given by id or tag to another region and wait until the copies are available."
        ),
        parameters_model=Ec2CopyImageParameters,
        operator_class=EC2CopyImageOperator,
    ),
)
