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

from typing import Any

from http_trigger.actions import (
    aurora,
    autoscaling,
    ebs,
    ec2,
    ecs,
    lambda_function,
    rds,
    redshift,
    route53,
    ssm,
    stepfunctions,
    utility,
)
from http_trigger.actions.base import ActionType
from http_trigger.catalogue import Catalogue
from http_trigger.field_messages import model_schema
from http_trigger.translations import DEFAULT_LANGUAGE, translated_text

# One line per service module; each module declares its own ACTION_TYPES.
_ACTION_TYPES: tuple[ActionType, ...] = (
    *ec2.ACTION_TYPES,
    *ebs.ACTION_TYPES,
    *rds.ACTION_TYPES,
    *aurora.ACTION_TYPES,
    *lambda_function.ACTION_TYPES,
    *ecs.ACTION_TYPES,
    *autoscaling.ACTION_TYPES,
    *ssm.ACTION_TYPES,
    *stepfunctions.ACTION_TYPES,
    *redshift.ACTION_TYPES,
    *route53.ACTION_TYPES,
    *utility.ACTION_TYPES,
)


ACTIONS: Catalogue[ActionType] = Catalogue("action", _ACTION_TYPES)


def get_action(name: str) -> ActionType:
    """Return the action type called ``name``; the KeyError lists the known names."""
    return ACTIONS.require(name)


def catalogue(language: str = DEFAULT_LANGUAGE) -> list[dict[str, Any]]:
    """List every action as the API and the CLI show it: name, title, description, parameter schema.

    The texts are in ``language``; the name and the schema's field names are the API's, in every language.
    """
    return [
        {
            "name": action.name,
            "title": translated_text(action.title, language),
            "description": translated_text(action.description, language),
            "parameters_schema": model_schema(action.parameters_model, language),
        }
        for action in ACTIONS.values()
    ]
