"""Shared post-processing definitions as a use case: writes, their audit, re-parses, and deletes refused in use."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from airflow.models.dagbag import DagPriorityParsingRequest
from airflow.models.log import Log
from airflow.utils.session import create_session
from http_trigger import definitions_service, jobs_service
from http_trigger.errors import DefinitionInUseError, DefinitionNotFoundError, JobSpecError, MaskedSecretError
from http_trigger.factory_files import write_factory_files
from http_trigger.jobs.definitions import definition_path, definitions_folder, get_definition
from http_trigger.jobs.model import PostProcessingDefinition, PostProcessingSpec
from http_trigger.secrets.spec_secrets import MASK
from sqlalchemy import delete, func, select

from .jobs_support import ACTOR, job_body, parse_into_db

SECRET_URL = "https://ops:hunter2@hooks.example.com/team"


def definition(name: str = "team-hook", url: str = SECRET_URL, **parameters) -> PostProcessingDefinition:
    return PostProcessingDefinition.model_validate(
        {"name": name, "type": "webhook", "parameters": {"url": url, **parameters}}
    )


def step(url: str, **parameters) -> PostProcessingSpec:
    return PostProcessingSpec.model_validate({"type": "webhook", "parameters": {"url": url, **parameters}})


def create_definition(**kwargs) -> None:
    with create_session(scoped=False) as session:
        definitions_service.create_definition(session=session, body=definition(**kwargs), actor=ACTOR)


def create_job_using(name: str, *references: str) -> int:
    body = job_body(name, post_processing={"on_failure": [{"ref": ref} for ref in references]})
    with create_session(scoped=False) as session:
        return jobs_service.create_job(session=session, body=body, actor=ACTOR).stored.job.id


@pytest.fixture
def audit_entries(airflow_db) -> Callable[[str], list[tuple[str, dict]]]:
    """Read a definition's audit entries written during the test (the suite shares one metadata DB)."""
    with create_session(scoped=False) as session:
        before = session.scalar(select(func.max(Log.id))) or 0

    def entries_of(name: str) -> list[tuple[str, dict]]:
        with create_session(scoped=False) as session:
            rows = session.scalars(
                select(Log)
                .where(Log.event.startswith("http_trigger.post_processing."), Log.id > before)
                .order_by(Log.id)
            )
            entries = [(row.event, json.loads(row.extra)) for row in rows]
        return [(event, extra) for event, extra in entries if extra["post_processing"] == name]

    return entries_of


def test_a_definition_reads_masked_with_the_jobs_using_it(airflow_db, jobs_folder, audit_entries):
    create_definition()
    job_id = create_job_using("Nightly stop", "team-hook")

    view = definitions_service.definition_view(definitions_service.get_definition_details(name="team-hook"), may_edit=False)

    assert view["parameters"]["url"].startswith(f"https://hooks.example.com/{MASK}")
    assert SECRET_URL not in json.dumps(view)
    assert view["masked_fields"] == ["parameters.url"]
    assert view["used_by"] == [{"id": job_id, "name": "Nightly stop"}]
    assert audit_entries("team-hook") == [
        ("http_trigger.post_processing.create", {"post_processing": "team-hook", "channel": "api", "source_address": "192.0.2.10"})
    ]


def test_a_job_referencing_no_definition_is_refused(airflow_db, jobs_folder):
    with pytest.raises(JobSpecError, match=r"^new job: post_processing.on_failure.0.ref: Post-processing definition 'nowhere' does not exist$"):
        create_job_using("Nightly stop", "nowhere")


def test_an_update_keeps_a_masked_secret_and_reparses_the_files_of_the_jobs_using_it(airflow_db, jobs_folder, audit_entries, tmp_path):
    create_definition()
    users = [create_job_using(f"user {index}", "team-hook") for index in range(2)]
    create_job_using("bystander")  # in a file of its own unless it shares one with a user
    bundle = tmp_path / "bundle"
    write_factory_files(bundle / "platform", 8)
    parse_into_db(bundle)
    with create_session(scoped=False) as session:
        session.execute(delete(DagPriorityParsingRequest))
    masked_url = definitions_service.definition_view(
        definitions_service.get_definition_details(name="team-hook"), may_edit=True
    )["parameters"]["url"]

    with create_session(scoped=False) as session:
        definitions_service.update_definition(
            session=session, name="team-hook", body=step(masked_url, timeout_seconds=5), actor=ACTOR
        )

    stored = get_definition(definitions_folder(jobs_folder), "team-hook").definition
    assert stored.parameters == {"url": SECRET_URL, "timeout_seconds": 5}
    with create_session(scoped=False) as session:
        requested = set(session.scalars(select(DagPriorityParsingRequest.relative_fileloc)))
    assert requested == {f"platform/http_trigger_jobs_{job_id % 8:02d}_of_08.py" for job_id in users}
    assert audit_entries("team-hook")[-1] == (
        "http_trigger.post_processing.update",
        {"fields": ["parameters.timeout_seconds"], "jobs": users, "post_processing": "team-hook", "channel": "api", "source_address": "192.0.2.10"},
    )


def test_a_masked_value_standing_for_nothing_is_refused(airflow_db, jobs_folder):
    create_definition()
    other_mask = f"https://hooks.example.com/{MASK}00000000"

    with create_session(scoped=False) as session, pytest.raises(MaskedSecretError, match="stands for no current value"):
        definitions_service.update_definition(session=session, name="team-hook", body=step(other_mask), actor=ACTOR)
    with pytest.raises(MaskedSecretError, match="cannot be saved in a new post-processing definition"):
        create_definition(name="copy", url=other_mask)


def test_a_definition_in_use_cannot_be_deleted(airflow_db, jobs_folder, audit_entries):
    create_definition()
    first = create_job_using("Nightly stop", "team-hook")
    second = create_job_using("Morning start", "team-hook")

    with create_session(scoped=False) as session, pytest.raises(DefinitionInUseError) as refused:
        definitions_service.delete_definition(session=session, name="team-hook", actor=ACTOR)

    assert str(refused.value) == (
        f"Post-processing definition 'team-hook' is used by jobs {first} (Nightly stop), {second} (Morning start); "
        "remove it from them first"
    )
    assert refused.value.jobs == [(first, "Nightly stop"), (second, "Morning start")]
    assert definition_path(definitions_folder(jobs_folder), "team-hook").is_file()
    assert [event for event, _ in audit_entries("team-hook")] == ["http_trigger.post_processing.create"]


def test_an_unused_definition_is_deleted_and_audited(airflow_db, jobs_folder, audit_entries):
    create_definition()

    with create_session(scoped=False) as session:
        definitions_service.delete_definition(session=session, name="team-hook", actor=ACTOR)

    with pytest.raises(DefinitionNotFoundError):
        definitions_service.get_definition_details(name="team-hook")
    assert [name.name for name in definitions_folder(jobs_folder).iterdir()] == []
    assert audit_entries("team-hook")[-1][0] == "http_trigger.post_processing.delete"


def test_a_failed_commit_leaves_the_definition_as_it_was(airflow_db, jobs_folder, monkeypatch):
    create_definition()
    before = definition_path(definitions_folder(jobs_folder), "team-hook").read_bytes()

    with create_session(scoped=False) as session:
        monkeypatch.setattr(session, "commit", lambda: (_ for _ in ()).throw(RuntimeError("commit failed")))
        with pytest.raises(RuntimeError, match="commit failed"):
            definitions_service.update_definition(
                session=session, name="team-hook", body=step("http://hooks.example/new"), actor=ACTOR
            )
        monkeypatch.undo()
        session.rollback()

    assert definition_path(definitions_folder(jobs_folder), "team-hook").read_bytes() == before
