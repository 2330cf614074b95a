"""Start the real embedded stack (Airflow processes and a moto server) and stop it without leftovers."""

from __future__ import annotations

import json
import os
import stat
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from devstack.stack import EmbeddedStack, StackConfig, airflow_env, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

pytestmark = pytest.mark.integration

TINY_DAG = '''
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task

with DAG(dag_id="tiny", schedule=None, is_paused_upon_creation=False):

    @task
    def hello():
        return "hello"

    hello()
    BashOperator(task_id="sleepy", bash_command="sleep 600")
'''


def _config(home: Path, dags_folder: Path | None = None) -> StackConfig:
    """Build a stack config on free ports; the repo's dags/ and plugins/ unless told otherwise."""
    if dags_folder is None:
        dags_folder = REPO_ROOT / "dags"
        dags_folder.mkdir(exist_ok=True)
    return StackConfig(
        home=home,
        api_port=free_port(),
        moto_port=free_port(),
        dags_folder=dags_folder,
        plugins_folder=REPO_ROOT / "plugins",
    )


def _processes() -> dict[int, tuple[int, int, str]]:
    """Return every live process as ``pid -> (ppid, sid, command line)``, from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            table[int(entry.name)] = (int(fields[1]), int(fields[3]), cmdline)
    return table


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _leftovers(pgids: dict[str, int]) -> dict[str, object]:
    """Return, per component, a surviving process group or live members of its session."""
    table = _processes()
    left: dict[str, object] = {}
    for name, pgid in pgids.items():
        if members := [pid for pid, (_, sid, _) in table.items() if sid == pgid]:
            left[name] = members
        if _group_exists(pgid):
            left[name] = pgid
    return left


def _descendant(ancestor: int, command: str) -> int | None:
    """Return the pid of a live descendant of ``ancestor`` running exactly ``command``."""
    table = _processes()
    for pid, (ppid, _, cmdline) in table.items():
        if cmdline == command:
            while ppid:
                if ppid == ancestor:
                    return pid
                ppid = table[ppid][0] if ppid in table else 0
    return None


def _wait(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if result := probe():
                return result
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}")
        time.sleep(1)


def _api(stack: EmbeddedStack, token: str, method: str, path: str, body: object = None) -> Any:
    request = urllib.request.Request(
        f"{stack.api_url}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_env_persists_secrets_and_uses_our_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    home = tmp_path / "home"

    first = airflow_env(StackConfig(home=home, api_port=18080, moto_port=15000))
    second = airflow_env(StackConfig(home=home, api_port=18080, moto_port=15000))

    for key in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
        assert first[key] and first[key] == second[key]
    assert "AIRFLOW__CORE__UNIT_TEST_MODE" not in first
    assert first["AIRFLOW_HOME"] == str(home)
    assert first["AIRFLOW__API__BASE_URL"] == "http://127.0.0.1:18080"
    assert first["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    assert "AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS" not in first  # the provider info declares the DB manager
    assert first["AIRFLOW__HTTP_TRIGGER__JOBS_FOLDER"] == str(home / "jobs")
    passwords_file = Path(first["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    assert list(json.loads(passwords_file.read_text())) == ["admin"]
    assert stat.S_IMODE(passwords_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "stack_secrets.json").stat().st_mode) == 0o600


def test_stack_starts_answers_and_stops_without_leftovers(tmp_path: Path) -> None:
    stack = EmbeddedStack(_config(tmp_path / "home"))

    started = time.monotonic()
    with stack:
        print(f"\nEmbeddedStack.start() took {time.monotonic() - started:.1f} s")
        pgids = {name: process.pgid for name, process in stack.processes.items()}

        health = stack.health()
        for component in ("metadatabase", "scheduler", "dag_processor", "triggerer"):
            assert health[component]["status"] == "healthy", health

        token = stack.get_api_token()
        assert "dags" in _api(stack, token, "GET", "/api/v2/dags")

        with urllib.request.urlopen(f"{stack.moto_url}/moto-api/data.json", timeout=10) as response:
            assert response.status == 200

        api_server_log = (stack.config.logs_folder / "api-server.log").read_text()
        assert "objects out of full garbage collections: the API server loaded" in api_server_log
        stopping = time.monotonic()
    print(f"EmbeddedStack.stop() took {time.monotonic() - stopping:.1f} s")

    assert set(pgids) == {"postgres", "db-migrate", "moto", "api-server", "scheduler", "dag-processor", "triggerer"}
    assert _leftovers(pgids) == {}


def test_tasks_run_and_a_running_task_is_stopped_with_the_stack(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "tiny.py").write_text(TINY_DAG)
    config = _config(tmp_path / "home", dags_folder=dags)
    config.with_triggerer = False

    with EmbeddedStack(config) as stack:
        pgids = {name: process.pgid for name, process in stack.processes.items()}
        token = stack.get_api_token()
        _wait(lambda: _api(stack, token, "GET", "/api/v2/dags/tiny"), 60, "the DAG to be parsed")
        run = _api(stack, token, "POST", "/api/v2/dags/tiny/dagRuns", {"logical_date": None})

        def states() -> dict[str, str] | None:
            path = f"/api/v2/dags/tiny/dagRuns/{run['dag_run_id']}/taskInstances"
            listing = _api(stack, token, "GET", path)
            found = {ti["task_id"]: ti["state"] for ti in listing["task_instances"]}
            return found if found == {"hello": "success", "sleepy": "running"} else None

        _wait(states, 90, "hello to succeed while sleepy runs")
        # The task runner has a process group of its own and the Bash task's shell a session of its own.
        sleeper = _wait(lambda: _descendant(pgids["scheduler"], "sleep 600"), 30, "the sleep process")

    assert "triggerer" not in pgids
    assert _leftovers(pgids) == {}
    assert sleeper not in _processes()
