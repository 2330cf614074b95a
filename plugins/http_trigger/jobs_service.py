"""Create, change, delete and inspect jobs: the one place their rules live, for the API and the CLI.

A job is a spec file (its definition) plus a registration row in the metadata DB (its id, URL id
and token). Every change asks Airflow to re-parse the DAG factory file at once, so the job is
triggerable in seconds instead of after the DAG processor's next scan.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from airflow.models.dag import DagModel
from airflow.models.dagbag import DagPriorityParsingRequest
from sqlalchemy import select
from sqlalchemy.orm import Session

from http_trigger import run_history, settings, trigger_secrets
from http_trigger.errors import JobNotReadyError
from http_trigger.job_files import BrokenSpec, StoredJob, delete_job_file, get_job, load_jobs, write_job
from http_trigger.job_model import Job, JobBody, dag_id_for
from http_trigger.run_history import RunSummary
from http_trigger.trigger_secrets import IssuedSecret

TRIGGER_PATH = "/http-trigger/trigger/"
_SAFE_IN_DOUBLE_QUOTES = re.compile(r"[\w :.=+/-]*")


@dataclass(frozen=True)
class JobDetails:
    """A job with what a caller needs to start it; ``secret`` is None once the job is deleted."""

    stored: StoredJob
    secret: IssuedSecret | None
    is_paused: bool | None
    last_run: RunSummary | None = None
    next_run_after: datetime | None = None

    @property
    def job(self) -> Job:
        return self.stored.job

    @property
    def trigger_url(self) -> str | None:
        if self.secret is None:
            return None
        return f"{settings.base_url()}{TRIGGER_PATH}{self.secret.url_id}"

    @property
    def curl(self) -> str | None:
        """Return the ready-to-copy command line, in the form the seed document shows.

        The token is URL-safe base64 (letters, digits, ``-`` and ``_``), so it sits in double
        quotes exactly as in the seed; the URL is quoted for the shell only when it needs it.
        """
        if self.secret is None or self.trigger_url is None:
            return None
        header = f"Authorization: CAAuth {self.secret.token}"
        quoted = f'"{header}"' if _SAFE_IN_DOUBLE_QUOTES.fullmatch(header) else shlex.quote(header)
        return f'curl -X POST -H {quoted} -H "Content-Length: 0" {shlex.quote(self.trigger_url)}'


def _folder() -> Path:
    return settings.jobs_folder()


def request_reparse(*, session: Session) -> None:
    """Ask the DAG processor to parse the factory file next, unless that is already asked."""
    bundle_name = settings.dags_bundle_name()
    pending = session.scalar(
        select(DagPriorityParsingRequest.id).where(
            DagPriorityParsingRequest.bundle_name == bundle_name,
            DagPriorityParsingRequest.relative_fileloc == settings.FACTORY_FILE_NAME,
        )
    )
    if pending is None:
        session.add(
            DagPriorityParsingRequest(bundle_name=bundle_name, relative_fileloc=settings.FACTORY_FILE_NAME)
        )


def _paused_state(session: Session, job: Job) -> bool | None:
    """Return whether the job's DAG is paused, or None while Airflow has not parsed it yet."""
    return session.scalar(select(DagModel.is_paused).where(DagModel.dag_id == job.dag_id))


def _details(session: Session, stored: StoredJob) -> JobDetails:
    secret = trigger_secrets.get_secret(session=session, job_id=stored.job.id)
    if secret is None:
        # A spec written by hand (GitOps) gets its URL and token the first time it is looked at.
        secret = trigger_secrets.ensure_registered(session=session, job_id=stored.job.id)
    return JobDetails(stored=stored, secret=secret, is_paused=_paused_state(session, stored.job))


def create_job(*, session: Session, body: JobBody, job_id: int | None = None) -> JobDetails:
    """Register a new job (a fresh id unless the spec brings one) and write its spec."""
    if job_id is None:
        secret = trigger_secrets.register_job(session=session)
    else:
        secret = trigger_secrets.ensure_registered(session=session, job_id=job_id)
    job = Job(id=secret.job_id, **body.model_dump())
    stored = write_job(_folder(), job, create=True)
    request_reparse(session=session)
    return JobDetails(stored=stored, secret=secret, is_paused=None)


def update_job(
    *, session: Session, job_id: int, body: JobBody, expected_version: str | None = None
) -> JobDetails:
    """Replace a job's definition; its id, URL and token stay.

    The current file is not read, only replaced: that is also how a broken spec gets repaired.
    """
    stored = write_job(_folder(), Job(id=job_id, **body.model_dump()), expected_version=expected_version)
    request_reparse(session=session)
    return _details(session, stored)


def delete_job(*, session: Session, job_id: int) -> None:
    """Delete a job's spec and revoke its URL and token; its runs stay readable in Airflow."""
    delete_job_file(_folder(), job_id)
    trigger_secrets.unregister(session=session, job_id=job_id)
    request_reparse(session=session)


def rotate_secret(*, session: Session, job_id: int) -> JobDetails:
    """Issue a new URL id and token; the old ones answer 404 from now on."""
    stored = get_job(_folder(), job_id)
    trigger_secrets.rotate(session=session, job_id=job_id)
    return _details(session, stored)


def set_enabled(*, session: Session, job_id: int, enabled: bool) -> JobDetails:
    """Enable (unpause) or disable (pause) a job's DAG, the switch the Airflow UI shows too."""
    stored = get_job(_folder(), job_id)
    dag_model = session.scalar(select(DagModel).where(DagModel.dag_id == stored.job.dag_id))
    if dag_model is None:
        raise JobNotReadyError(job_id)
    dag_model.is_paused = not enabled
    session.flush()
    return _details(session, stored)


def get_job_details(*, session: Session, job_id: int) -> JobDetails:
    """Return one job with its trigger URL and token; raise :class:`JobBrokenError` if its spec is broken."""
    return _details(session, get_job(_folder(), job_id))


def list_jobs(*, session: Session) -> tuple[list[JobDetails], list[BrokenSpec]]:
    """Return every job that loads, and every spec file that does not."""
    stored_jobs, broken = load_jobs(_folder())
    return [_details(session, stored) for stored in stored_jobs], broken


JobOrder = Literal[
    "id", "name", "group", "action", "aws_conn_id", "enabled", "schedule", "last_run", "next_run"
]


@dataclass(frozen=True)
class JobPage:
    """One page of the job list, how many jobs matched in all, the groups to filter by, and what is broken.

    ``broken_jobs`` are the jobs the caller may read whose spec does not load: they are listed
    apart, whatever the filters and the page, so that they are seen and fixed. ``spec_errors``
    holds the message of each broken file the caller may see, those tied to no job included.
    """

    jobs: list[JobDetails]
    total_entries: int
    groups: list[str]
    spec_errors: list[str]
    broken_jobs: list[BrokenSpec]


def _matches(job: Job, needle: str) -> bool:
    haystack = (
        str(job.id), job.name, job.group, job.description, job.action.type, job.action.aws_conn_id, *job.tags
    )
    return any(needle in value.casefold() for value in haystack)


def _sort_value(details: JobDetails, order_by: JobOrder) -> Any:
    """Return the value a job is sorted by, or None when it has none (never run, not scheduled)."""
    job = details.job
    if order_by == "enabled":
        return None if details.is_paused is None else not details.is_paused
    if order_by == "last_run":
        return details.last_run.run_after if details.last_run else None
    return {
        "id": job.id,
        "name": job.name.casefold(),
        "group": job.group.casefold(),
        "action": job.action.type,
        "aws_conn_id": job.action.aws_conn_id,
        "schedule": job.schedule,
        "next_run": details.next_run_after,
    }[order_by]


def _sorted(rows: list[JobDetails], order_by: JobOrder, descending: bool) -> list[JobDetails]:
    """Sort by ``order_by`` then id; jobs without a value come last in either direction."""
    valued = [(value, row) for row in rows if (value := _sort_value(row, order_by)) is not None]
    valued.sort(key=lambda pair: (pair[0], pair[1].job.id), reverse=descending)
    missing = [row for row in rows if _sort_value(row, order_by) is None]
    return [row for _, row in valued] + sorted(missing, key=lambda row: row.job.id)


def find_jobs(
    *,
    session: Session,
    readable: Callable[[set[str]], Iterable[str]] | None = None,
    group: str | None = None,
    search: str | None = None,
    order_by: JobOrder = "id",
    descending: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> JobPage:
    """Filter, sort and page the jobs; only the page's secrets are read, so a thousand jobs stay fast.

    ``readable`` keeps the DAG ids the caller may see (the API passes the auth manager's filter).
    """
    stored_jobs, broken = load_jobs(_folder())
    if readable is not None:
        broken_dag_ids = {dag_id_for(spec.job_id) for spec in broken if spec.job_id is not None}
        allowed = set(readable({stored.job.dag_id for stored in stored_jobs} | broken_dag_ids))
        stored_jobs = [stored for stored in stored_jobs if stored.job.dag_id in allowed]
        broken = [spec for spec in broken if spec.job_id is None or dag_id_for(spec.job_id) in allowed]
    groups = sorted({stored.job.group for stored in stored_jobs}, key=str.casefold)
    if group:
        stored_jobs = [stored for stored in stored_jobs if stored.job.group == group]
    if search and search.strip():
        needle = search.strip().casefold()
        stored_jobs = [stored for stored in stored_jobs if _matches(stored.job, needle)]
    states = run_history.dag_states(session=session)
    last_runs = run_history.latest_runs(session=session)
    rows = []
    for stored in stored_jobs:
        state = states.get(stored.job.dag_id)
        rows.append(
            JobDetails(
                stored=stored,
                secret=None,
                is_paused=state.is_paused if state else None,
                last_run=last_runs.get(stored.job.dag_id),
                next_run_after=state.next_run_after if state else None,
            )
        )
    rows = _sorted(rows, order_by, descending)
    page = rows[offset : offset + limit if limit is not None else None]
    with_secrets = [
        JobDetails(
            stored=row.stored,
            secret=_details(session, row.stored).secret,
            is_paused=row.is_paused,
            last_run=row.last_run,
            next_run_after=row.next_run_after,
        )
        for row in page
    ]
    return JobPage(
        jobs=with_secrets,
        total_entries=len(rows),
        groups=groups,
        spec_errors=[str(spec.error) for spec in broken],
        broken_jobs=[spec for spec in broken if spec.job_id is not None],
    )
