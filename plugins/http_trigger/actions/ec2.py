"""EC2 actions on instances chosen by id or by tag: start, stop, reboot, change type, create and copy AMIs.

The provider's EC2 operators take instance ids fixed when the DAG is parsed (start and stop take
exactly one) and some poll without a limit; a job's targets are only known when it runs (a list,
a tag, or the trigger's JSON body), so these operators call the provider's ``EC2Hook`` with the
whole list and wait with EC2's own boto waiters through the provider's logging wait helper. The
provider has no operator to change an instance type or to create, copy or deregister AMIs: those
steps use the hook's boto3 client. The AWS calls live in :mod:`http_trigger.actions.aws.ec2`, so
each operator here only checks its parameters, calls them, and returns its summary.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from airflow.providers.amazon.aws.hooks.ec2 import EC2Hook
from airflow.sdk.exceptions import AirflowException
from pydantic import ConfigDict, Field, field_validator

from http_trigger.actions.aws import ec2
from http_trigger.actions.aws_base import AwsActionOperator
from http_trigger.actions.backups import (
    DATE_PLACEHOLDERS_DOC,
    UserTags,
    aws_tags,
    check_template,
    keep_newest_field,
    render_template,
    tags_field,
    utc_now,
)
from http_trigger.actions.base import ActionType
from http_trigger.actions.targets import (
    TargetedParameters,
    listed,
    tag_key_field,
    tag_value_field,
    wait_field,
)
from http_trigger.regions import region_pattern
from http_trigger.field_messages import Rule

if TYPE_CHECKING:
    from airflow.sdk import Context

INSTANCE_ID_PATTERN = r"^i-[0-9a-f]{8,17}$"
IMAGE_ID_PATTERN = r"^ami-[0-9a-f]{8,17}$"
INSTANCE_TYPE_PATTERN = r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$"
_AMI_NAME = re.compile(r"^[A-Za-z0-9()\[\] ./'@_-]{3,128}$")
_AMI_NAME_CHARACTERS = re.compile(r"^[A-Za-z0-9()\[\] ./'@_-]*$")


_AMI_NAME_TEMPLATE = Rule(
    "ec2.ami_name_characters", "{template} may only hold letters, digits, spaces and ( ) [ ] . / - ' @ _"
)


def _check_ami_name_template(template: str, placeholders: tuple[str, ...]) -> str:
    check_template(template, placeholders)
    literal = "".join(item[0] for item in string.Formatter().parse(template))
    if not _AMI_NAME_CHARACTERS.match(literal):
        raise _AMI_NAME_TEMPLATE.error(template=repr(template))
    return template


class Ec2InstancesParameters(TargetedParameters):
    """Choose EC2 instances by id or by one tag, and whether to wait until they reach their final state."""

    ids_field: ClassVar[str] = "instance_ids"
    resources: ClassVar[Rule] = Rule("ec2.instances", "instances")

    model_config = ConfigDict(
        title="EC2 instances",
        json_schema_extra={"examples": [{"instance_ids": ["i-0123456789abcdef0"]}]},
    )

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

    model_config = ConfigDict(
        title="EC2 instances to reboot",
        json_schema_extra={"examples": [{"tag_key": "Env", "tag_value": "staging"}]},
    )

    tag_key: str | None = tag_key_field("running instance")
    wait_until_final_state: bool = wait_field(
        "Finish only when every instance is running and passes EC2's instance status check."
    )


class Ec2ChangeInstanceTypeParameters(Ec2InstancesParameters):
    """Choose EC2 instances and the instance type they should have."""

    model_config = ConfigDict(
        title="EC2 instance type change",
        json_schema_extra={
            "examples": [{
                "instance_ids": ["i-0123456789abcdef0"],
                "instance_type": "t3.large",
            }],
        },
    )

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

    model_config = ConfigDict(
        title="EC2 AMI backup",
        json_schema_extra={"examples": [{"tag_key": "Backup", "tag_value": "daily", "keep_newest": 7}]},
    )

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
    resources: ClassVar[Rule] = Rule("ec2.images", "AMIs")

    model_config = ConfigDict(
        title="EC2 AMI copy",
        json_schema_extra={
            "examples": [{
                "image_ids": ["ami-0123456789abcdef0"],
                "destination_region": "eu-west-1",
            }],
        },
    )

    image_ids: list[Annotated[str, Field(pattern=IMAGE_ID_PATTERN)]] = Field(
        default_factory=list,
        title="AMI ids",
        description="The AMIs to copy, e.g. ami-0123456789abcdef0. Leave empty to choose by tag.",
    )
    tag_key: str | None = tag_key_field("available AMI owned by this account")
    tag_value: str | None = tag_value_field()
    destination_region: str = Field(
        pattern=region_pattern(),
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
    Base of the actions run with the provider's EC2 hook in client mode.

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


class _EC2InstancesOperator(EC2ActionOperator):
    """Base of the actions on instances chosen by id or tag."""

    parameters_model: ClassVar[type[Ec2InstancesParameters]] = Ec2InstancesParameters
    # Which instances a tag chooses, and how an error names them.
    tag_states: ClassVar[list[str]] = ec2.LIVE_INSTANCE_STATES
    tag_states_label: ClassVar[str] = "(not terminated)"

    def resolve_instance_ids(self, parameters: Ec2InstancesParameters) -> list[str]:
        return parameters.choose(
            by_ids=lambda instance_ids: instance_ids,
            by_tag=lambda tag: ec2.instance_ids_tagged(
                self.hook, tag, states=self.tag_states, label=self.tag_states_label
            ),
        )


class _EC2InstancesStateOperator(_EC2InstancesOperator):
    """Move EC2 instances to a state and, optionally, wait until they all reach it."""

    # Set by each subclass.
    final_state: ClassVar[str]
    waiter_name: ClassVar[str]
    change_state: ClassVar[Callable[[EC2Hook, list[str]], list[dict[str, Any]]]]

    def run_action(self, context: Context, parameters: Ec2InstancesParameters) -> dict[str, Any]:
        instance_ids = self.resolve_instance_ids(parameters)
        changes = self.change_state(self.hook, instance_ids)
        if not parameters.wait_until_final_state:
            states = {item["InstanceId"]: item["CurrentState"]["Name"] for item in changes}
            return {"instance_ids": instance_ids, "states": states, "waited": False}
        wait = ec2.instances_wait(instance_ids, waiter_name=self.waiter_name, final_state=self.final_state)
        return self.wait_then(context, parameters, wait, then="summarize", instance_ids=instance_ids)

    def summarize(
        self, context: Context, parameters: Ec2InstancesParameters, *, instance_ids: list[str]
    ) -> dict[str, Any]:
        """Return the instances and their states once they reached the final state."""
        states = ec2.instance_states(self.hook, instance_ids)
        return {"instance_ids": instance_ids, "states": states, "waited": True}


class EC2StartInstancesOperator(_EC2InstancesStateOperator):
    """Start EC2 instances chosen by id or tag and wait until they are running."""

    final_state = "running"
    waiter_name = "instance_running"
    change_state = staticmethod(ec2.start_instances)


class EC2StopInstancesOperator(_EC2InstancesStateOperator):
    """Stop EC2 instances chosen by id or tag and wait until they are stopped."""

    final_state = "stopped"
    waiter_name = "instance_stopped"
    change_state = staticmethod(ec2.stop_instances)


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
        ec2.reboot_running_instances(self.hook, instance_ids)
        if not parameters.wait_until_final_state:
            return self.summarize(context, parameters, instance_ids=instance_ids)
        wait = ec2.status_ok_wait(instance_ids)
        return self.wait_then(context, parameters, wait, then="summarize", instance_ids=instance_ids)

    def summarize(
        self, context: Context, parameters: Ec2InstancesParameters, *, instance_ids: list[str]
    ) -> dict[str, Any]:
        """Return the rebooted instances, and whether the task waited for their status check."""
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
        plan = ec2.change_plan(self.hook, self.resolve_instance_ids(parameters), parameters.instance_type)
        if not plan["to_change"]:
            return self.summarize(context, parameters, failure=None, **plan)
        if plan["was_running"]:
            ec2.stop_instances(self.hook, plan["was_running"])
        wait = ec2.instances_wait(plan["to_change"], waiter_name="instance_stopped", final_state="stopped")
        # The stop is always waited for: EC2 changes the type of stopped instances only.
        return self.wait_then(context, parameters, wait, then="change_and_restart", **plan)

    def change_and_restart(
        self, context: Context, parameters: Ec2ChangeInstanceTypeParameters, **plan: list[str]
    ) -> dict[str, Any]:
        """Change the type of the stopped instances, start those that ran, and wait if asked to."""
        failure = ec2.modify_and_restart(
            self.hook, plan["to_change"], parameters.instance_type, plan["was_running"]
        )
        if not (plan["was_running"] and parameters.wait_until_final_state):
            return self.summarize(context, parameters, failure=failure, **plan)
        wait = ec2.instances_wait(plan["was_running"], waiter_name="instance_running", final_state="running")
        return self.wait_then(context, parameters, wait, then="summarize", failure=failure, **plan)

    def summarize(
        self,
        context: Context,
        parameters: Ec2ChangeInstanceTypeParameters,
        *,
        failure: str | None,
        to_change: list[str],
        unchanged: list[str],
        was_running: list[str],
    ) -> dict[str, Any]:
        """Fail with a change's failure (the instances run again by now), else say what changed."""
        ec2.raise_change_failure(failure, was_running)
        waited = parameters.wait_until_final_state and bool(to_change)
        change = {"changed": to_change, "unchanged": unchanged, "restarted": was_running}
        return {"instance_type": parameters.instance_type, **change, "waited": waited}


class EC2CreateImageOperator(_EC2InstancesOperator):
    """
    Create an AMI of each EC2 instance chosen by id or tag; optionally keep only the newest N.

    Every AMI is tagged with the job and its instance (see :mod:`http_trigger.actions.backups`);
    rotation (:func:`http_trigger.actions.aws.ec2.rotate_images`) runs once the new AMIs exist
    (after the wait, when waiting).
    """

    parameters_model: ClassVar[type[Ec2InstancesParameters]] = Ec2CreateImageParameters

    def run_action(self, context: Context, parameters: Ec2CreateImageParameters) -> dict[str, Any]:
        instance_ids = self.resolve_instance_ids(parameters)
        now = utc_now()
        names = {iid: render_template(parameters.name_template, now, instance_id=iid) for iid in instance_ids}
        _check_image_names(names, parameters.name_template)
        # Checked before creating anything: EC2 would refuse a taken name only after the other
        # instances' AMIs exist.
        ec2.check_image_names_free(self.hook, names.values())
        images = ec2.create_images(
            self.hook, names, job=self.dag_id, no_reboot=parameters.no_reboot, tags=parameters.tags
        )
        if not parameters.wait_until_final_state:
            return self.rotate(context, parameters, images=images, names=names)
        image_ids = list(images.values())
        wait = ec2.images_wait(image_ids, resources=f"AMIs {listed(image_ids)}")
        return self.wait_then(context, parameters, wait, then="rotate", images=images, names=names)

    def rotate(
        self,
        context: Context,
        parameters: Ec2CreateImageParameters,
        *,
        images: dict[str, str],
        names: dict[str, str],
    ) -> dict[str, Any]:
        """Keep only the newest AMIs of each instance if asked to; return the new AMIs and what went."""
        summary = {"images": images, "names": names, "waited": parameters.wait_until_final_state}
        if parameters.keep_newest is None:
            return summary
        return {
            **summary,
            **ec2.rotate_images(self.hook, images, job=self.dag_id, keep=parameters.keep_newest),
        }


def _check_image_names(names: dict[str, str], template: str) -> None:
    """Refuse rendered AMI names that EC2 would refuse, or that two instances would share."""
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
                f"AMI name template {template!r} gives EC2 instances {listed(iids)} the same name "
                f"{name!r}; add {{instance_id}}"
            )


class EC2CopyImageOperator(EC2ActionOperator):
    """Copy AMIs chosen by id or tag to another region, tag the copies, and wait until they are available."""

    parameters_model: ClassVar[type[Ec2CopyImageParameters]] = Ec2CopyImageParameters

    def run_action(self, context: Context, parameters: Ec2CopyImageParameters) -> dict[str, Any]:
        sources = parameters.choose(
            by_ids=lambda image_ids: ec2.available_images(self.hook, image_ids),
            by_tag=lambda tag: ec2.available_images_tagged(self.hook, tag),
        )
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
            tags = aws_tags(parameters.tags, job=self.dag_id, source=image_id)
            copies[image_id] = ec2.copy_image(
                target, image, source_region=source_region, name=name, tags=tags
            )
        if not parameters.wait_until_final_state:
            return self.summarize(context, parameters, copies=copies)
        copy_ids = list(copies.values())
        wait = ec2.images_wait(copy_ids, resources=f"AMI copies {listed(copy_ids)} in {destination}")
        return self.wait_then(context, parameters, wait, then="summarize", hook=target, copies=copies)

    def summarize(
        self, context: Context, parameters: Ec2CopyImageParameters, *, copies: dict[str, str]
    ) -> dict[str, Any]:
        """Return the copies by source AMI, in the destination region."""
        waited = parameters.wait_until_final_state
        return {"destination_region": parameters.destination_region, "copies": copies, "waited": waited}


ACTION_TYPES: tuple[ActionType, ...] = (
    ActionType(
        name="ec2_start_instances",
        title="EC2: Start instances",
        description=(
            "Start the EC2 instances given by id, or every instance carrying a tag, "
            "and wait until they are running."
        ),
        operator_class=EC2StartInstancesOperator,
        iam_actions=("ec2:DescribeInstances", "ec2:StartInstances"),
    ),
    ActionType(
        name="ec2_stop_instances",
        title="EC2: Stop instances",
        description=(
            "Stop the EC2 instances given by id, or every instance carrying a tag, "
            "and wait until they are stopped."
        ),
        operator_class=EC2StopInstancesOperator,
        iam_actions=("ec2:DescribeInstances", "ec2:StopInstances"),
    ),
    ActionType(
        name="ec2_reboot_instances",
        title="EC2: Reboot instances",
        description=(
            "Reboot the running EC2 instances given by id, or every running instance carrying a tag, "
            "and wait until they pass their status check."
        ),
        operator_class=EC2RebootInstancesOperator,
        iam_actions=("ec2:DescribeInstances", "ec2:RebootInstances", "ec2:DescribeInstanceStatus"),
    ),
    ActionType(
        name="ec2_change_instance_type",
        title="EC2: Change instance type",
        description=(
            "Stop the EC2 instances given by id or tag, change their instance type, and start "
            "again those that were running."
        ),
        operator_class=EC2ChangeInstanceTypeOperator,
        iam_actions=(
            "ec2:DescribeInstances",
            "ec2:StopInstances",
            "ec2:ModifyInstanceAttribute",
            "ec2:StartInstances",
        ),
    ),
    ActionType(
        name="ec2_create_image",
        title="EC2: Create AMI",
        description=(
            "Create an AMI of each EC2 instance given by id or tag, tag it, and optionally keep only "
            "the newest AMIs of each instance, deleting older ones with their snapshots."
        ),
        operator_class=EC2CreateImageOperator,
        iam_actions=(
            "ec2:DescribeInstances",
            "ec2:DescribeImages",
            "ec2:CreateImage",
            "ec2:CreateTags",
            "ec2:DeregisterImage",
            "ec2:DeleteSnapshot",
        ),
    ),
    ActionType(
        name="ec2_copy_image",
        title="EC2: Copy AMI to another region",
        description=(
            "Copy the AMIs given by id or tag to another region and wait until the copies are available."
        ),
        operator_class=EC2CopyImageOperator,
        iam_actions=("ec2:DescribeImages", "ec2:CopyImage", "ec2:CreateTags"),
    ),
)
