"""What the backup actions share: name templates, tags, and keeping only the newest N copies.

Names and descriptions are ``str.format`` templates: ``{date}`` is the UTC date as ``YYYYMMDD``,
``{datetime}`` the UTC time as ``YYYYMMDD-HHMMSS``, and each action adds the id of what it
copies (``{instance_id}``, ``{volume_id}``, ``{db_instance_id}``…). Named placeholders rather
than strftime codes: they cannot collide with a literal ``%`` and an unknown one is refused
when the job is saved, not when it runs.

Rotation only ever deletes what this job made: every image or snapshot an action creates carries
``http-trigger:job`` (the job's DAG id) and ``http-trigger:source`` (the id it was made from), and
"keep the newest N" looks at exactly the copies carrying both, the one just made counted first.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timezone
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, Field
from http_trigger.field_messages import Rule

JOB_TAG = "http-trigger:job"
SOURCE_TAG = "http-trigger:source"
_RESERVED_TAG_PREFIXES = ("aws:", "http-trigger:")
DATE_FORMATS = {"date": "%Y%m%d", "datetime": "%Y%m%d-%H%M%S"}
DATE_PLACEHOLDERS_DOC = "{date} (UTC, YYYYMMDD), {datetime} (UTC, YYYYMMDD-HHMMSS)"
# AWS allows 50 tags per resource; two are ours.
_MAX_USER_TAGS = 48

T = TypeVar("T")


_INVALID_TEMPLATE = Rule("backups.invalid_template", "{template} is not a valid template: {error}")
_UNKNOWN_PLACEHOLDER = Rule(
    "backups.unknown_placeholder", "unknown placeholder {placeholder} in {template}; use {known}"
)
_TOO_MANY_TAGS = Rule("backups.too_many_tags", "at most {limit} tags (got {count})")
_TAG_KEY_LENGTH = Rule("backups.tag_key_length", "tag key {key} must be 1-128 characters")
_TAG_VALUE_LENGTH = Rule("backups.tag_value_length", "the value of tag {key} must be at most 256 characters")
_RESERVED_TAG_PREFIX = Rule(
    "backups.reserved_tag_prefix", "tag key {key} uses a reserved prefix ({prefixes})"
)


def check_template(template: str, placeholders: Collection[str]) -> str:
    """Return ``template`` if it only uses ``{date}``, ``{datetime}`` and ``placeholders``."""
    allowed = [*placeholders, *DATE_FORMATS]
    try:
        fields = [item[1:] for item in string.Formatter().parse(template) if item[1] is not None]
    except ValueError as error:
        raise _INVALID_TEMPLATE.error(template=repr(template), error=error) from None
    for name, spec, conversion in fields:
        if name not in allowed or spec or conversion:
            known = ", ".join(f"{{{known}}}" for known in allowed)
            raise _UNKNOWN_PLACEHOLDER.error(placeholder=f"{{{name}}}", template=repr(template), known=known)
    return template


def render_template(template: str, now: datetime, **values: str) -> str:
    """Fill a checked template with the UTC date and time of ``now`` and the given ids."""
    moment = now.astimezone(timezone.utc)
    dates = {name: moment.strftime(pattern) for name, pattern in DATE_FORMATS.items()}
    return template.format(**dates, **values)


def utc_now() -> datetime:
    """Return the time names are rendered with (one call per run, so all targets share it)."""
    return datetime.now(timezone.utc)


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > _MAX_USER_TAGS:
        raise _TOO_MANY_TAGS.error(limit=_MAX_USER_TAGS, count=len(tags))
    for key, value in tags.items():
        if not 1 <= len(key) <= 128:
            raise _TAG_KEY_LENGTH.error(key=repr(key))
        if len(value) > 256:
            raise _TAG_VALUE_LENGTH.error(key=repr(key))
        if key.lower().startswith(_RESERVED_TAG_PREFIXES):
            raise _RESERVED_TAG_PREFIX.error(key=repr(key), prefixes=", ".join(_RESERVED_TAG_PREFIXES))
    return tags


UserTags = Annotated[dict[str, str], AfterValidator(_check_tags)]


def tags_field(resources: str) -> Any:
    """Return the ``tags`` field: tags to put on each created ``resources``."""
    return Field(
        default_factory=dict,
        title="Tags",
        description=f"Tags put on each new {resources}, e.g. {{\"Backup\": \"daily\"}}.",
    )


def keep_newest_field(resources: str, per: str) -> Any:
    """Return the ``keep_newest`` field: how many of this job's ``resources`` to keep ``per`` source."""
    return Field(
        default=None,
        ge=1,
        le=1000,
        title="Keep newest",
        description=(
            f"Keep only this many {resources} made by this job per {per}, the new one included, "
            f"and delete the older ones. Empty keeps them all."
        ),
    )


def aws_tags(user_tags: Mapping[str, str], *, job: str, source: str) -> list[dict[str, str]]:
    """Return the user's tags plus the two that mark a copy as this job's, in AWS's list form."""
    tags = {**user_tags, JOB_TAG: job, SOURCE_TAG: source}
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def older_generations(previous: Sequence[T], *, keep: int, created_at: Callable[[T], Any]) -> list[T]:
    """Return what goes beyond ``keep`` copies once the new one is counted: the oldest of ``previous``."""
    return sorted(previous, key=created_at, reverse=True)[keep - 1 :]
