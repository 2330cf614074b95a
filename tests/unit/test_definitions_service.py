"""Shared post-processing definitions as a use case: writes, their audit, re-parses, and deletes refused in use."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest
from airflow.models.dagbag import DagPriorityParsingRequest
from airflow.models.log import Log
from airflow.utils.session import create_session
from http_trigger import definitions_service, jobs_service
from http_trigger.errors import (
    DefinitionConflictError,
    DefinitionInUseError,
    DefinitionNotFoundError,
    JobSpecError,
    MaskedSecretError,
)
from http_trigger.factory_files import write_factory_files
from http_trigger.jobs.definitions import definition_path, definitions_folder, get_definition
from http_trigger.jobs.files import StagedSpec, load_jobs
from http_trigger.jobs.model import PostProcessingDefinition, PostProcessingSpec
from http_trigger.secrets.spec_secrets import MASK
from sqlalchemy import delete, func, select, text

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


@dataclass
class Pause:
    """Where a patched call stops, in the thread that makes it, until the test lets it go on."""

    reached: threading.Event = field(default_factory=threading.Event)
    go: threading.Event = field(default_factory=threading.Event)


def pause_in(monkeypatch: pytest.MonkeyPatch, owner: object, name: str, *, after: bool = False) -> Pause:
    """Stop the first call of ``owner.name`` before it runs (or, ``after``, once it returned) until let go."""
    pause = Pause()
    real = getattr(owner, name)

    def stop_once() -> None:
        if not pause.reached.is_set():
            pause.reached.set()
            assert pause.go.wait(timeout=30)

    def paused(*args, **kwargs):
        if not after:
            stop_once()
            return real(*args, **kwargs)
        result = real(*args, **kwargs)
        stop_once()
        return result

    monkeypatch.setattr(owner, name, paused)
    return pause


def wait_for_a_lock_waiter() -> None:
    """Return once a transaction waits for an advisory lock: a definition's writer or a job write."""
    deadline = time.monotonic() + 10
    query = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    while True:
        with create_session(scoped=False) as session:
            if session.scalar(query):
                return
        assert time.monotonic() < deadline, "nobody waits for a post-processing definition's lock"
        time.sleep(0.02)


def delete_definition(name: str = "team-hook") -> None:
    with create_session(scoped=False) as session:
        definitions_service.delete_definition(session=session, name=name, actor=ACTOR)


def update(url: str, version: str) -> None:
    with create_session(scoped=False) as session:
        definitions_service.update_definition(
            session=session, name="team-hook", body=step(url), actor=ACTOR, expected_version=version
        )


def update_job_to_use(job_id: int, reference: str) -> int:
    body = job_body("Nightly stop", post_processing={"on_failure": [{"ref": reference}]})
    with create_session(scoped=False) as session:
        return jobs_service.update_job(session=session, job_id=job_id, body=body, actor=ACTOR).stored.job.id


def jobs_referencing(jobs_folder: Path, name: str) -> list[int]:
    jobs = [stored.job for stored in load_jobs(jobs_folder)[0]]
    return [job.id for job in jobs if name in job.post_processing.references()]


@pytest.mark.parametrize("write", ["create", "update"])
def test_a_delete_waits_for_a_job_write_putting_a_reference_in_place_then_names_the_job(
    airflow_db, jobs_folder, monkeypatch, write
):
    create_definition()
    if write == "create":
        write_job = partial(create_job_using, "Nightly stop", "team-hook")
    else:
        write_job = partial(update_job_to_use, create_job_using("Nightly stop"), "team-hook")
    publishing = pause_in(monkeypatch, StagedSpec, "publish")  # the job write has checked the definition

    with ThreadPoolExecutor(2) as threads:
        writing = threads.submit(write_job)
        assert publishing.reached.wait(timeout=10)
        deleting = threads.submit(delete_definition)
        wait_for_a_lock_waiter()
        publishing.go.set()
        job_id = writing.result(timeout=30)
        with pytest.raises(DefinitionInUseError) as refused:
            deleting.result(timeout=30)

    assert refused.value.jobs == [(job_id, "Nightly stop")]
    assert definition_path(definitions_folder(jobs_folder), "team-hook").is_file()
    assert jobs_referencing(jobs_folder, "team-hook") == [job_id]


def test_a_job_create_checked_before_a_delete_waits_for_it_then_is_refused_and_leaves_no_job(
    airflow_db, jobs_folder, monkeypatch
):
    create_definition()
    keeping = pause_in(monkeypatch, jobs_service, "keep_definitions")  # its first check passed
    hiding = pause_in(monkeypatch, definitions_service, "hide_definition", after=True)  # not committed yet

    with ThreadPoolExecutor(2) as threads:
        creating = threads.submit(create_job_using, "Nightly stop", "team-hook")
        assert keeping.reached.wait(timeout=10)
        deleting = threads.submit(delete_definition)
        assert hiding.reached.wait(timeout=10)
        keeping.go.set()
        wait_for_a_lock_waiter()
        hiding.go.set()
        deleting.result(timeout=30)
        gone = "Post-processing definition 'team-hook' does not exist"
        with pytest.raises(JobSpecError, match=f"^new job: post_processing.on_failure.0.ref: {gone}$"):
            creating.result(timeout=30)

    assert list(jobs_folder.rglob("*")) == [definitions_folder(jobs_folder)]
    with create_session(scoped=False) as session:
        page = jobs_service.find_jobs(session=session)
    assert (page.jobs, page.spec_errors) == ([], [])


def test_two_updates_from_one_version_go_one_after_the_other_and_the_second_is_refused(
    airflow_db, jobs_folder, monkeypatch
):
    create_definition()
    version = get_definition(definitions_folder(jobs_folder), "team-hook").version
    writing = pause_in(monkeypatch, definitions_service, "write_definition", after=True)  # not committed yet

    with ThreadPoolExecutor(2) as threads:
        first = threads.submit(update, "https://hooks.example.com/first", version)
        assert writing.reached.wait(timeout=10)
        second = threads.submit(update, "https://hooks.example.com/second", version)
        wait_for_a_lock_waiter()
        writing.go.set()
        first.result(timeout=30)
        with pytest.raises(DefinitionConflictError, match="'team-hook' was changed by someone else"):
            second.result(timeout=30)

    stored = get_definition(definitions_folder(jobs_folder), "team-hook").definition
    assert stored.parameters["url"] == "https://hooks.example.com/first"


def test_two_creates_of_one_name_go_one_after_the_other_and_the_second_is_refused(
    airflow_db, jobs_folder, monkeypatch, audit_entries
):
    writing = pause_in(monkeypatch, definitions_service, "write_definition", after=True)  # not committed yet

    with ThreadPoolExecutor(2) as threads:
        first = threads.submit(create_definition, url="https://hooks.example.com/first")
        assert writing.reached.wait(timeout=10)
        second = threads.submit(create_definition, url="https://hooks.example.com/second")
        wait_for_a_lock_waiter()
        writing.go.set()
        first.result(timeout=30)
        exists = "^Post-processing definition 'team-hook' already exists$"
        with pytest.raises(DefinitionConflictError, match=exists):
            second.result(timeout=30)

    stored = get_definition(definitions_folder(jobs_folder), "team-hook").definition
    assert stored.parameters["url"] == "https://hooks.example.com/first"
    assert [event for event, _ in audit_entries("team-hook")] == ["http_trigger.post_processing.create"]


def test_a_delete_racing_a_job_create_lets_exactly_one_win(airflow_db, jobs_folder):
    for round_ in range(5):
        name = f"race-{round_}"
        create_definition(name=name)
        start = threading.Barrier(2)

        def create_job() -> None:
            start.wait()
            create_job_using(f"job of {name}", name)

        def delete_it() -> None:
            start.wait()
            delete_definition(name)

        with ThreadPoolExecutor(2) as threads:
            creating, deleting = threads.submit(create_job), threads.submit(delete_it)
            created, deleted = creating.exception(timeout=30), deleting.exception(timeout=30)

        if created is None:
            assert isinstance(deleted, DefinitionInUseError), round_
            assert definition_path(definitions_folder(jobs_folder), name).is_file()
            assert len(jobs_referencing(jobs_folder, name)) == 1
        else:
            assert (isinstance(created, JobSpecError), deleted) == (True, None), round_
            assert not definition_path(definitions_folder(jobs_folder), name).exists()
            assert jobs_referencing(jobs_folder, name) == []
