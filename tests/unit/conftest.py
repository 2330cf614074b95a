"""Fixtures of the in-process tests: the plugin's app on the suite's metadata DB and jobs folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from http_trigger.api.app import create_app


@pytest.fixture
def client(airflow_db, jobs_folder) -> Iterator[TestClient]:
    """The plugin's FastAPI app, as the API server mounts it, called in-process; no user logged in."""
    with TestClient(create_app(), base_url="http://trigger.example") as test_client:
        yield test_client
