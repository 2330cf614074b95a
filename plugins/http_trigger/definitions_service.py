"""Create, change, delete and show shared post-processing definitions, for the API and the CLI.

A definition is one file (:mod:`http_trigger.jobs.definitions`), shown like a job's steps: every
secret masked for every reader (:mod:`http_trigger.secrets.spec_secrets`), a masked value sent back
in an update keeping the secret it stands for. Each write is recorded in Airflow's audit log in the
same transaction (:mod:`http_trigger.jobs.audit`), and is undone when that transaction fails.

A change reaches the jobs using the definition through their DAGs: an update asks Airflow to
re-parse the factory file of each job that references it (:func:`jobs_service.request_reparse`),
so their next runs use the new parameters. A definition in use cannot be deleted: that would
break the jobs using it, so the refusal names them. (A job written by hand meanwhile may still
reference a deleted definition; it is then broken like any job whose spec cannot be built.)

Each write first locks the definition in the metadata database until it commits or fails
(:mod:`http_trigger.jobs.definition_locks`), on whichever API server or CLI it runs: two writes of
one definition go one after the other, and a delete waits for the job writes that are putting a
reference to it in place, then counts their jobs among its users.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from http_trigger import jobs_service, settings
from http_trigger.errors import DefinitionInUseError, JobSpecError
from http_trigger.jobs import audit as job_audit
from http_trigger.jobs.audit import Actor, DefinitionEvent
from http_trigger.jobs.definition_locks import lock_definition
from http_trigger.jobs.definitions import (
    BrokenDefinition,
    StoredDefinition,
    definition_path,
    definitions_folder,
    get_definition,
    hide_definition,
    jobs_using,
    load_definitions,
    write_definition,
)
from http_trigger.jobs.files import load_jobs, write_atomically
from http_trigger.jobs.model import Job, PostProcessingDefinition, PostProcessingSpec
from http_trigger.jobs.spec_yaml import WHOLE_FILE
from http_trigger.secrets.spec_secrets import keep_masked_definition_secrets, masked_spec


@dataclass(frozen=True)
class DefinitionDetails:
    """A definition with the jobs that reference it (those whose spec loads), by id."""

    stored: StoredDefinition
    used_by: list[Job]

    @property
    def definition(self) -> PostProcessingDefinition:
        return self.stored.definition


def _folder() -> Path:
    return definitions_folder(settings.jobs_folder())


def _jobs() -> list[Job]:
    return [stored.job for stored in load_jobs(settings.jobs_folder())[0]]


def definition_view(details: DefinitionDetails, *, may_edit: bool, readable_job_ids: set[int] | None = None) -> dict[str, Any]:
    """Return a definition as a user sees it, as JSON data: every secret masked, the jobs using it.

    ``readable_job_ids`` keeps the jobs listed to those the user may read (all when None).
    """
    spec, masked = masked_spec(details.definition)
    used_by = [
        {"id": job.id, "name": job.name}
        for job in details.used_by
        if readable_job_ids is None or job.id in readable_job_ids
    ]
    return {**spec, "version": details.stored.version, "used_by": used_by, "can_edit": may_edit, "masked_fields": masked}


def list_definitions() -> tuple[list[DefinitionDetails], list[BrokenDefinition]]:
    """Return every definition that loads with the jobs using it, and each definition file that does not."""
    loaded, broken = load_definitions(_folder())
    jobs = _jobs()
    return [DefinitionDetails(stored=stored, used_by=jobs_using(jobs, stored.definition.name)) for stored in loaded], broken


def get_definition_details(*, name: str) -> DefinitionDetails:
    """Return one definition with the jobs using it; :class:`DefinitionNotFoundError` when there is none."""
    stored = get_definition(_folder(), name)
    return DefinitionDetails(stored=stored, used_by=jobs_using(_jobs(), name))


def create_definition(*, session: Session, body: PostProcessingDefinition, actor: Actor) -> DefinitionDetails:
    """Write a new definition and audit it. Commits.

    No job uses it yet, so no DAG changes; a job referencing it while it did not exist is
    re-parsed anyway, as it can run from now on.
    """
    with jobs_service.undone_on_error(session):
        lock_definition(session, body.name)
        body = keep_masked_definition_secrets(body, create=True, current=lambda: None)
        job_audit.record_definition_change(session, event=DefinitionEvent.CREATE, actor=actor, name=body.name)
        users = jobs_using(_jobs(), body.name)
        _request_reparses(session, users)
        session.flush()
        stored = write_definition(_folder(), body, create=True)
    with jobs_service.undone_on_error(session, lambda: hide_definition(_folder(), body.name).remove()):
        session.commit()
    return DefinitionDetails(stored=stored, used_by=users)


def update_definition(
    *,
    session: Session,
    name: str,
    body: PostProcessingSpec,
    actor: Actor,
    expected_version: str | None = None,
) -> DefinitionDetails:
    """Replace a definition's step, re-parse every job using it, and audit the fields changed. Commits.

    A secret the body leaves masked keeps its current value.
    """
    with jobs_service.undone_on_error(session):
        lock_definition(session, name)
        try:
            previous: PostProcessingDefinition | None = get_definition(_folder(), name).definition
        except JobSpecError:
            previous = None  # a file that does not load is replaced whole: that is how it is repaired
        previous_content = definition_path(_folder(), name).read_bytes()
        definition = PostProcessingDefinition.model_validate({**body.model_dump(mode="json"), "name": name})
        definition = keep_masked_definition_secrets(definition, create=False, current=lambda: previous)
        users = jobs_using(_jobs(), name)
        if previous is None:
            changed = [WHOLE_FILE]
        else:
            changed = job_audit.changed_fields(
                previous.model_dump(mode="json"), definition.model_dump(mode="json")
            )
        job_audit.record_definition_change(
            session,
            event=DefinitionEvent.UPDATE,
            actor=actor,
            name=name,
            details={"fields": changed, "jobs": [job.id for job in users]},
        )
        _request_reparses(session, users)
        session.flush()
        stored = write_definition(_folder(), definition, expected_version=expected_version)
    with jobs_service.undone_on_error(session, lambda: write_atomically(stored.path, previous_content)):
        session.commit()
    return DefinitionDetails(stored=stored, used_by=users)


def delete_definition(*, session: Session, name: str, actor: Actor) -> None:
    """Delete a definition no job uses, and audit it; :class:`DefinitionInUseError` names the jobs using it. Commits."""
    with jobs_service.undone_on_error(session):
        lock_definition(session, name)
        get_definition(_folder(), name)
        users = jobs_using(_jobs(), name)
        if users:
            raise DefinitionInUseError(name, [(job.id, job.name) for job in users])
        job_audit.record_definition_change(session, event=DefinitionEvent.DELETE, actor=actor, name=name)
        session.flush()
        hidden = hide_definition(_folder(), name)
    with jobs_service.undone_on_error(session, hidden.restore):
        session.commit()
    hidden.remove()


def _request_reparses(session: Session, jobs: list[Job]) -> None:
    """Ask Airflow to re-parse the factory file of each job (once per file: the requests are keyed by file)."""
    for job in jobs:
        jobs_service.request_reparse(session=session, job_id=job.id)
