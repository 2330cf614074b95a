"""docker-compose.yaml as Compose itself reads it: rendered with .env.example, refused without secrets.

The test runs the machine's Compose (``docker compose`` or ``docker-compose``; ``make test`` installs
Debian's docker-compose when neither is there). ``config`` needs no Docker engine: it validates the
file, fills in the variables and prints the result, which the tests read.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.distributed import COMPOSE_FILE, ENV_EXAMPLE, compose_settings, read_env_file

AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
}
SECRETS = {
    "AIRFLOW__CORE__FERNET_KEY": "AIRFLOW_FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET": "AIRFLOW_JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY": "AIRFLOW_API_SECRET_KEY",
}


@cache
def _compose() -> list[str]:
    for command in (["docker", "compose"], ["docker-compose"]):
        try:
            if subprocess.run([*command, "version"], capture_output=True, timeout=60).returncode == 0:
                return command
        except FileNotFoundError:
            continue
    pytest.fail(
        "Neither 'docker compose' nor 'docker-compose' runs here; run scripts/ensure-docker-compose.sh"
    )


def _config(env_file: Path, *options: str) -> subprocess.CompletedProcess[str]:
    # Only PATH and HOME: a variable of the caller's shell would take precedence over the env file.
    env = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    return subprocess.run(
        [*_compose(), "--env-file", str(env_file), "-f", str(COMPOSE_FILE), *options, "config"],
        capture_output=True, text=True, env=env, cwd=COMPOSE_FILE.parent, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    result = _config(ENV_EXAMPLE, "--profile", "demo")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Return a service's volume mounts as target -> source, from Compose's short or long syntax."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        mounts[target] = source
    return mounts


def test_the_file_renders_every_service_with_a_health_check(rendered):
    services = rendered["services"]

    assert set(services) == AIRFLOW_SERVICES | {"postgres", "redis", "moto"}
    assert services["moto"]["profiles"] == ["demo"]
    assert [name for name, service in services.items() if "healthcheck" not in service] == ["airflow-init"]
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"


def test_every_airflow_service_shares_the_jobs_volume_and_the_settings(rendered):
    services = rendered["services"]
    settings = compose_settings()

    for name in AIRFLOW_SERVICES:
        service = services[name]
        assert _mounts(service)["/opt/airflow/jobs"] == "http-trigger-jobs", name
        assert service["environment"]["AIRFLOW__HTTP_TRIGGER__JOBS_FOLDER"] == "/opt/airflow/jobs"
        environment = {key: str(value) for key, value in service["environment"].items()}
        assert {key: environment.get(key) for key in settings} == settings, name
    assert "http-trigger-jobs" in rendered["volumes"]


def test_the_secrets_and_the_admin_come_from_the_env_file(rendered):
    example = read_env_file(ENV_EXAMPLE)
    services = rendered["services"]

    for setting, variable in SECRETS.items():
        assert services["airflow-scheduler"]["environment"][setting] == example[variable]
    init = services["airflow-init"]["environment"]
    assert (init["ADMIN_USERNAME"], init["ADMIN_PASSWORD"]) == (
        example["AIRFLOW_ADMIN_USERNAME"],
        example["AIRFLOW_ADMIN_PASSWORD"],
    )
    database_url = services["airflow-worker"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert f"airflow:{example['POSTGRES_PASSWORD']}@postgres/airflow" in database_url


@pytest.mark.parametrize("variable", ["AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_ADMIN_PASSWORD"])
def test_the_file_does_not_render_without_a_secret(tmp_path: Path, variable: str):
    env_file = tmp_path / ".env"
    lines = ENV_EXAMPLE.read_text().splitlines()
    env_file.write_text("\n".join(line for line in lines if not line.startswith(f"{variable}=")) + "\n")

    result = _config(env_file)

    assert result.returncode != 0
    assert f"set {variable} in .env" in result.stderr
