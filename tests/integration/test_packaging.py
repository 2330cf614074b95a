"""The package as a deployment receives it: built, installed from the wheel, found by Airflow, serving.

The sdist is built from the sources by the declared build backend in a virtual environment that
holds only the declared build requirements (at the lock's versions), and the wheel from that sdist
alone, so a file the sdist forgets fails here. The wheel then goes into a fresh virtual environment
holding only Airflow, the Amazon provider and the PostgreSQL drivers (again at the lock's versions; pip adds the package's
own dependencies), whose Airflow knows nothing of this checkout: no plugins folder, its own home and
database, the DAG factory stub copied into an empty DAGs folder. There Airflow must find the
provider, its configuration and its DB manager, migrate the plugin's tables, and its API server
must start a run from a trigger call.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tomllib
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg2
import pytest
from cryptography.fernet import Fernet

from devstack.processes import ManagedProcess, free_port
from tests.integration.conftest import REPO, wait_for
from tests.postgres import TestDatabases

pytestmark = pytest.mark.integration

LOCK = REPO / "requirements.txt"
FACTORY_STUB = REPO / "dags" / "http_trigger_jobs.py"
EXAMPLE_JOB = REPO / "dags" / "example_jobs" / "start_test_ec2_instances.yaml"
# What a source distribution needs besides the package; nothing else of the checkout goes in.
SOURCES = ("pyproject.toml", "README.md")


def run(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run a command to its end; fail the test with the end of its output when it fails."""
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=1200, check=False)
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done.stdout


def new_venv(path: Path) -> Path:
    """Create a virtual environment with pip and return its ``bin`` folder."""
    venv.create(path, with_pip=True, clear=True)
    return path / "bin"


def pip_install(bin_dir: Path, *requirements: str) -> None:
    """Install ``requirements`` and whatever they need at the lock's versions."""
    run(
        [
            str(bin_dir / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-c",
            str(LOCK),
            *requirements,
        ]
    )


def pinned(name: str) -> str:
    """Return ``name==version`` as the lock pins it."""
    for line in LOCK.read_text().splitlines():
        if line.lower().startswith(f"{name.lower()}=="):
            return line.strip()
    raise AssertionError(f"{name} is not in {LOCK.name}")


@dataclass(frozen=True)
class Distributions:
    sdist: Path
    wheel: Path


@pytest.fixture(scope="module")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> Distributions:
    """Build the sdist from a copy of the sources, and the wheel from the unpacked sdist."""
    root = tmp_path_factory.mktemp("build")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(
        REPO / "plugins", source / "plugins", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    build_system = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]
    bin_dir = new_venv(root / "venv")
    pip_install(bin_dir, *build_system["requires"])
    backend = build_system["build-backend"]

    def build(kind: str, cwd: Path) -> Path:
        script = f"import {backend} as backend; print(backend.build_{kind}({str(root / 'dist')!r}))"
        return root / "dist" / run([str(bin_dir / "python"), "-c", script], cwd=cwd).strip().splitlines()[-1]

    sdist = build("sdist", source)
    with tarfile.open(sdist) as archive:
        archive.extractall(root / "unpacked", filter="data")
    (unpacked,) = (root / "unpacked").iterdir()
    return Distributions(sdist=sdist, wheel=build("wheel", unpacked))


@dataclass(frozen=True)
class Deployment:
    bin_dir: Path
    env: dict[str, str]
    database_url: str
    jobs_folder: Path


@pytest.fixture(scope="module")
def deployment(
    distributions: Distributions, tmp_path_factory: pytest.TempPathFactory, test_databases: TestDatabases
) -> Deployment:
    """Install the wheel next to Airflow and the Amazon provider only, and configure a fresh home."""
    root = tmp_path_factory.mktemp("deployment")
    bin_dir = new_venv(root / "venv")
    # Airflow, the Amazon provider and the PostgreSQL drivers (Airflow's sync and async ones) a
    # deployment chooses; pip adds the package's own dependencies.
    pip_install(
        bin_dir,
        pinned("apache-airflow"),
        pinned("apache-airflow-providers-amazon"),
        pinned("psycopg2-binary"),
        pinned("asyncpg"),
        str(distributions.wheel),
    )
    (root / "dags").mkdir()
    shutil.copy2(FACTORY_STUB, root / "dags" / FACTORY_STUB.name)
    (root / "plugins").mkdir()  # empty: the plugin must come from the installed package
    database_url = test_databases.create("packaging")
    # Nothing of this test run's environment: its Airflow settings point at this checkout.
    env = {name: os.environ[name] for name in ("HOME", "LANG", "TMPDIR") if name in os.environ}
    env.update(
        {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "AIRFLOW_HOME": str(root / "home"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(48).hex(),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__HTTP_TRIGGER__JOBS_FOLDER": str(root / "jobs"),
        }
    )
    run([str(bin_dir / "airflow"), "db", "migrate"], env=env)
    return Deployment(bin_dir=bin_dir, env=env, database_url=database_url, jobs_folder=root / "jobs")


def test_the_wheel_holds_the_product_only(distributions: Distributions):
    names = zipfile.ZipFile(distributions.wheel).namelist()

    packages = {name.split("/")[0] for name in names}
    assert packages == {"http_trigger", "http_trigger-0.1.0.dist-info"}
    for shipped in (
        "http_trigger/plugin.py",
        "http_trigger/dag_builder.py",
        "http_trigger/db/migrations/env.py",
        "http_trigger/db/migrations/versions/0001_0_1_0_create_http_trigger_tables.py",
        "http_trigger/ui/templates/job_detail.html",
        "http_trigger/ui/static/job-detail.js",
    ):
        assert shipped in names, shipped
    entry_points = (
        zipfile.ZipFile(distributions.wheel).read("http_trigger-0.1.0.dist-info/entry_points.txt").decode()
    )
    assert "http_trigger = http_trigger.plugin:HttpTriggerPlugin" in entry_points
    assert "provider_info = http_trigger.provider_info:get_provider_info" in entry_points
    assert "http-trigger = http_trigger.cli:console_main" in entry_points


def test_the_sdist_holds_the_sources_and_no_development_launcher(distributions: Distributions):
    with tarfile.open(distributions.sdist) as archive:
        names = archive.getnames()

    assert "http_trigger-0.1.0/pyproject.toml" in names
    assert "http_trigger-0.1.0/plugins/http_trigger/plugin.py" in names
    assert not [name for name in names if "/devstack/" in name or "/tests/" in name]


def test_airflow_finds_the_provider_its_plugin_and_its_configuration(deployment: Deployment):
    airflow = str(deployment.bin_dir / "airflow")

    providers = json.loads(run([airflow, "providers", "list", "-o", "json"], env=deployment.env))
    plugins = json.loads(run([airflow, "plugins", "-o", "json"], env=deployment.env))
    option = run([airflow, "config", "get-value", "http_trigger", "max_body_bytes"], env=deployment.env)

    assert {"package_name": "http-trigger", "version": "0.1.0"}.items() <= next(
        provider for provider in providers if provider["package_name"] == "http-trigger"
    ).items()
    assert "http_trigger" in [plugin["name"] for plugin in plugins]
    assert option.strip() == "65536"


def test_airflow_db_migrate_created_the_plugins_tables(deployment: Deployment):
    url = deployment.database_url.replace("postgresql+psycopg2://", "postgresql://")
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE '%http_trigger%' ORDER BY 1")
        tables = [row[0] for row in cursor.fetchall()]

    assert tables == [
        "alembic_version_http_trigger",
        "http_trigger_call",
        "http_trigger_idempotency_key",
        "http_trigger_job",
    ]


def test_the_installed_api_server_starts_a_run_from_a_trigger_call(deployment: Deployment, tmp_path: Path):
    [created] = json.loads(
        run(
            [str(deployment.bin_dir / "http-trigger"), "jobs", "create", "-f", str(EXAMPLE_JOB), "-o", "json"],
            env=deployment.env,
        )
    )
    # Airflow parses the copied factory stub, as a DAG processor would.
    run([str(deployment.bin_dir / "airflow"), "dags", "reserialize"], env=deployment.env)
    port = free_port()
    server_env = {**deployment.env, "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}"}
    argv = [str(deployment.bin_dir / "airflow"), "api-server", "--port", str(port)]
    with ManagedProcess.start("api-server", argv, server_env, tmp_path / "api-server.log") as server:
        base = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            assert server.alive, server.tail()
            try:
                return httpx.get(f"{base}/http-trigger/health", timeout=5).status_code in (200, 503)
            except httpx.TransportError:
                return False

        wait_for(healthy, timeout=180, what="the installed API server")
        path = created["trigger_url"].split("/http-trigger/", 1)[1]
        answer = httpx.post(
            f"{base}/http-trigger/{path}", headers={"Authorization": f"CAAuth {created['token']}"}, timeout=30
        )

    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == "ok"
    assert answer.json()["trigger_job_id"] == created["id"]
    url = deployment.database_url.replace("postgresql+psycopg2://", "postgresql://")
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT dag_id, run_id FROM dag_run")
        assert cursor.fetchall() == [(created["dag_id"], answer.json()["dag_run_id"])]
