"""Start, supervise and stop the whole embedded stack on one machine.

Used by ``make run`` (the one-command demo) and by the integration tests (temporary home, free
ports). The stack is what a production deployment runs, shrunk onto one machine: a PostgreSQL
server of its own (the same dialect and locking as production; SQLite's database-wide write lock
made bursts of traffic kill Airflow's heartbeats), a moto server as the demo AWS account, and
Airflow's API server, scheduler (LocalExecutor), DAG processor and triggerer, each started
separately (``airflow standalone`` leaves its children running when it receives SIGTERM).

A supervisor thread heals the stack: a component that exits is logged and started again after a
backoff; only when one keeps failing right after each start does the stack give up, stop
everything and say which component and why.

All state lives in ``StackConfig.home`` (AIRFLOW_HOME): the PostgreSQL data folder, the logs, and
the secrets generated on the first start (Fernet key, API secret key, JWT secret, admin password),
which later starts reuse so encrypted values and issued tokens stay valid.

The same launcher also runs the production shape on one machine (``devstack.distributed``): an
existing PostgreSQL database instead of its own server, the CeleryExecutor on a Redis broker with a
Celery worker, several API servers, and the deployment's own settings instead of the embedded ones.
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
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from devstack.postgres import PrivatePostgres
from devstack.processes import EmbeddedStackError, ManagedProcess, ensure_port_free, free_port

log = logging.getLogger(__name__)

ADMIN_USERNAME = "admin"
SECRETS_FILE_NAME = "stack_secrets.json"
PASSWORDS_FILE_NAME = "simple_auth_manager_passwords.json"
REPO_ROOT = Path(__file__).resolve().parents[1]
# The caller's own Airflow settings (a test suite's home, a developer's shell) must not leak in.
FOREIGN_ENV_PREFIXES = ("AIRFLOW", "_AIRFLOW")
# Settings a developer may export for ``make run``; ``main`` passes them on as ``extra_env``.
USER_ENV_PREFIXES = ("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_")
SUPERVISE_INTERVAL_SECONDS = 0.5
# The Celery application of Airflow's CeleryExecutor, for ``celery inspect`` commands.
CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"

__all__ = ["EmbeddedStack", "EmbeddedStackError", "RestartPolicy", "StackConfig", "airflow_env", "free_port"]


def airflow_bin() -> Path:
    """Return the ``airflow`` executable of the running interpreter's environment."""
    return Path(sys.executable).parent / "airflow"


@dataclass(frozen=True)
class RestartPolicy:
    """How the supervisor restarts a component that exited.

    An exit within ``fast_failure_seconds`` of its start counts as a fast failure; the delay before
    the next start doubles with each fast failure in a row (from ``initial_backoff_seconds`` up to
    ``max_backoff_seconds``), and after ``max_fast_failures`` in a row the stack gives up. A component
    that ran longer than that before exiting starts again after the initial delay.
    """

    initial_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    fast_failure_seconds: float = 30.0
    max_fast_failures: int = 5

    def backoff(self, fast_failures: int) -> float:
        """Return the delay before the next start after ``fast_failures`` fast failures in a row."""
        return min(self.max_backoff_seconds, self.initial_backoff_seconds * 2 ** max(0, fast_failures - 1))


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
    # The private PostgreSQL server's port on the loopback address; 0 picks a free port.
    db_port: int = 0
    restart_policy: RestartPolicy = field(default_factory=lambda: RestartPolicy())
    # An existing metadata database (SQLAlchemy URL); None runs the stack's own PostgreSQL server.
    database_url: str | None = None
    # A Celery broker (Redis URL): the stack then runs the CeleryExecutor and one Celery worker, whose
    # results go to the metadata database, instead of the LocalExecutor.
    celery_broker_url: str | None = None
    # How many API servers to run: the first on ``api_port``, the others on free ports.
    api_servers: int = 1
    # The deployment's Airflow settings (``AIRFLOW__…`` and the like); None: the embedded defaults.
    # Settings that name this machine (database, ports, folders, URLs) are the stack's own regardless.
    settings: dict[str, str] | None = None
    # Airflow commands run once after the migration, before the components start (e.g. creating the
    # admin user of an auth manager that keeps users in the database): argv after ``airflow``.
    init_commands: list[list[str]] = field(default_factory=list)
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
        self.db_port = self.db_port or free_port()
        self.api_ports = [self.api_port, *(free_port(self.host) for _ in range(self.api_servers - 1))]
        # A node name of its own, so a health ping reaches this stack's worker and no other on the broker.
        self.celery_worker_name = f"http-trigger-{secrets.token_hex(4)}@{socket.gethostname()}"

    @property
    def api_url(self) -> str:
        """Return the (first) API server's base URL, as Airflow and callers see it."""
        return f"http://{self.host}:{self.api_port}"

    @property
    def api_urls(self) -> list[str]:
        """Return the base URL of every API server, the first one first."""
        return [f"http://{self.host}:{port}" for port in self.api_ports]

    @property
    def sqlalchemy_url(self) -> str:
        """Return the metadata database's URL: the configured one, else the stack's own server's."""
        return self.database_url or self.postgres.sqlalchemy_url

    @property
    def moto_url(self) -> str:
        """Return the moto server's endpoint URL (always on the loopback interface)."""
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def logs_folder(self) -> Path:
        """Return the folder holding Airflow's logs and one ``<component>.log`` per process."""
        return self.home / "logs"

    @property
    def postgres(self) -> PrivatePostgres:
        """Return the stack's own PostgreSQL server, whose data lives under ``home``."""
        return PrivatePostgres(self.home / "postgres", self.db_port)

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


def embedded_settings(config: StackConfig) -> dict[str, str]:
    """Return the embedded product's own choices: LocalExecutor, SimpleAuthManager, a quick DAG refresh."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # LocalExecutor forks one worker per parallelism slot up front; 32 (the default) only
        # crowds a one-machine install, where jobs mostly wait on AWS.
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USERNAME}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(config.passwords_file),
        # New DAG files show up within 30 s instead of 5 min.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
    }


def local_settings(config: StackConfig) -> dict[str, str]:
    """Return the settings that name this machine: database, broker, folders, ports, URLs and secrets."""
    keys = _persisted_secrets(config.home)
    settings = {
        "AIRFLOW_HOME": str(config.home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": config.sqlalchemy_url,
        "AIRFLOW__CORE__DAGS_FOLDER": str(config.dags_folder),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(config.plugins_folder),
        "AIRFLOW__CORE__FERNET_KEY": keys["fernet_key"],
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{config.api_url}/execution/",
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
        "AIRFLOW__HTTP_TRIGGER__JOBS_FOLDER": str(config.jobs_folder),
        "AIRFLOW__HTTP_TRIGGER__BASE_URL": config.api_url,
    }
    if config.celery_broker_url:
        settings.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CELERY__BROKER_URL": config.celery_broker_url,
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{config.sqlalchemy_url}",
            }
        )
    return settings


def airflow_env(config: StackConfig) -> dict[str, str]:
    """
    Return the environment for every Airflow command and process of the stack.

    Creates ``home`` and the persisted secrets on first use. Every process must get the same
    secrets: the API server signs JWTs that the scheduler, workers and triggerer present back.
    Inherited ``AIRFLOW*`` variables are dropped so the stack depends on nothing but its config.
    The deployment's settings (``config.settings``, else the embedded ones) come first, then the
    settings that name this machine, then ``extra_env``, so callers can set or override anything.
    """
    config.home.mkdir(parents=True, exist_ok=True)
    admin_password(config)
    env = {key: value for key, value in os.environ.items() if not key.startswith(FOREIGN_ENV_PREFIXES)}
    python_path = [str(config.plugins_folder), *filter(None, [env.get("PYTHONPATH")])]
    # Until the package is installed, Airflow processes import http_trigger from here.
    env["PYTHONPATH"] = os.pathsep.join(python_path)
    env.update(embedded_settings(config) if config.settings is None else config.settings)
    env.update(local_settings(config))
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


@dataclass
class Component:
    """A long-running part of the stack, its current process, and its restart history."""

    name: str
    argv: list[str]
    user: str | None = None
    before_start: Callable[[], None] | None = None
    process: ManagedProcess | None = None
    started_at: float = 0.0
    fast_failures: int = 0
    restarts: int = 0
    restart_at: float | None = None


class EmbeddedStack:
    """The embedded stack: PostgreSQL, moto server, API server, scheduler, DAG processor, triggerer."""

    def __init__(
        self,
        config: StackConfig,
        *,
        progress: Callable[[str], None] | None = None,
        on_restarted: Callable[[EmbeddedStack, str], None] | None = None,
    ) -> None:
        self.config = config
        self.env = airflow_env(config)
        self.processes: dict[str, ManagedProcess] = {}
        self.failure: EmbeddedStackError | None = None
        self._progress = progress or log.info
        self._on_restarted = on_restarted
        self._components: dict[str, Component] = {}
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

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

    def start(self, timeout: float = 240) -> EmbeddedStack:
        """Start the database, migrate it, start every component, and wait until all report healthy."""
        if any(process.alive() for process in self.processes.values()):
            raise EmbeddedStackError(f"The stack at {self.api_url} is already running")
        self.processes, self._components, self.failure = {}, {}, None
        self._stopping.clear()
        started_at = datetime.now(timezone.utc)
        deadline = time.monotonic() + timeout
        config = self.config
        postgres = config.postgres
        airflow = str(airflow_bin())
        try:
            for port in config.api_ports:
                ensure_port_free(config.host, port, "API server")
            ensure_port_free("127.0.0.1", config.moto_port, "moto server")
            for folder in (config.logs_folder, config.jobs_folder, config.dags_folder):
                folder.mkdir(parents=True, exist_ok=True)
            if config.database_url is None:
                ensure_port_free("127.0.0.1", config.db_port, "PostgreSQL server")
                self._step(1, "PostgreSQL", f"data in {postgres.data_dir}, port {config.db_port}")
                if postgres.initialise():
                    self._progress("      created the data folder (first start)")
                self._launch(
                    self._add(
                        "postgres",
                        postgres.server_argv(),
                        user=postgres.run_as,
                        before_start=postgres.prepare_start,
                    )
                )
            else:
                self._step(1, "PostgreSQL", "an existing database")
            # moto needs no database: start it now so it warms up while the database is prepared.
            self._launch(
                self._add(
                    "moto",
                    [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(config.moto_port)],
                )
            )
            if config.database_url is None:
                postgres.wait_ready(deadline, self.processes["postgres"].alive)
                postgres.ensure_database()
            self._step(2, "Migrating the metadata database", f"airflow db migrate; log {config.logs_folder}")
            self._run_once("db-migrate", ["db", "migrate"], deadline)
            for number, command in enumerate(config.init_commands, start=1):
                self._run_once(f"init-{number}", command, deadline)
            self._step(3, "moto server (demo AWS account)", config.moto_url)
            self._wait_for(
                "moto", lambda: _answers_http(f"{config.moto_url}/moto-api/"), deadline, "did not answer HTTP"
            )
            commands = self._airflow_commands()
            self._step(4, "Starting Airflow", ", ".join(commands))
            for name, argv in commands.items():
                self._launch(self._add(name, [airflow, *argv]))
            self._step(
                5, "Waiting for every component to report healthy", f"{self.api_url}/api/v2/monitor/health"
            )
            self._wait_healthy(started_at, deadline)
        except BaseException:
            self.stop()
            raise
        self._supervisor = threading.Thread(target=self._supervise, name="stack-supervisor", daemon=True)
        self._supervisor.start()
        log.info("Embedded stack is up at %s (moto at %s)", self.api_url, self.moto_url)
        return self

    def stop(self, timeout: float = 20) -> None:
        """Stop supervising, then every component in reverse start order; safe to call more than once."""
        self._stopping.set()
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join()
        with self._lock:
            for name in reversed(list(self.processes)):
                self.processes[name].stop(timeout)

    def check_alive(self) -> None:
        """Raise the reason the supervisor gave up, if it did."""
        if self.failure is not None:
            raise self.failure

    def wait(self, interval: float = 1.0) -> None:
        """Block until the supervisor gives up (raising why) or the caller is interrupted."""
        while True:
            self.check_alive()
            time.sleep(interval)

    def restarts(self) -> dict[str, int]:
        """Return how often each long-running component has been restarted so far."""
        with self._lock:
            return {name: component.restarts for name, component in self._components.items()}

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

    def _step(self, number: int, what: str, detail: str) -> None:
        self._progress(f"[{number}/5] {what} ({detail})")

    def _add(
        self,
        name: str,
        argv: Sequence[str],
        user: str | None = None,
        before_start: Callable[[], None] | None = None,
    ) -> Component:
        component = Component(name=name, argv=list(argv), user=user, before_start=before_start)
        self._components[name] = component
        return component

    def _launch(self, component: Component) -> None:
        """Start a component's process with the stack's environment and record it for ``stop``."""
        log_path = self.config.logs_folder / f"{component.name}.log"
        if component.before_start is not None:
            component.before_start()
        component.process = ManagedProcess.start(
            component.name, component.argv, self.env, log_path, user=component.user
        )
        component.started_at = time.monotonic()
        component.restart_at = None
        self.processes[component.name] = component.process

    def _supervise(self) -> None:
        """Restart what exits, until the stack stops or a component keeps failing."""
        while not self._stopping.wait(SUPERVISE_INTERVAL_SECONDS):
            restarted = []
            with self._lock:
                if self._stopping.is_set():
                    return
                for component in self._components.values():
                    outcome = self._heal(component)
                    if outcome == "gave up":
                        self._give_up(component)
                        return
                    if outcome == "restarted":
                        restarted.append(component.name)
            for name in restarted:
                if self._on_restarted is not None:
                    self._on_restarted(self, name)

    def _heal(self, component: Component) -> Literal["restarted", "gave up"] | None:
        """Restart ``component`` if it exited and its backoff has passed; say what was done."""
        now = time.monotonic()
        policy = self.config.restart_policy
        if component.restart_at is not None:
            if now >= component.restart_at:
                component.restarts += 1
                self._launch(component)
                log.warning("Restarted %s (restart %d)", component.name, component.restarts)
                return "restarted"
            return None
        process = component.process
        if process is None or process.alive():
            return None
        code, uptime = process.returncode, now - component.started_at
        process.stop()  # whatever the component left running in its group goes with it
        component.fast_failures = component.fast_failures + 1 if uptime < policy.fast_failure_seconds else 1
        if component.fast_failures >= policy.max_fast_failures:
            return "gave up"
        delay = policy.backoff(component.fast_failures)
        log.warning(
            "%s exited with code %s after %.0f s; starting it again in %.0f s",
            component.name,
            code,
            uptime,
            delay,
        )
        component.restart_at = now + delay
        return None

    def _give_up(self, component: Component) -> None:
        """Stop everything and keep the reason, for ``check_alive`` to raise."""
        policy = self.config.restart_policy
        process = component.process
        assert process is not None, "only a started component can fail"
        self.failure = EmbeddedStackError(
            f"{component.name} exited {component.fast_failures} times in a row within "
            f"{policy.fast_failure_seconds:.0f} s of starting; stopping the stack. "
            f"Last lines of {process.log_path}:\n{process.tail()}"
        )
        log.error("%s", self.failure)
        self.stop()

    def _airflow_commands(self) -> dict[str, list[str]]:
        """Return each long-running Airflow component's name and its ``airflow`` subcommand."""
        config = self.config
        commands = {"api-server": ["api-server"]}
        for number, port in enumerate(config.api_ports[1:], start=2):
            commands[f"api-server-{number}"] = ["api-server", "--port", str(port)]
        commands.update({"scheduler": ["scheduler"], "dag-processor": ["dag-processor"]})
        if config.with_triggerer:
            commands["triggerer"] = ["triggerer"]
        if config.celery_broker_url:
            commands["celery-worker"] = ["celery", "worker", "--celery-hostname", config.celery_worker_name]
        return commands

    def _run_once(self, name: str, argv: Sequence[str], deadline: float) -> None:
        """Run the one-off ``airflow <argv>`` (the migration, an init command) to completion."""
        log_path = self.config.logs_folder / f"{name}.log"
        process = ManagedProcess.start(name, [str(airflow_bin()), *argv], self.env, log_path)
        self.processes[process.name] = process
        code = process.wait(max(1.0, deadline - time.monotonic()))
        process.stop()  # ends a command that overran, and marks a finished one as stopped
        what = f"airflow {' '.join(argv[:2])}"
        if code is None:
            raise EmbeddedStackError(f"{what} did not finish in time:\n{process.tail()}")
        if code != 0:
            raise EmbeddedStackError(f"{what} failed with exit code {code}:\n{process.tail()}")

    def _check_starting(self) -> None:
        """Raise with the log's tail if a component exited while the stack was starting."""
        for component in self._components.values():
            process = component.process
            if process is not None and not process.alive():
                raise EmbeddedStackError(
                    f"{process.name} exited with code {process.returncode}; "
                    f"last lines of {process.log_path}:\n{process.tail()}"
                )

    def _wait_for(self, name: str, ready: Callable[[], bool], deadline: float, problem: str) -> None:
        """Poll ``ready()`` until it is true, a component dies, or the deadline passes."""
        while not ready():
            self._check_starting()
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
            self._check_starting()
            try:
                last = self.health()
            except (OSError, ValueError):
                last = {}
            names = ["metadatabase", *components]
            unhealthy = [name for name in names if not _healthy(last, name, started_at)]
            if last and not unhealthy:
                break
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
        for number, url in enumerate(self.config.api_urls[1:], start=2):
            self._wait_for(
                f"api-server-{number}",
                lambda url=url: _answers_http(f"{url}/api/v2/version"),
                deadline,
                "did not answer HTTP",
            )
        if self.config.celery_broker_url:
            self._wait_for(
                "celery-worker", self.celery_worker_answers, deadline, "did not answer a Celery ping"
            )

    def celery_worker_answers(self) -> bool:
        """Return whether the Celery worker answers a ping over the broker (the compose health check)."""
        celery = Path(sys.executable).parent / "celery"
        ping = ["inspect", "ping", "--destination", self.config.celery_worker_name, "--timeout", "5"]
        result = subprocess.run(
            [str(celery), "--app", CELERY_APP, *ping], env=self.env, capture_output=True, timeout=60
        )
        return result.returncode == 0

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
    argv: Sequence[str] | None = None,
    on_started: Callable[[EmbeddedStack], str] | None = None,
    on_restarted: Callable[[EmbeddedStack, str], None] | None = None,
) -> int:
    """Run the embedded stack in the foreground until Ctrl-C or SIGTERM, healing what exits.

    ``on_started`` prepares the running stack (the demo data of ``make run``) and returns what to
    print; ``on_restarted`` is told the name of each component the supervisor started again.
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
    # Warnings and errors only: the supervisor's restarts and the reasons it gives up.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")

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
    stack = EmbeddedStack(config, progress=lambda line: print(line, flush=True), on_restarted=on_restarted)
    try:
        started = time.monotonic()
        stack.start(timeout=args.timeout)
        print(
            f"Airflow is up in {time.monotonic() - started:.0f} s; logs in {config.logs_folder}", flush=True
        )
        if on_started is not None:
            print(on_started(stack), flush=True)
        else:
            print(
                f"\nAirflow: {stack.api_url} (user {stack.admin_username}, password {stack.admin_password})\n"
                f"moto server (demo AWS account): {stack.moto_url}\nPress Ctrl-C to stop.",
                flush=True,
            )
        stack.wait()
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
