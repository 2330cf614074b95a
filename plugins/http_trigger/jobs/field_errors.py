"""Locate what is wrong in a job body field by field, in an operator's words, for a form to show at each field.

The job model checks an action's (and each post-processing step's) parameters inside a model
validator, which reports them all as one message on ``action``. Here the same catalogue models
check the same parameters again, only to return each error at its own place
(``action.parameters.tag_value``); no rule is added or repeated. Each message says what to enter
(:mod:`http_trigger.field_messages`), read from the schema of the model that found the problem, in
the language asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import pydantic
from pydantic_core import PydanticCustomError

from http_trigger.actions import ACTIONS
from http_trigger.catalogue import Catalogue
from http_trigger.field_messages import Loc, message, operator_problems
from http_trigger.jobs.model import JobBody
from http_trigger.post_processing import POST_PROCESSING
from http_trigger.translations import DEFAULT_LANGUAGE, LANGUAGES

# How a choice of each catalogue is asked for: "Choose an action".
_KIND_NOUNS = {ACTIONS.kind: "an_action", POST_PROCESSING.kind: "a_post_processing"}


@dataclass(frozen=True)
class FieldError:
    """One problem: where (the path of keys and list indexes in the body), what, and pydantic's type."""

    loc: Loc
    msg: str
    type: str


def _from_pydantic(
    error: pydantic.ValidationError, model: type[pydantic.BaseModel], language: str, prefix: Loc = ()
) -> list[FieldError]:
    problems = operator_problems(error, model, language)
    return [
        FieldError(loc=(*prefix, *loc), msg=text, type=item["type"])
        for (loc, text), item in zip(problems, error.errors(), strict=True)
    ]


def _item(data: Any, *path: str | int) -> Any:
    """Return ``data[path…]``, or None where the path does not exist."""
    for key in path:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _choose(catalogue: Catalogue[Any], kind_name: Any, language: str) -> str:
    """Ask for a choice of the catalogue: "Choose an action", or that a name given is not one."""
    choose = message("choose", language, field=message(_KIND_NOUNS[catalogue.kind], language))
    return message("not_one", language, message=choose, value=repr(kind_name)) if kind_name else choose


def _parameter_errors(
    catalogue: Catalogue[Any], spec: Any, where: Loc, text: str, language: str
) -> list[FieldError] | None:
    """Re-check the parameters of an action or step with its catalogue model; None if that is not it."""
    kind_name = _item(spec, "type")
    kind = catalogue.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        choose = _choose(catalogue, kind_name, language)
        return [FieldError(loc=(*where, "type"), msg=choose, type="value_error")]
    if _item(spec, "parameters_at_execution") is True:
        return [FieldError(loc=(*where, "parameters"), msg=text, type="value_error")]
    parameters = _item(spec, "parameters")
    try:
        kind.parameters_model.model_validate(parameters if parameters is not None else {})
    except pydantic.ValidationError as error:
        return _from_pydantic(error, kind.parameters_model, language, (*where, "parameters"))
    return None


def _refine(item: FieldError, data: Any, language: str) -> list[FieldError]:
    if item.type != "value_error":
        return [item]
    refined: list[FieldError] | None = None
    if item.loc == ("action",):
        refined = _parameter_errors(ACTIONS, _item(data, "action"), item.loc, item.msg, language)
    elif len(item.loc) == 3 and item.loc[0] == "post_processing" and isinstance(item.loc[2], int):
        refined = _parameter_errors(POST_PROCESSING, _item(data, *item.loc), item.loc, item.msg, language)
    return refined or [item]


def _unchecked_parameter_errors(errors: list[FieldError], data: Any, language: str) -> list[FieldError]:
    """Check the parameters pydantic left unchecked because another field of their action or step failed.

    pydantic runs a model validator only on valid fields, so a wrong region hid a wrong instance id
    until the region was fixed; a form shows every problem of its page at once.
    """
    places: list[tuple[Catalogue[Any], Loc]] = [(ACTIONS, ("action",))]
    for when in ("on_success", "on_failure"):
        steps = _item(data, "post_processing", when)
        if isinstance(steps, list):
            places.extend((POST_PROCESSING, ("post_processing", when, index)) for index in range(len(steps)))
    found: list[FieldError] = []
    for catalogue, where in places:
        inside = [error.loc[len(where)] for error in errors if error.loc[: len(where)] == where and error.loc != where]
        if not inside or "type" in inside or "parameters" in inside:
            continue  # valid, or its type or parameters already have their errors
        spec = _item(data, *where)
        if _item(spec, "parameters_at_execution") is True or catalogue.get(_item(spec, "type")) is None:
            continue
        found.extend(_parameter_errors(catalogue, spec, where, "", language) or [])
    return found


def job_body_errors(data: Any, language: str = DEFAULT_LANGUAGE) -> list[FieldError]:
    """Return every error of a job body, each at its field in ``language``; an empty list when it is valid."""
    try:
        JobBody.model_validate(data)
    except pydantic.ValidationError as error:
        found = _from_pydantic(error, JobBody, language)
        errors = [refined for item in found for refined in _refine(item, data, language)]
        return errors + _unchecked_parameter_errors(errors, data, language)
    return []


SAID_IN = "said_in"
"""Where a refused job body's problem keeps its message in every language (its error's ``ctx``)."""


def _located(data: Any, handler: pydantic.ValidatorFunctionWrapHandler) -> JobBody:
    """Validate a job body; when it is refused, refuse it with each problem at its field, as a form shows it.

    The request's language is not known here: each problem keeps its message in every language,
    for the answer to say it in the one asked for.
    """
    try:
        return handler(data)
    except pydantic.ValidationError:
        said = {language: job_body_errors(data, language) for language in LANGUAGES}
        problems = [
            {
                "type": PydanticCustomError(error.type, error.msg, {SAID_IN: {
                    language: errors[index].msg for language, errors in said.items()
                }}),
                "loc": error.loc,
                "input": data,
            }
            for index, error in enumerate(said[DEFAULT_LANGUAGE])
        ]
        raise pydantic.ValidationError.from_exception_data(JobBody.__name__, problems) from None


LocatedJobBody = Annotated[JobBody, pydantic.WrapValidator(_located)]
"""A job body as the API takes it: the job model, its problems each at its own field, in an operator's words."""
