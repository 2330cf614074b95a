"""Tests that the real ``airflow db`` commands create, check, migrate and reset the plugin's tables."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from airflow import settings
from airflow.utils.db_manager import RunDBManager
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from http_trigger.db.manager import HttpTriggerDBManager
from http_trigger.db.models import metadata
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateColumn, CreateIndex

from ...conftest import REPO

MANAGER_PATH = "http_trigger.db.manager.HttpTriggerDBManager"
PLUGINS_DIR = REPO / "plugins"
AIRFLOW = Path(sys.executable).with_name("airflow")
OUR_TABLES = {"http_trigger_job", "http_trigger_call", "http_trigger_idempotency_key"}
VERSION_TABLE = "alembic_version_http_trigger"
HEAD = ScriptDirectory(HttpTriggerDBManager.migration_dir).get_current_head()


def _airflow_env(home: Path, db_url: str) -> dict[str, str]:
    """Return an environment for an Airflow process on its own database; our provider info brings the manager."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=db_url,
        AIRFLOW__CORE__FERNET_KEY=Fernet.generate_key().decode(),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        PYTHONPATH=os.pathsep.join(filter(None, [str(PLUGINS_DIR), os.environ.get("PYTHONPATH")])),
    )
    return env


def _airflow(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real ``airflow`` CLI; on an unexpected exit code, fail with its output."""
    result = subprocess.run(
        [str(AIRFLOW), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if check and result.returncode != 0:
        pytest.fail(f"airflow {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def _query(db_url: str, statement: str) -> list[tuple[object, ...]]:
    """Run one statement in its own connection and return its rows (none for a statement without)."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def _our_schema(db_url: str) -> dict[str, object]:
    """Return what PostgreSQL holds for our tables: columns with types and nullability, and indexes."""
    engine = create_engine(db_url)
    try:
        inspector = inspect(engine)
        schema: dict[str, object] = {}
        for table in sorted(OUR_TABLES & set(inspector.get_table_names())):
            columns = inspector.get_columns(table)
            schema[table] = [(column["name"], str(column["type"]), column["nullable"]) for column in columns]
            for index in inspector.get_indexes(table):
                schema[str(index["name"])] = (table, tuple(index["column_names"]), bool(index["unique"]))
        return schema
    finally:
        engine.dispose()


def _version(db_url: str) -> list[str]:
    """Return the revisions stamped in our version table."""
    return [str(row[0]) for row in _query(db_url, f"SELECT version_num FROM {VERSION_TABLE}")]


def _only_our_tables(_object: object, name: str | None, type_: str, *_args: object) -> bool:
    """Keep Airflow's tables out of the schema comparison."""
    return type_ != "table" or name in OUR_TABLES


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory, test_databases) -> tuple[dict[str, str], str]:
    """Run ``airflow db migrate`` once on a fresh database; return the environment and the database URL."""
    db_url = test_databases.create("migrated")
    env = _airflow_env(tmp_path_factory.mktemp("airflow-home"), db_url)
    _airflow(env, "db", "migrate")
    return env, db_url


@pytest.fixture
def fresh(tmp_path: Path, test_databases) -> tuple[dict[str, str], str]:
    """Return the environment and URL of an empty database of the test's own."""
    db_url = test_databases.create("fresh")
    return _airflow_env(tmp_path, db_url), db_url


class TestAirflowDbCommands:
    def test_db_migrate_creates_our_tables_and_stamps_our_head(self, migrated) -> None:
        _, db_url = migrated

        assert set(_our_schema(db_url)) == OUR_TABLES | {
            "idx_http_trigger_job_url_id",
            "idx_http_trigger_job_previous_url_id",
            "idx_http_trigger_call_called_at",
            "idx_http_trigger_call_job_id_called_at",
            "idx_http_trigger_call_source_address_outcome_called_at",
            "idx_http_trigger_idempotency_key_created_at",
        }
        assert _version(db_url) == [HEAD]

    def test_db_migrate_leaves_airflows_version_table_alone(self, migrated) -> None:
        _, db_url = migrated
        airflow_versions = [row[0] for row in _query(db_url, "SELECT version_num FROM alembic_version")]

        assert airflow_versions
        assert HEAD not in airflow_versions

    def test_check_migrations_passes_at_head(self, migrated) -> None:
        env, _ = migrated
        _airflow(env, "db", "check-migrations", "--migration-wait-timeout", "1")

    def test_migration_files_build_the_schema_the_models_build(self, fresh) -> None:
        env, db_url = fresh
        _airflow(env, "db", "migrate")
        from_models = _our_schema(db_url)

        # Airflow's db-manager commands look the class up in [database] external_db_managers only.
        env["AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS"] = MANAGER_PATH
        _airflow(env, "db-manager", "downgrade", "--yes", "--to-revision", "base", MANAGER_PATH)
        assert _our_schema(db_url) == {}
        assert _version(db_url) == []
        behind = _airflow(env, "db", "check-migrations", "--migration-wait-timeout", "1", check=False)
        assert behind.returncode != 0

        _airflow(env, "db-manager", "migrate", "--use-migration-files", MANAGER_PATH)
        assert _our_schema(db_url) == from_models
        assert _version(db_url) == [HEAD]
        engine = create_engine(db_url)
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": _only_our_tables}
            )
            differences = compare_metadata(context, metadata)
        engine.dispose()
        assert differences == []
        _airflow(env, "db", "check-migrations", "--migration-wait-timeout", "1")

    def test_db_reset_empties_and_recreates_our_tables(self, fresh) -> None:
        env, db_url = fresh
        _airflow(env, "db", "migrate")
        _query(db_url, "INSERT INTO http_trigger_job (created_at) VALUES ('2026-01-01 00:00:00+00')")

        _airflow(env, "db", "reset", "--yes")

        assert _query(db_url, "SELECT COUNT(*) FROM http_trigger_job") == [(0,)]
        assert _version(db_url) == [HEAD]


class TestPostgresqlSql:
    """Offline mode: the SQL our migrations print for PostgreSQL is what the models define."""

    @pytest.fixture
    def manager(self, monkeypatch: pytest.MonkeyPatch) -> HttpTriggerDBManager:
        monkeypatch.setattr(settings, "SQL_ALCHEMY_CONN", "postgresql://airflow@localhost/airflow")
        return HttpTriggerDBManager(session=None)

    def test_upgrade_sql_creates_what_the_models_define(
        self, manager: HttpTriggerDBManager, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manager.upgradedb(show_sql_only=True, from_revision="base")
        printed = _normalized(capsys.readouterr().out)

        # Each table is created, and each column is there at creation or added by a later revision;
        # that the result equals the models exactly is checked online, with Alembic's autogenerate.
        dialect = postgresql.dialect()
        for table in metadata.sorted_tables:
            create = printed.index(f"CREATE TABLE {table.name} (")
            for column in table.columns:
                column_sql = _normalized(str(CreateColumn(column).compile(dialect=dialect)))
                assert column_sql in printed[create:] or f"ADD COLUMN {column_sql}" in printed, column_sql
            for index in table.indexes:
                assert _normalized(str(CreateIndex(index).compile(dialect=dialect))) in printed
        # The last revision applied stamps the head.
        assert printed.rindex(f"version_num='{HEAD}'") > printed.rindex("CREATE TABLE")

    def test_downgrade_sql_drops_our_tables_only(
        self, manager: HttpTriggerDBManager, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manager.downgrade(to_revision="base", from_revision=HEAD, show_sql_only=True)
        drops = [line for line in capsys.readouterr().out.splitlines() if line.startswith("DROP TABLE")]

        assert sorted(drops) == [
            "DROP TABLE http_trigger_call;",
            "DROP TABLE http_trigger_idempotency_key;",
            "DROP TABLE http_trigger_job;",
        ]

    def test_from_revision_needs_show_sql_only(self, manager: HttpTriggerDBManager) -> None:
        with pytest.raises(ValueError, match="`from_revision` can only be used with `show_sql_only=True`"):
            manager.upgradedb(from_revision="base")


class TestManagerDefinition:
    def test_airflow_accepts_the_manager(self) -> None:
        RunDBManager._validate(HttpTriggerDBManager)

    def test_revision_heads_map_ends_at_the_script_head(self) -> None:
        assert list(HttpTriggerDBManager.revision_heads_map.values())[-1] == HEAD

    def test_migrations_have_one_head_and_one_base(self) -> None:
        script = ScriptDirectory(HttpTriggerDBManager.migration_dir)

        assert len(script.get_heads()) == 1
        assert len(script.get_bases()) == 1

    def test_env_py_always_passes_our_version_table(self) -> None:
        # Airflow 3.3's own check of env.py never matches a call, so check it here.
        env_py = Path(HttpTriggerDBManager.migration_dir) / "env.py"
        configure_calls = [
            node
            for node in ast.walk(ast.parse(env_py.read_text()))
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "context.configure"
        ]

        assert len(configure_calls) == 2
        for call in configure_calls:
            assert "version_table=version_table" in [ast.unparse(kw) for kw in call.keywords]
        assert HttpTriggerDBManager.version_table_name == VERSION_TABLE


def _normalized(sql: str) -> str:
    """Collapse whitespace, so DDL printed by Alembic and compiled by SQLAlchemy compare equal."""
    return " ".join(sql.split())
