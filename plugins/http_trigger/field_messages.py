"""Say what an operator should enter in a field, for each problem validation finds in it.

pydantic's messages ("String should match pattern '^i-[0-9a-f]{8,17}$'") speak of types and
regular expressions; a form, and the API answers it shows, speak to the person filling it in:
"Enter instance ids such as i-0123456789abcdef0". Each message is made from the error's kind and the
field's JSON schema (its title, examples and bounds), so one rule serves every field of every model
and no field needs a message of its own. The job form checks the same schemas before it asks the
API, in the same words: :data:`MESSAGES` is shipped to the pages, which fill it in as
:func:`operator_message` does (``schema-form.js``).

A message of one of the package's own validators is written for an operator already: the validator
raises its :class:`Rule`'s error, declared beside it, which passes through (it may start with a
field's name, ``tag_value is required with tag_key``).

Every message can be said in each of :data:`~http_trigger.translations.LANGUAGES`: English is the
rule's own text, another language's is in :mod:`http_trigger.translations` by the rule's name, and
a field is named by its schema's title in that language. The API speaks English unless asked
otherwise; the pages ask in theirs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from http_trigger.translations import DEFAULT_LANGUAGE, message_translations, translated_schema

MESSAGES: dict[str, str] = {
    "enter": "Enter {field}",
    "choose": "Choose {field}",
    "such_as": "Enter {field} such as {example}",
    "expected_form": "Enter {field} in the form its description gives",
    "min_length": "Enter at least {limit} characters",
    "max_length": "Enter at most {limit} characters (this has {length})",
    "min_items": "Give at least {limit} entries",
    "max_items": "Give at most {limit} entries (this has {length})",
    "between": "Enter a number from {minimum} to {maximum}",
    "minimum": "Enter a number of at least {limit}",
    "maximum": "Enter a number of at most {limit}",
    "above": "Enter a number above {limit}",
    "below": "Enter a number below {limit}",
    "integer": "Enter a whole number",
    "number": "Enter a number",
    "boolean": "Choose yes or no",
    "text": "Enter text",
    "list": "Enter a list",
    "object": "Enter a JSON object",
    "one_of": "Choose one of {choices}",
    "unknown_field": "Remove {name}: there is no such setting",
    "entry": "{message} (entry {number})",
    "not_one": "{message}: {value} is not one",
    "more_problems": "{count} more problems not shown",
    "some_value": "a value",
    "an_action": "an action",
    "a_post_processing": "a post-processing",
    "choice_separator": ", ",
    "last_choice": "{choices} or {last}",
}
"""The words of every message, by rule; ``{…}`` are filled in from the field's schema and the error.

``some_value`` names a field that has no title; ``choice_separator`` and ``last_choice`` list the
choices of ``one_of``.
"""

RULES: dict[str, Rule] = {}
"""The messages of the package's own validators, by name, each declared beside its validator."""

Loc = tuple[str | int, ...]

# "e.g. i-0123456789abcdef0" in a description ("例: i-0123456789abcdef0" in Japanese); the pages read
# examples with the same pattern.
EXAMPLE_IN_DESCRIPTION = re.compile(
    r"""(?:\be\.g\.\s+|例[:：]\s*)["'`]?([^\s"'`,;、。）]+?)["'`]?(?:[\s,;、。）]|\.(?:\s|$)|$)"""
)

_TYPE_RULES = {
    "int_type": "integer",
    "int_parsing": "integer",
    "int_from_float": "integer",
    "float_type": "number",
    "float_parsing": "number",
    "finite_number": "number",
    "bool_type": "boolean",
    "bool_parsing": "boolean",
    "string_type": "text",
    "list_type": "list",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
}


@dataclass(frozen=True)
class Rule:
    """A validator's message: its name, unique in the package, and its English words with ``{…}`` blanks.

    Declared at import, beside the validator that raises it; a name declared twice is refused then.
    """

    name: str
    text: str

    def __post_init__(self) -> None:
        if self.name in MESSAGES or self.name in RULES:
            raise ValueError(f"The message rule {self.name!r} is declared twice")
        RULES[self.name] = self

    def error(self, **values: object) -> RuleError:
        """Return the error a validator raises; pydantic keeps it, to say it in any language."""
        return RuleError(self.name, values)


class RuleError(ValueError):
    """A validator's problem by its rule and values; it reads as the English message."""

    def __init__(self, rule: str, values: dict[str, object]) -> None:
        super().__init__(message(rule, **values))
        self.rule = rule
        self.values = values

    def said_in(self, language: str) -> str:
        """Return the message in ``language``."""
        return message(self.rule, language, **self.values)

    def __reduce__(self) -> tuple[type[RuleError], tuple[str, dict[str, object]]]:
        # Raised in a task too (an Auto Scaling group's capacities out of order): it must pickle.
        return RuleError, (self.rule, self.values)


def message(rule: str, language: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """Return the message of ``rule`` in ``language`` with its blanks filled in.

    A value that is a :class:`Rule` (a word such as "instances") is said in ``language`` too.
    """
    english = MESSAGES[rule] if rule in MESSAGES else RULES[rule].text
    said = {
        name: message(value.name, language) if isinstance(value, Rule) else value
        for name, value in values.items()
    }
    return message_translations(language).get(rule, english).format(**said)


def messages_in(language: str) -> dict[str, str]:
    """Return :data:`MESSAGES` in ``language``, as the pages fill them in."""
    return {rule: message_translations(language).get(rule, text) for rule, text in MESSAGES.items()}


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` and unwrap ``X | None`` (``anyOf`` with null), keeping the outer title and examples."""
    for _ in range(20):
        if "$ref" in schema:
            outer = {key: value for key, value in schema.items() if key != "$ref"}
            schema = {**root.get("$defs", {}).get(schema["$ref"].rsplit("/", 1)[-1], {}), **outer}
        elif "anyOf" in schema:
            concrete = [variant for variant in schema["anyOf"] if variant.get("type") != "null"]
            if len(concrete) != 1:
                return schema
            outer = {key: value for key, value in schema.items() if key != "anyOf"}
            schema = {**concrete[0], **outer}
        else:
            return schema
    return schema


def _field(root: dict[str, Any], loc: tuple[str | int, ...]) -> tuple[dict[str, Any], str | None, bool]:
    """Return the schema at ``loc``, the title the operator sees for it, and whether that names several.

    An entry of a list is named by its own title, else by the list's; it keeps the list's description.
    """
    schema, title, plural = _resolve(root, root), None, False
    for part in loc:
        if isinstance(part, int):
            items = _resolve(schema.get("items", {}), root)
            schema = {"description": schema.get("description"), **items}
            title, plural = (items["title"], False) if "title" in items else (title, True)
        else:
            schema = _resolve(schema.get("properties", {}).get(part, {}), root)
            title, plural = schema.get("title"), schema.get("type") == "array"
    return schema, title, plural


def _noun(title: str | None, language: str, *, plural: bool) -> str:
    """Name a field in a sentence: ``Region`` reads "a region", ``EC2 instance`` "an EC2 instance".

    Only English puts an article before a noun; another language names the field by its title.
    """
    if not title:
        return message("some_value", language)
    if language != DEFAULT_LANGUAGE:
        return title
    words = " ".join(word if word != word.capitalize() else word.lower() for word in title.split())
    if plural:
        return words
    return f"{'an' if words[0].lower() in 'aeiou' else 'a'} {words}"


def _example(schema: dict[str, Any], root: dict[str, Any], loc: tuple[str | int, ...]) -> Any:
    """Return an example of the field, from the first place that has one.

    Its own examples; the value at ``loc`` in an example of the whole model; the "e.g. …" of its
    description; its default.
    """
    if schema.get("examples"):
        return schema["examples"][0]
    for example in root.get("examples", []):
        value = example
        for part in loc:
            if isinstance(part, int):
                value = value[0] if isinstance(value, list) and value else None
            else:
                value = value.get(part) if isinstance(value, dict) else None
        if value is not None and not isinstance(value, (dict, list)):
            return value
    described = EXAMPLE_IN_DESCRIPTION.search(schema.get("description") or "")
    if described:
        return described.group(1)
    return schema.get("default")


def _number(value: Any) -> Any:
    """Write a bound as a person does: 0, not 0.0."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _bounds(schema: dict[str, Any], kind: str, ctx: dict[str, Any], language: str) -> str:
    if "minimum" in schema and "maximum" in schema:
        return message(
            "between", language, minimum=_number(schema["minimum"]), maximum=_number(schema["maximum"])
        )
    rule, key = {
        "greater_than_equal": ("minimum", "ge"),
        "greater_than": ("above", "gt"),
        "less_than_equal": ("maximum", "le"),
        "less_than": ("below", "lt"),
    }[kind]
    return message(rule, language, limit=_number(ctx[key]))


def _chooses(schema: dict[str, Any]) -> bool:
    """Tell whether a field is filled by choosing among fixed values rather than by typing."""
    return "enum" in schema or "const" in schema or schema.get("type") == "boolean"


def choices(options: list[Any], language: str = DEFAULT_LANGUAGE) -> str:
    """List the choices of a field as Python writes its values: 'red' or 'green'."""
    written = [repr(option) for option in options]
    if len(written) < 2:
        return "".join(written)
    listed = message("choice_separator", language).join(written[:-1])
    return message("last_choice", language, choices=listed, last=written[-1])


def _message_at_field(item: ErrorDetails, root: dict[str, Any], language: str) -> str:
    kind, ctx, loc = item["type"], item.get("ctx") or {}, tuple(item["loc"])
    schema, title, plural = _field(root, loc)
    field = _noun(title, language, plural=plural)
    if kind == "missing" or (kind in ("string_too_short", "too_short") and ctx.get("min_length") == 1):
        return message("choose" if _chooses(schema) else "enter", language, field=field)
    if kind == "string_pattern_mismatch":
        example = _example(schema, root, loc)
        if example is None:
            return message("expected_form", language, field=field)
        return message("such_as", language, field=field, example=example)
    if kind == "string_too_short":
        return message("min_length", language, limit=ctx["min_length"])
    if kind == "string_too_long":
        length = len(str(item.get("input", "")))
        return message("max_length", language, limit=ctx["max_length"], length=length)
    if kind == "too_short":
        return message("min_items", language, limit=ctx["min_length"])
    if kind == "too_long":
        return message("max_items", language, limit=ctx["max_length"], length=ctx.get("actual_length"))
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return _bounds(schema, kind, ctx, language)
    if kind in ("literal_error", "enum"):
        options = schema.get("enum") or ([schema["const"]] if "const" in schema else None)
        listed = choices(options, language) if options else ctx.get("expected", "")
        return message("one_of", language, choices=listed)
    if kind == "extra_forbidden":
        return message("unknown_field", language, name=loc[-1] if loc else "it")
    if kind in _TYPE_RULES:
        return message(_TYPE_RULES[kind], language)
    if isinstance(ctx.get("error"), RuleError):
        return ctx["error"].said_in(language)
    return item["msg"].removeprefix("Value error, ")


def operator_message(item: ErrorDetails, schema: dict[str, Any], language: str = DEFAULT_LANGUAGE) -> str:
    """Return what an operator should do about one pydantic error of a model whose JSON schema is ``schema``.

    ``item`` is one of ``ValidationError.errors()``, its ``loc`` relative to that model; ``schema``
    is in ``language`` (:func:`~http_trigger.translations.translated_schema`), which names its
    fields. An error of one entry of a list names the entry, counted from 1 as a person counts lines.
    """
    loc = tuple(item["loc"])
    text = _message_at_field(item, schema, language)
    if loc and isinstance(loc[-1], int):
        return message("entry", language, message=text, number=loc[-1] + 1)
    return text


@cache
def model_schema(model: type[BaseModel], language: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """Return the JSON schema of ``model`` in ``language``, as forms show it and messages name its fields."""
    return translated_schema(model.model_json_schema(), language)


def operator_problems(
    error: ValidationError, model: type[BaseModel], language: str = DEFAULT_LANGUAGE
) -> list[tuple[Loc, str]]:
    """Return each problem ``model`` found, at its place, in an operator's words in ``language``."""
    schema = model_schema(model, language)
    return [(tuple(item["loc"]), operator_message(item, schema, language)) for item in error.errors()]
