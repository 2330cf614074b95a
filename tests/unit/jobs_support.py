"""Shared parts of the job-write tests: sessions on the suite's metadata DB, failures at a boundary, checks.

The suite's metadata DB is PostgreSQL, so row locks and concurrent INSERTs behave as in production.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from airflow.dag_processing.bundles.manager import DagBundlesManager
from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
from airflow.utils.session import create_session
from http_trigger import jobs_service
from http_trigger.db.models import JobRegistration
from http_trigger.errors import JobNotFoundError
from http_trigger.jobs.audit import Actor, Channel
from http_trigger.jobs.model import JobBody
from http_trigger.secrets import trigger_credentials
from http_trigger.secrets.trigger_credentials import IssuedSecret
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

ACTOR = Actor(user_name="script", channel=Channel.API, source_address="192.0.2.10")
"""Who the tests' direct service calls are audited as: a script on the JSON API."""
EC2 = {"type": "ec2_start_instances", "aws_conn_id": "aws_demo", "parameters": {"tag_key": "Env", "tag_value": "test"}}

def job_body(name: str = "Start test EC2", **extra) -> JobBody:
    return JobBody.model_validate({"name": name, "action": EC2, **extra})


@dataclass(frozen=True)
class Sessions:
    """Opens sessions on one metadata DB, committed at the end of the block as the API's requests are."""

    open: Callable[[], AbstractContextManager[Session]]

    def __call__(self) -> AbstractContextManager[Session]:
        return self.open()


@pytest.fixture
def new_session(airflow_db, jobs_folder) -> Sessions:
    """Open sessions on the suite's metadata DB (PostgreSQL, as in production)."""
    return Sessions(open=partial(create_session, scoped=False))


def parse_into_db(bundle: Path) -> None:
    """Parse a DAGs folder as the DAG processor does, and store what it found where Airflow keeps it."""
    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(bundle), bundle_path=bundle)
    assert bag.import_errors == {}
    sync_bag_to_db(bag, bundle_name="dags-folder", bundle_version=None)


def make_unreadable(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Make reading ``path`` fail with an I/O error (root reads any file, whatever its mode)."""
    real_read_bytes, real_open = Path.read_bytes, Path.open

    def read_bytes(self: Path) -> bytes:
        if self == path:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_read_bytes(self)

    def open_(self: Path, mode: str = "r", *args, **kwargs):
        if self == path and "r" in mode:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(Path, "open", open_)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # a change the spec cache notices


def hand_written_id(new_session: Sessions) -> int:
    """Return an id no job has had yet, for a spec written by hand."""
    with new_session() as session:
        highest = session.scalar(text(f"SELECT MAX(id) FROM {JobRegistration.__tablename__}"))
    return (highest or 0) + 100


def fail_with(error: BaseException) -> Callable[..., None]:
    def fail(*args, **kwargs) -> None:
        raise error

    return fail


def disk_full() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def database_gone() -> OperationalError:
    return OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))


def failing_commit(session: Session, monkeypatch: pytest.MonkeyPatch, *, after: int = 0) -> None:
    """Make ``session``'s commits fail with a lost connection, after ``after`` successful ones."""
    real = session.commit
    done: list[None] = []

    def commit() -> None:
        if len(done) == after:
            raise database_gone()
        done.append(None)
        real()

    monkeypatch.setattr(session, "commit", commit)


def assert_exists(new_session: Sessions, job_id: int, secret: IssuedSecret, *, name: str | None = None) -> None:
    """The job is listed, readable, and its URL and token find it."""
    with new_session() as session:
        details = jobs_service.get_job_details(session=session, job_id=job_id)
        page = jobs_service.find_jobs(session=session)
        found = trigger_credentials.find_job_id(session=session, url_id=secret.url_id, token=secret.token)
    assert details.secret == secret
    assert found == job_id
    assert job_id in [listed.job.id for listed in page.jobs]
    assert page.spec_errors == []
    if name is not None:
        assert details.job.name == name


def assert_absent(new_session: Sessions, job_id: int, secret: IssuedSecret | None = None) -> None:
    """Nothing shows the job: no listing, no spec error, no detail, and no URL finds it."""
    with new_session() as session:
        page = jobs_service.find_jobs(session=session)
        with pytest.raises(JobNotFoundError, match=rf"^Job {job_id} does not exist$"):
            jobs_service.get_job_details(session=session, job_id=job_id)
        found = secret and trigger_credentials.find_job_id(session=session, url_id=secret.url_id, token=secret.token)
    assert job_id not in [listed.job.id for listed in page.jobs]
    assert page.spec_errors == []
    assert not found


def visible_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if not path.name.startswith("."))


def hidden_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


def create_works(new_session: Sessions, *, besides: set[int]) -> int:
    """Create a job, check it fully exists under an id none of ``besides`` has, and return that id."""
    with new_session() as session:
        created = jobs_service.create_job(session=session, actor=ACTOR, body=job_body("next"))
    assert created.job.id not in besides
    assert_exists(new_session, created.job.id, created.secret, name="next")
    return created.job.id


@contextmanager
def database_trouble(kind: str) -> Iterator[None]:
    """Give Airflow's sessions a pool with no free connection (``"pool"``) or a server that is down.

    The request's sessions come from ``airflow.settings.NonScopedSession``; the real engine is
    left alone, so the database works again as soon as the block ends.
    """
    from airflow import settings

    if kind == "pool":
        engine = create_engine(settings.engine.url, pool_size=1, max_overflow=0, pool_timeout=0.2)
        held = engine.connect()  # the pool's only connection, held by "someone else"
    else:
        engine = create_engine("postgresql+psycopg2://postgres@127.0.0.1:1/down", connect_args={"connect_timeout": 2})
        held = None
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(settings, "NonScopedSession", sessionmaker(bind=engine, autoflush=False, expire_on_commit=False))
            yield
    finally:
        if held is not None:
            held.close()
        engine.dispose()
