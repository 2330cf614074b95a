"""Real parts for integration tests: one embedded stack (Airflow processes + moto), receivers, the
few HTTP steps every flow takes (create a job, trigger it, wait for its run), and a fresh database
and Redis key prefix for each module that runs the production shape."""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redis
from playwright.sync_api import Browser, sync_playwright

from devstack import demo
from devstack.stack import ADMIN_USERNAME, EmbeddedStack, StackConfig, free_port
from tests.integration.browser_support import CHROMIUM, CHROMIUM_ARGS
from tests.postgres import TestDatabases

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")
# Besides the admin, a read-only user (SimpleAuthManager's viewer role) for permission tests.
VIEWER_USERNAME = "viewer"
STACK_USERS = f"{ADMIN_USERNAME}:admin,{VIEWER_USERNAME}:viewer"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


def wait_for(check: Callable[[], T | None], *, timeout: float = 90, interval: float = 0.5, what: str) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class WebhookReceiver:
    """A local HTTP server that records every POST (the webhook and Slack target in tests)."""

    url: str
    requests: list[ReceivedRequest] = field(default_factory=list)

    def to(self, path: str) -> list[ReceivedRequest]:
        return [request for request in self.requests if request.path == path]


@pytest.fixture(scope="session")
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver: WebhookReceiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            receiver.requests.append(
                ReceivedRequest(path=self.path, headers=dict(self.headers), body=json.loads(raw or b"null"))
            )
            self.send_response(500 if self.path.startswith("/broken") else 200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


def stack_config(home: Path, *, extra_env: dict[str, str] | None = None, **settings: Any) -> StackConfig:
    """Configure a stack on free ports with this repository's DAGs and plugins and the suite's users."""
    return StackConfig(
        home=home,
        api_port=free_port(),
        moto_port=free_port(),
        dags_folder=REPO / "dags",
        plugins_folder=REPO / "plugins",
        extra_env={"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": STACK_USERS, **(extra_env or {})},
        **settings,
    )


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    """Start Airflow (API server, scheduler, DAG processor, triggerer) and moto on free ports."""
    config = stack_config(tmp_path_factory.mktemp("airflow-home"))
    with EmbeddedStack(config) as running:
        demo.ensure_aws_connection(running)
        yield running


def stack_password(stack: EmbeddedStack, username: str) -> str:
    """Return a stack user's password: SimpleAuthManager writes the ones it generates to its file."""
    return str(json.loads(stack.config.passwords_file.read_text())[username])


@pytest.fixture(scope="session")
def api(stack: EmbeddedStack) -> Iterator[httpx.Client]:
    """An HTTP client logged in to the stack as admin (Airflow's JWT)."""
    token = stack.get_api_token()
    with httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def viewer(stack: EmbeddedStack) -> Iterator[httpx.Client]:
    """The stack's viewer, logged in for the API (bearer) and the pages (Airflow's login cookie)."""
    token = stack.get_api_token(VIEWER_USERNAME, stack_password(stack, VIEWER_USERNAME))
    with httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"},
                      cookies={"_token": token}, timeout=30) as client:
        yield client


def no_action_job(name: str, **post_processing: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the body of a job whose action does nothing, with these post-processing steps."""
    return {
        "name": name,
        "group": "integration",
        "action": {"type": "utility_no_action", "aws_conn_id": demo.AWS_CONN_ID, "region": demo.REGION},
        "post_processing": post_processing,
    }


ISSUED = ("trigger_url", "token", "curl")
"""What only the create's answer has in clear; reading a job shows them masked."""


def create_job(
    api: httpx.Client, body: dict[str, Any], *, loaded_on: httpx.Client | None = None
) -> dict[str, Any]:
    """Create a job and wait until it is triggerable; return it with the URL and token the create issued.

    ``loaded_on`` is the API server asked whether Airflow has loaded the job (default: ``api``).
    """
    response = api.post("/http-trigger/api/jobs", json=body)
    assert response.status_code == 201, response.text
    job = response.json()
    reader = loaded_on or api
    # Triggerable once Airflow has loaded the DAG: the API says so with is_paused set.
    loaded = wait_for(
        lambda: (current := reader.get(f"/http-trigger/api/jobs/{job['id']}").json())["is_paused"] is not None
        and current,
        what=f"job {job['id']} to be loaded by Airflow",
    )
    return {**loaded, **{key: job[key] for key in ISSUED}}


def trigger(job: dict[str, Any], token: str | None = None, url: str | None = None, **kwargs: Any) -> httpx.Response:
    headers = kwargs.pop("headers", {"Authorization": f"CAAuth {token or job['token']}", "Content-Length": "0"})
    return httpx.post(url or job["trigger_url"], headers=headers, timeout=30, **kwargs)


def run_state(api: httpx.Client, dag_id: str, run_id: str) -> str:
    return api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()["state"]


def wait_for_run_end(api: httpx.Client, dag_id: str, run_id: str) -> str:
    return wait_for(
        lambda: (state := run_state(api, dag_id, run_id)) in ("success", "failed") and state,
        timeout=180, what=f"run {run_id} to finish",
    )


def runs_of(api: httpx.Client, dag_id: str) -> int:
    return api.get(f"/api/v2/dags/{dag_id}/dagRuns").json()["total_entries"]


FINISHED = {"success", "failed", "skipped", "upstream_failed"}


def task_states(api: httpx.Client, dag_id: str, run_id: str) -> dict[str, str]:
    """Return each task's final state, once every task of the run has one."""

    def finished() -> dict[str, str] | None:
        tasks = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()["task_instances"]
        states = {ti["task_id"]: ti["state"] for ti in tasks}
        return states if set(states.values()) <= FINISHED else None

    return wait_for(finished, timeout=120, what=f"every task of run {run_id} to finish")


@pytest.fixture(scope="module")
def database_url(test_databases: TestDatabases) -> Iterator[str]:
    url = test_databases.create("distributed")
    yield url
    test_databases.drop(url)


@pytest.fixture(scope="module")
def broker_prefix() -> Iterator[str]:
    """A Redis key prefix of this run's own; every key under it is removed at the end."""
    prefix = f"http-trigger-test-{os.getpid()}-{secrets.token_hex(4)}:"
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=10)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"The distributed tests need Redis at {REDIS_URL} (TEST_REDIS_URL): {error}")
    yield prefix
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (as root) first")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
