"""Create, change, delete and inspect jobs: the one place their rules live, for the API and the CLI.

A job is a spec file (its definition) plus a registration row in the metadata DB (its id, URL id
and token). Every change asks Airflow to re-parse the DAG factory file at once, so the job is
triggerable in seconds instead of after the DAG processor's next scan, and is recorded in the
job's audit (:mod:`http_trigger.jobs.audit`) in the same transaction: no change is committed
without its entry, and no entry without its change.

Writes are all-or-nothing across the two sides, so this module commits the caller's session
itself, between its file steps. What makes a job exist is its spec file in place
(``job_<id>.yaml``): a registration without one is invisible (listed nowhere, its URL answers
404), and hidden files are never read. Each write orders its steps so that a failure at any
point (a full or read-only folder, a database error at flush or commit) is undone, and a process
killed at any point leaves only invisible remains:

- create: register the id, stage the spec in a hidden temporary file, commit, then keep the
  post-processing definitions it references, check them again and rename the file into place; if
  that fails, retire the id. The spec appears only after its registration is committed, which is
  how a spec written by hand (GitOps) is told apart from a half-done create: a spec in place with
  no registration at all can only have been written by hand, and readers register it (once:
  concurrent readers' INSERTs cannot both land).
- update: lock the registration row, keep and check the definitions it references, check the
  version and stage, rename into place, commit; if the commit fails, put the previous content
  back. The rename comes before the commit so that the row lock covers both the version check and
  the rename: no concurrent update is lost.
- delete: lock, rename the spec to a hidden tombstone (readers no longer see it), revoke the
  secrets and commit, then remove the tombstone; if the commit fails, rename it back.
- rotate: lock, check the spec is in place, issue new secrets, commit; no file changes.
- duplicate: a create, of the definition the original's spec holds; the original is only read.

A process killed between the steps leaves a hidden file (removed by a later write once stale) and
at most a registration whose spec is not in place, which nothing shows. A spec in place whose id
was deleted (say, restored from version control) is shown as a problem of that file, not as a job.
Reads write nothing, except the one-time registration of a spec written by hand.

Keeping a definition (:mod:`http_trigger.jobs.definition_locks`) holds off its deletion from the
check that it exists until the spec using it is in place, so no write leaves a job referencing a
deleted definition: the delete sees the job and refuses, or goes first and the job write is refused.

Reads show a job as broken when its spec does not load, and also when it loads but Airflow has no
DAG for it and the DAG factory cannot build one (:func:`http_trigger.dag_builder.build_problem`):
the job would otherwise look fine while it can never run.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from airflow.models.dag import DagModel
from airflow.models.dagbag import DagPriorityParsingRequest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from http_trigger import settings, urls
from http_trigger.dag_builder import build_problem, missing_dag_error
from http_trigger.errors import JobBrokenError, JobDeletedError, JobNotFoundError, JobSpecError
from http_trigger.factory_files import factory_file_of_job
from http_trigger.jobs import audit as job_audit
from http_trigger.jobs.audit import Actor, JobEvent
from http_trigger.jobs.definition_locks import keep_definitions
from http_trigger.jobs.definitions import definitions_folder, resolve_references
from http_trigger.jobs.files import (
    BrokenSpec,
    StoredJob,
    get_job,
    hide_job_file,
    load_jobs,
    remove_stale_leftovers,
    stage_job,
    validate_spec,
)
from http_trigger.jobs.model import NAME_MAX_LEN, Job, JobBody
from http_trigger.jobs.spec_names import DAG_ID_PREFIX, dag_id_for, spec_path
from http_trigger.jobs.spec_yaml import WHOLE_FILE
from http_trigger.runs import history as run_history
from http_trigger.runs.history import RunSummary
from http_trigger.secrets import trigger_credentials
from http_trigger.secrets.spec_secrets import keep_masked_secrets
from http_trigger.secrets.trigger_credentials import IssuedSecret, Registration

log = logging.getLogger(__name__)
_SAFE_IN_DOUBLE_QUOTES = re.compile(r"[\w :.=+/-]*")
COPY_SUFFIX = " (copy)"
"""What the default name of a duplicated job adds to its original's name."""


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
        return urls.trigger_url(self.secret.url_id)

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


def factory_location(*, session: Session, job_id: int) -> tuple[str, str]:
    """Return the bundle, and the path in it, of the DAG factory file that builds ``job_id``.

    Airflow records where it parsed each DAG: the job's own DAG names its file. A job Airflow has
    not parsed yet is built by a file of the same set as the others (the most recently parsed live
    job names one, and the set's size; see :mod:`http_trigger.factory_files`), so the deployment may
    keep its factory files anywhere. Before any job has been parsed, ``[http_trigger]
    dags_bundle_name`` and ``factory_file`` say.
    """
    found = session.execute(
        select(DagModel.bundle_name, DagModel.relative_fileloc)
        .where(
            DagModel.dag_id.startswith(DAG_ID_PREFIX, autoescape=True),
            DagModel.relative_fileloc.is_not(None),
            ~DagModel.is_stale,
        )
        .order_by((DagModel.dag_id == dag_id_for(job_id)).desc(), DagModel.last_parsed_time.desc().nulls_last())
        .limit(1)
    ).first()
    bundle_name, relative_fileloc = found or (settings.dags_bundle_name(), settings.factory_file())
    return bundle_name, factory_file_of_job(job_id, relative_fileloc)


def request_reparse(*, session: Session, job_id: int) -> None:
    """Ask the DAG processor to parse the factory file of ``job_id`` next, unless that is already asked.

    Airflow keys a request by a hash of bundle and file, so two concurrent job writes insert the
    same key; the loser's insert is undone in a savepoint (the request it wanted exists) instead of
    failing the whole write.
    """
    bundle_name, relative_fileloc = factory_location(session=session, job_id=job_id)
    pending = session.scalar(
        select(DagPriorityParsingRequest.id).where(
            DagPriorityParsingRequest.bundle_name == bundle_name,
            DagPriorityParsingRequest.relative_fileloc == relative_fileloc,
        )
    )
    if pending is not None:
        return
    try:
        with session.begin_nested():
            session.add(DagPriorityParsingRequest(bundle_name=bundle_name, relative_fileloc=relative_fileloc))
    except IntegrityError:
        pass


def _paused_state(session: Session, job: Job) -> bool | None:
    """Return whether the job's DAG is paused, or None while Airflow has no (live) DAG for it."""
    return session.scalar(
        select(DagModel.is_paused).where(DagModel.dag_id == job.dag_id, ~DagModel.is_stale)
    )


def _details(session: Session, stored: StoredJob) -> JobDetails:
    return JobDetails(stored=stored, secret=_secret(session, stored), is_paused=_paused_state(session, stored.job))


def _secret(session: Session, stored: StoredJob) -> IssuedSecret:
    """Return the secrets of a job read from its spec, registering a spec written by hand first.

    Raises :class:`JobNotFoundError` when the job was deleted since its spec was read, and
    :class:`JobSpecError` when the spec is a leftover of a deleted job.
    """
    job_id = stored.job.id
    secret = trigger_credentials.get_secret(session=session, job_id=job_id)
    if secret is None:
        if trigger_credentials.registration(session=session, job_id=job_id) is Registration.DELETED:
            raise _deleted_job_error(stored)
        # In place with no registration at all: written by hand, since a create commits first.
        if trigger_credentials.claim_job_id(session=session, job_id=job_id):
            session.commit()
        secret = trigger_credentials.get_secret(session=session, job_id=job_id)
    if secret is None:
        raise JobNotFoundError(job_id)  # deleted since it was registered
    return secret


def _deleted_job_error(stored: StoredJob) -> JobSpecError | JobNotFoundError:
    """Return the error for a spec whose id is deleted: a leftover if still in place, else a deleted job.

    A delete hides the spec before it commits, so a spec still in place after its id was seen
    deleted was not just being deleted: it was put (back) there.
    """
    if not stored.path.is_file():
        return JobNotFoundError(stored.job.id)
    return JobSpecError(
        stored.path.name,
        (
            "id",
            f"job {stored.job.id} was deleted and its id cannot be used again; "
            "remove the file, or create a new job from it without its id",
        ),
    )


@contextmanager
def undone_on_error(session: Session, *undo: Callable[[], None]) -> Iterator[None]:
    """When the block fails, run the ``undo`` steps in order, roll the session back, and re-raise.

    Every write of a file together with rows (jobs here, shared post-processing definitions too)
    goes through it. The steps run before the rollback, so a file is put back while the job's row
    lock is still held. A failing step is logged and the others still run: the error the caller
    sees stays the one that made the write fail.
    """
    try:
        yield
    except BaseException:
        for step in (*undo, session.rollback):
            try:
                step()
            except Exception:
                log.exception("Could not undo a failed write completely")
        raise


def _lock_for_write(session: Session, job_id: int, *, deleted: bool = False) -> None:
    """Lock the job's registration until this transaction ends, registering a spec written by hand.

    A deleted job is refused (:class:`JobDeletedError`) unless ``deleted`` allows it.
    """
    state = trigger_credentials.registration(session=session, job_id=job_id, lock=True)
    if state is Registration.NONE:
        if not spec_path(_folder(), job_id).is_file():
            raise JobNotFoundError(job_id)
        trigger_credentials.claim_job_id(session=session, job_id=job_id)
        state = trigger_credentials.registration(session=session, job_id=job_id, lock=True)
    if state is Registration.DELETED and not deleted:
        raise JobDeletedError(job_id)


def _new_registration(session: Session, job_id: int | None) -> IssuedSecret:
    """Register the new job's id; a spec written by hand under a fresh id keeps that registration."""
    secret = trigger_credentials.register_job(session=session, job_id=job_id)
    while job_id is None and spec_path(_folder(), secret.job_id).exists():
        secret = trigger_credentials.register_job(session=session)
    return secret


def create_job(
    *,
    session: Session,
    body: JobBody,
    actor: Actor,
    job_id: int | None = None,
    audit_details: Mapping[str, Any] | None = None,
) -> JobDetails:
    """Register a new job (a fresh id unless the spec brings one), write its spec and audit it; commits.

    ``audit_details`` go in the create's audit entry (names and ids only, e.g. the job it copies).
    """
    body = keep_masked_secrets(body, job_id=None, current=lambda: None)  # refuses any masked value
    _check_references(body, source="new job")  # before an id is spent; checked again once kept
    remove_stale_leftovers(_folder())
    with undone_on_error(session):
        secret = _new_registration(session, job_id)
        staged = stage_job(_folder(), Job(id=secret.job_id, **body.model_dump()), create=True)
    with undone_on_error(session, staged.discard):
        job_audit.record(
            session, event=JobEvent.CREATE, actor=actor, job_id=secret.job_id, details=audit_details
        )
        request_reparse(session=session, job_id=secret.job_id)
        session.commit()
    with undone_on_error(session, staged.discard, lambda: _retire(session, secret.job_id)):
        _keep_references(session, body, source="new job")
        staged.publish()
    session.rollback()  # ends the transaction that kept the definitions: it wrote nothing
    return JobDetails(stored=staged.stored, secret=secret, is_paused=None)


def _check_references(body: JobBody, *, source: str) -> None:
    """Refuse a body referencing a post-processing definition that does not exist or does not load.

    What the API accepts must load in Airflow; a file written by hand gets the same answer as a
    broken job instead.
    """
    resolve_references(body, definitions_folder(_folder()), source=source)


def _keep_references(session: Session, body: JobBody, *, source: str) -> None:
    """Keep the definitions the body references from deletion until the transaction ends, then check them.

    Checked once kept: a definition deleted since an earlier check is found gone, not kept deleted.
    """
    keep_definitions(session, body.post_processing.references())
    _check_references(body, source=source)


def copy_name(name: str) -> str:
    """Return the default name of a copy of a job named ``name``, within the name's length limit."""
    return f"{name[: NAME_MAX_LEN - len(COPY_SUFFIX)].rstrip()}{COPY_SUFFIX}"


def duplicate_job(
    *, session: Session, job_id: int, actor: Actor, name: str | None = None, enabled: bool = False
) -> JobDetails:
    """Create a new job with the definition of job ``job_id``: a new id, URL, token and signing secret. Commits.

    The copy has the original's action, parameters, schedule, trigger settings, post-processing
    (secrets included), group, description and tags; its name is ``name`` or :func:`copy_name`'s.
    It starts disabled unless ``enabled``: a copy of a scheduled job would otherwise run beside
    its original before anyone changed it. Its audit entry is a create naming the job it copies.
    A job whose spec does not load cannot be copied (:class:`JobBrokenError`).
    """
    original = get_job(_folder(), job_id).job
    data = {**original.model_dump(exclude={"id"}), "name": name or copy_name(original.name), "enabled": enabled}
    body = validate_spec(data, source=f"copy of job {job_id}", model=JobBody)
    return create_job(session=session, body=body, actor=actor, audit_details={"duplicated_from": job_id})


def _retire(session: Session, job_id: int) -> None:
    """Retire the id of a create whose spec could not be put in place; its registration was committed."""
    trigger_credentials.unregister(session=session, job_id=job_id)
    session.commit()


def update_job(
    *, session: Session, job_id: int, body: JobBody, actor: Actor, expected_version: str | None = None
) -> JobDetails:
    """Replace a job's definition; its id, URL and token stay. Audits the fields changed, by name. Commits.

    A secret the body leaves masked keeps its current value. Otherwise the current file is not read
    as a spec, only replaced: that is also how a broken spec is repaired (its audit names the file).
    """
    remove_stale_leftovers(_folder())
    with undone_on_error(session):
        _lock_for_write(session, job_id)
        previous = _current_job(job_id)
        body = keep_masked_secrets(body, job_id=job_id, current=lambda: previous)
        _keep_references(session, body, source=f"job {job_id}")
        job = Job(id=job_id, **body.model_dump())
        staged = stage_job(_folder(), job, expected_version=expected_version)
    with undone_on_error(session, staged.discard):
        if previous is None:  # a spec that did not load is replaced whole
            details = {"fields": [WHOLE_FILE]}
        else:
            details = {"fields": job_audit.changed_fields(previous.model_dump(), job.model_dump())}
        job_audit.record(session, event=JobEvent.UPDATE, actor=actor, job_id=job_id, details=details)
        request_reparse(session=session, job_id=job_id)
        session.flush()
        staged.publish()
    with undone_on_error(session, staged.revert):
        session.commit()
    return _details(session, staged.stored)


def _current_job(job_id: int) -> Job | None:
    """Return the job as its spec file holds it, or None when that spec does not load."""
    try:
        return get_job(_folder(), job_id).job
    except JobBrokenError:
        return None


def delete_job(*, session: Session, job_id: int, actor: Actor) -> None:
    """Delete a job's spec and revoke its URL and token; its runs stay readable in Airflow. Commits.

    Deleting the leftover spec of a job deleted before removes that file.
    """
    remove_stale_leftovers(_folder())
    with undone_on_error(session):
        _lock_for_write(session, job_id, deleted=True)
        hidden = hide_job_file(_folder(), job_id)
    with undone_on_error(session, hidden.restore):
        trigger_credentials.unregister(session=session, job_id=job_id)
        job_audit.record(session, event=JobEvent.DELETE, actor=actor, job_id=job_id)
        request_reparse(session=session, job_id=job_id)
        session.commit()
    try:
        hidden.remove()
    except OSError:
        log.warning("Job %s is deleted, but %s could not be removed yet", job_id, hidden.tombstone.name)


def rotate_secret(*, session: Session, job_id: int, actor: Actor) -> JobDetails:
    """Issue a new URL id and token; the old ones answer 404 once the job's rotation grace is over. Commits."""
    with undone_on_error(session):
        _lock_for_write(session, job_id)
        stored = get_job(_folder(), job_id)
        grace = timedelta(seconds=stored.job.trigger.rotation_grace_seconds)
        trigger_credentials.rotate(session=session, job_id=job_id, grace=grace)
        job_audit.record(session, event=JobEvent.ROTATE, actor=actor, job_id=job_id)
        session.commit()
    return _details(session, stored)


def set_enabled(*, session: Session, job_id: int, enabled: bool, actor: Actor) -> JobDetails:
    """Enable (unpause) or disable (pause) a job's DAG, the switch the Airflow UI shows too, and audit it.

    The caller commits, the switch and its audit entry together.
    """
    stored = get_job(_folder(), job_id)
    dag_model = session.scalar(select(DagModel).where(DagModel.dag_id == stored.job.dag_id))
    if dag_model is None:
        raise missing_dag_error(stored)
    dag_model.is_paused = not enabled
    event = JobEvent.ENABLE if enabled else JobEvent.DISABLE
    job_audit.record(session, event=event, actor=actor, job_id=job_id)
    session.flush()
    return _details(session, stored)


def job_known(*, session: Session, job_id: int) -> bool:
    """Tell whether ``job_id`` names a job, live or deleted: a deleted job's audit stays readable."""
    if trigger_credentials.registration(session=session, job_id=job_id) is not Registration.NONE:
        return True
    return spec_path(_folder(), job_id).is_file()  # written by hand, not registered yet


def get_job_details(*, session: Session, job_id: int) -> JobDetails:
    """Return one job with its trigger URL and token; raise :class:`JobBrokenError` if it cannot run.

    It cannot when its spec does not load, or when Airflow has no DAG for it and none can be built.
    """
    stored = get_job(_folder(), job_id)
    details = _details(session, stored)
    if details.is_paused is None and (problem := build_problem(stored)) is not None:
        raise JobBrokenError(job_id, problem)
    return details


def broken_specs(*, session: Session) -> list[BrokenSpec]:
    """Return each spec file that gives no job able to run, with its problem, as :func:`find_jobs` does."""
    return _load_live_jobs(session, loaded_dag_ids=run_history.dag_states(session=session).keys())[1]


def list_jobs(*, session: Session) -> tuple[list[JobDetails], list[str]]:
    """Return every valid job, and the messages of spec files that could not be read."""
    page = find_jobs(session=session)
    return page.jobs, page.spec_errors


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


def _sort_value(details: JobDetails, order_by: JobOrder, last_run_times: Mapping[str, datetime]) -> Any:
    """Return the value a job is sorted by, or None when it has none (never run, not scheduled)."""
    job = details.job
    if order_by == "enabled":
        return None if details.is_paused is None else not details.is_paused
    if order_by == "last_run":
        return last_run_times.get(job.dag_id)
    return {
        "id": job.id,
        "name": job.name.casefold(),
        "group": job.group.casefold(),
        "action": job.action.type,
        "aws_conn_id": job.action.aws_conn_id,
        "schedule": job.schedule,
        "next_run": details.next_run_after,
    }[order_by]


def _sorted(
    rows: list[JobDetails], order_by: JobOrder, descending: bool, session: Session
) -> list[JobDetails]:
    """Sort by ``order_by`` then id; jobs without a value come last in either direction."""
    last_run_times = run_history.latest_run_times(session=session) if order_by == "last_run" else {}
    valued = [
        (value, row) for row in rows if (value := _sort_value(row, order_by, last_run_times)) is not None
    ]
    valued.sort(key=lambda pair: (pair[0], pair[1].job.id), reverse=descending)
    missing = [row for row in rows if _sort_value(row, order_by, last_run_times) is None]
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
    """Filter, sort and page the jobs; only the page's runs and secrets are read, so thousands stay fast.

    ``readable`` keeps the DAG ids the caller may see (the API passes the auth manager's filter).
    """
    states = run_history.dag_states(session=session)
    stored_jobs, broken = _load_live_jobs(session, loaded_dag_ids=states.keys())
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
    rows = []
    for stored in stored_jobs:
        state = states.get(stored.job.dag_id)
        rows.append(
            JobDetails(
                stored=stored,
                secret=None,
                is_paused=state.is_paused if state else None,
                next_run_after=state.next_run_after if state else None,
            )
        )
    rows = _sorted(rows, order_by, descending, session)
    page = rows[offset : offset + limit if limit is not None else None]
    # Only the page's runs and secrets are read: the same cost whatever the history's size.
    last_runs = run_history.latest_runs(session=session, dag_ids=[row.job.dag_id for row in page])
    secrets = trigger_credentials.get_secrets(session=session, job_ids=[row.job.id for row in page])
    with_secrets = []
    for row in page:
        try:
            secret = secrets.get(row.job.id) or _secret(session, row.stored)
        except JobNotFoundError:
            continue  # deleted while this page was read
        except JobSpecError as error:
            broken.append(BrokenSpec(path=row.stored.path, job_id=None, error=error))
            continue
        with_secrets.append(
            JobDetails(
                stored=row.stored,
                secret=secret,
                is_paused=row.is_paused,
                last_run=last_runs.get(row.job.dag_id),
                next_run_after=row.next_run_after,
            )
        )
    return JobPage(
        jobs=with_secrets,
        total_entries=len(rows),
        groups=groups,
        spec_errors=[str(spec.error) for spec in broken],
        broken_jobs=[spec for spec in broken if spec.job_id is not None],
    )


def _load_live_jobs(
    session: Session, *, loaded_dag_ids: Collection[str]
) -> tuple[list[StoredJob], list[BrokenSpec]]:
    """Read every spec; a leftover of a deleted job becomes a problem of its file, tied to no job.

    A job whose DAG Airflow has not loaded (``loaded_dag_ids``) is broken when its DAG cannot be
    built: only those are built here, so a list of a thousand loaded jobs builds none.
    """
    stored_jobs, broken = load_jobs(_folder())
    deleted = trigger_credentials.deleted_job_ids(session=session)
    # A broken spec of a deleted job is no job's any more: a problem of its file alone.
    broken = [
        BrokenSpec(path=spec.path, job_id=None, error=spec.error) if spec.job_id in deleted else spec
        for spec in broken
    ]
    live = []
    for stored in stored_jobs:
        if stored.job.id in deleted:
            if isinstance(leftover := _deleted_job_error(stored), JobSpecError):
                broken.append(BrokenSpec(path=stored.path, job_id=None, error=leftover))
        elif stored.job.dag_id not in loaded_dag_ids and (problem := build_problem(stored)) is not None:
            broken.append(BrokenSpec(path=stored.path, job_id=stored.job.id, error=problem))
        else:
            live.append(stored)
    return live, broken
