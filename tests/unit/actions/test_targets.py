"""Choosing resources by ids or by one tag, as every targeted action reads the choice."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import Field, ValidationError

from http_trigger.actions.targets import Tag, TargetedParameters, tag_key_field, tag_value_field


class Things(TargetedParameters):
    ids_field: ClassVar[str] = "thing_ids"
    resources: ClassVar[str] = "things"

    thing_ids: list[str] = Field(default_factory=list)
    tag_key: str | None = tag_key_field("thing")
    tag_value: str | None = tag_value_field()


def choose(parameters: Things) -> tuple[str, object]:
    return parameters.choose(by_ids=lambda ids: ("ids", ids), by_tag=lambda tag: ("tag", tag))


class TestTag:
    def test_shows_as_key_equals_value(self):
        assert f"{Tag('Env', 'test')}" == "Env=test"

    def test_is_on_an_aws_tag_list_only_with_key_and_value(self):
        tag = Tag("Env", "test")
        assert tag.on([{"Key": "Team", "Value": "a"}, {"Key": "Env", "Value": "test"}])
        assert not tag.on([{"Key": "Env", "Value": "prod"}])
        assert not tag.on(None)


class TestTargetedParameters:
    def test_ids_choose_without_repeats_in_the_order_written(self):
        assert choose(Things(thing_ids=["b", "a", "b"])) == ("ids", ["b", "a"])

    def test_a_tag_chooses_when_no_ids_are_given(self):
        parameters = Things(tag_key="Env", tag_value="test")
        assert choose(parameters) == ("tag", Tag("Env", "test"))
        assert parameters.tag == Tag("Env", "test")

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({}, "give thing_ids, or tag_key and tag_value, to choose the things"),
            ({"thing_ids": ["a"], "tag_key": "Env", "tag_value": "x"}, "not both"),
            ({"tag_value": "x"}, "tag_key is required with tag_value"),
        ],
    )
    def test_refuses_anything_but_ids_or_one_tag(self, data, message):
        with pytest.raises(ValidationError, match=message):
            Things.model_validate(data)
