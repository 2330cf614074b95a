"""Signed trigger calls (Standard Webhooks): verified with the job's secret, fresh, never replayed."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from http_trigger.secrets.trigger_credentials import SIGNING_SECRET_PREFIX
from standardwebhooks.webhooks import Webhook

from ..api_support import body, create, post, rotate, runs_of

SIGNED_JOB = {"type": "ec2_start_instances", "aws_conn_id": "aws_demo", "parameters_at_execution": True}
PARAMETERS = {"tag_key": "Env", "tag_value": "test"}


def _signed_headers(secrets: list[str], content: str, *, webhook_id: str = "msg_1", at: float | None = None):
    moment = datetime.fromtimestamp(at if at is not None else time.time(), tz=timezone.utc)
    signatures = " ".join(Webhook(secret).sign(webhook_id, moment, content) for secret in secrets)
    return {"webhook-id": webhook_id, "webhook-timestamp": str(int(moment.timestamp())), "webhook-signature": signatures}


def _signed_post(client, details, secrets, *, content: str | None = None, **kwargs):
    content = json.dumps(PARAMETERS) if content is None else content
    return post(client, details, content=content, headers=_signed_headers(secrets, content, **kwargs))


def _signed_job(**trigger):
    return create(body(action=SIGNED_JOB, trigger={"require_signature": True, **trigger}))


def test_a_call_signed_with_the_jobs_secret_starts_it(client):
    details = _signed_job()
    assert details.secret.signing_secret.startswith(SIGNING_SECRET_PREFIX)

    response = _signed_post(client, details, [details.secret.signing_secret])

    assert response.status_code == 200, response.text
    [run] = runs_of(details.job.dag_id)
    assert run.conf["tag_key"] == "Env"


def test_unsigned_badly_signed_changed_or_stale_calls_are_refused_with_403(client):
    details = _signed_job()
    secret = details.secret.signing_secret
    other_secret = _signed_job().secret.signing_secret

    unsigned = post(client, details, content=json.dumps(PARAMETERS))
    wrong_secret = _signed_post(client, details, [other_secret])
    signed = _signed_headers([secret], json.dumps(PARAMETERS))
    changed_body = post(client, details, content=json.dumps({**PARAMETERS, "tag_value": "prod"}), headers=signed)
    stale = _signed_post(client, details, [secret], at=time.time() - 600)
    garbled = post(
        client, details, content="{}", headers={**_signed_headers([secret], "{}"), "webhook-signature": "nonsense"}
    )

    for response in (unsigned, wrong_secret, changed_body, stale, garbled):
        assert response.status_code == 403, response.text
    assert "missing: webhook-id, webhook-timestamp, webhook-signature" in unsigned.json()["message"]
    assert "too old" in stale.json()["message"]
    assert runs_of(details.job.dag_id) == []


def test_a_replayed_webhook_id_is_refused_and_starts_nothing(client):
    details = _signed_job()
    secret = details.secret.signing_secret
    first = _signed_post(client, details, [secret], webhook_id="msg_replay")
    replay = _signed_post(client, details, [secret], webhook_id="msg_replay")

    assert first.status_code == 200
    assert replay.status_code == 403
    assert "already received" in replay.json()["message"]
    assert len(runs_of(details.job.dag_id)) == 1


def test_during_a_rotation_grace_both_secrets_verify_and_several_signatures_are_accepted(client):
    old = _signed_job(rotation_grace_seconds=3600)
    new = rotate(old.job.id)
    assert new.secret.signing_secret != old.secret.signing_secret

    assert _signed_post(client, new, [old.secret.signing_secret], webhook_id="a").status_code == 200
    assert _signed_post(client, new, [new.secret.signing_secret], webhook_id="b").status_code == 200
    both = _signed_post(client, new, ["whsec_" + "A" * 44, new.secret.signing_secret], webhook_id="c")
    assert both.status_code == 200


def test_a_job_that_does_not_require_signatures_ignores_the_headers(client):
    details = create()
    headers = {"webhook-id": "x", "webhook-timestamp": "0", "webhook-signature": "v1,AAAA"}
    assert post(client, details, headers=headers).status_code == 200
