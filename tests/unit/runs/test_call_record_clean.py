"""Cleaning the record of trigger calls: only the calls made before the date go, in committed batches;
the CLI counts first, asks, and shows its progress."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from airflow.utils.session import create_session
from http_trigger import cli
from http_trigger.db.models import TriggerCall
from http_trigger.runs.trigger_calls import (
    TriggerOutcome,
    count_calls_before,
    delete_calls_before,
    record_call,
)
from sqlalchemy import select

# Calls of a job id no other test uses, made long before any other test's: the suite shares one database.
JOB_ID = 2_147_481_000
JANUARY_2001 = datetime(2001, 1, 1, tzinfo=UTC)


def record_calls(first: datetime, count: int) -> None:
    with create_session() as session:
        for day in range(count):
            record_call(
                session=session,
                job_id=JOB_ID,
                source_address="192.0.2.7",
                status_code=200,
                outcome=TriggerOutcome.STARTED,
                called_at=first + timedelta(days=day),
            )


def days_left() -> list[int]:
    with create_session() as session:
        times = session.scalars(select(TriggerCall.called_at).where(TriggerCall.job_id == JOB_ID))
        return sorted((moment - JANUARY_2001).days for moment in times)


@pytest.fixture
def calls(airflow_db):
    """Five calls on 1-5 January 2001 and two on 1-2 February, removed afterwards."""
    record_calls(JANUARY_2001, 5)
    record_calls(datetime(2001, 2, 1, tzinfo=UTC), 2)
    yield
    with create_session() as session:
        session.query(TriggerCall).filter(TriggerCall.job_id == JOB_ID).delete()


def test_only_calls_before_the_date_are_deleted_oldest_first_a_batch_at_a_time(calls):
    february = datetime(2001, 2, 1, tzinfo=UTC)
    with create_session() as session:
        assert count_calls_before(session=session, before=february) == 5
        batches = []
        for deleted in delete_calls_before(session=session, before=datetime(2001, 1, 4, tzinfo=UTC), batch=2):
            batches.append(deleted)
            # Each batch is committed: another session sees it gone at once.
            assert len(days_left()) == 7 - sum(batches)
        assert batches == [2, 1]
        assert days_left() == [3, 4, 31, 32]
        assert list(delete_calls_before(session=session, before=february, batch=2)) == [2]
        assert count_calls_before(session=session, before=february) == 0
    assert days_left() == [31, 32]


def test_a_dry_run_counts_and_deletes_nothing(calls, capsys):
    assert cli.main(["calls", "clean", "--clean-before-timestamp", "2001-01-03", "--dry-run"]) == 0

    assert capsys.readouterr().err == "2 trigger calls recorded before 2001-01-03T00:00:00+00:00\n"
    assert len(days_left()) == 7


def test_the_clean_asks_first_and_a_no_deletes_nothing(calls, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))

    assert cli.main(["calls", "clean", "--clean-before-timestamp", "2001-01-03"]) == 1

    assert capsys.readouterr().err.splitlines() == [
        "2 trigger calls recorded before 2001-01-03T00:00:00+00:00",
        "Delete them? Their runs stay in Airflow, without their caller's address. [y/N]",
        "nothing deleted",
    ]
    assert len(days_left()) == 7


def test_with_yes_the_clean_deletes_and_reports_its_progress(calls, capsys):
    assert cli.main(["calls", "clean", "--clean-before-timestamp", "2001-01-31T23:59:59+00:00", "-y"]) == 0

    assert capsys.readouterr().err.splitlines() == [
        "5 trigger calls recorded before 2001-01-31T23:59:59+00:00",
        "deleted 5 of 5 (100%)",
        "5 trigger calls deleted",
    ]
    assert days_left() == [31, 32]
