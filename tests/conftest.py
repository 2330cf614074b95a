"""Suite-wide setup: a throwaway Airflow home configured before anything imports Airflow.

Integration tests start their own Airflow processes with their own homes and PostgreSQL servers;
this home serves the in-process tests (models, DAG building, routes) on a real PostgreSQL metadata
database: a database of its own, uniquely named, on the machine's server (``TEST_POSTGRES_URL``,
by default ``postgresql://postgres@127.0.0.1:5432/postgres``), dropped when the session ends.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.postgres import TestDatabases

REPO = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="http-trigger-tests-"))
JOBS_FOLDER = AIRFLOW_HOME / "jobs"
TEST_DATABASES = TestDatabases.from_environment()
METADATA_DB_URL = TEST_DATABASES.create("suite")

os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": METADATA_DB_URL,
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        # Long enough for HS512, as the embedded stack's; Airflow's generated default is shorter.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__HTTP_TRIGGER__JOBS_FOLDER": str(JOBS_FOLDER),
        "AIRFLOW__HTTP_TRIGGER__BASE_URL": "http://trigger.example:8080",
        # The in-process apps leave the test runner's heap to Python: each would otherwise collect and
        # freeze it on entering. The API servers the integration tests start keep the default.
        "AIRFLOW__HTTP_TRIGGER__FREEZE_STARTUP_HEAP": "False",
    }
)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop every database the suite created and its Airflow home, whatever the outcome."""
    TEST_DATABASES.drop_all()
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def test_databases() -> TestDatabases:
    """Create more throwaway databases on the machine's PostgreSQL (dropped at the session's end)."""
    return TEST_DATABASES


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """Create the metadata DB with the real ``airflow db migrate`` (our tables included); return its URL."""
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    return METADATA_DB_URL


@pytest.fixture
def jobs_folder() -> Path:
    """Give each test an empty jobs folder (the configured one), with nothing known of its files.

    Build outcomes are kept by file and content, and tests write the same files with the same
    content while they change how a DAG builds.
    """
    from http_trigger import dag_builder
    from http_trigger.jobs import files

    shutil.rmtree(JOBS_FOLDER, ignore_errors=True)
    JOBS_FOLDER.mkdir(parents=True)
    dag_builder._build_outcomes.clear()
    files._read_cache.clear()  # a new file may get a removed one's inode, and the same size and time
    return JOBS_FOLDER
