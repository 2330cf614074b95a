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
from http_trigger.jobs.model import Job, JobBody, PostProcessingDefinition, PostProcessingSpec
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


SpecWithSecrets = JobBody | PostProcessingSpec
"""What holds step secrets: a job (its inline steps) or a shared definition (its one step)."""


def _step_parameters(step: PostProcessingSpec, path: FieldPath) -> Iterator[SecretValue]:
    """Yield every secret parameter of one step at ``path``, set or not."""
    model = POST_PROCESSING[step.type].parameters_model
    for name, marker in secret_parameters(model).items():
        yield SecretValue(
            path=(*path, "parameters", name), kind=step.type, value=step.parameters.get(name), marker=marker
        )


def _parameters(spec: SpecWithSecrets) -> Iterator[SecretValue]:
    """Yield every secret parameter of the spec's steps, set or not; a reference holds none."""
    if isinstance(spec, PostProcessingSpec):
        yield from _step_parameters(spec, ())
        return
    for when in _STEP_LISTS:
        for index, step in enumerate(getattr(spec.post_processing, when)):
            if isinstance(step, PostProcessingSpec):
                yield from _step_parameters(step, ("post_processing", when, index))


def secret_values(spec: SpecWithSecrets) -> list[SecretValue]:
    """Return the values of the spec that readers may not see, in the spec's order."""
    return [
        secret
        for secret in _parameters(spec)
        if isinstance(secret.value, str) and secret.marker.hides(secret.value)
    ]


def definition_owner(name: str) -> str:
    """Return what a definition's masked values are keyed by; no job id reads so."""
    return f"post-processing:{name}"


def _owner(spec: Job | PostProcessingDefinition) -> int | str:
    return spec.id if isinstance(spec, Job) else definition_owner(spec.name)


def mask(value: str, *, owner: int | str) -> str:
    """Return how readers see a secret value of ``owner`` (a job id, or :func:`definition_owner`).

    A URL keeps its scheme and host.
    """
    digest = hmac.new(settings.mask_reference_key(), f"{owner}\0{value}".encode(), "sha256").hexdigest()
    reference = f"{MASK}{digest[:_REFERENCE_LENGTH]}"
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname:
        return f"{url_origin(value)}/{reference}"
    return reference


def _set(data: Any, path: FieldPath, value: str) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def masked_spec(spec: Job | PostProcessingDefinition) -> tuple[dict[str, Any], list[str]]:
    """Return a job's or definition's spec as JSON data with every secret masked, and the masked fields' paths."""
    data = spec.model_dump(mode="json")
    secrets = secret_values(spec)
    for secret in secrets:
        _set(data, secret.path, mask(secret.value, owner=_owner(spec)))
    return data, [secret.field for secret in secrets]


def keep_masked_secrets(body: JobBody, *, job_id: int | None, current: Callable[[], Job | None]) -> JobBody:
    """Return ``body`` with each masked value replaced by the job's value it stands for.

    ``current`` returns the job as stored (None when its spec does not load); it is read only when
    the body holds a masked value. A new job (``job_id`` None) has no value to keep. Raises
    :class:`MaskedSecretError` naming each masked value that stands for none.
    """
    subject = "new job" if job_id is None else f"job {job_id}"
    return _keep_masked(body, owner=job_id, subject=subject, current=current)


def keep_masked_definition_secrets(
    body: PostProcessingDefinition, *, create: bool, current: Callable[[], PostProcessingDefinition | None]
) -> PostProcessingDefinition:
    """Return a definition's ``body`` with each masked value replaced by the value it stands for.

    As :func:`keep_masked_secrets` does for a job; a new definition (``create``) has none to keep.
    """
    subject = "new post-processing definition" if create else f"post-processing definition {body.name!r}"
    owner = None if create else definition_owner(body.name)
    return _keep_masked(body, owner=owner, subject=subject, current=current)


def _keep_masked(body: Any, *, owner: int | str | None, subject: str, current: Callable[[], Any]) -> Any:
    """Replace each masked value of ``body`` by the value of ``current()`` it stands for (None: a new spec)."""
    # Any value with the mask in it, so that not even a mangled one is ever saved as the secret.
    masked = [
        secret for secret in _parameters(body) if isinstance(secret.value, str) and MASK in secret.value
    ]
    if not masked:
        return body
    if owner is None:
        reason = f"a masked value cannot be saved in a {subject}; give the value itself"
        raise MaskedSecretError(subject, *((secret.field, reason) for secret in masked))
    stored = current()
    # What each masked value of the stored spec stands for, per kind and parameter.
    kept: dict[tuple[str, str], dict[str, str]] = {}
    for secret in secret_values(stored) if stored else []:
        kept.setdefault((secret.kind, secret.name), {})[mask(secret.value, owner=owner)] = secret.value
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
        raise MaskedSecretError(subject, *((secret.field, reason) for secret in unknown))
    return type(body).model_validate(data)
