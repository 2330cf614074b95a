"""Alembic environment for the http_trigger tables only.

It uses its own version table and only the plugin's metadata, so it never touches Airflow's
tables or Airflow's ``alembic_version``; ``render_as_batch`` lets column changes work on SQLite.
"""

from __future__ import annotations

import contextlib
from logging import getLogger
from logging.config import fileConfig

from alembic import context

from airflow import settings

from http_trigger.db.manager import HttpTriggerDBManager

config = context.config
target_metadata = HttpTriggerDBManager.metadata
version_table = HttpTriggerDBManager.version_table_name

# Airflow's CLI has configured logging already; a bare `alembic` run has not.
if not getLogger().handlers and config.config_file_name:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def include_object(_object: object, name: str | None, type_: str, *_args: object) -> bool:
    """Let autogenerate see only our tables, never Airflow's or SQLite's internal ones."""
    if type_ == "table":
        return name in target_metadata.tables
    return True


def run_migrations_offline() -> None:
    """Print the migration SQL for the configured database URL instead of running it."""
    context.configure(
        url=settings.SQL_ALCHEMY_CONN,
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        render_as_batch=True,
        include_object=include_object,
        version_table=version_table,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on Airflow's engine, or on a connection handed in by the caller."""
    with contextlib.ExitStack() as stack:
        connection = config.attributes.get("connection")
        if connection is None:
            connection = stack.enter_context(settings.get_engine().connect())
        context.configure(
            connection=connection,
            transaction_per_migration=True,
            target_metadata=target_metadata,
            compare_type=True,
            render_as_batch=True,
            include_object=include_object,
            version_table=version_table,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
