"""The production shape's parts shared by its tests: the stack, clients, job bodies and the database's rows.

Each test module that runs ``devstack.distributed`` takes its own database and Redis key prefix
(the module-scoped fixtures ``database_url`` and ``broker_prefix`` of this folder's conftest) and
starts its own stack with :func:`running_distributed_stack`, choosing how many API servers and
which extra settings and init commands it needs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg2
from sqlalchemy.engine import make_url

from devstack import demo
from devstack.distributed import distributed_config
from devstack.stack import EmbeddedStack, RestartPolicy

from .conftest import REDIS_URL

BROKER_PREFIX_SETTING = "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX"


@contextmanager
def running_distributed_stack(
    home: Path,
    *,
    database_url: str,
    broker_prefix: str,
    api_servers: int,
    restart_policy: RestartPolicy | None = None,
    extra_env: dict[str, str] | None = None,
    init_commands: list[list[str]] | None = None,
) -> Iterator[EmbeddedStack]:
    """Start the compose file's settings as processes, with ``init_commands`` after the admin's creation."""
    config = distributed_config(
        home,
        database_url=database_url,
        broker_url=REDIS_URL,
        api_servers=api_servers,
        restart_policy=restart_policy,
        extra_env={BROKER_PREFIX_SETTING: broker_prefix, **(extra_env or {})},
    )
    config.init_commands += init_commands or []
    stack = EmbeddedStack(config)
    started = time.monotonic()
    stack.start(timeout=420)  # API servers and a worker more than the embedded stack, on 2 cores
    try:
        print(f"\ndistributed stack up in {time.monotonic() - started:.0f} s: {', '.join(config.api_urls)}")
        yield stack
    finally:
        stack.stop()


def api_client(url: str, token: str) -> httpx.Client:
    """Return a client of one API server that sends a user's JWT."""
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def job_body(
    name: str, action_type: str, parameters: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    action = {"type": action_type, "aws_conn_id": demo.AWS_CONN_ID, "region": demo.REGION,
              "parameters": parameters or {}}  # fmt: skip
    return {"name": name, "group": "distributed", "action": action, **extra}


def query(database_url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Run one SQL statement on the stack's metadata database and return its rows."""
    url = make_url(database_url)
    connection = psycopg2.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, dbname=url.database
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall()
    finally:
        connection.close()
