"""Render pydantic validation errors the way users act on them, for specs, bodies and task logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from http_trigger.field_messages import message, operator_problems
from http_trigger.translations import DEFAULT_LANGUAGE

Hidden = Callable[[tuple[str | int, ...], Any], bool]
"""Tells, from an error's place and input, whether the input is a secret no message may repeat."""

# A hostile or careless spec can hold thousands of wrong fields or a huge value; the first few
# problems, each with a short excerpt of the value, are what a person can act on.
MAX_PROBLEMS = 20
_MAX_VALUE_CHARS = 80


def _excerpt(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else f"{text[:_MAX_VALUE_CHARS]}…"


def validation_problems(
    error: ValidationError, prefix: str | None = None, *, hidden: Hidden | None = None
) -> list[tuple[str, str]]:
    """Return each error as ``(field.path, reason (got value))``, at most :data:`MAX_PROBLEMS` of them.

    An input ``hidden`` tells is a secret is called "the value" instead.
    """
    problems = []
    items = error.errors()
    for item in items[:MAX_PROBLEMS]:
        field = ".".join(str(part) for part in (*([prefix] if prefix else []), *item["loc"])) or "(spec)"
        message = item["msg"].removeprefix("Value error, ")
        got = "" if item["type"] in ("missing", "value_error") else f" (got {_excerpt(item.get('input'))})"
        if hidden is not None and hidden(tuple(item["loc"]), item.get("input")):
            # The message of a broken spec reaches every reader of the job, and Airflow's import errors.
            message, got = message.replace(repr(item.get("input")), "the value"), ""
        problems.append((field, f"{message}{got}"))
    if len(items) > MAX_PROBLEMS:
        problems.append(("(spec)", f"{len(items) - MAX_PROBLEMS} more problems not shown"))
    return problems


def parameter_problems(
    error: ValidationError, model: type[BaseModel], language: str = DEFAULT_LANGUAGE
) -> tuple[tuple[str, str], ...]:
    """Return each problem of a run's parameters as ``(field.path, what to enter)``, as the job form says it.

    The trigger's and Run now's answers speak as the validate answers do (:mod:`http_trigger.field_messages`),
    at most :data:`MAX_PROBLEMS` of them; a problem of the whole body has the path ``(spec)``.
    """
    items = operator_problems(error, model, language)
    problems = [(".".join(str(part) for part in loc) or "(spec)", text) for loc, text in items[:MAX_PROBLEMS]]
    if len(items) > MAX_PROBLEMS:
        problems.append(("(spec)", message("more_problems", language, count=len(items) - MAX_PROBLEMS)))
    return tuple(problems)


def describe_problems(problems: tuple[tuple[str, str], ...]) -> str:
    """Render problems on one line, each after its field but those of the whole body."""
    return "; ".join(reason if field == "(spec)" else f"{field}: {reason}" for field, reason in problems)


def describe_validation_error(
    error: ValidationError, prefix: str | None = None, *, hidden: Hidden | None = None
) -> str:
    """Render errors as ``field.path: reason (got value)``, one per field, on one line."""
    problems = validation_problems(error, prefix, hidden=hidden)
    return "; ".join(f"{field}: {reason}" for field, reason in problems)
