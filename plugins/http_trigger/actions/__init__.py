"""The action catalogue: every AWS operation a job can run, with its parameter model and operator.

The catalogue is the one source of truth for actions: the job model validates a spec's
parameters with ``parameters_model``, the pages and the API show its JSON schema as the form,
and the DAG builder instantiates ``operator_class`` as the job's ``action`` task::

    operator_class(task_id="action", aws_conn_id=..., region_name=..., parameters=<dict | None>,
                   execution_timeout=...)

``parameters=None`` means the parameters come with each run, as the DAG run's ``conf``; either
way the operator validates them with ``parameters_model`` when it executes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pydantic
from airflow.sdk import BaseOperator

from http_trigger.actions.ec2 import (
    EC2StartInstancesOperator,
    EC2StopInstancesOperator,
    Ec2InstancesParameters,
)


@dataclass(frozen=True)
class ActionType:
    """One kind of AWS operation: how it is named and shown, what it takes, what runs it."""

    name: str
    title: str
    description: str
    parameters_model: type[pydantic.BaseModel]
    operator_class: type[BaseOperator]


_ACTION_TYPES: tuple[ActionType, ...] = (
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
)


def _index(action_types: tuple[ActionType, ...]) -> dict[str, ActionType]:
    """Key the action types by name, refusing a name used twice (a catalogue bug, caught at import)."""
    index: dict[str, ActionType] = {}
    for action_type in action_types:
        if action_type.name in index:
            raise ValueError(f"Action type {action_type.name!r} is defined twice in the catalogue")
        index[action_type.name] = action_type
    return index


ACTIONS: dict[str, ActionType] = _index(_ACTION_TYPES)


def get_action(name: str) -> ActionType:
    """Return the action type called ``name``; the KeyError lists the known names."""
    try:
        return ACTIONS[name]
    except KeyError:
        raise KeyError(f"Unknown action type {name!r}; known types: {', '.join(sorted(ACTIONS))}") from None
