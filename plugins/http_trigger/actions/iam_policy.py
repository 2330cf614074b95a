"""Build the least-privilege IAM policy a set of actions needs, from what the catalogue declares.

Each catalogue entry states its IAM actions once (``ActionType.iam_actions``); this module only
gathers them into one policy document, a statement per AWS service, so an admin can attach it to
the role that a job's Airflow AWS connection assumes.

Every statement allows ``"Resource": "*"``: most Describe calls cannot be scoped to a resource
at all, and the actions that choose their targets by tag only learn which resources those are
when they run. An admin who wants it tighter can add conditions to the statements, for instance
``{"Condition": {"StringEquals": {"aws:ResourceTag/Env": "test"}}}`` on the changing calls
(start, stop, snapshot), or replace ``*`` with the ARNs of the resources a job may touch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from http_trigger.actions import ACTIONS, get_action
from http_trigger.errors import UnknownActionTypeError

POLICY_VERSION = "2012-10-17"

# The IAM service prefixes the actions use, and the statement id (letters and digits) each gets.
SERVICE_SIDS: dict[str, str] = {
    "autoscaling": "AutoScaling",
    "ec2": "EC2",
    "ecs": "ECS",
    "iam": "IAM",
    "lambda": "Lambda",
    "rds": "RDS",
    "redshift": "Redshift",
    "route53": "Route53",
    "ssm": "SSM",
    "states": "StepFunctions",
}


def iam_policy(action_types: Iterable[str]) -> dict[str, Any]:
    """Return the IAM policy document allowing what the given action types need; none given: all of them.

    One statement per AWS service, its actions sorted and without repeats; an action that makes no
    AWS call (a delay) adds none. An action type that is not in the catalogue raises :class:`UnknownActionTypeError` naming it and the known types.
    """
    names = list(action_types) or list(ACTIONS)
    by_service: dict[str, set[str]] = {}
    for name in names:
        try:
            action = get_action(name)
        except KeyError as error:
            raise UnknownActionTypeError(error.args[0]) from None
        for iam_action in action.iam_actions:
            by_service.setdefault(iam_action.split(":", 1)[0], set()).add(iam_action)
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": SERVICE_SIDS[service],
                "Effect": "Allow",
                "Action": sorted(by_service[service]),
                "Resource": "*",
            }
            for service in sorted(by_service)
        ],
    }
