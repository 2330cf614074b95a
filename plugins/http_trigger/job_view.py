"""What a user sees of a job: the one place that decides it, for the JSON API and the CLI alike.

Whoever may read a job sees that each of its secrets is set, never its value: its trigger URL and
token, and the secrets of its spec (:mod:`http_trigger.secrets.spec_secrets`), all read masked. Only a user
allowed to edit the job gets them in clear, and only on purpose: the trigger URL and token that a
create or a rotation just issued to them, or every secret through :func:`reveal_secrets`, which
first records the reveal in the job's audit (:mod:`http_trigger.jobs.audit`: who, from where,
which fields; never a value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from http_trigger import urls
from http_trigger.errors import JobNotFoundError
from http_trigger.jobs import audit as job_audit
from http_trigger.jobs.audit import Actor, JobEvent
from http_trigger.secrets.spec_secrets import MASK, SecretValue, masked_spec, secret_values

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from http_trigger.jobs_service import JobDetails

TRIGGER_FIELDS = ("trigger_url", "token", "signing_secret")


def job_view(details: JobDetails, *, may_edit: bool, issued: bool = False) -> dict[str, Any]:
    """Return a job as a user sees it, as JSON data: every secret masked, unless ``issued``.

    ``issued`` shows the trigger URL and token (and the curl line) that the request itself just
    issued to an editor (a create, a rotation). ``can_edit`` tells clients which controls to offer;
    ``masked_fields`` names every masked field.
    """
    if issued and not may_edit:
        raise ValueError("Only a user allowed to edit a job may see its trigger URL and token")
    spec, masked = masked_spec(details.job)
    secret = details.secret
    if secret is None:
        trigger: dict[str, Any] = {"trigger_url": None, "token": None, "signing_secret": None, "curl": None}
    elif issued:
        trigger = {
            "trigger_url": details.trigger_url,
            "token": secret.token,
            "signing_secret": secret.signing_secret,
            "curl": details.curl,
        }
    else:
        signing = MASK if secret.signing_secret else None
        trigger = {"trigger_url": urls.trigger_url(MASK), "token": MASK, "signing_secret": signing, "curl": None}
        masked = [*(field for field in TRIGGER_FIELDS if trigger[field] is not None), *masked]
    return {
        **spec,
        "dag_id": details.job.dag_id,
        "version": details.stored.version,
        "is_paused": details.is_paused,
        **trigger,
        "previous_secret_valid_until": secret.previous_valid_until if secret else None,
        "can_edit": may_edit,
        "masked_fields": masked,
    }


@dataclass(frozen=True)
class RevealedSecrets:
    """Every secret of a job in clear: its trigger URL, token and curl line, and its spec's secrets."""

    job_id: int
    trigger_url: str
    token: str
    signing_secret: str | None
    curl: str
    fields: list[SecretValue]

    @property
    def field_names(self) -> list[str]:
        trigger_fields = (field for field in TRIGGER_FIELDS if field != "signing_secret" or self.signing_secret)
        return [*trigger_fields, *(secret.field for secret in self.fields)]

    def as_json(self) -> dict[str, Any]:
        """Return them as JSON data, as the API answers and the CLI prints them."""
        return {
            "id": self.job_id,
            "trigger_url": self.trigger_url,
            "token": self.token,
            "signing_secret": self.signing_secret,
            "curl": self.curl,
            "fields": [{"field": secret.field, "value": secret.value} for secret in self.fields],
        }


def reveal_secrets(*, session: Session, details: JobDetails, actor: Actor) -> RevealedSecrets:
    """Record the reveal of every secret of a job in its audit, then return them. Commits.

    The caller has checked that ``actor`` may edit the job. The record is committed before any
    value is returned: a reveal that cannot be recorded does not happen.
    """
    job = details.job
    if details.secret is None or details.trigger_url is None or details.curl is None:
        raise JobNotFoundError(job.id)
    revealed = RevealedSecrets(
        job_id=job.id,
        trigger_url=details.trigger_url,
        token=details.secret.token,
        signing_secret=details.secret.signing_secret,
        curl=details.curl,
        fields=secret_values(job),
    )
    job_audit.record(
        session, event=JobEvent.REVEAL, actor=actor, job_id=job.id, details={"fields": revealed.field_names}
    )
    session.commit()
    return revealed
