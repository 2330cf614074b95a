"""Run the production shape of docker-compose.yaml on one machine, as processes, for the tests.

``docker-compose.yaml`` is the one description of a distributed deployment: the CeleryExecutor on
Redis, the FAB auth manager, the scheduler's heartbeat timeout and the rest of its Airflow
settings (``x-airflow-common``'s environment). This module reads those settings, fills in the
variables from an env file as Compose does (``.env.example`` by default), and hands them to the
embedded stack's launcher: an existing PostgreSQL database, a Redis broker, several API servers,
a scheduler, a DAG processor, a triggerer and a Celery worker, each a process of its own, plus the
moto server as the AWS account. Settings whose values name containers, volumes or a deployment's
own secrets (:data:`MACHINE_SETTINGS`) are replaced by this machine's; every other one is used as
it is, so what the distributed test proves holds for the compose file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from devstack.processes import EmbeddedStackError, free_port
from devstack.stack import REPO_ROOT, RestartPolicy, StackConfig

COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
DEMO_CONNECTION = "AIRFLOW_CONN_AWS_DEMO"
# Compose settings the stack sets itself (``devstack.stack.local_settings``): they name the
# containers (postgres, redis, airflow-apiserver, moto), the volume's mount point, or hold the
# deployment's own secrets.
MACHINE_SETTINGS = frozenset(
    {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__RESULT_BACKEND",
        "AIRFLOW__CELERY__BROKER_URL",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
        "AIRFLOW__API__BASE_URL",
        "AIRFLOW__HTTP_TRIGGER__JOBS_FOLDER",
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        DEMO_CONNECTION,
    }
)
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, and $$ for a dollar.
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def read_env_file(path: Path) -> dict[str, str]:
    """Return the ``NAME=value`` lines of a Compose env file (comments and blank lines skipped)."""
    variables = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, separator, value = line.partition("=")
        if not separator:
            raise EmbeddedStackError(f"{path}, line {number}: expected NAME=value, got {line!r}")
        variables[name.strip()] = value.strip()
    return variables


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """Replace Compose's ``${…}`` references in ``value`` the way ``docker compose`` does."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg") or ""
        present = variables.get(name)
        unset = present is None or (present == "" and op is not None and op.startswith(":"))
        if not unset:
            return str(present)
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            raise EmbeddedStackError(f"{name} is required: {arg}")
        return ""

    return _VARIABLE.sub(replace, value)


def compose_settings(compose_file: Path = COMPOSE_FILE, env_file: Path = ENV_EXAMPLE) -> dict[str, str]:
    """Return the Airflow settings every Airflow service of the compose file gets, variables filled in."""
    compose = yaml.safe_load(compose_file.read_text())
    variables = read_env_file(env_file)
    environment = compose["x-airflow-common"]["environment"]
    return {name: interpolate(str(value), variables) for name, value in environment.items()}


def admin_credentials(env_file: Path = ENV_EXAMPLE) -> tuple[str, str]:
    """Return the admin's user name and password that the compose file's init service creates."""
    variables = read_env_file(env_file)
    return variables.get("AIRFLOW_ADMIN_USERNAME") or "admin", variables["AIRFLOW_ADMIN_PASSWORD"]


def distributed_config(
    home: Path,
    *,
    database_url: str,
    broker_url: str,
    api_servers: int = 2,
    restart_policy: RestartPolicy | None = None,
    extra_env: Mapping[str, str] | None = None,
    compose_file: Path = COMPOSE_FILE,
    env_file: Path = ENV_EXAMPLE,
) -> StackConfig:
    """Describe a stack that runs the compose file's settings on ``database_url`` and ``broker_url``."""
    settings = compose_settings(compose_file, env_file)
    moto_port = free_port()
    # The compose file's connection to the demo account, pointing at this stack's moto server.
    demo_connection = json.loads(settings[DEMO_CONNECTION])
    demo_connection["extra"]["endpoint_url"] = f"http://127.0.0.1:{moto_port}"
    username, password = admin_credentials(env_file)
    return StackConfig(
        home=home,
        api_port=free_port(),
        moto_port=moto_port,
        database_url=database_url,
        celery_broker_url=broker_url,
        api_servers=api_servers,
        settings={name: value for name, value in settings.items() if name not in MACHINE_SETTINGS},
        # What the compose file's airflow-init does after `airflow db migrate`.
        init_commands=[
            ["users", "create", "--role", "Admin", "--username", username, "--password", password,
             "--firstname", "Admin", "--lastname", "User", "--email", f"{username}@example.com"],
        ],  # fmt: skip
        restart_policy=restart_policy or RestartPolicy(),
        extra_env={
            DEMO_CONNECTION: json.dumps(demo_connection),
            # The scheduler's health server (the compose file's health check) on a port of its own.
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            **(extra_env or {}),
        },
    )
