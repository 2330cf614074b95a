"""Measure how fast http-trigger turns a new job and a trigger POST into running work; write BENCHMARKS.md.

Run from the repository root::

    .venv/bin/python -m benchmarks.measure_trigger [--jobs N] [--triggers M] [--existing-jobs K] [--factory-files F]

It starts a complete embedded stack (Airflow's API server, scheduler, DAG processor and triggerer
on the stack's own PostgreSQL with the LocalExecutor, plus a moto server) in a temporary home on
free ports, creates the demo AWS connection and instances, optionally puts ``K`` job specs in the
jobs folder first and waits until Airflow has loaded them all (every job change re-parses the
factory file holding the job: all jobs, or one share of them with ``F`` factory files, so this is
how the figures grow with the number of jobs), and then measures, through HTTP only:

1. new job -> triggerable: from sending ``POST /http-trigger/api/jobs`` to the first trigger POST
   answered 200, polling the trigger URL every 0.2 s and counting the 503s before it;
2. trigger POST -> action running / run finished: from the client's send time (UTC) to the
   ``action`` task instance's ``start_date`` and to the run's ``end_date``, as the server records them;
3. the HTTP round trip of the trigger POST itself.

Figures are recorded, never judged: nothing here asserts on timing. The script's section of
BENCHMARKS.md (one per number of existing jobs) is rewritten as a whole from its output, so it
always matches the command it names.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import random
import re
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg2

from benchmarks.measure_factory import write_specs
from benchmarks.report import (
    MachineWatch,
    load_average,
    machine_facts,
    markdown_table,
    version,
    write_section,
)
from benchmarks.run_cost import TaskProfile, cost_table, cpu_by_part, process_tree_cpu_seconds
from benchmarks.trigger_profile import Recording
from devstack import demo
from devstack.stack import EmbeddedStack, StackConfig, free_port
from http_trigger.factory_files import MAX_SHARDS, write_factory_files

log = logging.getLogger("benchmarks.measure_trigger")

REPO = Path(__file__).resolve().parents[1]
COMMAND = ".venv/bin/python -m benchmarks.measure_trigger"
POLL_INTERVAL = 0.2  # seconds between two trigger POSTs while waiting for a new job
# A random pause of up to this many seconds before each new job, so that job creations do not lock
# onto one phase of the DAG processor's 1 s loop (each job's cycle otherwise takes a near-constant time).
CREATE_JITTER = 1.0
STATE_POLL_INTERVAL = 0.25  # seconds between two reads of a run or task instance (server timestamps are used)
FINISHED = ("success", "failed")
# Existing jobs get ids from here on, so that the measured jobs' ids (1, 2, …) never meet them.
EXISTING_FIRST_ID = 100_001
EXISTING_LOAD_TIMEOUT = 1800  # seconds for Airflow to load the existing jobs after the stack started
T = TypeVar("T")


class BenchmarkError(RuntimeError):
    """The stack did not behave well enough to measure (an unexpected answer, or a timeout)."""


# ---------------------------------------------------------------------------------------------------
# Samples and statistics


@dataclass
class NewJobSample:
    job_id: int
    create_seconds: float  # round trip of POST /http-trigger/api/jobs
    ready_seconds: float  # from sending the create POST to receiving the first 200 of the trigger URL
    attempts: int  # trigger POSTs sent, the successful one included
    # Refused attempts by kind ("503 not loaded yet", …).
    statuses: Counter[str] = field(default_factory=Counter)
    run_state: str = ""

    @property
    def refused_503(self) -> int:
        return sum(count for kind, count in self.statuses.items() if kind.startswith("503"))


@dataclass
class TriggerSample:
    run_id: str
    round_trip_seconds: float  # the trigger POST, on a new connection, as curl would send it
    to_run_start: float | None  # client send time -> the run's start_date (scheduler picked it up)
    to_action_start: float | None  # client send time -> the action task instance's start_date
    to_run_end: float | None  # client send time -> the run's end_date
    action_seconds: float | None  # the action task's own duration (end_date - start_date)
    run_state: str


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the ``fraction`` quantile by linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Summary:
    name: str
    unit: str  # "s" or "ms"
    values: tuple[float, ...]

    def row(self) -> list[str]:
        scale = 1000.0 if self.unit == "ms" else 1.0
        if not self.values:
            return [self.name, self.unit, "0", "–", "–", "–", "–", "–"]
        figures = [
            min(self.values),
            statistics.median(self.values),
            percentile(self.values, 0.9),
            percentile(self.values, 0.95),
            max(self.values),
        ]
        digits = 1 if self.unit == "ms" else 2
        return [self.name, self.unit, str(len(self.values)), *(f"{v * scale:.{digits}f}" for v in figures)]


# ---------------------------------------------------------------------------------------------------
# Talking to the stack


def wait_for(check: Callable[[], T | None], *, timeout: float, interval: float, what: str) -> T:
    """Poll ``check`` until it returns something truthy; raise naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise BenchmarkError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def server_time(value: str | None) -> datetime | None:
    """Parse a timestamp of Airflow's REST API (ISO 8601, UTC)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def seconds_between(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds()


def job_body(name: str) -> dict[str, Any]:
    """The measured job: start the EC2 instances tagged Env=test in the demo account, no post-processing."""
    return {
        "name": name,
        "group": "benchmarks",
        "description": "Created by benchmarks/measure_trigger.py",
        "action": {
            "type": "ec2_start_instances",
            "aws_conn_id": demo.AWS_CONN_ID,
            "region": demo.REGION,
            "parameters": {"tag_key": "Env", "tag_value": "test"},
        },
    }


def post_trigger(job: dict[str, Any]) -> httpx.Response:
    """Send the trigger POST the way the job's curl line does (new connection, empty body)."""
    headers = {"Authorization": f"CAAuth {job['token']}", "Content-Length": "0"}
    return httpx.post(job["trigger_url"], headers=headers, timeout=30)


def refusal_kind(response: httpx.Response) -> str:
    """Name a non-200 trigger answer: a 503 says whether the job was not loaded or the DB was busy."""
    try:
        message = str(response.json().get("message", ""))
    except ValueError:
        message = response.text[:200]
    if response.status_code == 503:
        if "not loaded" in message:
            return "503 not loaded yet"
        if "busy" in message:
            return "503 database busy"
    return f"{response.status_code} {message}".strip()


def get_run(api: httpx.Client, dag_id: str, run_id: str) -> dict[str, Any]:
    response = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
    response.raise_for_status()
    return dict(response.json())


def get_action_ti(api: httpx.Client, dag_id: str, run_id: str) -> dict[str, Any] | None:
    """Return the run's ``action`` task instance, or None while the scheduler has not created it."""
    response = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/action")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return dict(response.json())


def wait_for_run_end(api: httpx.Client, dag_id: str, run_id: str, timeout: float) -> dict[str, Any]:
    return wait_for(
        lambda: (run := get_run(api, dag_id, run_id))["state"] in FINISHED and run,
        timeout=timeout,
        interval=STATE_POLL_INTERVAL,
        what=f"run {run_id} of {dag_id} to finish",
    )


# ---------------------------------------------------------------------------------------------------
# The measurements


def measure_new_job(api: httpx.Client, name: str, ready_timeout: float, run_timeout: float) -> tuple[
    NewJobSample, dict[str, Any]
]:
    """Create a job and poll its trigger URL until it answers 200; wait for that run to finish."""
    started = time.perf_counter()
    response = api.post("/http-trigger/api/jobs", json=job_body(name))
    create_seconds = time.perf_counter() - started
    if response.status_code != 201:
        raise BenchmarkError(f"creating job {name!r} answered {response.status_code}: {response.text}")
    job = dict(response.json())
    statuses: Counter[str] = Counter()
    attempts = 0
    while True:
        attempts += 1
        answer = post_trigger(job)
        if answer.status_code == 200:
            ready_seconds = time.perf_counter() - started
            break
        kind = refusal_kind(answer)
        statuses[kind] += 1
        if answer.status_code != 503:
            raise BenchmarkError(f"the trigger URL of job {job['id']} answered {kind!r}, not 503 or 200")
        if time.perf_counter() - started > ready_timeout:
            raise BenchmarkError(f"job {job['id']} not triggerable after {ready_timeout:.0f} s ({statuses})")
        time.sleep(POLL_INTERVAL)
    run = wait_for_run_end(api, job["dag_id"], answer.json()["dag_run_id"], run_timeout)
    sample = NewJobSample(
        job_id=int(job["id"]),
        create_seconds=create_seconds,
        ready_seconds=ready_seconds,
        attempts=attempts,
        statuses=statuses,
        run_state=str(run["state"]),
    )
    return sample, job


def measure_trigger(api: httpx.Client, job: dict[str, Any], run_timeout: float) -> TriggerSample:
    """POST the trigger once, then read when the action started and when the run ended (server times)."""
    sent_at = datetime.now(timezone.utc)
    started = time.perf_counter()
    response = post_trigger(job)
    round_trip = time.perf_counter() - started
    if response.status_code != 200:
        raise BenchmarkError(f"the trigger POST answered {refusal_kind(response)!r}")
    return follow_run(api, job["dag_id"], str(response.json()["dag_run_id"]), sent_at, round_trip, run_timeout)


def follow_run(
    api: httpx.Client, dag_id: str, run_id: str, sent_at: datetime, round_trip: float, run_timeout: float
) -> TriggerSample:
    """Wait for a triggered run's action to start and the run to end; return their server times."""

    def action_started() -> dict[str, Any] | None:
        ti = get_action_ti(api, dag_id, run_id)
        if ti and ti.get("start_date"):
            return ti
        # A run that ended without starting its action (it should not) must not hang the measurement.
        if ti and get_run(api, dag_id, run_id)["state"] in FINISHED:
            return ti
        return None

    wait_for(action_started, timeout=run_timeout, interval=STATE_POLL_INTERVAL, what=f"action of {run_id}")
    run = wait_for_run_end(api, dag_id, run_id, run_timeout)
    ti = get_action_ti(api, dag_id, run_id) or {}
    action_start, action_end = server_time(ti.get("start_date")), server_time(ti.get("end_date"))
    return TriggerSample(
        run_id=run_id,
        round_trip_seconds=round_trip,
        to_run_start=seconds_between(sent_at, server_time(run.get("start_date"))),
        to_action_start=seconds_between(sent_at, action_start),
        to_run_end=seconds_between(sent_at, server_time(run.get("end_date"))),
        action_seconds=seconds_between(action_start, action_end) if action_start else None,
        run_state=str(run["state"]),
    )


@dataclass(frozen=True)
class Burst:
    """Trigger POSTs sent all at once: the runs they started, and the answers that started none."""

    size: int
    jobs: int
    samples: tuple[TriggerSample, ...]
    refused: Counter[str]
    # CPU seconds each part of the stack spent from the first POST until every run had ended, in ``seconds``.
    cost: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    task_profile: TaskProfile | None = None


def measure_burst(
    stack: EmbeddedStack, api: httpx.Client, jobs: Sequence[dict[str, Any]], size: int, run_timeout: float
) -> Burst:
    """Send ``size`` trigger POSTs at the same moment, spread over ``jobs``, then follow every run.

    Each POST has its own thread and connection, released together by a barrier, as ``size``
    callers whose events coincide would send them. The CPU each part of the stack spends until
    the last run has ended is read too (:mod:`benchmarks.run_cost`).
    """
    barrier = threading.Barrier(size)
    cpu_before, began = cpu_by_part(stack), time.monotonic()

    def send(index: int) -> tuple[dict[str, Any], datetime, float, httpx.Response]:
        job = jobs[index % len(jobs)]
        barrier.wait()
        sent_at, started = datetime.now(timezone.utc), time.perf_counter()
        response = post_trigger(job)
        return job, sent_at, time.perf_counter() - started, response

    with ThreadPoolExecutor(max_workers=size) as pool:
        answers = list(pool.map(send, range(size)))
    refused = Counter(refusal_kind(response) for *_, response in answers if response.status_code != 200)
    samples = tuple(
        follow_run(api, job["dag_id"], str(response.json()["dag_run_id"]), sent_at, round_trip, run_timeout)
        for job, sent_at, round_trip, response in answers
        if response.status_code == 200
    )
    cost = cpu_by_part(stack)
    cost.subtract(cpu_before)
    return Burst(
        size=size,
        jobs=min(size, len(jobs)),
        samples=samples,
        refused=refused,
        cost=cost,
        seconds=time.monotonic() - began,
    )


def profile_burst(stack: EmbeddedStack, api: httpx.Client, jobs: Sequence[dict[str, Any]], size: int,
                  run_timeout: float) -> TaskProfile:  # fmt: skip
    """Send one more burst with py-spy sampling the scheduler's process tree; where its tasks' time went."""
    recording = Recording(stack.processes["scheduler"].pid, stack.config.home / "burst-profile.txt")
    time.sleep(1)  # py-spy attaches to the scheduler and its workers
    try:
        measure_burst(stack, api, jobs, size, run_timeout)
    finally:
        folded = recording.stop()
    return TaskProfile.from_folded(folded)


# ---------------------------------------------------------------------------------------------------
# Reporting


def summaries(
    new_jobs: Sequence[NewJobSample], triggers: Sequence[TriggerSample], burst: Burst | None = None
) -> list[Summary]:
    ok = [t for t in triggers if t.run_state == "success"]

    def present(values: Sequence[float | None]) -> tuple[float, ...]:
        return tuple(v for v in values if v is not None)

    burst_rows = []
    if burst is not None:
        runs = burst.samples
        burst_rows = [
            Summary(f"4. Burst of {burst.size} POSTs: POST round trip", "ms", tuple(t.round_trip_seconds for t in runs)),
            Summary("   burst: POST -> run start_date", "s", present([t.to_run_start for t in runs])),
            Summary("   burst: POST -> action start_date", "s", present([t.to_action_start for t in runs])),
            Summary(
                "   burst: POST -> run end_date (success)", "s",
                present([t.to_run_end for t in runs if t.run_state == "success"]),
            ),
        ]  # fmt: skip
    return [
        Summary("1. New job -> first 200 of its trigger URL", "s", tuple(s.ready_seconds for s in new_jobs)),
        Summary("   503 answers before that 200 (count)", "n", tuple(float(s.refused_503) for s in new_jobs)),
        Summary("   POST /http-trigger/api/jobs round trip", "ms", tuple(s.create_seconds for s in new_jobs)),
        Summary("2. Trigger POST -> run start_date", "s", present([t.to_run_start for t in triggers])),
        Summary("   Trigger POST -> action start_date", "s", present([t.to_action_start for t in triggers])),
        Summary("   Trigger POST -> run end_date (success)", "s", present([t.to_run_end for t in ok])),
        Summary("   action task duration", "s", present([t.action_seconds for t in triggers])),
        Summary("3. Trigger POST round trip", "ms", tuple(t.round_trip_seconds for t in triggers)),
        *burst_rows,
    ]


def figures_table(rows: Sequence[Summary]) -> str:
    rendered = []
    for summary in rows:
        row = summary.row()
        if summary.unit == "n":  # counts: whole numbers, median may be .5
            counts = (cell if cell == "–" else f"{float(cell):g}" for cell in row[3:])
            row = [row[0], "count", row[2], *counts]
        rendered.append(row)
    return markdown_table(["Metric", "unit", "n", "min", "median", "p90", "p95", "max"], rendered, "llrrrrrr")


def samples_tables(new_jobs: Sequence[NewJobSample], triggers: Sequence[TriggerSample]) -> str:
    def fmt(value: float | None, scale: float = 1.0, digits: int = 2) -> str:
        return "–" if value is None else f"{value * scale:.{digits}f}"

    job_rows = [
        [
            str(index),
            str(s.job_id),
            fmt(s.create_seconds, 1000, 1),
            fmt(s.ready_seconds),
            str(s.attempts),
            ", ".join(f"{count}× {kind}" for kind, count in sorted(s.statuses.items())) or "none",
            s.run_state,
        ]
        for index, s in enumerate(new_jobs, 1)
    ]
    trigger_rows = [
        [
            str(index),
            fmt(t.round_trip_seconds, 1000, 1),
            fmt(t.to_run_start),
            fmt(t.to_action_start),
            fmt(t.action_seconds),
            fmt(t.to_run_end),
            t.run_state,
        ]
        for index, t in enumerate(triggers, 1)
    ]
    return (
        "New jobs, in creation order:\n\n"
        + markdown_table(
            ["#", "job id", "create POST (ms)", "-> first 200 (s)", "trigger POSTs", "refused before the 200",
             "first run"],
            job_rows,
            "rrrrrll",
        )
        + "\n\nTriggers of one job, in order (times from the client's send time, in seconds):\n\n"
        + markdown_table(
            ["#", "POST round trip (ms)", "-> run start", "-> action start", "action took", "-> run end",
             "run state"],
            trigger_rows,
            "rrrrrrl",
        )
    )


def observations(
    new_jobs: Sequence[NewJobSample],
    triggers: Sequence[TriggerSample],
    others: MachineWatch,
    stalls: Sequence[tuple[float, bool]] = (),
) -> list[str]:
    """Plain facts of this run worth a reader's attention, derived from the samples and the logs."""
    notes = []
    if stalls:
        seconds = [stall for stall, _ in stalls]
        after_write = sum(1 for _, writing in stalls if writing)
        notes.append(
            f"The DAG processor's main loop stopped {len(stalls)} times, for {min(seconds):.0f}-"
            f"{max(seconds):.0f} s (median {statistics.median(seconds):.0f} s), as Airflow's own "
            f"'Heartbeat recovered after … seconds' lines say; {after_write} of those stops began with "
            f"'{_BULK_WRITE}', its write of the parsed factory file's DAGs to the database. A job created "
            "meanwhile waits for that write to end, for the next parse of every job, and for its write."
        )
    if others.busy:
        notes.append(
            f"The machine was not quiet: other processes used {others.describe()}. "
            "Expect these figures to be slower and noisier than on an otherwise idle machine."
        )
    kinds: Counter[str] = Counter()
    for sample in new_jobs:
        kinds.update(sample.statuses)
    total_503 = sum(count for kind, count in kinds.items() if kind.startswith("503"))
    described = ", ".join(f"{count} × {kind!r}" for kind, count in sorted(kinds.items())) or "none"
    notes.append(
        f"Before each new job's first 200 its trigger URL answered 503 {total_503} times over "
        f"{len(new_jobs)} job{'s' if len(new_jobs) != 1 else ''} ({described}); at one POST every "
        f"{POLL_INTERVAL} s plus the round trip, "
        "this is roughly how long the job stayed untriggerable."
    )
    busy = kinds.get("503 database busy", 0)
    if busy:
        notes.append(
            f"{busy} of those 503s were 'database busy' (the metadata database busy or unreachable), "
            "not 'not loaded'."
        )
    pickup = [t.to_run_start for t in triggers if t.to_run_start is not None]
    handover = [
        t.to_action_start - t.to_run_start
        for t in triggers
        if t.to_action_start is not None and t.to_run_start is not None
    ]
    if pickup and handover:
        notes.append(
            f"Of the wait from trigger POST to action start, the median {statistics.median(pickup):.2f} s "
            f"passes before the scheduler starts the run (its loop sleeps up to "
            f"`[scheduler] scheduler_idle_sleep_time`, 1 s by default, when idle) and the median "
            f"{statistics.median(handover):.2f} s between run start and the action task's start."
        )
    failed_jobs = [s.job_id for s in new_jobs if s.run_state != "success"]
    failed_runs = [t.run_id for t in triggers if t.run_state != "success"]
    if failed_jobs or failed_runs:
        notes.append(
            f"Runs that did not succeed: first runs of jobs {failed_jobs or 'none'}, triggered runs "
            f"{failed_runs or 'none'}; they are left out of 'run end (success)'."
        )
    for label, values in (
        ("new job -> first 200", [s.ready_seconds for s in new_jobs]),
        ("trigger POST -> action start", [v for t in triggers if (v := t.to_action_start) is not None]),
        ("trigger POST round trip", [t.round_trip_seconds for t in triggers]),
    ):
        if len(values) >= 3:
            median = statistics.median(values)
            outliers = [i for i, v in enumerate(values, 1) if median > 0 and v > 2 * median]
            if outliers:
                notes.append(
                    f"Outliers (more than twice the median) in {label}: sample(s) {outliers}, "
                    f"max {max(values):.3f} s vs median {median:.3f} s."
                )
    return notes


def postgres_version(stack: EmbeddedStack) -> str:
    """Return the version of the stack's PostgreSQL server, as the server reports it."""
    url = stack.config.sqlalchemy_url.replace("postgresql+psycopg2", "postgresql")
    try:
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return str(cursor.fetchone()[0])
    except psycopg2.Error:
        return "unknown"


def stack_facts(
    database: str, load_before: str, load_after: str, others: MachineWatch
) -> dict[str, str]:
    return {
        **machine_facts(),
        "moto": version("moto"),
        "Metadata database": f"PostgreSQL {database} (the embedded stack's own server)",
        "Executor": "LocalExecutor (the embedded stack's default)",
        "Load average 1/5/15 min, before starting the stack": load_before,
        "Load average 1/5/15 min, after the measurements": load_after,
        "Other processes' CPU use during the run": others.describe(),
    }


_BULK_WRITE = "Bulk-writing dags to db"
_HEARTBEAT_RECOVERED = re.compile(r"Heartbeat recovered after ([0-9.]+) seconds")


def dag_processor_stalls(log_file: Path) -> list[tuple[float, bool]]:
    """Return each time the DAG processor's main loop stopped, as Airflow logs it, in seconds.

    Airflow logs "Heartbeat recovered after N seconds" when the loop could not beat for a while;
    each stall says whether a write of parsed DAGs to the database ("Bulk-writing dags to db")
    began since the previous one, i.e. whether that write is what held the loop.
    """
    stalls: list[tuple[float, bool]] = []
    writing = False
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError:
        return stalls
    for line in lines:
        if _BULK_WRITE in line:
            writing = True
        elif match := _HEARTBEAT_RECOVERED.search(line):
            stalls.append((float(match.group(1)), writing))
            writing = False
    return stalls


@dataclass(frozen=True)
class ExistingJobs:
    """The jobs put in the jobs folder before the stack started, and how long Airflow took to load them."""

    count: int
    load_seconds: float  # from the stack reporting healthy to Airflow having loaded every one
    last_parse_seconds: float | None  # the DAG processor's last parse of the factory file, as it records it
    idle_cpu_seconds: float = 0.0  # the DAG processor's CPU time over ``idle_seconds`` with no job change
    idle_seconds: float = 0.0


def loaded_job_dags(api: httpx.Client) -> int:
    """Return how many job DAGs Airflow has loaded."""
    response = api.get("/api/v2/dags", params={"tags": "http-trigger", "limit": 1})
    response.raise_for_status()
    return int(response.json()["total_entries"])


def wait_for_existing_jobs(api: httpx.Client, count: int) -> ExistingJobs:
    """Wait until Airflow has loaded the ``count`` existing jobs; say how long that took."""
    started = time.perf_counter()
    last_logged = 0.0

    def all_loaded() -> bool:
        nonlocal last_logged
        loaded = loaded_job_dags(api)
        if time.perf_counter() - last_logged > 10:
            last_logged = time.perf_counter()
            log.info("Airflow has loaded %s of the %s existing jobs", loaded, count)
        return loaded >= count

    wait_for(all_loaded, timeout=EXISTING_LOAD_TIMEOUT, interval=1, what=f"Airflow to load {count} jobs")
    load_seconds = time.perf_counter() - started
    dag = api.get(f"/api/v2/dags/http_trigger_job_{EXISTING_FIRST_ID}").json()
    return ExistingJobs(
        count=count, load_seconds=load_seconds, last_parse_seconds=dag.get("last_parse_duration")
    )


def measure_idle_dag_processor(stack: EmbeddedStack, existing: ExistingJobs, seconds: float) -> ExistingJobs:
    """Return ``existing`` with the DAG processor's CPU time over ``seconds`` in which no job changes.

    Airflow re-parses every DAG file every ``[dag_processor] min_file_process_interval`` (30 s),
    whether or not it changed, so a window of 60 s or more holds the periodic cost of the jobs.
    """
    pid = stack.processes["dag-processor"].pid
    log.info("Measuring the DAG processor's CPU use for %.0f s with no job change", seconds)
    before = process_tree_cpu_seconds(pid)
    time.sleep(seconds)
    return dataclasses.replace(
        existing, idle_cpu_seconds=process_tree_cpu_seconds(pid) - before, idle_seconds=seconds
    )


def section_key(
    existing: int, factory_files: int = 1, burst: int = 0, settings: dict[str, str] | None = None
) -> str:
    """Name a run's section by the options that change what it measures, so each kind keeps its own."""
    key = "measure_trigger" if existing == 0 else f"measure_trigger --existing-jobs {existing}"
    key += f" --factory-files {factory_files}" if factory_files > 1 else ""
    key += f" --burst {burst}" if burst else ""
    return key + "".join(f" --setting {name}={value}" for name, value in sorted((settings or {}).items()))


def burst_text(burst: Burst | None) -> str:
    """Item 4 of "What is measured", when the run sent a burst."""
    if burst is None:
        return ""
    refused = ", ".join(f"{count} × {kind!r}" for kind, count in sorted(burst.refused.items())) or "none"
    return textwrap.fill(
        f"4. **A burst.** After those, {burst.size} trigger POSTs sent at the same moment (a thread and a "
        f"connection each, released together), spread over the {burst.jobs} new jobs: how long callers wait "
        "when their events coincide, with the LocalExecutor's slots and the scheduler's loop shared by all "
        f"the runs. Each run is then followed as in 2. Answers that started no run: {refused}.",
        width=100,
        subsequent_indent="   ",
    ) + "\n"


def burst_cost_text(burst: Burst | None) -> str:
    """What the burst cost each part of the stack, and where its task processes' time went, if profiled."""
    if burst is None or not burst.samples:
        return ""
    profile = ""
    if burst.task_profile is not None:
        profile = f"""
Where the task processes' time goes: py-spy sampled the scheduler's process tree (the LocalExecutor's
workers and the task processes they fork; busy threads only) during one more burst of {burst.size},
sent after the measured one because sampling slows the tasks. Each sample counts for the step its
innermost named frame belongs to (`benchmarks/run_cost.py`).

{burst.task_profile.table()}
"""
    cpus = os.cpu_count() or 1
    return f"""
### What the burst cost

CPU seconds each part of the stack spent from the burst's first POST until its last run had ended
(the parts' idle work in that time included), over the {len(burst.samples)} runs it started:

{cost_table(burst.cost, len(burst.samples), burst.seconds, cpus)}
{profile}"""


def settings_text(settings: dict[str, str]) -> str:
    """The Airflow settings this run changed from the embedded stack's, as a list."""
    if not settings:
        return ""
    lines = "\n".join(f"- `{name}={value}`" for name, value in sorted(settings.items()))
    return f"\nAirflow settings changed from the embedded stack's for this run:\n\n{lines}\n"


def render_section(
    *,
    command: str,
    started_at: datetime,
    stack_seconds: float,
    total_seconds: float,
    facts: dict[str, str],
    existing: ExistingJobs | None,
    factory_files: int,
    settings: dict[str, str],
    new_jobs: Sequence[NewJobSample],
    triggers: Sequence[TriggerSample],
    burst: Burst | None,
    others: MachineWatch,
    stalls: Sequence[tuple[float, bool]],
) -> str:
    facts_table = markdown_table(["Item", "Value"], [[k, v] for k, v in facts.items()], "ll")
    notes = "\n".join(f"- {note}" for note in observations(new_jobs, triggers, others, stalls))
    if existing is None:
        title, scale = "", "The stack holds no other job: the measured jobs are its only ones."
    else:
        parse = (
            f"; its last parse of the factory file took {existing.last_parse_seconds:.1f} s "
            "(Airflow's own `last_parse_duration`)"
            if existing.last_parse_seconds is not None
            else ""
        )
        title = f" with {existing.count:,} jobs already loaded"
        if factory_files == 1:
            share = (
                "Each measured job is one more job in the same factory file, so it becomes triggerable only "
                f"after a parse of all {existing.count:,} jobs and the database writes that follow it."
            )
        else:
            title += f" in {factory_files} factory files"
            share = (
                f"The jobs are split by id across {factory_files} factory files (`airflow http-trigger factory "
                f"write --shards {factory_files}`), so each measured job becomes triggerable after a parse of "
                f"its own file, about {existing.count // factory_files:,} jobs, and the database writes that "
                "follow it."
            )
        scale = (
            f"**Scale.** {existing.count:,} job specs (the repository's two examples in turn, as in "
            f"`benchmarks/measure_factory.py`) were put in the jobs folder before the stack started. "
            f"Airflow had loaded them all {existing.load_seconds:.0f} s after the stack reported "
            f"healthy{parse}. {share}"
        )
        if existing.idle_seconds:
            scale += (
                f" **Idle cost:** with no job changing, the DAG processor (its manager and the processes "
                f"it parses each file in) used {existing.idle_cpu_seconds:.1f} CPU-seconds in "
                f"{existing.idle_seconds:.0f} s, {existing.idle_cpu_seconds / existing.idle_seconds:.0%} of "
                "one CPU: Airflow re-parses every DAG file every `[dag_processor] min_file_process_interval` "
                "(30 s)."
            )
        scale = textwrap.fill(scale, width=100)
    if burst is not None:
        title += f", and a burst of {burst.size} trigger POSTs"
    return f"""## New job -> triggerable, and trigger POST -> action running{title}

How quickly http-trigger turns a new job, and then a trigger POST, into work running on Airflow.
The figures come from one run of `benchmarks/measure_trigger.py` on a real embedded stack: Airflow's
API server, scheduler, DAG processor and triggerer, PostgreSQL, and a moto server standing in for
AWS, all started as separate processes in a temporary home on free ports (the same stack as
`make run` and the integration tests). The script talks to it over HTTP only.

{scale}

### What is measured, and why

1. **New job -> triggerable.** A new job is a YAML spec plus a registration row; its DAG exists only
   once the DAG processor has parsed the factory file again. Until then the trigger URL answers 503
   ("not loaded yet", with `Retry-After`). The plugin inserts a priority parsing request on every job
   write so that this happens at once instead of at the file's next periodic re-parse (every
   `[dag_processor] min_file_process_interval`, 30 s by default). Measured: from sending
   `POST /http-trigger/api/jobs` to receiving the first 200 from the job's trigger URL, which is
   POSTed every {POLL_INTERVAL} s (resolution: that interval plus one round trip). The 503s answered
   before the 200 are counted. The DAG processor claims parsing requests once per loop, and an idle
   loop lasts about 1 s, so a job waits 0-1 s for the next loop plus the parse of the factory file
   (about 0.2 s): expect a spread over roughly 0.2-1.2 s rather than a steady figure. Each job's first
   run is left to finish before the next job is created, so the jobs are measured one at a time on an
   otherwise idle stack, and a random pause of 0-{CREATE_JITTER:g} s precedes each creation so that the
   creations fall on different phases of that loop.
2. **Trigger POST -> action running.** What a caller waits for after the 200: the scheduler must pick
   up the queued run and the LocalExecutor must start the `action` task. Measured: from the client's
   send time (UTC, taken just before the POST) to the run's `start_date`, to the `action` task
   instance's `start_date`, and to the run's `end_date` (successful runs only), as the server
   records them (`/api/v2/dags/{{dag_id}}/dagRuns/{{run_id}}` and `.../taskInstances/action`). Client and
   server share the machine's clock. The action starts the two demo instances tagged `Env=test` on
   moto and waits until they run; its own duration is shown too, so queueing and work can be told
   apart. The triggers are sent one after another to one job, each after the previous run finished,
   so they measure latency, not throughput.
3. **Trigger endpoint latency.** The HTTP round trip of those trigger POSTs: each is sent on a new
   connection with an empty body, as the job's curl line does, and answers only after the run is
   committed to the metadata database.
{burst_text(burst)}
Percentiles interpolate linearly between the closest ranks; with few samples p90 lies close to the max.
Each run of the command creates its own stack, so figures of different runs are independent.

### Command

Run from the repository root:

```
{command}
```

### Machine

{facts_table}
{settings_text(settings)}
Date (UTC): {started_at:%Y-%m-%d %H:%M}. The stack took {stack_seconds:.0f} s to start and report healthy;
the whole command took {total_seconds:.0f} s.

### Figures

{figures_table(summaries(new_jobs, triggers, burst))}

{notes}
{burst_cost_text(burst)}
### Samples

{samples_tables(new_jobs, triggers)}
"""


# ---------------------------------------------------------------------------------------------------
# Main


def airflow_setting(text: str) -> tuple[str, str]:
    name, separator, value = text.partition("=")
    if not separator or not name.startswith("AIRFLOW__") or name.count("__") < 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not AIRFLOW__SECTION__KEY=VALUE")
    return name, value


def add_setting_argument(parser: argparse.ArgumentParser) -> None:
    """``--setting``: Airflow settings the benchmark's stack runs with, instead of the embedded defaults."""
    parser.add_argument(
        "--setting",
        type=airflow_setting,
        action="append",
        default=[],
        metavar="AIRFLOW__SECTION__KEY=VALUE",
        help="an Airflow setting for every process of the stack (repeatable), e.g. "
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME=0.2",
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.measure_trigger",
        description="Measure new job -> triggerable, trigger POST -> action running, and the trigger "
        "endpoint's latency on a real embedded stack; print the figures and write their section of "
        "BENCHMARKS.md.",
    )
    parser.add_argument("--jobs", type=int, default=5, help="new jobs to create and time (default 5)")
    parser.add_argument("--triggers", type=int, default=10, help="trigger POSTs of one job (default 10)")
    parser.add_argument(
        "--existing-jobs", type=int, default=0, help="job specs to load before measuring (default none)"
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=60,
        help="with existing jobs: how long to measure the DAG processor's CPU use with no job change (default 60; 0: not)",
    )
    parser.add_argument(
        "--burst", type=int, default=0, help="then send this many trigger POSTs at once and follow their runs"
    )
    parser.add_argument(
        "--profile-burst",
        action="store_true",
        help="then send one more burst with py-spy on the task processes: where their time goes",
    )
    add_setting_argument(parser)
    parser.add_argument(
        "--factory-files", type=int, default=1, help="split the jobs across this many factory files (default 1)"
    )
    parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md", help="report to update")
    parser.add_argument("--ready-timeout", type=float, default=180, help="seconds for a job to be ready")
    parser.add_argument("--run-timeout", type=float, default=300, help="seconds a run may take to finish")
    parser.add_argument("--keep-home", action="store_true", help="keep the temporary AIRFLOW_HOME (logs)")
    args = parser.parse_args(argv)
    if not 1 <= args.factory_files <= MAX_SHARDS:
        parser.error(f"--factory-files must be 1 to {MAX_SHARDS}")
    if args.jobs < 1 or args.triggers < 1 or args.existing_jobs < 0 or args.burst < 0:
        parser.error("--jobs and --triggers must be at least 1, --existing-jobs and --burst at least 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    raw_args = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(raw_args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "httpcore", "botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    command = " ".join([COMMAND, *map(shlex.quote, raw_args)])
    started_at = datetime.now(timezone.utc)
    begun = time.monotonic()
    load_before = load_average()
    watch = MachineWatch().start()
    home = Path(tempfile.mkdtemp(prefix="http-trigger-bench-"))
    config = StackConfig(home=home, api_port=free_port(), moto_port=free_port(), extra_env=dict(args.setting))
    if args.factory_files > 1:
        config.dags_folder = home / "dags"
        write_factory_files(config.dags_folder, args.factory_files)
    stack = EmbeddedStack(config)
    succeeded = False
    existing: ExistingJobs | None = None
    try:
        if args.existing_jobs:
            assert config.jobs_folder is not None
            log.info("Writing %s job specs to %s", args.existing_jobs, config.jobs_folder)
            write_specs(config.jobs_folder, args.existing_jobs, first_id=EXISTING_FIRST_ID)
        log.info("Starting the embedded stack in %s", home)
        stack.start(timeout=300)
        stack_seconds = time.monotonic() - begun
        demo.ensure_aws_connection(stack)
        instances = demo.ensure_demo_instances(stack)
        log.info("Demo account ready: instances %s tagged Env=test", ", ".join(instances))
        token = stack.get_api_token()
        # A list of a thousand jobs, or a create during a long parse, can take a while to answer.
        with httpx.Client(
            base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as api:
            if args.existing_jobs:
                existing = wait_for_existing_jobs(api, args.existing_jobs)
                if args.idle_seconds:
                    existing = measure_idle_dag_processor(stack, existing, args.idle_seconds)
                    log.info(
                        "The DAG processor used %.1f CPU-seconds in %.0f s while idle",
                        existing.idle_cpu_seconds, existing.idle_seconds,
                    )
                log.info(
                    "Airflow loaded the %s existing jobs %.0f s after the stack was up (last parse %s s)",
                    existing.count, existing.load_seconds, existing.last_parse_seconds,
                )
            new_jobs: list[NewJobSample] = []
            jobs: list[dict[str, Any]] = []
            for index in range(1, args.jobs + 1):
                time.sleep(random.uniform(0, CREATE_JITTER))
                name = f"bench-new-job-{index}"
                sample, job = measure_new_job(api, name, args.ready_timeout, args.run_timeout)
                new_jobs.append(sample)
                jobs.append(job)
                log.info(
                    "New job %s/%s (id %s): triggerable after %.2f s, %s refused POSTs %s; first run %s",
                    index, args.jobs, sample.job_id, sample.ready_seconds, sum(sample.statuses.values()),
                    dict(sample.statuses), sample.run_state,
                )
            triggers: list[TriggerSample] = []
            for index in range(1, args.triggers + 1):
                trigger = measure_trigger(api, jobs[0], args.run_timeout)
                triggers.append(trigger)
                log.info(
                    "Trigger %s/%s: POST %.0f ms, action start +%s s, run end +%s s (%s)",
                    index, args.triggers, trigger.round_trip_seconds * 1000,
                    f"{trigger.to_action_start:.2f}" if trigger.to_action_start is not None else "?",
                    f"{trigger.to_run_end:.2f}" if trigger.to_run_end is not None else "?",
                    trigger.run_state,
                )
            burst = None
            if args.burst:
                log.info("Sending a burst of %s trigger POSTs at once over %s jobs", args.burst, len(jobs))
                burst = measure_burst(stack, api, jobs, args.burst, args.run_timeout)
                log.info(
                    "Burst: %s runs started, %s refused %s; %.0f CPU-seconds in %.0f s", len(burst.samples),
                    sum(burst.refused.values()), dict(burst.refused), sum(burst.cost.values()), burst.seconds,
                )
                if args.profile_burst:
                    log.info("One more burst of %s, with py-spy on the scheduler's processes", args.burst)
                    profile = profile_burst(stack, api, jobs, args.burst, args.run_timeout)
                    burst = dataclasses.replace(burst, task_profile=profile)
        stack.check_alive()
        database = postgres_version(stack)
        stalls = dag_processor_stalls(config.logs_folder / "dag-processor.log")
        load_after = load_average()
        watch.stop()
        succeeded = True
    except KeyboardInterrupt:
        print("Interrupted; stopping the stack.", file=sys.stderr)
        return 130
    except BenchmarkError as error:
        print(f"Benchmark failed: {error}\nLogs: {config.logs_folder}", file=sys.stderr)
        return 1
    finally:
        # A second signal must not cut the clean-up short and leave processes behind.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        watch.stop()
        stack.stop()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if succeeded and not args.keep_home:
            shutil.rmtree(home, ignore_errors=True)
        else:
            print(f"The stack's home (logs, database) is kept in {home}", file=sys.stderr)

    section = render_section(
        command=command,
        started_at=started_at,
        stack_seconds=stack_seconds,
        total_seconds=time.monotonic() - begun,
        facts=stack_facts(database, load_before, load_after, watch),
        existing=existing,
        factory_files=args.factory_files,
        settings=dict(args.setting),
        new_jobs=new_jobs,
        triggers=triggers,
        burst=burst,
        others=watch,
        stalls=stalls,
    )
    print(figures_table(summaries(new_jobs, triggers, burst)))
    print()
    print("\n".join(f"- {note}" for note in observations(new_jobs, triggers, watch, stalls)))
    key = section_key(args.existing_jobs, args.factory_files, args.burst, dict(args.setting))
    write_section(key, section, path=args.output)
    print(f"\nWrote the section {key!r} of {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
