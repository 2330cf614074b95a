"""All-or-nothing job writes: a failure on either side, or a killed process, never leaves half a job.

Each test runs on the suite's metadata DB and on a PostgreSQL one. Failures are injected at a
boundary: the operating system's file calls (a full or read-only disk) and the session's commit
or flush (a lost connection).
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from http_trigger import jobs_service
from http_trigger.errors import (
    JobBrokenError,
    JobDeletedError,
    JobNotFoundError,
    JobSpecError,
    JobStorageError,
)
from http_trigger.jobs.files import LEFTOVER_MAX_AGE_SECONDS
from http_trigger.jobs.spec_names import spec_path
from http_trigger.secrets import trigger_credentials
from http_trigger.secrets.trigger_credentials import Registration
from sqlalchemy.exc import OperationalError

from .jobs_support import (
    ACTOR,
    assert_absent,
    assert_exists,
    create_works,
    database_gone,
    disk_full,
    fail_with,
    failing_commit,
    hand_written_id,
    hidden_files,
    job_body,
    make_unreadable,
    new_session,  # noqa: F401 (a fixture)
    visible_files,
)

NO_SPACE = "No space left on device"


def create(new_session, name: str = "job") -> jobs_service.JobDetails:
    with new_session() as session:
        return jobs_service.create_job(session=session, actor=ACTOR, body=job_body(name))


def failed_job_id(error: JobStorageError) -> int:
    """Return the id of the job a storage error names (``job_<id>.yaml could not ...``)."""
    return int(str(error).split(".yaml", 1)[0].removeprefix("job_"))


def make_stale(folder) -> None:
    """Age every hidden file past the leftover limit, as if its process died long ago."""
    past = time.time() - LEFTOVER_MAX_AGE_SECONDS - 60
    for name in hidden_files(folder):
        os.utime(folder / name, (past, past))


class TestDuplicate:
    """A copy is a create: all or nothing, and the original is only read."""

    def test_a_failed_rename_leaves_the_original_alone_and_no_copy(self, new_session, jobs_folder, monkeypatch):
        original = create(new_session, "original")
        before = spec_path(jobs_folder, original.job.id).read_bytes()
        monkeypatch.setattr(os, "replace", fail_with(disk_full()))
        with new_session() as session:
            with pytest.raises(JobStorageError, match=rf"^job_(\d+)\.yaml could not be renamed: {NO_SPACE}$") as failed:
                jobs_service.duplicate_job(session=session, actor=ACTOR, job_id=original.job.id)
        monkeypatch.undo()

        assert visible_files(jobs_folder) == [f"job_{original.job.id}.yaml"]
        assert spec_path(jobs_folder, original.job.id).read_bytes() == before
        assert_absent(new_session, failed_job_id(failed.value))
        assert_exists(new_session, original.job.id, original.secret, name="original")

    def test_a_spec_written_by_hand_can_be_copied(self, new_session, jobs_folder):
        job_id = hand_written_id(new_session)
        by_hand = job_body("by hand", schedule="0 6 * * *").model_dump(mode="json")
        spec_path(jobs_folder, job_id).write_text(yaml.safe_dump({"id": job_id, **by_hand}))

        with new_session() as session:
            copy = jobs_service.duplicate_job(session=session, actor=ACTOR, job_id=job_id, name="copied")

        assert (copy.job.name, copy.job.schedule, copy.job.enabled) == ("copied", "0 6 * * *", False)
        assert_exists(new_session, copy.job.id, copy.secret, name="copied")

    @pytest.mark.parametrize(("length", "expected"), [(10, "n" * 10 + " (copy)"), (200, "n" * 193 + " (copy)")])
    def test_the_default_name_fits_the_limit(self, length, expected):
        assert jobs_service.copy_name("n" * length) == expected

    def test_a_name_ending_in_spaces_where_it_is_cut_loses_them(self):
        assert jobs_service.copy_name("n" * 192 + "  tail") == "n" * 192 + " (copy)"


class TestCreate:
    def test_a_full_disk_while_staging_leaves_nothing(self, new_session, jobs_folder, monkeypatch):
        monkeypatch.setattr(tempfile, "mkstemp", fail_with(disk_full()))

        with pytest.raises(JobStorageError, match=rf"^job_\d+\.yaml could not be written: {NO_SPACE}$"):
            create(new_session)

        monkeypatch.undo()
        assert os.listdir(jobs_folder) == []
        create_works(new_session, besides=set())

    def test_a_failed_commit_leaves_nothing(self, new_session, jobs_folder, monkeypatch):
        with pytest.raises(OperationalError):
            with new_session() as session:
                failing_commit(session, monkeypatch)
                jobs_service.create_job(session=session, actor=ACTOR, body=job_body())

        assert os.listdir(jobs_folder) == []
        create_works(new_session, besides=set())

    def test_a_failed_rename_retires_the_id(self, new_session, jobs_folder, monkeypatch):
        monkeypatch.setattr(os, "replace", fail_with(disk_full()))
        with new_session() as session:
            with pytest.raises(JobStorageError, match=rf"^job_(\d+)\.yaml could not be renamed: {NO_SPACE}$") as failed:
                jobs_service.create_job(session=session, actor=ACTOR, body=job_body())
        monkeypatch.undo()
        job_id = failed_job_id(failed.value)

        assert os.listdir(jobs_folder) == []
        assert_absent(new_session, job_id)
        with new_session() as session:
            assert trigger_credentials.registration(session=session, job_id=job_id) is Registration.DELETED
        create_works(new_session, besides={job_id})

    def test_a_failed_rename_and_a_failed_retire_leave_an_invisible_registration(
        self, new_session, jobs_folder, monkeypatch
    ):
        monkeypatch.setattr(os, "replace", fail_with(disk_full()))
        with pytest.raises(JobStorageError, match=r"^job_(\d+)\.yaml could not be renamed") as failed:
            with new_session() as session:
                failing_commit(session, monkeypatch, after=1)
                jobs_service.create_job(session=session, actor=ACTOR, body=job_body())
        monkeypatch.undo()
        job_id = failed_job_id(failed.value)

        assert os.listdir(jobs_folder) == []
        assert_absent(new_session, job_id)
        create_works(new_session, besides={job_id})

    def test_a_spec_written_by_hand_under_the_next_id_keeps_it(self, new_session, jobs_folder):
        first = create(new_session, "first")
        by_hand = first.job.model_copy(update={"id": first.job.id + 1, "name": "by hand"})
        spec_path(jobs_folder, by_hand.id).write_text(yaml.safe_dump(by_hand.model_dump(mode="json")))

        second = create(new_session, "second")

        assert second.job.id == first.job.id + 2
        with new_session() as session:
            registered = trigger_credentials.get_secret(session=session, job_id=by_hand.id)
        assert_exists(new_session, by_hand.id, registered, name="by hand")
        assert_exists(new_session, second.job.id, second.secret, name="second")

    def test_two_concurrent_creates_get_distinct_ids(self, new_session, jobs_folder):
        with ThreadPoolExecutor(4) as pool:
            created = list(pool.map(lambda number: create(new_session, f"job {number}"), range(8)))

        ids = [details.job.id for details in created]
        assert len(set(ids)) == 8
        for details in created:
            assert_exists(new_session, details.job.id, details.secret, name=details.job.name)


class TestUpdate:
    def test_a_failed_rename_changes_nothing(self, new_session, jobs_folder, monkeypatch):
        job = create(new_session, "before")
        monkeypatch.setattr(os, "replace", fail_with(OSError(errno.EROFS, os.strerror(errno.EROFS))))

        with pytest.raises(JobStorageError, match=rf"^job_{job.job.id}\.yaml could not be renamed: Read-only file system$"):
            with new_session() as session:
                jobs_service.update_job(session=session, actor=ACTOR, job_id=job.job.id, body=job_body("after"))

        monkeypatch.undo()
        assert hidden_files(jobs_folder) == []
        assert_exists(new_session, job.job.id, job.secret, name="before")
        create_works(new_session, besides={job.job.id})

    @pytest.mark.parametrize("step", ["flush", "commit"])
    def test_a_database_error_puts_the_previous_spec_back(self, new_session, jobs_folder, monkeypatch, step):
        job = create(new_session, "before")

        with pytest.raises(OperationalError):
            with new_session() as session:
                if step == "commit":
                    failing_commit(session, monkeypatch)
                else:
                    monkeypatch.setattr(session, "flush", fail_with(database_gone()))
                jobs_service.update_job(session=session, actor=ACTOR, job_id=job.job.id, body=job_body("after"))

        assert hidden_files(jobs_folder) == []
        assert_exists(new_session, job.job.id, job.secret, name="before")
        with new_session() as session:
            assert jobs_service.get_job_details(session=session, job_id=job.job.id).stored.version == job.stored.version
        create_works(new_session, besides={job.job.id})

    def test_a_spec_written_by_hand_is_registered_by_its_first_update(self, new_session, jobs_folder):
        job_id = hand_written_id(new_session)
        spec = {"id": job_id, **job_body("by hand").model_dump(mode="json")}
        spec_path(jobs_folder, job_id).write_text(yaml.safe_dump(spec))

        with new_session() as session:
            updated = jobs_service.update_job(session=session, actor=ACTOR, job_id=job_id, body=job_body("updated"))

        assert_exists(new_session, job_id, updated.secret, name="updated")


class TestDelete:
    def test_a_failed_hide_changes_nothing(self, new_session, jobs_folder, monkeypatch):
        job = create(new_session)
        monkeypatch.setattr(os, "replace", fail_with(OSError(errno.EROFS, os.strerror(errno.EROFS))))

        with pytest.raises(JobStorageError, match=rf"^job_{job.job.id}\.yaml could not be renamed: Read-only file system$"):
            with new_session() as session:
                jobs_service.delete_job(session=session, actor=ACTOR, job_id=job.job.id)

        monkeypatch.undo()
        assert_exists(new_session, job.job.id, job.secret)
        create_works(new_session, besides={job.job.id})

    def test_a_failed_commit_restores_the_job(self, new_session, jobs_folder, monkeypatch):
        job = create(new_session)

        with pytest.raises(OperationalError):
            with new_session() as session:
                failing_commit(session, monkeypatch)
                jobs_service.delete_job(session=session, actor=ACTOR, job_id=job.job.id)

        assert hidden_files(jobs_folder) == []
        assert_exists(new_session, job.job.id, job.secret)
        create_works(new_session, besides={job.job.id})

    def test_a_tombstone_that_cannot_be_removed_is_ignored_then_cleaned_up(
        self, new_session, jobs_folder, monkeypatch
    ):
        job = create(new_session)
        real_unlink = os.unlink
        monkeypatch.setattr(os, "unlink", fail_with(OSError(errno.EROFS, os.strerror(errno.EROFS))))

        with new_session() as session:
            jobs_service.delete_job(session=session, actor=ACTOR, job_id=job.job.id)

        monkeypatch.setattr(os, "unlink", real_unlink)
        [tombstone] = hidden_files(jobs_folder)
        assert tombstone.startswith(f".job_{job.job.id}.yaml.") and tombstone.endswith(".deleted")
        assert_absent(new_session, job.job.id, job.secret)
        make_stale(jobs_folder)
        create_works(new_session, besides={job.job.id})
        assert hidden_files(jobs_folder) == []

    def test_deleting_the_leftover_spec_of_a_deleted_job_removes_it(self, new_session, jobs_folder):
        job = create(new_session)
        content = spec_path(jobs_folder, job.job.id).read_bytes()
        with new_session() as session:
            jobs_service.delete_job(session=session, actor=ACTOR, job_id=job.job.id)
        spec_path(jobs_folder, job.job.id).write_bytes(content)  # restored from version control, say

        with new_session() as session:
            with pytest.raises(JobDeletedError, match=rf"^Job {job.job.id} was deleted and its id cannot be used again$"):
                jobs_service.update_job(session=session, actor=ACTOR, job_id=job.job.id, body=job_body())
        with new_session() as session:
            jobs_service.delete_job(session=session, actor=ACTOR, job_id=job.job.id)

        assert os.listdir(jobs_folder) == []


class TestRotate:
    def test_a_spec_that_cannot_be_read_changes_nothing(self, new_session, jobs_folder, monkeypatch):
        job = create(new_session)
        make_unreadable(monkeypatch, spec_path(jobs_folder, job.job.id))

        message = (
            f"Job {job.job.id} cannot run: its spec is invalid "
            f"(job_{job.job.id}.yaml: (file): cannot be read: Input/output error); fix the file"
        )
        with pytest.raises(JobBrokenError, match=rf"^{re.escape(message)}$"):
            with new_session() as session:
                jobs_service.rotate_secret(session=session, actor=ACTOR, job_id=job.job.id)

        monkeypatch.undo()
        assert_exists(new_session, job.job.id, job.secret)

    def test_a_failed_commit_keeps_the_old_secrets(self, new_session, jobs_folder, monkeypatch):
        job = create(new_session)

        with pytest.raises(OperationalError):
            with new_session() as session:
                failing_commit(session, monkeypatch)
                jobs_service.rotate_secret(session=session, actor=ACTOR, job_id=job.job.id)

        assert_exists(new_session, job.job.id, job.secret)
        create_works(new_session, besides={job.job.id})

    def test_a_deleted_job_cannot_be_rotated(self, new_session, jobs_folder):
        job = create(new_session)
        with new_session() as session:
            jobs_service.delete_job(session=session, actor=ACTOR, job_id=job.job.id)

        with new_session() as session:
            with pytest.raises(JobDeletedError):
                jobs_service.rotate_secret(session=session, actor=ACTOR, job_id=job.job.id)


# Runs the first steps of a write in a process of its own, which dies (os._exit) at the given
# point, as a process killed by the OOM killer or a deploy would.
KILLED_WRITE = textwrap.dedent(
    """
    import json, os, sys
    from sqlalchemy.orm import Session
    from airflow.utils.session import create_session
    from http_trigger import jobs_service
    from http_trigger.secrets import trigger_credentials
    from http_trigger.jobs.audit import Actor, Channel
    from http_trigger.jobs.model import JobBody

    ACTOR = Actor(user_name="script", channel=Channel.API)
    operation, job_id = sys.argv[1], int(sys.argv[2])
    die = lambda *args, **kwargs: os._exit(17)
    body = JobBody.model_validate(json.loads(sys.argv[3]))
    with create_session() as session:
        if operation == "create":
            os.replace = die  # after the commit, before the rename into place
            jobs_service.create_job(session=session, actor=ACTOR, body=body)
        elif operation == "update":
            session.commit = die  # after the rename into place, before the commit
            jobs_service.update_job(session=session, actor=ACTOR, job_id=job_id, body=body)
        elif operation == "delete":
            trigger_credentials.unregister = die  # after hiding the spec, before revoking and committing
            jobs_service.delete_job(session=session, actor=ACTOR, job_id=job_id)
    """
)


class TestKilledBetweenSteps:
    def run_killed(self, new_session, operation: str, job_id: int = 0, name: str = "killed") -> None:
        body = json.dumps(job_body(name).model_dump(mode="json"))
        result = subprocess.run(
            [sys.executable, "-c", KILLED_WRITE, operation, str(job_id), body],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 17, result.stderr[-3000:]

    def test_a_create_killed_before_the_rename_leaves_no_job(self, new_session, jobs_folder):
        self.run_killed(new_session, "create")

        assert visible_files(jobs_folder) == []
        assert len(hidden_files(jobs_folder)) == 1
        with new_session() as session:
            page = jobs_service.find_jobs(session=session)
        assert (page.jobs, page.spec_errors) == ([], [])
        make_stale(jobs_folder)
        create_works(new_session, besides=set())
        assert hidden_files(jobs_folder) == []

    def test_an_update_killed_before_the_commit_leaves_the_new_spec_working(self, new_session, jobs_folder):
        job = create(new_session, "before")

        self.run_killed(new_session, "update", job.job.id, "after")

        assert hidden_files(jobs_folder) == []
        assert_exists(new_session, job.job.id, job.secret, name="after")
        create_works(new_session, besides={job.job.id})

    def test_a_delete_killed_before_the_commit_leaves_no_job(self, new_session, jobs_folder):
        job = create(new_session)

        self.run_killed(new_session, "delete", job.job.id)

        assert visible_files(jobs_folder) == []
        assert_absent(new_session, job.job.id)
        make_stale(jobs_folder)
        create_works(new_session, besides={job.job.id})
        assert hidden_files(jobs_folder) == []


class TestHandWrittenAndLeftoverSpecs:
    def test_a_spec_written_by_hand_is_registered_once_when_first_read(self, new_session, jobs_folder):
        job_id = hand_written_id(new_session)
        spec = {"id": job_id, **job_body("by hand").model_dump(mode="json")}
        spec_path(jobs_folder, job_id).write_text(yaml.safe_dump(spec))

        with new_session() as session:
            listed = jobs_service.find_jobs(session=session).jobs
        with new_session() as session:
            shown = jobs_service.get_job_details(session=session, job_id=job_id)

        assert [details.secret for details in listed] == [shown.secret]
        assert_exists(new_session, job_id, shown.secret, name="by hand")
        assert create_works(new_session, besides={job_id}) > job_id

    def test_a_spec_left_over_from_a_deleted_job_is_a_problem_of_its_file(self, new_session, jobs_folder):
        kept = create(new_session, "kept")
        deleted = create(new_session, "deleted")
        path = spec_path(jobs_folder, deleted.job.id)
        content = path.read_bytes()
        with new_session() as session:
            jobs_service.delete_job(session=session, actor=ACTOR, job_id=deleted.job.id)
        path.write_bytes(content)
        message = (
            f"{path.name}: id: job {deleted.job.id} was deleted and its id cannot be used again; "
            "remove the file, or create a new job from it without its id"
        )

        with new_session() as session:
            page = jobs_service.find_jobs(session=session)
            listed, errors = jobs_service.list_jobs(session=session)
            with pytest.raises(JobSpecError, match=rf"^{message}$"):
                jobs_service.get_job_details(session=session, job_id=deleted.job.id)

        assert [details.job.id for details in page.jobs] == [kept.job.id]
        assert page.spec_errors == [message]
        assert ([details.job.id for details in listed], errors) == ([kept.job.id], [message])
        with new_session() as session:
            assert trigger_credentials.find_job_id(
                session=session, url_id=deleted.secret.url_id, token=deleted.secret.token
            ) is None


class TestConcurrentReadsAndDeletes:
    def test_listing_while_jobs_are_deleted_never_fails(self, new_session, jobs_folder):
        jobs = [create(new_session, f"job {number}") for number in range(12)]
        failures: list[BaseException] = []
        deleted = threading.Event()

        def delete_all() -> None:
            try:
                for job in jobs:
                    with new_session() as session:
                        jobs_service.delete_job(session=session, actor=ACTOR, job_id=job.job.id)
            except BaseException as error:  # noqa: BLE001 (collected for the assertion below)
                failures.append(error)
            finally:
                deleted.set()

        def read_until_deleted() -> None:
            while not deleted.is_set():
                try:
                    with new_session() as session:
                        page = jobs_service.find_jobs(session=session)
                        assert page.spec_errors == []
                        for details in page.jobs:
                            try:
                                jobs_service.get_job_details(session=session, job_id=details.job.id)
                            except JobNotFoundError:
                                pass  # deleted since it was listed: the one right answer
                except BaseException as error:  # noqa: BLE001
                    failures.append(error)
                    return

        threads = [threading.Thread(target=read_until_deleted) for _ in range(2)]
        threads.append(threading.Thread(target=delete_all))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert failures == []
        assert os.listdir(jobs_folder) == []


def test_concurrent_readers_register_a_spec_written_by_hand_once(new_session, jobs_folder, monkeypatch):
    job_id = hand_written_id(new_session)
    spec = {"id": job_id, **job_body("by hand").model_dump(mode="json")}
    spec_path(jobs_folder, job_id).write_text(yaml.safe_dump(spec))
    readers = 6
    all_unregistered = threading.Barrier(readers, timeout=30)
    claimed: list[bool] = []
    real_claim = trigger_credentials.claim_job_id

    def claim_together(**kwargs) -> bool:
        all_unregistered.wait()  # every reader has seen no registration: now they all INSERT at once
        claimed.append(real_claim(**kwargs))
        return claimed[-1]

    monkeypatch.setattr(trigger_credentials, "claim_job_id", claim_together)

    def read(number: int):
        with new_session() as session:
            if number % 2:
                return jobs_service.get_job_details(session=session, job_id=job_id).secret
            [details] = jobs_service.find_jobs(session=session).jobs
            return details.secret

    with ThreadPoolExecutor(readers) as pool:
        secrets_seen = list(pool.map(read, range(readers)))

    assert sorted(claimed) == [False] * (readers - 1) + [True]
    assert len(set(secrets_seen)) == 1
    assert_exists(new_session, job_id, secrets_seen[0], name="by hand")
