"""The embedded stack heals itself and holds under a burst, on real processes.

Each component's main process is killed with SIGKILL, as the kernel's OOM killer or a careless
operator would: the supervisor starts it again, health recovers and triggers keep working. A burst
of concurrent wrong-token calls and job creations (what once killed the SQLite-based stack) leaves
every component running, every call answered without a 500 and recorded. Finally a component that
keeps dying right after each start makes the stack give up cleanly, naming it.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import pytest

from devstack import demo
from devstack.stack import EmbeddedStack, RestartPolicy

from .conftest import stack_config, wait_for

pytestmark = pytest.mark.integration

# Short backoffs keep the test quick; three fast failures in a row make the stack give up.
POLICY = RestartPolicy(
    initial_backoff_seconds=0.5, max_backoff_seconds=2, fast_failure_seconds=20, max_fast_failures=3
)
BURST_CLIENTS = 40
BURST_SECONDS = 20


@pytest.fixture(scope="module")
def healing_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    config = stack_config(
        tmp_path_factory.mktemp("healing-home"),
        restart_policy=POLICY,
        # The burst's wrong tokens come from the address the test's own valid calls come from: no
        # throttle here, or the valid calls after the burst would wait out its window.
        extra_env={"AIRFLOW__HTTP_TRIGGER__FAILED_TOKEN_LIMIT": ""},
    )
    with EmbeddedStack(config) as running:
        demo.ensure_aws_connection(running)
        yield running


@pytest.fixture(scope="module")
def admin(healing_stack: EmbeddedStack) -> Iterator[httpx.Client]:
    token = healing_stack.get_api_token()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=healing_stack.api_url, headers=headers, timeout=60) as client:
        yield client


def _job_body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "group": "healing",
        "action": {"type": "utility_no_action", "aws_conn_id": demo.AWS_CONN_ID, "region": demo.REGION},
        "enabled": True,
    }


def _create_loaded_job(admin: httpx.Client, name: str) -> dict[str, Any]:
    response = admin.post("/http-trigger/api/jobs", json=_job_body(name))
    assert response.status_code == 201, response.text
    created = response.json()
    job_id = created["id"]
    loaded = wait_for(
        lambda: (
            (job := admin.get(f"/http-trigger/api/jobs/{job_id}").json())["is_paused"] is not None and job
        ),
        what=f"job {job_id} to be loaded by Airflow",
    )
    # Reading a job shows its URL and token masked: only the create's answer has them in clear.
    return {**loaded, "trigger_url": created["trigger_url"], "token": created["token"]}


@pytest.fixture(scope="module")
def job(admin: httpx.Client) -> dict[str, Any]:
    return _create_loaded_job(admin, "Survives restarts")


def _trigger(job: dict[str, Any], token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"CAAuth {token or job['token']}", "Content-Length": "0"}
    return httpx.post(job["trigger_url"], headers=headers, timeout=60)


def _trigger_answer(job: dict[str, Any]) -> httpx.Response | None:
    """Return the trigger's answer, or None while nothing answers (the API server restarting)."""
    try:
        return _trigger(job)
    except httpx.HTTPError:
        return None


def _plugin_health(stack: EmbeddedStack) -> httpx.Response | None:
    try:
        return httpx.get(f"{stack.api_url}/http-trigger/health", timeout=10)
    except httpx.HTTPError:
        return None


def _heartbeat_after(health: dict[str, Any], component: str, moment: float) -> bool:
    from datetime import datetime

    beat = (health.get(component) or {}).get(f"latest_{component}_heartbeat")
    return bool(beat) and datetime.fromisoformat(beat).timestamp() > moment


AIRFLOW_COMPONENTS = ("scheduler", "triggerer", "dag_processor")


def _settled_since(stack: EmbeddedStack, moment: float) -> bool:
    """Whether health is 200 and every Airflow component has beaten since `moment`.

    A component that was starting while PostgreSQL restarted exits on its first query and is
    started again; an old heartbeat still counts as healthy for a while, so only a beat after
    the disturbance shows that the stack has settled.
    """
    health = _plugin_health(stack)
    return (
        health is not None
        and health.status_code == 200
        and all(_heartbeat_after(health.json(), component, moment) for component in AIRFLOW_COMPONENTS)
    )


def _log_tails(stack: EmbeddedStack, components: list[str], lines: int = 40) -> str:
    tails = []
    for name in components:
        text = (stack.config.logs_folder / f"{name}.log").read_text(errors="replace").splitlines()
        tails.append(f"--- {name}.log (last {lines} lines)\n" + "\n".join(text[-lines:]))
    return "\n".join(tails)


def _kill(stack: EmbeddedStack, name: str) -> int:
    pid = stack.processes[name].pid
    os.kill(pid, signal.SIGKILL)
    return pid


def _restarted(stack: EmbeddedStack, name: str, old_pid: int) -> bool:
    process = stack.processes[name]
    return process.pid != old_pid and process.alive()


def _recorded_calls(stack: EmbeddedStack) -> int:
    url = stack.config.postgres.sqlalchemy_url.replace("postgresql+psycopg2", "postgresql")
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM http_trigger_call")
        return int(cursor.fetchone()[0])


def test_a_killed_dag_processor_is_restarted_while_triggers_keep_answering(healing_stack, job):
    killed_at = time.time()
    old_pid = _kill(healing_stack, "dag-processor")
    answers: list[int] = []

    def recovered() -> bool:
        answers.append(_trigger(job).status_code)
        health = _plugin_health(healing_stack)
        return (
            _restarted(healing_stack, "dag-processor", old_pid)
            and health is not None
            and health.status_code == 200
            and _heartbeat_after(health.json(), "dag_processor", killed_at)
        )

    wait_for(recovered, timeout=60, interval=1, what="a new DAG processor and health 200")

    assert set(answers) == {200}
    assert healing_stack.restarts()["dag-processor"] == 1
    log = (healing_stack.config.logs_folder / "dag-processor.log").read_text()
    assert log.count("starting ") >= 2  # the supervisor appended the second start to the same log


@pytest.mark.parametrize("component", ["api-server", "scheduler", "triggerer", "moto", "postgres"])
def test_each_killed_component_is_restarted_and_the_trigger_works_again(healing_stack, job, component):
    restarts_before = healing_stack.restarts()[component]
    killed_at = time.time()
    old_pid = _kill(healing_stack, component)

    wait_for(lambda: _restarted(healing_stack, component, old_pid), timeout=60, what=f"a new {component}")
    wait_for(
        lambda: _settled_since(healing_stack, killed_at),
        timeout=180,
        interval=1,
        what="health 200 and a heartbeat of every Airflow component since the kill",
    )
    response = wait_for(
        lambda: (answer := _trigger_answer(job)) is not None and answer.status_code == 200 and answer,
        timeout=60,
        what="a trigger answering 200",
    )

    assert response.json()["result"] == "ok"
    assert healing_stack.restarts()[component] == restarts_before + 1
    healing_stack.check_alive()


def test_a_burst_of_wrong_tokens_and_creates_keeps_every_component_up(healing_stack, admin, job):
    settling_from = time.time()
    wait_for(
        lambda: _settled_since(healing_stack, settling_from),
        timeout=180,
        interval=1,
        what="a settled stack before the burst",
    )
    restarts_before = healing_stack.restarts()
    calls_before = _recorded_calls(healing_stack)
    statuses: Counter[tuple[str, int]] = Counter()
    missing_retry_after: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + BURST_SECONDS

    def client(number: int) -> None:
        with httpx.Client(timeout=60) as http:
            round_ = 0
            while time.monotonic() < deadline:
                round_ += 1
                if number % 4 == 0:
                    kind = "create"
                    response = http.post(
                        f"{healing_stack.api_url}/http-trigger/api/jobs",
                        json=_job_body(f"Burst {number}-{round_}"),
                        headers=admin.headers,
                    )
                else:
                    kind = "trigger"
                    response = http.post(
                        job["trigger_url"], headers={"Authorization": "CAAuth wrong", "Content-Length": "0"}
                    )
                with lock:
                    statuses[(kind, response.status_code)] += 1
                    if response.status_code == 503 and "Retry-After" not in response.headers:
                        missing_retry_after.append(kind)

    threads = [threading.Thread(target=client, args=(number,)) for number in range(BURST_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not [key for key in statuses if key[1] >= 500 and key[1] != 503], statuses
    assert missing_retry_after == []
    assert statuses[("trigger", 404)] > 0 and statuses[("create", 201)] > 0, statuses
    trigger_calls = sum(count for (kind, _), count in statuses.items() if kind == "trigger")
    assert _recorded_calls(healing_stack) - calls_before == trigger_calls
    restarted = [name for name, count in healing_stack.restarts().items() if count != restarts_before[name]]
    assert restarted == [], _log_tails(healing_stack, restarted)
    # A scheduler busy with the burst's new DAGs may miss a heartbeat; it must catch up, not die.
    wait_for(
        lambda: (health := _plugin_health(healing_stack)) is not None and health.status_code == 200,
        timeout=120,
        what="health 200 after the burst",
    )
    assert _trigger(job).status_code == 200


def test_a_component_that_keeps_failing_stops_the_stack_with_a_clear_message(healing_stack):
    pgids = {name: process.pgid for name, process in healing_stack.processes.items()}
    # Hold moto's port, so each new moto exits right after starting.
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def take_motos_port() -> bool:
        moto = healing_stack.processes["moto"]
        if moto.alive():
            os.kill(moto.pid, signal.SIGKILL)
            wait_for(lambda: not _pid_alive(moto.pid), timeout=30, what="moto to be gone")
        try:
            blocker.bind(("127.0.0.1", healing_stack.config.moto_port))
        except OSError:  # the supervisor restarted moto first: kill it again
            return False
        blocker.listen()
        return True

    try:
        wait_for(take_motos_port, timeout=60, what="moto's port to be held")
        wait_for(lambda: healing_stack.failure, timeout=120, what="the supervisor to give up")
    finally:
        blocker.close()

    message = str(healing_stack.failure)
    assert message.startswith("moto exited 3 times in a row within 20 s of starting; stopping the stack.")
    assert str(Path(healing_stack.config.logs_folder / "moto.log")) in message
    with pytest.raises(type(healing_stack.failure), match="moto exited 3 times"):
        healing_stack.check_alive()
    wait_for(
        lambda: not any(_group_alive(pgid) for pgid in pgids.values()),
        timeout=60,
        what="every component to stop",
    )


def _pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
