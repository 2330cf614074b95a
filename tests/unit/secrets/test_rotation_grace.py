"""Rotation with overlap: with a grace period, the replaced URL and token keep working until it ends."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk.timezone import utcnow
from airflow.utils.session import create_session
from http_trigger import jobs_service
from http_trigger.db.models import JobRegistration
from sqlalchemy import update

from ..api_support import body, create, post, rotate
from ..jobs_support import ACTOR


def test_within_the_grace_both_the_old_and_the_new_secrets_start_the_job(client):
    old = create(body(trigger={"rotation_grace_seconds": 3600}))
    new = rotate(old.job.id)

    assert new.secret.url_id != old.secret.url_id
    assert 3500 < (new.secret.previous_valid_until - utcnow()).total_seconds() <= 3600
    assert post(client, old).status_code == 200
    assert post(client, new).status_code == 200


def test_after_the_grace_the_old_secrets_get_404(client):
    old = create(body(trigger={"rotation_grace_seconds": 60}))
    new = rotate(old.job.id)
    with create_session() as session:
        session.execute(
            update(JobRegistration)
            .where(JobRegistration.id == old.job.id)
            .values(previous_valid_until=utcnow() - timedelta(seconds=1))
        )

    assert post(client, old).status_code == 404
    assert post(client, new).status_code == 200
    with create_session() as session:
        assert jobs_service.get_job_details(session=session, job_id=old.job.id).secret.previous_valid_until is None


def test_the_old_url_with_the_new_token_or_the_new_url_with_the_old_token_is_refused(client):
    old = create(body(trigger={"rotation_grace_seconds": 3600}))
    new = rotate(old.job.id)

    assert post(client, old, token=new.secret.token).status_code == 404
    assert post(client, new, token=old.secret.token).status_code == 404


def test_only_the_last_replaced_secrets_overlap_and_no_grace_means_at_once(client):
    first = create(body(trigger={"rotation_grace_seconds": 3600}))
    second = rotate(first.job.id)
    third = rotate(first.job.id)
    assert [post(client, d).status_code for d in (first, second, third)] == [404, 200, 200]

    plain = create()
    rotated = rotate(plain.job.id)
    assert rotated.secret.previous_valid_until is None
    assert (post(client, plain).status_code, post(client, rotated).status_code) == (404, 200)


def test_a_deleted_job_answers_neither_its_old_nor_its_new_secrets(client):
    old = create(body(trigger={"rotation_grace_seconds": 3600}))
    new = rotate(old.job.id)
    with create_session() as session:
        jobs_service.delete_job(session=session, actor=ACTOR, job_id=old.job.id)

    assert (post(client, old).status_code, post(client, new).status_code) == (404, 404)
