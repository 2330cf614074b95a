"""Job writes ask Airflow to re-parse the factory file; concurrent writes share one request."""

from __future__ import annotations

import threading

from airflow.models.dagbag import DagPriorityParsingRequest
from airflow.utils.session import create_session
from sqlalchemy import delete, func, select

from http_trigger.jobs_service import request_reparse


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
                request_reparse(session=session)  # waits on the first writer's uncommitted key
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    thread = threading.Thread(target=second_writer)
    thread.start()
    with create_session(scoped=False) as session:
        request_reparse(session=session)
        session.flush()
        first_inserted.set()
        thread.join(timeout=2)  # the second writer is now blocked on the same key
    thread.join()

    assert errors == []
    assert _requests() == 1
