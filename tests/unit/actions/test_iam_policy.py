"""The IAM actions each catalogue entry declares, the policy built from them, and that policy enforced by moto."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from airflow.sdk.exceptions import AirflowException
from botocore.exceptions import ClientError
from moto import settings as moto_settings
from moto.core.responses import ActionAuthenticatorMixin

from http_trigger.actions import ACTIONS, get_action
from http_trigger.actions.aws_base import AwsActionOperator
from http_trigger.actions.iam_policy import SERVICE_SIDS, iam_policy
from http_trigger.errors import UnknownActionTypeError

from .ec2_support import create_instance, create_instances, states
from .rds_support import create_db, db_states, tags
from .support import REGION, moto_account, run

IAM_ACTION = re.compile(r"^(?P<service>[a-z0-9-]+):[A-Z][A-Za-z0-9]+$")
USER_CONN_ID = "iam_user"


class TestDeclaredIamActions:
    @pytest.mark.parametrize("action", ACTIONS.values(), ids=list(ACTIONS))
    def test_each_is_service_colon_operation_with_a_known_service(self, action):
        for iam_action in action.iam_actions:
            match = IAM_ACTION.match(iam_action)
            assert match, iam_action
            assert match["service"] in SERVICE_SIDS, iam_action

    @pytest.mark.parametrize("action", ACTIONS.values(), ids=list(ACTIONS))
    def test_every_aws_action_declares_some_and_no_other_does(self, action):
        assert bool(action.iam_actions) == issubclass(action.operator_class, AwsActionOperator)

    @pytest.mark.parametrize("action", ACTIONS.values(), ids=list(ACTIONS))
    def test_none_is_declared_twice(self, action):
        assert len(set(action.iam_actions)) == len(action.iam_actions)


class TestIamPolicy:
    def test_merges_two_actions_into_one_sorted_statement_per_service(self):
        assert iam_policy(["ec2_stop_instances", "ec2_start_instances"]) == {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EC2",
                    "Effect": "Allow",
                    "Action": ["ec2:DescribeInstances", "ec2:StartInstances", "ec2:StopInstances"],
                    "Resource": "*",
                }
            ],
        }

    def test_gives_each_service_its_statement(self):
        policy = iam_policy(["ecs_run_task", "rds_start_db_instance"])
        assert [(s["Sid"], s["Action"]) for s in policy["Statement"]] == [
            ("ECS", ["ecs:DescribeTasks", "ecs:RunTask", "ecs:StopTask"]),
            ("IAM", ["iam:PassRole"]),
            ("RDS", ["rds:DescribeDBInstances", "rds:StartDBInstance"]),
        ]

    def test_without_action_types_covers_every_action(self):
        allowed = {action for statement in iam_policy([])["Statement"] for action in statement["Action"]}
        assert allowed == {iam_action for action in ACTIONS.values() for iam_action in action.iam_actions}

    def test_an_action_without_aws_calls_needs_no_statement(self):
        assert iam_policy(["utility_delay"])["Statement"] == []

    def test_refuses_an_unknown_action_type_listing_the_known_ones(self):
        with pytest.raises(
            UnknownActionTypeError, match=r"^Unknown action type 'ec2_explode'; known types: "
        ) as info:
            iam_policy(["ec2_start_instances", "ec2_explode"])
        assert str(info.value).endswith(", ".join(sorted(ACTIONS)))


@contextmanager
def iam_enforced(policy: dict[str, Any]) -> Iterator[None]:
    """Make an IAM user holding exactly ``policy``, point ``USER_CONN_ID`` at its keys, enforce IAM.

    Moto authorizes a request against the caller's policies once its count of unchecked requests
    is used up; setting that count to zero while the block runs checks every call of the action,
    while the setup before it stays unchecked.
    """
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="operator")
    iam.put_user_policy(UserName="operator", PolicyName="actions", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    connection = {"conn_type": "aws", "login": key["AccessKeyId"], "password": key["SecretAccessKey"]}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(f"AIRFLOW_CONN_{USER_CONN_ID.upper()}", json.dumps(connection))
        patch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
        patch.setattr(ActionAuthenticatorMixin, "request_count", 0)
        yield


def policy_without(action_type: str, iam_action: str) -> dict[str, Any]:
    """Return the action's generated policy with one IAM action taken out."""
    policy = iam_policy([action_type])
    assert any(iam_action in statement["Action"] for statement in policy["Statement"])
    for statement in policy["Statement"]:
        statement["Action"] = [action for action in statement["Action"] if action != iam_action]
    return policy


@dataclass(frozen=True)
class EnforcedCase:
    """An action run under its own policy: what it needs in moto, and what it should have done."""

    action_type: str
    prepare: Callable[[], Any]
    parameters: dict[str, Any]
    check: Callable[[Any], None]
    needed: tuple[str, ...]
    """IAM actions this run calls, so taking any one of them out must fail it."""


def _stopped_tagged_instances() -> list[str]:
    ec2 = boto3.client("ec2", region_name=REGION)
    instance_ids = create_instances(ec2, 2, env="test")
    ec2.stop_instances(InstanceIds=instance_ids)
    return instance_ids


def _all_running(instance_ids: list[str]) -> None:
    assert set(states(boto3.client("ec2", region_name=REGION), instance_ids).values()) == {"running"}


def _tagged_instance_volume() -> str:
    return create_instance(boto3.client("ec2", region_name=REGION), env="test")[1]


def _volume_snapshot_tagged(volume_id: str) -> None:
    [snapshot] = boto3.client("ec2", region_name=REGION).describe_snapshots(
        Filters=[{"Name": "volume-id", "Values": [volume_id]}]
    )["Snapshots"]
    assert {tag["Key"]: tag["Value"] for tag in snapshot["Tags"]}["Team"] == "data"


def _tagged_db() -> str:
    return create_db(boto3.client("rds", region_name=REGION), "db-1")


def _db_stopped(identifier: str) -> None:
    assert db_states(boto3.client("rds", region_name=REGION), identifier) == {identifier: "stopped"}


def _db_snapshot_tagged(identifier: str) -> None:
    [snapshot] = boto3.client("rds", region_name=REGION).describe_db_snapshots(
        DBInstanceIdentifier=identifier, SnapshotType="manual"
    )["DBSnapshots"]
    assert tags(snapshot)["Team"] == "data"


BY_TAG = {"tag_key": "Env", "tag_value": "test"}

ENFORCED_CASES = [
    EnforcedCase(
        "ec2_start_instances",
        _stopped_tagged_instances,
        BY_TAG,
        _all_running,
        needed=("ec2:DescribeInstances", "ec2:StartInstances"),
    ),
    EnforcedCase(
        "ebs_create_snapshots",
        _tagged_instance_volume,
        {**BY_TAG, "tags": {"Team": "data"}, "keep_newest": 1},
        _volume_snapshot_tagged,
        needed=(
            "ec2:DescribeInstances",
            "ec2:DescribeVolumes",
            "ec2:CreateSnapshot",
            "ec2:DescribeSnapshots",
        ),
    ),
    EnforcedCase(
        "rds_stop_db_instance",
        _tagged_db,
        BY_TAG,
        _db_stopped,
        needed=("rds:DescribeDBInstances", "rds:StopDBInstance"),
    ),
    EnforcedCase(
        "rds_create_db_snapshot",
        _tagged_db,
        {"db_instance_identifiers": ["db-1"], "tags": {"Team": "data"}, "keep_newest": 1},
        _db_snapshot_tagged,
        needed=("rds:DescribeDBInstances", "rds:CreateDBSnapshot", "rds:DescribeDBSnapshots"),
    ),
]
DENIALS = [
    pytest.param(case, needed, id=f"{case.action_type}-{needed}")
    for case in ENFORCED_CASES
    for needed in case.needed
]


class TestPolicyEnforcedByMoto:
    """Run actions as an IAM user holding only the generated policy, with moto enforcing IAM.

    Moto checks the one IAM action named after each API call; it does not check the extra
    permissions AWS asks for on some calls (``ec2:CreateTags`` or ``rds:AddTagsToResource`` for
    tags given at creation, ``iam:PassRole`` for an ECS task's roles), so those entries rest on
    AWS's documentation rather than on these tests.
    """

    @pytest.mark.parametrize("case", ENFORCED_CASES, ids=lambda case: case.action_type)
    def test_succeeds_with_the_generated_policy(self, case: EnforcedCase):
        with moto_account():
            resource = case.prepare()
            with iam_enforced(iam_policy([case.action_type])):
                run(get_action(case.action_type).operator_class, case.parameters, aws_conn_id=USER_CONN_ID)
            case.check(resource)

    @pytest.mark.parametrize(("case", "needed"), DENIALS)
    def test_fails_access_denied_without_one_needed_action(self, case: EnforcedCase, needed: str):
        with moto_account():
            case.prepare()
            with (
                iam_enforced(policy_without(case.action_type, needed)),
                pytest.raises((AirflowException, ClientError), match=f"not authorized to perform: {needed}"),
            ):
                run(get_action(case.action_type).operator_class, case.parameters, aws_conn_id=USER_CONN_ID)
