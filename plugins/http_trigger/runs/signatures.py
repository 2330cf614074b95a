"""Signed trigger calls: a job can require the Standard Webhooks headers on top of its token.

A token alone proves who holds it; a signature over the call's id, time and body also proves the
body was not changed on the way and the call is fresh (a five-minute window). The signature is
HMAC-SHA256 with the job's signing secret, checked by the ``standardwebhooks`` library; during a
rotation's grace the replaced secret verifies too, and a sender may send several signatures
(one per secret) while it switches. A ``webhook-id`` is accepted once: it is kept as the call's
idempotency key, so a replayed call is refused and a retried one never starts a second run.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from typing import TYPE_CHECKING

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from http_trigger.errors import SignatureError
from http_trigger.secrets import trigger_credentials

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
WEBHOOK_ID_KEY_PREFIX = "webhook-id:"
"""A signed call's ``webhook-id`` is stored as its idempotency key under this prefix."""


def signature_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return the Standard Webhooks headers of a request (those it carries)."""
    return {name: headers[name] for name in HEADERS if name in headers}


def verify(*, session: Session, job_id: int, body: bytes, headers: Mapping[str, str]) -> str:
    """Check a signed call of job ``job_id``; return its ``webhook-id``, or raise :class:`SignatureError`."""
    missing = [name for name in HEADERS if not headers.get(name)]
    if missing:
        raise SignatureError(f"Job {job_id} accepts signed calls only; missing: {', '.join(missing)}", job_id=job_id)
    secrets = trigger_credentials.signing_secrets(session=session, job_id=job_id)
    if not secrets:
        raise SignatureError(
            f"Job {job_id} has no signing secret yet; update its URL and token to issue one", job_id=job_id
        )
    reason = "no signature matches"
    for secret in secrets:
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
        except WebhookVerificationError as error:
            reason = str(error)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            reason = "the webhook-signature header is not a list of v1,<base64> signatures"
        else:
            return headers["webhook-id"]
    raise SignatureError(f"The call's signature does not verify: {reason}", job_id=job_id)
