"""A job's secrets in its spec: which values they are, how readers see them, how an update keeps them.

They are the post-processing parameters marked :class:`~http_trigger.post_processing.base.Secret`:
a webhook's Authorization value, a Slack webhook URL, a webhook URL that embeds a credential or
is a job's trigger URL. (The job's trigger URL and token, kept in the metadata DB, are the others;
:mod:`http_trigger.job_view` shows a job with all of them.)

A masked value reads :data:`MASK` followed by eight hex digits, a reference to the value; a masked
URL keeps its scheme and host (``https://hooks.slack.com/••••1f2e3d4c``), so it is still a valid
URL and readers see where it points. The reference is an HMAC of the job id and the value under a
key derived from Airflow's Fernet key: it tells nothing about the value, yet lets an update that
sends a masked value back keep the value it stands for, even when its step moved in between (a step
before it removed, say), where matching by position would silently swap two steps' secrets. A
value with the mask in it that stands for no value of the same field of the job is refused.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from http_trigger import settings
from http_trigger.errors import MaskedSecretError
from http_trigger.jobs.model import Job, JobBody
from http_trigger.post_processing import POST_PROCESSING
from http_trigger.post_processing.base import Secret, secret_parameters, url_origin

MASK = "••••"
"""What stands for a secret's value wherever readers see the secret; a masked value contains it."""

_REFERENCE_LENGTH = 8
_STEP_LISTS = ("on_success", "on_failure")

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class SecretValue:
    """A secret parameter of one step: where it is (``post_processing.on_success.0.parameters.url``)."""

    path: FieldPath
    kind: str
    value: Any
    marker: Secret

    @property
    def field(self) -> str:
        return ".".join(str(part) for part in self.path)

    @property
    def name(self) -> str:
        return str(self.path[-1])


def _parameters(job: JobBody) -> Iterator[SecretValue]:
    """Yield every secret parameter of the job's steps, set or not."""
    for when in _STEP_LISTS:
        for index, step in enumerate(getattr(job.post_processing, when)):
            model = POST_PROCESSING[step.type].parameters_model
            for name, marker in secret_parameters(model).items():
                path = ("post_processing", when, index, "parameters", name)
                yield SecretValue(path=path, kind=step.type, value=step.parameters.get(name), marker=marker)


def secret_values(job: JobBody) -> list[SecretValue]:
    """Return the values of the job's spec that readers may not see, in the spec's order."""
    return [
        secret
        for secret in _parameters(job)
        if isinstance(secret.value, str) and secret.marker.hides(secret.value)
    ]


def mask(value: str, *, job_id: int) -> str:
    """Return how readers of job ``job_id`` see a secret value: a URL keeps its scheme and host."""
    digest = hmac.new(settings.mask_reference_key(), f"{job_id}\0{value}".encode(), "sha256").hexdigest()
    reference = f"{MASK}{digest[:_REFERENCE_LENGTH]}"
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname:
        return f"{url_origin(value)}/{reference}"
    return reference


def _set(data: Any, path: FieldPath, value: str) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def masked_spec(job: Job) -> tuple[dict[str, Any], list[str]]:
    """Return the job's spec as JSON data with every secret masked, and the paths of the masked fields."""
    data = job.model_dump(mode="json")
    secrets = secret_values(job)
    for secret in secrets:
        _set(data, secret.path, mask(secret.value, job_id=job.id))
    return data, [secret.field for secret in secrets]


def keep_masked_secrets(body: JobBody, *, job_id: int | None, current: Callable[[], Job | None]) -> JobBody:
    """Return ``body`` with each masked value replaced by the job's value it stands for.

    ``current`` returns the job as stored (None when its spec does not load); it is read only when
    the body holds a masked value. A new job (``job_id`` None) has no value to keep. Raises
    :class:`MaskedSecretError` naming each masked value that stands for none.
    """
    # Any value with the mask in it, so that not even a mangled one is ever saved as the secret.
    masked = [
        secret for secret in _parameters(body) if isinstance(secret.value, str) and MASK in secret.value
    ]
    if not masked:
        return body
    if job_id is None:
        reason = "a masked value cannot be saved in a new job; give the value itself"
        raise MaskedSecretError("new job", *((secret.field, reason) for secret in masked))
    stored = current()
    # What each masked value of the stored job stands for, per kind and parameter.
    kept: dict[tuple[str, str], dict[str, str]] = {}
    for secret in secret_values(stored) if stored else []:
        kept.setdefault((secret.kind, secret.name), {})[mask(secret.value, job_id=job_id)] = secret.value
    data = body.model_dump(mode="json")
    unknown = []
    for secret in masked:
        value = kept.get((secret.kind, secret.name), {}).get(secret.value)
        if value is None:
            unknown.append(secret)
        else:
            _set(data, secret.path, value)
    if unknown:
        reason = "a masked value that stands for no current value of this field; give the value itself"
        raise MaskedSecretError(f"job {job_id}", *((secret.field, reason) for secret in unknown))
    return JobBody.model_validate(data)
