"""Every catalogue entry has a usable parameter schema and an operator that takes the builder's arguments."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.sdk import BaseOperator
from http_trigger.actions import ACTIONS, ActionType, get_action
from http_trigger.catalogue import Catalogue
from http_trigger.post_processing import POST_PROCESSING, PostProcessingType, get_post_processing


@pytest.mark.parametrize("action", ACTIONS.values(), ids=ACTIONS.keys())
class TestActions:
    def test_is_keyed_by_its_name(self, action: ActionType):
        assert ACTIONS[action.name] is action
        assert get_action(action.name) is action
        assert action.title and action.description

    def test_parameter_model_has_a_json_schema_forbidding_unknown_fields(self, action: ActionType):
        schema = action.parameters_model.model_json_schema()
        assert schema["type"] == "object"
        assert schema["additionalProperties"] is False
        assert schema["properties"]

    @pytest.mark.parametrize("parameters", [None, {}])
    def test_operator_accepts_the_builder_arguments(self, action: ActionType, parameters):
        operator = action.operator_class(
            task_id="action",
            aws_conn_id="aws_default",
            region_name="eu-west-1",
            parameters=parameters,
            execution_timeout=timedelta(minutes=60),
        )
        assert isinstance(operator, BaseOperator)
        assert operator.parameters == parameters
        assert "parameters" in operator.template_fields
        assert (operator.aws_conn_id, operator.region_name) == ("aws_default", "eu-west-1")
        assert operator.execution_timeout == timedelta(minutes=60)


@pytest.mark.parametrize("kind", POST_PROCESSING.values(), ids=POST_PROCESSING.keys())
class TestPostProcessing:
    def test_is_keyed_by_its_name(self, kind: PostProcessingType):
        assert POST_PROCESSING[kind.name] is kind
        assert get_post_processing(kind.name) is kind
        assert kind.title

    def test_parameter_model_has_a_json_schema_forbidding_unknown_fields(self, kind: PostProcessingType):
        schema = kind.parameters_model.model_json_schema()
        assert schema["type"] == "object"
        assert schema["additionalProperties"] is False
        assert schema["properties"]

    @pytest.mark.parametrize("status", ["success", "failure"])
    def test_operator_accepts_the_builder_arguments(self, kind: PostProcessingType, status):
        operator = kind.operator_class(
            task_id=f"on_{status}_1_{kind.name}",
            parameters={"any": "thing"},
            job_id=7,
            job_name="Start test servers",
            status=status,
            retries=2,
            retry_delay=timedelta(seconds=10),
        )
        assert isinstance(operator, BaseOperator)
        assert (operator.job_id, operator.job_name, operator.status) == (7, "Start test servers", status)
        assert operator.retries == 2


def test_known_catalogue_names():
    assert {"ec2_start_instances", "ec2_stop_instances"} <= set(ACTIONS)
    assert "webhook" in POST_PROCESSING


def test_unknown_action_lists_the_known_names():
    message = "Unknown action type 'ec2_reboot'; known types: .*ec2_start_instances"
    with pytest.raises(KeyError, match=message):
        get_action("ec2_reboot")


def test_unknown_post_processing_lists_the_known_names():
    with pytest.raises(KeyError, match="Unknown post-processing type 'fax'; known types: .*webhook"):
        get_post_processing("fax")


def test_duplicate_action_names_are_refused():
    action = next(iter(ACTIONS.values()))
    with pytest.raises(ValueError, match=f"Action type '{action.name}' is defined twice"):
        Catalogue("action", (action, action))


def test_duplicate_post_processing_names_are_refused():
    kind = next(iter(POST_PROCESSING.values()))
    with pytest.raises(ValueError, match=f"Post-processing type '{kind.name}' is defined twice"):
        Catalogue("post-processing", (kind, kind))
