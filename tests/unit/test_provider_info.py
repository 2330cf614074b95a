"""The package is an Airflow provider: Airflow finds its plugin, DB manager and configuration."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import jsonschema
from airflow.configuration import conf
from airflow.providers_manager import ProvidersManager
from airflow.utils.db_manager import RunDBManager

import airflow
from http_trigger import settings
from http_trigger.provider_info import DB_MANAGER, OPTIONS, SECTION, get_provider_info

SETTINGS_SOURCE = Path(settings.__file__).read_text()


def test_the_provider_info_matches_airflows_schema():
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())

    jsonschema.validate(get_provider_info(), schema)


def test_airflow_discovers_the_provider_with_its_db_manager_and_configuration():
    manager = ProvidersManager()

    assert "http-trigger" in manager.providers
    assert DB_MANAGER in manager.db_managers
    assert dict(manager.provider_configs)["http-trigger"] == get_provider_info()["config"]
    assert DB_MANAGER in [f"{manager.__module__}.{manager.__qualname__}" for manager in RunDBManager()._managers]


def test_every_option_read_by_settings_is_declared_with_a_description():
    read = {
        node.args[1].value
        for node in ast.walk(ast.parse(SETTINGS_SOURCE))
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", "") in {"get", "getint", "getboolean", "getfloat"}
        and len(node.args) >= 2
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id == "SECTION"
    }

    assert read == set(OPTIONS)
    assert all(option["description"] for option in OPTIONS.values())


def test_airflow_answers_the_declared_defaults():
    conf.load_providers_configuration()

    assert conf.get(SECTION, "max_body_bytes") == OPTIONS["max_body_bytes"]["default"]
    assert settings.max_body_bytes() == int(OPTIONS["max_body_bytes"]["default"])
