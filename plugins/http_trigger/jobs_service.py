"""Create, change, delete and inspect jobs: the one place their rules live, for the API and the CLI.

A job is a spec file (its definition) plus a registration row in the metadata DB (its id, URL id
and token). Every change asks Airflow to re-parse the DAG factory file at once, so the job is
triggerable in seconds instead of after the DAG processor's next scan.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from airflow.models.dag import DagModel
from airflow.models.dagbag import DagPriorityParsingRequest
from sqlalchemy import select
from sqlalchemy.orm import Session

from http_trigger import settings, trigger_secrets
from http_trigger.errors import JobNotReadyError
from http_trigger.job_files import StoredJob, delete_job_file, get_job, load_jobs, write_job
from http_trigger.job_model import Job, JobBody
from http_trigger.trigger_secrets import IssuedSecret

TRIGGER_PATH = "/http-trigger/trigger/"


@dataclass(frozen=True)
class JobDetails:
    """A job with what a caller needs to start it; ``secret`` is None once the job is deleted."""

    stored: StoredJob
    secret: IssuedSecret | None
    is_paused: bool | None

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
        """Return the ready-to-copy command line, in the form the seed document shows."""
        if self.secret is None or self.trigger_url is None:
            return None
        header = shlex.quote(f"Authorization: CAAuth {self.secret.token}")
        return f'curl -X POST -H {header} -H "Content-Length: 0" {shlex.quote(self.trigger_url)}'


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
    """Replace a job's definition; its id, URL and token stay."""
    get_job(_folder(), job_id)
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
    """Return one job with its trigger URL and token."""
    return _details(session, get_job(_folder(), job_id))


def list_jobs(*, session: Session) -> tuple[list[JobDetails], list[str]]:
    """Return every valid job, and the messages of spec files that could not be read."""
    stored_jobs, errors = load_jobs(_folder())
    return [_details(session, stored) for stored in stored_jobs], [str(error) for error in errors]
