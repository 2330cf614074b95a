"""The API server's access logs record a trigger request as the route template, never its URL id.

The plugin's app is mounted the way Airflow's API server mounts it, under Airflow's own access log
middleware (structlog's ``http.access``, what Airflow 3.3 logs), and served by a real uvicorn
server with its access log on (``uvicorn.access``, what a plain uvicorn server logs).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import structlog
import uvicorn
from airflow.api_fastapi.common.http_access_log import HttpAccessLogMiddleware
from fastapi import FastAPI
from fastapi.testclient import TestClient
from http_trigger.api.app import create_app
from http_trigger.urls import TRIGGER_ROUTE, URL_PREFIX, redact_trigger_paths

from ..post_processing_support import free_port

URL_ID = secrets.token_urlsafe(24)


def api_server_app() -> FastAPI:
    """Return an app shaped like Airflow's API server: its access log middleware, the plugin mounted."""
    app = FastAPI()
    app.add_middleware(HttpAccessLogMiddleware)
    app.mount(URL_PREFIX, create_app())
    return app


@pytest.fixture
def client(airflow_db, jobs_folder) -> Iterator[TestClient]:
    with TestClient(api_server_app(), base_url="http://trigger.example") as test_client:
        yield test_client


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def uvicorn_access_log(airflow_db, jobs_folder) -> Iterator[tuple[str, Records]]:
    """Serve the API server app on a real uvicorn with its access log on; yield its URL and the records."""
    records = Records()
    access = logging.getLogger("uvicorn.access")
    access.addHandler(records)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(api_server_app(), host="127.0.0.1", port=port, access_log=True, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", records
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        access.removeHandler(records)


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_airflows_access_log_records_the_route_template(client, method):
    with structlog.testing.capture_logs() as logs:
        response = client.request(
            method, f"{URL_PREFIX}/trigger/{URL_ID}?x=1", headers={"Authorization": "CAAuth t"}
        )

    assert response.status_code == (404 if method == "POST" else 405)
    [access] = [entry for entry in logs if entry["event"] == "request finished"]
    assert (access["method"], access["path"], access["status_code"]) == (
        method,
        TRIGGER_ROUTE,
        response.status_code,
    )
    assert URL_ID not in repr(logs)


def test_other_paths_are_logged_as_they_are(client):
    with structlog.testing.capture_logs() as logs:
        client.get(f"{URL_PREFIX}/ui/static/no-such-{URL_ID}.js")

    [access] = [entry for entry in logs if entry["event"] == "request finished"]
    assert access["path"] == f"{URL_PREFIX}/ui/static/no-such-{URL_ID}.js"


def test_a_uvicorn_access_record_holds_the_route_template(uvicorn_access_log):
    url, records = uvicorn_access_log

    response = httpx.post(f"{url}{URL_PREFIX}/trigger/{URL_ID}", headers={"Authorization": "CAAuth t"})

    assert response.status_code == 404
    [line] = records.messages
    assert line.endswith('"POST /http-trigger/trigger/%7Burl_id%7D HTTP/1.1" 404')
    assert URL_ID not in line


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        (f"/http-trigger/trigger/{URL_ID}", TRIGGER_ROUTE),
        (f"/airflow/http-trigger/trigger/{URL_ID}/x?y=1", f"/airflow{TRIGGER_ROUTE}?y=1"),
        (
            f'"POST https://a.example/http-trigger/trigger/{URL_ID} HTTP/1.1"',
            f'"POST https://a.example{TRIGGER_ROUTE} HTTP/1.1"',
        ),
        ("/http-trigger/api/jobs/7", "/http-trigger/api/jobs/7"),
    ],
)
def test_redact_trigger_paths(text, redacted):
    assert redact_trigger_paths(text) == redacted
