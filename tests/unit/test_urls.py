"""The paths of Airflow's own pages and of the job pages in Airflow's frame, with and without a prefix."""

from __future__ import annotations

import pytest
from http_trigger import urls

RUN_ID = "http__2026-11-28T21:05:48.887886+00:00_2ad14f88"
QUOTED_RUN_ID = "http__2026-11-28T21%3A05%3A48.887886%2B00%3A00_2ad14f88"


@pytest.fixture
def prefixed(monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://ops.example/airflow")


def test_airflows_pages_of_a_dag_a_run_and_a_task():
    assert urls.dag_path("http_trigger_job_3") == "/dags/http_trigger_job_3"
    assert urls.run_path("http_trigger_job_3", RUN_ID) == f"/dags/http_trigger_job_3/runs/{QUOTED_RUN_ID}"
    assert urls.task_instance_path("http_trigger_job_3", RUN_ID, "on_failure_1_webhook") == (
        f"/dags/http_trigger_job_3/runs/{QUOTED_RUN_ID}/tasks/on_failure_1_webhook"
    )
    assert urls.task_instance_path("d", "r", "t", map_index=2) == "/dags/d/runs/r/tasks/t/mapped/2"


def test_a_job_page_opens_in_airflows_frame():
    assert urls.job_page_path(3) == "/plugin/http-trigger/http-trigger/ui/jobs/3"


def test_behind_a_prefix_every_path_carries_it(prefixed):
    assert urls.dag_path("d") == "/airflow/dags/d"
    assert urls.task_instance_path("d", "r", "t") == "/airflow/dags/d/runs/r/tasks/t"
    assert urls.job_page_path(3) == "/airflow/plugin/http-trigger/airflow/http-trigger/ui/jobs/3"
    assert urls.plugin_path() == "/airflow/http-trigger"
