"""Job writes ask Airflow to re-parse the job's factory file, wherever it sits; concurrent writes share one request."""

from __future__ import annotations

import shutil
import threading

from airflow.models.dag import DagModel
from airflow.models.dagbag import DagPriorityParsingRequest
from airflow.utils.session import create_session
from http_trigger import jobs_service
from http_trigger.factory_files import write_factory_files
from http_trigger.jobs.spec_names import DAG_ID_PREFIX
from http_trigger.jobs_service import request_reparse
from sqlalchemy import delete, func, select, update

from ..conftest import REPO
from .jobs_support import ACTOR, job_body, parse_into_db


def _requests() -> int:
    with create_session(scoped=False) as session:
        return session.scalar(select(func.count()).select_from(DagPriorityParsingRequest))


def test_two_overlapping_writes_leave_one_request_and_both_commit(airflow_db):
    with create_session(scoped=False) as session:
        session.execute(delete(DagPriorityParsingRequest))
    errors: list[BaseException] = []
    first_inserted = threading.Event()

    def second_writer() -> None:
        first_inserted.wait()
        try:
            with create_session(scoped=False) as session:
                request_reparse(session=session, job_id=1)  # waits on the first writer's uncommitted key
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    thread = threading.Thread(target=second_writer)
    thread.start()
    with create_session(scoped=False) as session:
        request_reparse(session=session, job_id=1)
        session.flush()
        first_inserted.set()
        thread.join(timeout=2)  # the second writer is now blocked on the same key
    thread.join()

    assert errors == []
    assert _requests() == 1


def _requested_files() -> list[tuple[str, str]]:
    with create_session(scoped=False) as session:
        rows = session.execute(select(DagPriorityParsingRequest.bundle_name, DagPriorityParsingRequest.relative_fileloc))
        return [tuple(row) for row in rows]


def test_before_any_job_is_parsed_the_configured_factory_file_is_asked_for(airflow_db, jobs_folder):
    with create_session(scoped=False) as session:
        session.execute(delete(DagPriorityParsingRequest))
        # As before the first parse: no live job DAG (runs of earlier tests keep their DAGs' rows).
        session.execute(
            update(DagModel).where(DagModel.dag_id.startswith(DAG_ID_PREFIX, autoescape=True)).values(is_stale=True)
        )
    with create_session(scoped=False) as session:
        request_reparse(session=session, job_id=1)
    assert _requested_files() == [("dags-folder", "http_trigger_jobs.py")]


def test_a_factory_file_placed_in_a_subfolder_is_found_where_airflow_parsed_it(airflow_db, jobs_folder, tmp_path):
    with create_session(scoped=False) as session:
        job = jobs_service.create_job(session=session, actor=ACTOR, body=job_body()).stored.job
        session.execute(delete(DagPriorityParsingRequest))
    bundle = tmp_path / "bundle"
    (bundle / "platform").mkdir(parents=True)
    shutil.copy(REPO / "dags" / "http_trigger_jobs.py", bundle / "platform" / "http_trigger_jobs.py")
    parse_into_db(bundle)

    with create_session(scoped=False) as session:
        request_reparse(session=session, job_id=job.id + 1)

    assert _requested_files() == [("dags-folder", "platform/http_trigger_jobs.py")]


def test_with_sharded_factory_files_a_change_asks_for_its_own_file_only(airflow_db, jobs_folder, tmp_path):
    """Old jobs are found where Airflow parsed them; a new job's file is named after the set Airflow parsed."""
    with create_session(scoped=False) as session:
        jobs = [jobs_service.create_job(session=session, actor=ACTOR, body=job_body()).stored.job for _ in range(3)]
    bundle = tmp_path / "bundle"
    write_factory_files(bundle / "platform", 4)
    parse_into_db(bundle)
    with create_session(scoped=False) as session:
        parsed_in = dict(session.execute(
            select(DagModel.dag_id, DagModel.relative_fileloc).where(DagModel.dag_id.in_([j.dag_id for j in jobs]))
        ).all())  # fmt: skip
    assert parsed_in == {j.dag_id: f"platform/http_trigger_jobs_{j.id % 4:02d}_of_04.py" for j in jobs}

    for job_id, expected in (
        (jobs[1].id, f"platform/http_trigger_jobs_{jobs[1].id % 4:02d}_of_04.py"),  # where Airflow parsed it
        (jobs[-1].id + 1, f"platform/http_trigger_jobs_{(jobs[-1].id + 1) % 4:02d}_of_04.py"),  # not parsed yet
    ):
        with create_session(scoped=False) as session:
            session.execute(delete(DagPriorityParsingRequest))
        with create_session(scoped=False) as session:
            request_reparse(session=session, job_id=job_id)
        assert _requested_files() == [("dags-folder", expected)]
