"""Throwaway databases on the machine's PostgreSQL server, for the in-process tests.

Every machine that runs the suite has a PostgreSQL server with trust authentication (by default on
127.0.0.1:5432; ``TEST_POSTGRES_URL`` points elsewhere). Each database gets a unique name, so runs
on one machine never collide, and is dropped (connections and all) when the suite ends.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg2
from sqlalchemy.engine import make_url

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class TestDatabases:
    """Create and drop uniquely named databases on one PostgreSQL server."""

    server_url: str
    created: list[str] = field(default_factory=list)

    __test__ = False  # not a test class, whatever its name says

    @classmethod
    def from_environment(cls) -> TestDatabases:
        return cls(os.environ.get("TEST_POSTGRES_URL", DEFAULT_SERVER_URL))

    def create(self, purpose: str) -> str:
        """Create an empty database and return its SQLAlchemy URL (psycopg2 driver)."""
        name = f"http_trigger_test_{purpose}_{os.getpid()}_{secrets.token_hex(4)}"
        self._execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        url = make_url(self.server_url).set(drivername="postgresql+psycopg2", database=name)
        return url.render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop one database created here, closing whatever is still connected to it."""
        name = make_url(url).database
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(self.created):
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.created.remove(name)

    @contextmanager
    def refusing_connections(self, url: str) -> Iterator[None]:
        """Make the database refuse every connection (open ones are cut) until the block ends.

        What a caller sees while PostgreSQL restarts or fails over: connections break and new ones
        are refused with an ``OperationalError``.
        """
        name = make_url(url).database
        self._execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        self._execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        try:
            yield
        finally:
            self._execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')

    def _execute(self, statement: str) -> None:
        url = make_url(self.server_url)
        connection = psycopg2.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            dbname=url.database,
        )
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()
