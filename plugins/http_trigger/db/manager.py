"""Migrate the plugin's tables with ``airflow db migrate``, the way Airflow migrates provider tables.

The package's provider info declares it (``db-managers``), so Airflow runs it with its own migrations.
Airflow then creates our tables on a fresh database (from the models, stamped at head), upgrades
them through our own Alembic folder and version table afterwards, checks them in
``airflow db check-migrations`` and drops them in ``airflow db reset``. ``airflow db-manager
migrate|downgrade|reset http_trigger.db.manager.HttpTriggerDBManager`` acts on them alone; Airflow
3.3's ``db-manager`` commands find a manager only in ``[database] external_db_managers``, so list
it there for those.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine.url import make_url

from airflow import settings
from airflow.utils.db_manager import BaseDBManager

from http_trigger.db.models import metadata

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Plugin version -> the Alembic head it ships, for ``--to-version`` / ``--from-version``.
_REVISION_HEADS_MAP: dict[str, str] = {
    "0.1.0": "8c2a4f6e1b37",
}


class HttpTriggerDBManager(BaseDBManager):
    """Create, upgrade, downgrade and drop the ``http_trigger_*`` tables."""

    metadata = metadata
    version_table_name = "alembic_version_http_trigger"
    migration_dir = MIGRATIONS_DIR.as_posix()
    alembic_file = (MIGRATIONS_DIR / "alembic.ini").as_posix()
    supports_table_dropping = True
    revision_heads_map = _REVISION_HEADS_MAP

    def upgradedb(
        self,
        to_revision: str | None = None,
        from_revision: str | None = None,
        show_sql_only: bool = False,
        use_migration_files: bool = False,
    ) -> None:
        """Upgrade our tables; with ``show_sql_only``, print the SQL for ``from_revision:to_revision``.

        The base class runs online upgrades well but ignores ``from_revision`` when only printing SQL,
        so ``airflow db-manager migrate --show-sql-only --from-version`` would print the wrong range.
        """
        if from_revision and not show_sql_only:
            raise ValueError("`from_revision` can only be used with `show_sql_only=True`")
        if not show_sql_only:
            super().upgradedb(to_revision=to_revision, use_migration_files=use_migration_files)
            return
        config = self._offline_config()
        from_revision = from_revision or self.get_current_revision() or "base"
        to_revision = to_revision or self.get_script_object(config).get_current_head()
        if to_revision == from_revision:
            self.log.info("No migrations to apply; nothing to do.")
            return
        _print_sql(_alembic_command().upgrade, config, f"{from_revision}:{to_revision}")

    def downgrade(
        self, to_revision: str, from_revision: str | None = None, show_sql_only: bool = False
    ) -> None:
        """Downgrade our tables to ``to_revision`` (``base`` drops them), or print the SQL for it.

        The base class raises ``NotImplementedError``: ``airflow db-manager downgrade`` would crash.
        """
        if from_revision and not show_sql_only:
            raise ValueError("`from_revision` can only be used with `show_sql_only=True`")
        if not show_sql_only:
            self.log.info("Downgrading the %s tables to revision %s", type(self).__name__, to_revision)
            _alembic_command().downgrade(self.get_alembic_config(), revision=to_revision)
            return
        config = self._offline_config()
        head = self.get_script_object(config).get_current_head()
        from_revision = from_revision or self.get_current_revision() or head
        _print_sql(_alembic_command().downgrade, config, f"{from_revision}:{to_revision}")

    def _offline_config(self) -> Config:
        """Return the Alembic config for printing SQL; refuse SQLite, as Airflow does for its tables."""
        if make_url(settings.SQL_ALCHEMY_CONN).get_backend_name() == "sqlite":
            raise SystemExit("Offline migration not supported for SQLite.")
        return self.get_alembic_config()


def _alembic_command() -> ModuleType:
    """Import Alembic's commands only when used; Airflow keeps them off its import path the same way."""
    from alembic import command

    return command


def _print_sql(migration: Callable[..., None], config: Config, revision_range: str) -> None:
    """Print a migration's SQL instead of running it, through Airflow's own helper for that."""
    from airflow.utils.db import _offline_migration

    _offline_migration(migration, config, revision_range)
