"""The action catalogue as people and programs read it: ``http-trigger actions list`` and ``GET /api/actions``."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from fastapi.testclient import TestClient

from http_trigger.actions import ACTIONS, catalogue
from http_trigger.api.app import create_app
from http_trigger.cli import main

CATALOGUE_NAMES = {
    "lambda_invoke_function",
    "ecs_run_task",
    "ecs_update_service_desired_count",
    "autoscaling_update_group_capacity",
    "ssm_run_command",
    "stepfunctions_start_execution",
    "redshift_pause_cluster",
    "redshift_resume_cluster",
    "redshift_create_cluster_snapshot",
    "route53_upsert_record",
    "utility_delay",
    "utility_no_action",
}


def test_the_catalogue_holds_the_service_actions():
    assert CATALOGUE_NAMES <= set(ACTIONS)


def test_catalogue_lists_every_action_with_its_parameter_schema():
    listed = catalogue()

    assert [action["name"] for action in listed] == list(ACTIONS)
    delay = next(action for action in listed if action["name"] == "utility_delay")
    assert delay["title"] == "Utility: Delay"
    assert delay["description"] == ACTIONS["utility_delay"].description
    assert delay["parameters_schema"]["required"] == ["minutes"]
    assert delay["parameters_schema"]["properties"]["minutes"]["exclusiveMinimum"] == 0


class TestCli:
    def test_actions_list_json_prints_the_catalogue(self, capsys):
        assert main(["actions", "list", "-o", "json"]) == 0

        printed = json.loads(capsys.readouterr().out)
        assert printed == json.loads(json.dumps(catalogue()))
        ssm = next(action for action in printed if action["name"] == "ssm_run_command")
        assert ssm["title"] == "SSM: Run command"
        assert ssm["parameters_schema"]["properties"]["document_name"]["enum"] == [
            "AWS-RunShellScript",
            "AWS-RunPowerShellScript",
        ]

    def test_actions_list_prints_one_line_per_action(self, capsys):
        assert main(["actions", "list", "-o", "plain"]) == 0

        lines = [line.split() for line in capsys.readouterr().out.splitlines()]
        assert lines[0] == ["name", "title", "parameters", "(*", "required)"]
        assert len(lines) == 1 + len(ACTIONS)
        assert ["route53_upsert_record", "Route", "53:", "Upsert", "record"] in [line[:5] for line in lines]
        assert ["utility_delay", "Utility:", "Delay", "minutes*"] in lines


class TestApi:
    @pytest.fixture
    def client(self, airflow_db) -> Iterator[TestClient]:
        with TestClient(create_app()) as test_client:
            yield test_client

    def test_lists_the_catalogue_to_any_logged_in_user(self, client):
        token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="viewer", role="viewer"))

        response = client.get("/api/actions", headers={"Authorization": f"Bearer {token}"})

        assert response.status_code == 200
        assert response.json() == {"actions": json.loads(json.dumps(catalogue())), "total_entries": len(ACTIONS)}

    def test_lists_the_catalogue_in_the_language_the_caller_asks_for(self, client):
        token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="viewer", role="viewer"))
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "ja-JP,ja;q=0.9,en;q=0.8"}

        listed = client.get("/api/actions", headers=headers).json()["actions"]
        actions = {action["name"]: action for action in listed}

        start = actions["ec2_start_instances"]
        assert start["title"] == "EC2: インスタンスを起動"
        assert start["parameters_schema"]["properties"]["tag_key"]["title"] == "タグキー"
        assert start["parameters_schema"]["examples"] == [{"instance_ids": ["i-0123456789abcdef0"]}]

    def test_401_without_login(self, client):
        response = client.get("/api/actions")
        assert (response.status_code, response.json()) == (401, {"detail": "Not authenticated"})

    def test_403_with_an_invalid_token(self, client):
        response = client.get("/api/actions", headers={"Authorization": "Bearer nonsense"})
        assert (response.status_code, response.json()) == (403, {"detail": "Invalid JWT token"})


@pytest.mark.parametrize("action", ACTIONS.values(), ids=list(ACTIONS))
def test_every_action_offers_an_example_body_its_model_accepts(action):
    """The job page builds its example body and curl line from this, and Run now its first values."""
    examples = action.parameters_model.model_json_schema()["examples"]

    assert examples
    for example in examples:
        action.parameters_model.model_validate(example)
