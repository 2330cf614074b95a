"""Shared parts of the post-processing tests: a real local HTTP receiver and a task context."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

from http_trigger import settings
from http_trigger.run_contract import ERROR_XCOM_KEY

STARTED_AT = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
RUN_ID = "http__2026-03-01T09:30:00+00:00"
LOG_URL = f"{settings.base_url()}/dags/http_trigger_job_7/runs/http__2026-03-01T09%3A30%3A00%2B00%3A00"
JOB_NAME = "Start test servers"


class Receiver:
    """A local HTTP server that records each POST and answers with a chosen status code."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status_code = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": self.headers, "body": body})
                answer = b"ok" if receiver.status_code == 200 else b"no"
                self.send_response(receiver.status_code)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def only_json(self) -> dict[str, Any]:
        assert len(self.requests) == 1
        return json.loads(self.requests[0]["body"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running :class:`Receiver`; import this fixture into the test module to use it."""
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class UpstreamTaskInstance:
    """Stands in for the task instance: answers XCom pulls from what the action task pushed, keeps the step's."""

    def __init__(self, pushed: dict[tuple[str, str], Any]) -> None:
        self.pushed = pushed
        self.own: dict[str, Any] = {}

    def xcom_pull(self, task_ids: str, key: str) -> Any:
        return self.pushed.get((task_ids, key))

    def xcom_push(self, key: str, value: Any) -> None:
        self.own[key] = value


def make_context(
    *, run_id: str = RUN_ID, run_type: str = "manual", error: str | None = None
) -> dict[str, Any]:
    """Return the parts of a task context that the payload reads, for job 7's DAG."""
    pushed = {("action", ERROR_XCOM_KEY): error} if error else {}
    return {
        "dag_run": SimpleNamespace(
            dag_id="http_trigger_job_7",
            run_id=run_id,
            run_type=run_type,
            start_date=STARTED_AT,
            conf={},
        ),
        "ti": UpstreamTaskInstance(pushed),
        "task": SimpleNamespace(upstream_task_ids={"action"}),
    }


def assert_is_the_payload(body: dict[str, Any], *, status: str = "success", error: str | None = None) -> None:
    """Check a received document against the payload of :func:`make_context`'s run."""
    finished_at = datetime.fromisoformat(body["finished_at"])
    assert STARTED_AT < finished_at <= datetime.now(timezone.utc)
    expected = {
        "name": JOB_NAME,
        "trigger_job_id": 7,
        "status": status,
        "dag_id": "http_trigger_job_7",
        "dag_run_id": RUN_ID,
        "trigger_source": "http",
        "started_at": STARTED_AT.isoformat(),
        "finished_at": body["finished_at"],
        "log_url": LOG_URL,
    }
    if error is not None:
        expected["error"] = error
    assert body == expected
