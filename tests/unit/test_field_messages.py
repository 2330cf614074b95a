"""Each kind of pydantic error becomes what an operator should enter, from the field's own schema."""

from __future__ import annotations

import pickle
from typing import Any, Literal

import pydantic
import pytest
from http_trigger.actions import ACTIONS
from http_trigger.field_messages import (
    MESSAGES,
    RULES,
    Rule,
    messages_in,
    operator_message,
    operator_problems,
)
from http_trigger.post_processing import POST_PROCESSING
from pydantic import BaseModel, ConfigDict, Field


class Server(BaseModel):
    """A model with one field of each constraint the messages know."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=10)
    hosts: list[str] = Field(default_factory=list, max_length=2)
    code: str | None = Field(default=None, min_length=3, pattern=r"^[A-Z]+$", examples=["ABC"])
    bare_code: str | None = Field(default=None, pattern=r"^[A-Z]+$")
    size: int = Field(default=1, ge=1, le=8)
    weight: float = Field(default=1.0, gt=0)
    enabled: bool = True
    colour: Literal["red", "green"] = "red"
    tags: dict[str, str] = Field(default_factory=dict)


def messages(data: dict[str, Any], model: type[BaseModel] = Server) -> dict[tuple[str | int, ...], str]:
    with pytest.raises(pydantic.ValidationError) as raised:
        model.model_validate(data)
    schema = model.model_json_schema()
    return {tuple(item["loc"]): operator_message(item, schema) for item in raised.value.errors()}


@pytest.mark.parametrize(
    ("data", "loc", "expected"),
    [
        ({}, ("name",), "Enter a name"),
        ({"name": ""}, ("name",), "Enter a name"),
        ({"name": "x" * 500}, ("name",), "Enter at most 10 characters (this has 500)"),
        ({"name": "n", "code": "AB"}, ("code",), "Enter at least 3 characters"),
        ({"name": "n", "code": "abc"}, ("code",), "Enter a code such as ABC"),
        ({"name": "n", "bare_code": "abc"}, ("bare_code",), "Enter a bare code in the form its description gives"),
        ({"name": "n", "hosts": ["a", "b", "c"]}, ("hosts",), "Give at most 2 entries (this has 3)"),
        ({"name": "n", "size": 0}, ("size",), "Enter a number from 1 to 8"),
        ({"name": "n", "size": 9}, ("size",), "Enter a number from 1 to 8"),
        ({"name": "n", "weight": 0.0}, ("weight",), "Enter a number above 0"),
        ({"name": "n", "size": "2"}, ("size",), "Enter a whole number"),
        ({"name": "n", "weight": "heavy"}, ("weight",), "Enter a number"),
        ({"name": "n", "enabled": "yes"}, ("enabled",), "Choose yes or no"),
        ({"name": 7}, ("name",), "Enter text"),
        ({"name": "n", "hosts": "web-1"}, ("hosts",), "Enter a list"),
        ({"name": "n", "tags": ["a"]}, ("tags",), "Enter a JSON object"),
        ({"name": "n", "colour": "blue"}, ("colour",), "Choose one of 'red' or 'green'"),
        ({"name": "n", "size_gb": 3}, ("size_gb",), "Remove size_gb: there is no such setting"),
    ],
)
def test_each_constraint_has_its_message(data, loc, expected):
    assert messages(data)[loc] == expected


def test_an_entry_of_a_list_is_counted_from_one_and_named_by_the_list():
    assert messages({"name": "n", "hosts": ["web-1", 2]})[("hosts", 1)] == "Enter text (entry 2)"


def test_an_example_comes_from_the_models_example_or_the_description():
    class Targets(BaseModel):
        model_config = ConfigDict(json_schema_extra={"examples": [{"host_ids": ["h-0001"]}]})

        host_ids: list[str] = Field(default_factory=list, json_schema_extra={"items": {"pattern": "^h-"}})
        addresses: list[str] = Field(default_factory=list, description="Where it listens, e.g. 10.0.0.1.")

    schema = Targets.model_json_schema()
    pattern_error = {"type": "string_pattern_mismatch", "msg": "", "input": "x", "ctx": {"pattern": "^h-"}}

    by_model = operator_message({**pattern_error, "loc": ("host_ids", 0)}, schema)
    by_description = operator_message({**pattern_error, "loc": ("addresses", 2)}, schema)

    assert (by_model, by_description) == (
        "Enter host ids such as h-0001 (entry 1)",
        "Enter addresses such as 10.0.0.1 (entry 3)",
    )


def test_a_message_of_the_packages_own_validators_passes_through():
    class Window(BaseModel):
        start: int
        end: int

        @pydantic.model_validator(mode="after")
        def _ordered(self) -> Window:
            if self.end < self.start:
                raise ValueError("end must not be before start")
            return self

    assert messages({"start": 2, "end": 1}, Window) == {(): "end must not be before start"}


def test_every_pattern_of_every_action_and_post_processing_kind_has_an_example():
    """A pattern is no message for an operator: each one's field shows what a right value looks like."""
    no_example = MESSAGES["expected_form"].split("{field}")[1]
    missing = []
    for catalogue in (ACTIONS, POST_PROCESSING):
        for name, kind in catalogue.items():
            schema = kind.parameters_model.model_json_schema()
            for loc in _pattern_fields(schema, schema, ()):
                error = {"type": "string_pattern_mismatch", "loc": loc, "msg": "", "input": "?", "ctx": {}}
                if no_example in operator_message(error, schema):
                    missing.append(f"{name}.{'.'.join(map(str, loc))}")
    assert missing == []


def _pattern_fields(schema: dict[str, Any], root: dict[str, Any], loc: tuple[str | int, ...]):
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    for variant in schema.get("anyOf", []):
        yield from _pattern_fields(variant, root, loc)
    if "pattern" in schema:
        yield loc
    for name, field in schema.get("properties", {}).items():
        yield from _pattern_fields(field, root, (*loc, name))
    if "items" in schema:
        yield from _pattern_fields(schema["items"], root, (*loc, 0))


def problems_in(language: str, model: type[BaseModel], data: dict[str, Any]) -> dict[tuple[Any, ...], str]:
    with pytest.raises(pydantic.ValidationError) as raised:
        model.model_validate(data)
    return dict(operator_problems(raised.value, model, language))


def test_a_problem_is_said_in_japanese_naming_the_field_by_its_japanese_title():
    model = ACTIONS["ec2_change_instance_type"].parameters_model

    said = problems_in("ja", model, {"instance_ids": ["x"], "wait_until_final_state": "x", "colour": 1})

    assert said == {
        ("instance_ids", 0): "「インスタンス ID」を i-0123456789abcdef0 のような形式で入力してください（1 件目）",
        ("wait_until_final_state",): "はいかいいえを選択してください",
        ("instance_type",): "「インスタンスタイプ」を入力してください",
        ("colour",): "colour を削除してください（この設定はありません）",
    }


def test_bounds_and_choices_are_said_in_japanese():
    said = problems_in(
        "ja", ACTIONS["ecs_run_task"].parameters_model,
        {"cluster": "c", "task_definition": "t", "launch_type": "X", "count": 99},
    )

    assert said == {
        ("count",): "1〜10 の数値を入力してください",
        ("launch_type",): "'FARGATE'、'EC2' のいずれかを選択してください",
    }


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", {(): "min_size (3) must not be greater than max_size (1)"}),
        ("ja", {(): "min_size（3）は max_size（1）以下にしてください"}),
    ],
)
def test_a_validators_own_message_is_said_in_each_language(language, expected):
    model = ACTIONS["autoscaling_update_group_capacity"].parameters_model

    assert problems_in(language, model, {"group_names": ["g"], "min_size": 3, "max_size": 1}) == expected


def test_a_validators_error_survives_pickling_as_a_tasks_error_does():
    error = RULES["targets.no_target"].error(ids_field="instance_ids", resources=RULES["ec2.instances"])

    copy = pickle.loads(pickle.dumps(error))

    assert (str(copy), copy.said_in("ja")) == (str(error), error.said_in("ja"))


def test_a_message_rule_is_declared_once():
    with pytest.raises(ValueError, match="The message rule 'targets.no_target' is declared twice"):
        Rule("targets.no_target", "anything")
    with pytest.raises(ValueError, match="The message rule 'enter' is declared twice"):
        Rule("enter", "anything")


def test_the_pages_get_the_messages_in_their_language():
    japanese = messages_in("ja")

    assert japanese.keys() == MESSAGES.keys()
    assert japanese["enter"] == "「{field}」を入力してください"
    assert messages_in("en") == MESSAGES
