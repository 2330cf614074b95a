"""Locate what is wrong in a job body field by field, so a form can show each message at its field.

The job model checks an action's (and each post-processing step's) parameters inside a model
validator, which reports them all as one message on ``action``. Here the same catalogue models
check the same parameters again, only to return each error at its own place
(``action.parameters.tag_value``); no rule is added or repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pydantic

from http_trigger.actions import ACTIONS
from http_trigger.catalogue import Catalogue
from http_trigger.jobs.model import JobBody
from http_trigger.post_processing import POST_PROCESSING

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class FieldError:
    """One problem: where (the path of keys and list indexes in the body), what, and pydantic's type."""

    loc: Loc
    msg: str
    type: str


def _from_pydantic(error: pydantic.ValidationError, prefix: Loc = ()) -> list[FieldError]:
    return [
        FieldError(
            loc=(*prefix, *item["loc"]), msg=item["msg"].removeprefix("Value error, "), type=item["type"]
        )
        for item in error.errors()
    ]


def _item(data: Any, *path: str | int) -> Any:
    """Return ``data[path…]``, or None where the path does not exist."""
    for key in path:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _parameter_errors(
    catalogue: Catalogue[Any], spec: Any, where: Loc, message: str
) -> list[FieldError] | None:
    """Re-check the parameters of an action or step with its catalogue model; None if that is not it."""
    kind_name = _item(spec, "type")
    kind = catalogue.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        return [FieldError(loc=(*where, "type"), msg=message, type="value_error")]
    if _item(spec, "parameters_at_execution") is True:
        return [FieldError(loc=(*where, "parameters"), msg=message, type="value_error")]
    parameters = _item(spec, "parameters")
    try:
        kind.parameters_model.model_validate(parameters if parameters is not None else {})
    except pydantic.ValidationError as error:
        return _from_pydantic(error, (*where, "parameters"))
    return None


def _refine(item: FieldError, data: Any) -> list[FieldError]:
    if item.type != "value_error":
        return [item]
    refined: list[FieldError] | None = None
    if item.loc == ("action",):
        refined = _parameter_errors(ACTIONS, _item(data, "action"), item.loc, item.msg)
    elif len(item.loc) == 3 and item.loc[0] == "post_processing" and isinstance(item.loc[2], int):
        refined = _parameter_errors(POST_PROCESSING, _item(data, *item.loc), item.loc, item.msg)
    return refined or [item]


def job_body_errors(data: Any) -> list[FieldError]:
    """Return every error of a job body, each at its field; an empty list when the body is valid."""
    try:
        JobBody.model_validate(data)
    except pydantic.ValidationError as error:
        return [refined for item in _from_pydantic(error) for refined in _refine(item, data)]
    return []
