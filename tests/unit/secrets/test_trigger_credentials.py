"""Tests of the trigger-secret store and the trigger-call log against a real PostgreSQL database."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import timedelta

import pytest
from airflow.models.crypto import get_fernet
from cryptography.fernet import Fernet
from http_trigger.db.models import JobRegistration, TriggerCall, metadata
from http_trigger.errors import HttpTriggerError, JobConflictError, JobDeletedError, JobNotFoundError
from http_trigger.runs.trigger_calls import TriggerOutcome, recent_calls, record_call
from http_trigger.secrets import trigger_credentials
from http_trigger.secrets.trigger_credentials import (
    Registration,
    claim_job_id,
    deleted_job_ids,
    find_job_id,
    get_secret,
    register_job,
    registration,
    rotate,
    unregister,
)
from sqlalchemy import create_engine, delete, inspect
from sqlalchemy.orm import Session


@pytest.fixture
def fernet_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Configure a fresh Airflow Fernet key; ``get_fernet`` caches, so clear it around the test."""
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", key)
    get_fernet.cache_clear()
    yield key
    get_fernet.cache_clear()


@pytest.fixture
def session(test_databases, fernet_key: str) -> Iterator[Session]:
    """Open a session on a fresh database of the test's own holding only the plugin's tables."""
    url = test_databases.create("store")
    engine = create_engine(url)
    metadata.create_all(engine)
    with Session(engine) as db_session:
        yield db_session
    engine.dispose()
    test_databases.drop(url)


class TestRegisterJob:
    def test_issued_secret_finds_its_job(self, session: Session) -> None:
        issued = register_job(session=session)

        assert find_job_id(session=session, url_id=issued.url_id, token=issued.token) == issued.job_id

    def test_job_ids_count_up(self, session: Session) -> None:
        first = register_job(session=session)
        second = register_job(session=session)

        assert second.job_id == first.job_id + 1

    def test_url_id_and_token_are_long_random_and_distinct(self, session: Session) -> None:
        first = register_job(session=session)
        second = register_job(session=session)

        # token_urlsafe(24) gives 32 characters: 192 random bits.
        assert len(first.url_id) >= 32
        assert len(first.token) >= 32
        assert len({first.url_id, first.token, second.url_id, second.token}) == 4

    def test_token_is_stored_fernet_encrypted_and_as_sha256(self, session: Session, fernet_key: str) -> None:
        issued = register_job(session=session)
        session.commit()

        row = session.get(JobRegistration, issued.job_id)
        stored = [str(getattr(row, column.key)) for column in inspect(JobRegistration).columns]
        assert not any(issued.token in value for value in stored)
        assert Fernet(fernet_key.encode()).decrypt(row.token_encrypted.encode()).decode() == issued.token
        assert row.token_sha256 == hashlib.sha256(issued.token.encode()).hexdigest()

    def test_refuses_to_store_a_token_without_a_fernet_key(
        self, session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", "")
        get_fernet.cache_clear()

        with pytest.raises(HttpTriggerError, match=r"\[core\] fernet_key is empty"):
            register_job(session=session)

    def test_repr_hides_url_id_and_token(self, session: Session) -> None:
        issued = register_job(session=session)

        assert repr(issued) == f"IssuedSecret(job_id={issued.job_id})"


class TestFindJobId:
    def test_wrong_token_finds_nothing(self, session: Session) -> None:
        issued = register_job(session=session)

        assert find_job_id(session=session, url_id=issued.url_id, token=issued.token + "x") is None

    def test_another_jobs_token_finds_nothing(self, session: Session) -> None:
        issued = register_job(session=session)
        other = register_job(session=session)

        assert find_job_id(session=session, url_id=issued.url_id, token=other.token) is None

    def test_unknown_url_id_finds_nothing(self, session: Session) -> None:
        issued = register_job(session=session)

        assert find_job_id(session=session, url_id="no-such-url-id", token=issued.token) is None

    def test_compares_digests_with_hmac_compare_digest(
        self, session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        issued = register_job(session=session)
        calls: list[tuple[str, str]] = []
        real_compare_digest = hmac.compare_digest

        def spy(a: str, b: str) -> bool:
            calls.append((a, b))
            return real_compare_digest(a, b)

        monkeypatch.setattr(trigger_credentials.hmac, "compare_digest", spy)

        assert find_job_id(session=session, url_id=issued.url_id, token=issued.token) == issued.job_id
        digest = hashlib.sha256(issued.token.encode()).hexdigest()
        assert calls == [(digest, digest)]

    def test_unknown_url_id_still_compares_once(
        self, session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls: list[tuple[str, str]] = []
        real_compare_digest = hmac.compare_digest

        def spy(a: str, b: str) -> bool:
            calls.append((a, b))
            return real_compare_digest(a, b)

        monkeypatch.setattr(trigger_credentials.hmac, "compare_digest", spy)

        assert find_job_id(session=session, url_id="no-such-url-id", token="some-token") is None
        assert len(calls) == 1
        assert calls[0][0] == hashlib.sha256(b"some-token").hexdigest()
        assert len(calls[0][1]) == 64

    def test_does_not_need_the_fernet_key(self, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
        issued = register_job(session=session)
        monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
        get_fernet.cache_clear()

        assert find_job_id(session=session, url_id=issued.url_id, token=issued.token) == issued.job_id


class TestGetSecret:
    def test_returns_the_issued_secret(self, session: Session) -> None:
        issued = register_job(session=session)
        session.commit()
        session.expire_all()

        assert get_secret(session=session, job_id=issued.job_id) == issued

    def test_unknown_job_is_none(self, session: Session) -> None:
        assert get_secret(session=session, job_id=999) is None

    def test_names_a_changed_fernet_key(self, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
        issued = register_job(session=session)
        monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
        get_fernet.cache_clear()

        with pytest.raises(HttpTriggerError, match=rf"The secrets of job {issued.job_id} cannot be decrypted"):
            get_secret(session=session, job_id=issued.job_id)


class TestRotate:
    def test_old_pair_stops_matching_and_new_pair_matches(self, session: Session) -> None:
        old = register_job(session=session)

        new = rotate(session=session, job_id=old.job_id)

        assert new.job_id == old.job_id
        assert new.url_id != old.url_id
        assert new.token != old.token
        assert find_job_id(session=session, url_id=old.url_id, token=old.token) is None
        assert find_job_id(session=session, url_id=old.url_id, token=new.token) is None
        assert find_job_id(session=session, url_id=new.url_id, token=old.token) is None
        assert find_job_id(session=session, url_id=new.url_id, token=new.token) == old.job_id

    def test_get_secret_shows_the_new_pair(self, session: Session) -> None:
        old = register_job(session=session)

        new = rotate(session=session, job_id=old.job_id)

        assert get_secret(session=session, job_id=old.job_id) == new

    def test_records_when(self, session: Session) -> None:
        issued = register_job(session=session)
        row = session.get(JobRegistration, issued.job_id)
        assert row.rotated_at is None

        rotate(session=session, job_id=issued.job_id)

        assert row.rotated_at is not None
        assert row.rotated_at - row.created_at < timedelta(minutes=1)

    def test_unknown_job_raises(self, session: Session) -> None:
        with pytest.raises(JobNotFoundError, match=r"^Job 999 does not exist$"):
            rotate(session=session, job_id=999)

    def test_deleted_job_raises(self, session: Session) -> None:
        issued = register_job(session=session)
        unregister(session=session, job_id=issued.job_id)

        with pytest.raises(JobNotFoundError, match=rf"^Job {issued.job_id} does not exist$"):
            rotate(session=session, job_id=issued.job_id)


class TestUnregister:
    def test_secrets_stop_working_and_are_cleared(self, session: Session) -> None:
        issued = register_job(session=session)

        unregister(session=session, job_id=issued.job_id)

        assert find_job_id(session=session, url_id=issued.url_id, token=issued.token) is None
        assert get_secret(session=session, job_id=issued.job_id) is None
        row = session.get(JobRegistration, issued.job_id)
        assert row.deleted_at is not None
        assert (row.url_id, row.token_encrypted, row.token_sha256) == (None, None, None)

    def test_id_is_not_reused(self, session: Session) -> None:
        issued = register_job(session=session)
        unregister(session=session, job_id=issued.job_id)
        session.commit()

        assert register_job(session=session).job_id == issued.job_id + 1

    def test_id_is_not_reused_even_after_the_row_is_deleted_by_hand(self, session: Session) -> None:
        # PostgreSQL's sequence remembers the highest id ever used; MAX(id) + 1 would bring the id back.
        issued = register_job(session=session)
        session.commit()
        session.execute(delete(JobRegistration))
        session.commit()

        assert register_job(session=session).job_id == issued.job_id + 1

    def test_twice_is_harmless(self, session: Session) -> None:
        issued = register_job(session=session)
        unregister(session=session, job_id=issued.job_id)
        deleted_at = session.get(JobRegistration, issued.job_id).deleted_at

        unregister(session=session, job_id=issued.job_id)

        assert session.get(JobRegistration, issued.job_id).deleted_at == deleted_at

    def test_unknown_job_raises(self, session: Session) -> None:
        with pytest.raises(JobNotFoundError, match=r"^Job 999 does not exist$"):
            unregister(session=session, job_id=999)


class TestRegisterGivenId:
    def test_creates_the_given_id(self, session: Session) -> None:
        issued = register_job(session=session, job_id=42)

        assert issued.job_id == 42
        assert find_job_id(session=session, url_id=issued.url_id, token=issued.token) == 42

    def test_a_registered_id_is_refused(self, session: Session) -> None:
        register_job(session=session, job_id=42)
        session.commit()

        with pytest.raises(JobConflictError, match=r"^Job 42 already exists$"):
            register_job(session=session, job_id=42)

    def test_deleted_id_raises(self, session: Session) -> None:
        register_job(session=session, job_id=42)
        unregister(session=session, job_id=42)

        with pytest.raises(JobDeletedError, match=r"^Job 42 was deleted and its id cannot be used again$"):
            register_job(session=session, job_id=42)

    def test_new_ids_continue_after_an_explicit_one(self, session: Session) -> None:
        register_job(session=session, job_id=42)
        session.commit()

        assert register_job(session=session).job_id == 43


class TestClaimAndState:
    def test_claims_an_id_once(self, session: Session) -> None:
        assert registration(session=session, job_id=7) is Registration.NONE
        assert claim_job_id(session=session, job_id=7) is True
        first = get_secret(session=session, job_id=7)

        assert claim_job_id(session=session, job_id=7) is False
        assert get_secret(session=session, job_id=7) == first
        assert registration(session=session, job_id=7, lock=True) is Registration.LIVE

    def test_a_deleted_id_is_not_claimed_again_and_is_listed_as_deleted(self, session: Session) -> None:
        live = register_job(session=session)
        deleted = register_job(session=session)
        unregister(session=session, job_id=deleted.job_id)

        assert claim_job_id(session=session, job_id=deleted.job_id) is False
        assert registration(session=session, job_id=deleted.job_id) is Registration.DELETED
        assert deleted_job_ids(session=session) == {deleted.job_id}
        assert get_secret(session=session, job_id=live.job_id) == live


class TestTriggerCalls:
    def test_record_call_stores_the_call(self, session: Session) -> None:
        call = record_call(
            session=session,
            job_id=7,
            source_address="192.0.2.10",
            status_code=200,
            outcome=TriggerOutcome.STARTED,
            dag_run_id="manual__2026-01-01",
            message="ok",
        )
        session.commit()
        session.expire_all()

        stored = session.get(TriggerCall, call.id)
        assert (stored.job_id, stored.source_address, stored.status_code) == (7, "192.0.2.10", 200)
        assert (stored.outcome, stored.dag_run_id, stored.message) == ("started", "manual__2026-01-01", "ok")
        assert stored.called_at.tzinfo is not None

    def test_unknown_url_id_is_recorded_without_a_job(self, session: Session) -> None:
        call = record_call(
            session=session, job_id=None, source_address=None, status_code=404, outcome="not_found"
        )

        assert (call.id is not None, call.job_id, call.outcome) == (True, None, "not_found")

    def test_unknown_outcome_raises(self, session: Session) -> None:
        with pytest.raises(ValueError, match="'typo' is not a valid TriggerOutcome"):
            record_call(session=session, job_id=1, source_address=None, status_code=200, outcome="typo")

    def test_long_source_address_is_cut_to_the_column(self, session: Session) -> None:
        call = record_call(
            session=session, job_id=1, source_address="1" * 100, status_code=200, outcome="started"
        )

        assert call.source_address == "1" * 64

    def test_holds_no_secret_columns(self) -> None:
        assert set(TriggerCall.__table__.columns.keys()) == {
            "id", "called_at", "job_id", "source_address", "status_code", "outcome", "dag_run_id", "message",
        }

    def test_recent_calls_are_the_jobs_newest_first_and_limited(self, session: Session) -> None:
        for code in (200, 404, 409):
            record_call(session=session, job_id=1, source_address=None, status_code=code, outcome="started")
        record_call(session=session, job_id=2, source_address=None, status_code=500, outcome="error")

        calls = recent_calls(session=session, job_id=1, limit=2)

        assert [call.status_code for call in calls] == [409, 404]
