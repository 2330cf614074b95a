"""Start and stop the whole embedded stack on one machine: Airflow's components and a moto server.

Used by ``make run`` (the one-command demo) and by the integration tests (temporary home, free ports).
Every component runs in its own session and process group and is stopped through that group: SIGTERM,
a wait, then SIGKILL for whatever is left. Nothing is ever stopped by name, so several stacks (and
other Airflow installations) can share the machine. ``airflow standalone`` is not used because it
leaves its children running when it receives SIGTERM.

All state lives in ``StackConfig.home`` (AIRFLOW_HOME): the SQLite metadata database, the logs, and
the secrets generated on the first start (Fernet key, API secret key, JWT secret, admin password),
which later starts reuse so encrypted values and issued tokens stay valid.
"""

from __future__ import annotations

import argparse
import configparser
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from http_trigger.errors import HttpTriggerError

log = logging.getLogger(__name__)

DB_MANAGER = "http_trigger.db.manager.HttpTriggerDBManager"
ADMIN_USERNAME = "admin"
SECRETS_FILE_NAME = "stack_secrets.json"
PASSWORDS_FILE_NAME = "simple_auth_manager_passwords.json"
REPO_ROOT = Path(__file__).resolve().parents[2]
# The caller's own Airflow settings (a test suite's home, a developer's shell) must not leak in.
FOREIGN_ENV_PREFIXES = ("AIRFLOW", "_AIRFLOW")
# Settings a developer may export for ``make run``; ``main`` passes them on as ``extra_env``.
USER_ENV_PREFIXES = ("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_")


class EmbeddedStackError(HttpTriggerError):
    """A component of the embedded stack failed to start, died, or did not become healthy in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _ensure_port_free(host: str, port: int, user: str) -> None:
    """Raise a clear error now rather than a dead server later when ``port`` is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is fine
        try:
            sock.bind((host, port))
        except OSError as error:
            raise EmbeddedStackError(f"Port {port} on {host} for the {user} is not free: {error}") from None


def airflow_bin() -> Path:
    """Return the ``airflow`` executable of the running interpreter's environment."""
    return Path(sys.executable).parent / "airflow"


@dataclass
class StackConfig:
    """Describe one embedded stack; ports set to 0 are replaced by free ports when the config is built."""

    home: Path
    api_port: int
    moto_port: int
    dags_folder: Path = REPO_ROOT / "dags"
    plugins_folder: Path = REPO_ROOT / "plugins"
    jobs_folder: Path | None = None
    host: str = "127.0.0.1"
    with_triggerer: bool = True
    # LocalExecutor workers and the triggerer serve task logs to the API server over HTTP on these
    # ports (Airflow's defaults 8793/8794 would clash between stacks); 0 picks a free port.
    worker_log_port: int = 0
    trigger_log_port: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home = Path(self.home).resolve()
        self.dags_folder = Path(self.dags_folder).resolve()
        self.plugins_folder = Path(self.plugins_folder).resolve()
        self.jobs_folder = Path(self.jobs_folder).resolve() if self.jobs_folder else self.home / "jobs"
        self.api_port = self.api_port or free_port(self.host)
        self.moto_port = self.moto_port or free_port()
        self.worker_log_port = self.worker_log_port or free_port()
        self.trigger_log_port = self.trigger_log_port or free_port()

    @property
    def api_url(self) -> str:
        """Return the API server's base URL, as Airflow and callers see it."""
        return f"http://{self.host}:{self.api_port}"

    @property
    def moto_url(self) -> str:
        """Return the moto server's endpoint URL (always on the loopback interface)."""
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def logs_folder(self) -> Path:
        """Return the folder holding Airflow's logs and one ``<component>.log`` per process."""
        return self.home / "logs"

    @property
    def passwords_file(self) -> Path:
        """Return the SimpleAuthManager passwords file this stack writes."""
        return self.home / PASSWORDS_FILE_NAME


def _write_private_json(path: Path, data: Mapping[str, str]) -> None:
    """Write ``data`` as JSON readable by the owner only, atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(data, file)
        file.write("\n")
    os.replace(tmp, path)


def _persisted_secrets(home: Path) -> dict[str, str]:
    """Return the stack's secrets, generating and saving (0600) any that are missing."""
    from cryptography.fernet import Fernet

    path = home / SECRETS_FILE_NAME
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    # 64 random bytes: PyJWT warns about HMAC keys shorter than that for the HS512 tokens Airflow signs.
    wanted = {
        "fernet_key": lambda: Fernet.generate_key().decode(),
        "api_secret_key": lambda: secrets.token_urlsafe(64),
        "jwt_secret": lambda: secrets.token_urlsafe(64),
    }
    missing = {name: make() for name, make in wanted.items() if not stored.get(name)}
    if missing:
        stored.update(missing)
        _write_private_json(path, stored)
    return stored


def admin_password(config: StackConfig) -> str:
    """Return the admin's password, generating it and writing the passwords file on first use."""
    path = config.passwords_file
    passwords: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if not passwords.get(ADMIN_USERNAME):
        passwords[ADMIN_USERNAME] = secrets.token_urlsafe(12)
        _write_private_json(path, passwords)
    return passwords[ADMIN_USERNAME]


def airflow_env(config: StackConfig) -> dict[str, str]:
    """
    Return the environment for every Airflow command and process of the stack.

    Creates ``home`` and the persisted secrets on first use. Every process must get the same
    secrets: the API server signs JWTs that the scheduler, workers and triggerer present back.
    Inherited ``AIRFLOW*`` variables are dropped so the stack depends on nothing but its config;
    ``extra_env`` is applied last, so callers can set or override anything.
    """
    config.home.mkdir(parents=True, exist_ok=True)
    keys = _persisted_secrets(config.home)
    admin_password(config)
    env = {key: value for key, value in os.environ.items() if not key.startswith(FOREIGN_ENV_PREFIXES)}
    python_path = [str(config.plugins_folder), *filter(None, [env.get("PYTHONPATH")])]
    env.update(
        {
            "AIRFLOW_HOME": str(config.home),
            # Until the package is installed, Airflow processes import http_trigger from here.
            "PYTHONPATH": os.pathsep.join(python_path),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{config.home / 'airflow.db'}",
            "AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS": DB_MANAGER,
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            # LocalExecutor forks one worker per parallelism slot up front; 32 (the default) only
            # crowds a one-machine install, where jobs mostly wait on AWS.
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(config.dags_folder),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(config.plugins_folder),
            "AIRFLOW__CORE__FERNET_KEY": keys["fernet_key"],
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{config.api_url}/execution/",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USERNAME}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(config.passwords_file),
            "AIRFLOW__API__HOST": config.host,
            "AIRFLOW__API__PORT": str(config.api_port),
            "AIRFLOW__API__BASE_URL": config.api_url,
            "AIRFLOW__API__SECRET_KEY": keys["api_secret_key"],
            "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(config.logs_folder),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(config.worker_log_port),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(config.trigger_log_port),
            # The default is a folder shared by every Airflow on the machine (<tmp>/airflow).
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(config.home / "dag_bundles"),
            # New DAG files show up within 30 s instead of 5 min.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__HTTP_TRIGGER__JOBS_FOLDER": str(config.jobs_folder),
            "AIRFLOW__HTTP_TRIGGER__BASE_URL": config.api_url,
        }
    )
    env.update(config.extra_env)
    write_airflow_cfg(config.home, env)
    return env


def write_airflow_cfg(home: Path, env: Mapping[str, str]) -> Path:
    """Write the stack's ``AIRFLOW__<SECTION>__<KEY>`` settings to ``home/airflow.cfg``.

    Processes get the settings from their environment; the file is for people: with only
    ``AIRFLOW_HOME`` set, ``airflow`` and ``http-trigger`` in a shell work against the running
    stack (same database, Fernet key, jobs folder). It is rewritten on every start.
    """
    parser = configparser.ConfigParser(interpolation=None)
    for name, value in sorted(env.items()):
        section, separator, key = name.removeprefix("AIRFLOW__").partition("__")
        if not name.startswith("AIRFLOW__") or not separator:
            continue
        if not parser.has_section(section.lower()):
            parser.add_section(section.lower())
        parser.set(section.lower(), key.lower(), value.replace("%", "%%"))
    path = home / "airflow.cfg"
    with path.open("w") as file:
        file.write("# Written by http-trigger's embedded stack on every start; edit StackConfig instead.\n")
        parser.write(file)
    path.chmod(0o600)
    return path


def _tail(path: Path, lines: int = 40) -> str:
    """Return the last ``lines`` lines of a log file, or a note that it is missing."""
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 64 * 1024))
            text = file.read().decode(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _proc_stat(pid: int) -> tuple[int, int, int, str, int] | None:
    """Return ``(ppid, pgid, sid, state, start time)`` of a process from /proc, or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces and parentheses; the fields follow the last ")".
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[2]), int(fields[3]), fields[0], int(fields[19])


def _related_processes(leader: int) -> set[tuple[int, int]]:
    """
    Return the live processes, as ``(pid, start time)``, of a component: session, group, descendants.

    Airflow puts each task runner in a process group of its own (so its supervisor can signal the
    task's children), which a group signal from here does not reach; the session does. Descendants
    cover anything that started a session of its own (e.g. a Bash task's shell). Linux only: where
    there is no /proc this returns nothing and stopping relies on the process group alone. The start
    time tells a process from a later one that got the same pid.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return set()
    table = {
        int(entry.name): stat
        for entry in proc.iterdir()
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) is not None and stat[3] != "Z"
    }
    related = {pid for pid, (_, pgid, sid, *_) in table.items() if leader in (pgid, sid)}
    frontier = set(related) | {leader}
    while frontier:
        frontier = {pid for pid, (ppid, *_) in table.items() if ppid in frontier and pid not in related}
        related |= frontier
    return {(pid, table[pid][4]) for pid in related}


def _running(process: tuple[int, int]) -> bool:
    """Return whether the process ``(pid, start time)`` still runs (a zombie only waits to be reaped)."""
    stat = _proc_stat(process[0])
    return stat is not None and stat[3] != "Z" and stat[4] == process[1]


def _signal(processes: set[tuple[int, int]], group: int, sig: signal.Signals) -> None:
    """Send ``sig`` to a process group and to single processes, skipping ones already gone."""
    try:
        os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass
    for process in processes:
        if _running(process):
            try:
                os.kill(process[0], sig)
            except (ProcessLookupError, PermissionError):
                pass


class ManagedProcess:
    """One component process, started in a new session and process group and stopped by that group."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], log_path: Path, log_file: IO[bytes]):
        self.name = name
        self.log_path = log_path
        self._popen = popen
        self._log_file = log_file
        self._stopped = False

    @classmethod
    def start(cls, name: str, argv: Sequence[str], env: Mapping[str, str], log_path: Path) -> ManagedProcess:
        """Start ``argv`` with stdout and stderr appended to ``log_path``, in its own process group."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = log_path.open("ab")
        log_file.write(f"\n=== {datetime.now(timezone.utc).isoformat()} starting {' '.join(argv)}\n".encode())
        log_file.flush()
        try:
            popen = subprocess.Popen(
                list(argv),
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except BaseException:
            log_file.close()
            raise
        log.info("Started %s (pid %s), log %s", name, popen.pid, log_path)
        return cls(name, popen, log_path, log_file)

    @property
    def pid(self) -> int:
        """Return the process id of the component's main process."""
        return self._popen.pid

    @property
    def pgid(self) -> int:
        """Return the process group id (equal to the pid: the process leads a new session)."""
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        """Return the exit code of the main process, or None while it runs."""
        return self._popen.poll()

    def alive(self) -> bool:
        """Return whether the main process is still running."""
        return self._popen.poll() is None

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the main process to exit; return its exit code, or None on timeout."""
        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def tail(self, lines: int = 40) -> str:
        """Return the last lines of the component's log."""
        return _tail(self.log_path, lines)

    def stop(self, timeout: float = 20) -> None:
        """
        Stop the component and everything it started; safe to call more than once.

        SIGTERM goes to the process group so each component shuts down its own children its own
        way. Once the main process has exited (or ``timeout`` has passed) whatever is left of the
        group, the session and the descendants gets SIGTERM, a short grace, then SIGKILL.
        """
        if self._stopped:
            return
        deadline = time.monotonic() + timeout
        related = _related_processes(self.pgid)
        if self.alive() or related:
            _signal(set(), self.pgid, signal.SIGTERM)
            self.wait(max(0.0, deadline - time.monotonic()))
            related |= _related_processes(self.pgid)
            related = self._wait_gone(related, min(5.0, max(1.0, deadline - time.monotonic())))
            if related:
                _signal(related, self.pgid, signal.SIGTERM)
                related = self._wait_gone(related, 3.0)
            if related or self.alive():
                log.warning("Killing what is left of %s: %s", self.name, sorted(pid for pid, _ in related))
                _signal(related, self.pgid, signal.SIGKILL)
                self.wait(5)
                related = self._wait_gone(related, 5.0)
            if related:
                left = sorted(pid for pid, _ in related)
                log.warning("Processes of %s still there after SIGKILL: %s", self.name, left)
        self.wait(0)
        self._stopped = True
        self._log_file.close()

    def _wait_gone(self, processes: set[tuple[int, int]], timeout: float) -> set[tuple[int, int]]:
        """Wait until the group and ``processes`` are gone; return those still there after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            self._popen.poll()  # reap the main process so it does not linger as a zombie
            left = {process for process in processes | _related_processes(self.pgid) if _running(process)}
            if not left or time.monotonic() >= deadline:
                return left
            time.sleep(0.1)

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _http_get_json(url: str, timeout: float = 5) -> Any:
    """GET ``url`` and return the decoded JSON body."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def _answers_http(url: str) -> bool:
    """Return whether anything answers HTTP at ``url``, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


class EmbeddedStack:
    """The embedded stack: metadata DB, moto server, API server, scheduler, DAG processor, triggerer."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.env = airflow_env(config)
        self.processes: dict[str, ManagedProcess] = {}

    @property
    def api_url(self) -> str:
        """Return the API server's base URL."""
        return self.config.api_url

    @property
    def moto_url(self) -> str:
        """Return the moto server's endpoint URL, for the AWS connection's ``endpoint_url``."""
        return self.config.moto_url

    @property
    def admin_username(self) -> str:
        """Return the name of the admin user."""
        return ADMIN_USERNAME

    @property
    def admin_password(self) -> str:
        """Return the admin user's password (generated on the first start, then reused)."""
        return admin_password(self.config)

    def start(self, timeout: float = 180) -> EmbeddedStack:
        """Migrate the database, start every component, and wait until the stack reports healthy."""
        if any(process.alive() for process in self.processes.values()):
            raise EmbeddedStackError(f"The stack at {self.api_url} is already running")
        self.processes = {}
        started_at = datetime.now(timezone.utc)
        deadline = time.monotonic() + timeout
        config = self.config
        try:
            _ensure_port_free(config.host, config.api_port, "API server")
            _ensure_port_free("127.0.0.1", config.moto_port, "moto server")
            for folder in (config.logs_folder, config.jobs_folder, config.dags_folder):
                folder.mkdir(parents=True, exist_ok=True)
            # moto needs no database: start it first so it warms up while the migration runs.
            self._start(
                "moto",
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(config.moto_port)],
            )
            self._migrate(deadline)
            self._wait_for(
                "moto", lambda: _answers_http(f"{config.moto_url}/moto-api/"), deadline, "did not answer HTTP"
            )
            airflow = str(airflow_bin())
            self._start("api-server", [airflow, "api-server"])
            self._start("scheduler", [airflow, "scheduler"])
            self._start("dag-processor", [airflow, "dag-processor"])
            if config.with_triggerer:
                self._start("triggerer", [airflow, "triggerer"])
            self._wait_healthy(started_at, deadline)
        except BaseException:
            self.stop()
            raise
        log.info("Embedded stack is up at %s (moto at %s)", self.api_url, self.moto_url)
        return self

    def stop(self, timeout: float = 20) -> None:
        """Stop every component in reverse start order; safe to call more than once."""
        for name in reversed(list(self.processes)):
            self.processes[name].stop(timeout)

    def health(self) -> dict[str, Any]:
        """Return the API server's ``/api/v2/monitor/health`` answer."""
        return dict(_http_get_json(f"{self.api_url}/api/v2/monitor/health"))

    def get_api_token(self, username: str | None = None, password: str | None = None) -> str:
        """Log in through SimpleAuthManager's token route and return the JWT (admin by default)."""
        body = json.dumps(
            {"username": username or self.admin_username, "password": password or self.admin_password}
        ).encode()
        request = urllib.request.Request(
            f"{self.api_url}/auth/token",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(json.loads(response.read())["access_token"])

    def _start(self, name: str, argv: Sequence[str]) -> ManagedProcess:
        """Start one component with the stack's environment and record it for ``stop``."""
        process = ManagedProcess.start(name, argv, self.env, self.config.logs_folder / f"{name}.log")
        self.processes[name] = process
        return process

    def _migrate(self, deadline: float) -> None:
        """Run ``airflow db migrate`` (Airflow's and the external managers' tables) to completion."""
        process = self._start("db-migrate", [str(airflow_bin()), "db", "migrate"])
        code = process.wait(max(1.0, deadline - time.monotonic()))
        process.stop()  # ends a migration that overran, and marks a finished one as stopped
        if code is None:
            raise EmbeddedStackError(f"airflow db migrate did not finish in time:\n{process.tail()}")
        if code != 0:
            raise EmbeddedStackError(f"airflow db migrate failed with exit code {code}:\n{process.tail()}")

    def check_alive(self) -> None:
        """Raise with the log's tail if a long-running component has exited."""
        for process in self.processes.values():
            if process.name != "db-migrate" and not process.alive():
                raise EmbeddedStackError(
                    f"{process.name} exited with code {process.returncode}; "
                    f"last lines of {process.log_path}:\n{process.tail()}"
                )

    def _wait_for(self, name: str, ready: Callable[[], bool], deadline: float, problem: str) -> None:
        """Poll ``ready()`` until it is true, a component dies, or the deadline passes."""
        while not ready():
            self.check_alive()
            if time.monotonic() >= deadline:
                process = self.processes[name]
                tail = process.tail()
                raise EmbeddedStackError(f"{name} {problem}; last lines of {process.log_path}:\n{tail}")
            time.sleep(0.5)

    def _wait_healthy(self, started_at: datetime, deadline: float) -> None:
        """Wait until the health route reports each started component healthy since ``started_at``."""
        components = {"scheduler": "scheduler", "dag_processor": "dag-processor"}
        if self.config.with_triggerer:
            components["triggerer"] = "triggerer"
        last: dict[str, Any] = {}
        while True:
            self.check_alive()
            try:
                last = self.health()
            except (OSError, ValueError):
                last = {}
            names = ["metadatabase", *components]
            unhealthy = [name for name in names if not _healthy(last, name, started_at)]
            if last and not unhealthy:
                return
            if time.monotonic() >= deadline:
                culprits = [components[name] for name in unhealthy if name in components] or ["api-server"]
                tails = "\n".join(
                    f"--- last lines of {self.processes[name].log_path}:\n{self.processes[name].tail()}"
                    for name in dict.fromkeys(["api-server", *culprits])
                )
                raise EmbeddedStackError(
                    f"The stack at {self.api_url} was not healthy in time "
                    f"(unhealthy: {', '.join(unhealthy) or 'no answer'}; last health: {last}):\n{tails}"
                )
            time.sleep(1)

    def __enter__(self) -> EmbeddedStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _healthy(health: Mapping[str, Any], component: str, since: datetime) -> bool:
    """Return whether ``component`` is healthy with a heartbeat from this start, not a previous run."""
    info = health.get(component) or {}
    if info.get("status") != "healthy":
        return False
    if component == "metadatabase":
        return True
    heartbeat = info.get(f"latest_{component}_heartbeat")
    if not heartbeat:
        return False
    beat = datetime.fromisoformat(heartbeat)
    return (beat if beat.tzinfo else beat.replace(tzinfo=timezone.utc)) >= since


def main(
    argv: Sequence[str] | None = None, on_started: Callable[[EmbeddedStack], str] | None = None
) -> int:
    """Run the embedded stack in the foreground until Ctrl-C or SIGTERM.

    ``on_started`` prepares the running stack (the demo data of ``make run``) and returns what to print.
    """
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--home", type=Path, default=REPO_ROOT / ".airflow", help="AIRFLOW_HOME (all state)")
    parser.add_argument("--host", default="127.0.0.1", help="address the API server binds and advertises")
    parser.add_argument("--port", type=int, default=8080, help="API server port (0: any free port)")
    parser.add_argument("--moto-port", type=int, default=5000, help="moto server port (0: any free port)")
    parser.add_argument("--dags-folder", type=Path, default=REPO_ROOT / "dags", help="the DAG files")
    parser.add_argument("--plugins-folder", type=Path, default=REPO_ROOT / "plugins", help="Airflow plugins")
    parser.add_argument("--no-triggerer", action="store_true", help="do not start the triggerer")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for a healthy stack")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # Set SIGINT explicitly too: a shell starts background jobs with SIGINT ignored.
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    config = StackConfig(
        home=args.home,
        api_port=args.port,
        moto_port=args.moto_port,
        dags_folder=args.dags_folder,
        plugins_folder=args.plugins_folder,
        host=args.host,
        with_triggerer=not args.no_triggerer,
        extra_env={key: value for key, value in os.environ.items() if key.startswith(USER_ENV_PREFIXES)},
    )
    stack = EmbeddedStack(config)
    try:
        started = time.monotonic()
        stack.start(timeout=args.timeout)
        print(f"Airflow is up in {time.monotonic() - started:.0f} s; logs in {config.logs_folder}", flush=True)
        if on_started is not None:
            print(on_started(stack), flush=True)
        else:
            print(
                f"\nAirflow: {stack.api_url} (user {stack.admin_username}, password {stack.admin_password})\n"
                f"moto server (demo AWS account): {stack.moto_url}\nPress Ctrl-C to stop.",
                flush=True,
            )
        while True:
            stack.check_alive()
            time.sleep(2)
    except KeyboardInterrupt:
        print("Stopping…", flush=True)
        return 0
    except EmbeddedStackError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not cut the clean-up short and leave processes behind.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
