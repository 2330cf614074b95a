"""Choose the resources an action works on: a list of ids, or every resource carrying one tag.

Every action that targets resources offers the same two ways, with the same field names
(``tag_key`` / ``tag_value`` beside the resource's own id list), so the forms read alike and a
job can switch from ids to a tag without learning a new vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import Field, model_validator

from http_trigger.actions.base import ActionParameters
from http_trigger.field_messages import Rule

T = TypeVar("T")


def tag_key_field(resources: str) -> Any:
    """Return the ``tag_key`` field of a model choosing ``resources`` (plural noun) by tag."""
    return Field(
        default=None,
        min_length=1,
        max_length=128,
        title="Tag key",
        description=f"Act on every {resources} whose tag with this key has tag_value.",
    )


def wait_field(description: str) -> Any:
    """Return the ``wait_until_final_state`` field (on by default), saying what "final" means here."""
    return Field(default=True, title="Wait until final state", description=description)


def tag_value_field() -> Any:
    """Return the ``tag_value`` field that goes with :func:`tag_key_field`."""
    return Field(default=None, min_length=1, max_length=256, title="Tag value")


_IDS_AND_TAG = Rule("targets.ids_and_tag", "give either {ids_field} or tag_key and tag_value, not both")
_NO_TARGET = Rule(
    "targets.no_target", "give {ids_field}, or tag_key and tag_value, to choose the {resources}"
)
_TAG_KEY_MISSING = Rule("targets.tag_key_missing", "tag_key is required with tag_value")
_TAG_VALUE_MISSING = Rule("targets.tag_value_missing", "tag_value is required with tag_key")


def check_one_target(
    *, ids_field: str, ids: list[str], tag_key: str | None, tag_value: str | None, resources: Rule
) -> None:
    """Refuse a choice that is not exactly one of: ids, or a tag key with its value."""
    by_tag = tag_key is not None or tag_value is not None
    if ids and by_tag:
        raise _IDS_AND_TAG.error(ids_field=ids_field)
    if not ids and not by_tag:
        raise _NO_TARGET.error(ids_field=ids_field, resources=resources)
    if by_tag and tag_key is None:
        raise _TAG_KEY_MISSING.error()
    if by_tag and tag_value is None:
        raise _TAG_VALUE_MISSING.error()


@dataclass(frozen=True)
class Tag:
    """One tag choosing resources: a key with its value, shown as ``Env=test`` in messages and logs.

    One value rather than a key and a value passed side by side, so every look-up by tag reads the
    pair the same way and no message renders it differently.
    """

    key: str
    value: str

    def __str__(self) -> str:
        return f"{self.key}={self.value}"

    def on(self, tags: Iterable[Mapping[str, str]] | None) -> bool:
        """Tell whether an AWS tag list (``[{"Key": …, "Value": …}]``) holds this tag."""
        return any(tag.get("Key") == self.key and tag.get("Value") == self.value for tag in tags or ())

    def ec2_filter(self) -> dict[str, Any]:
        """Return the ``tag:<key>`` filter of EC2-style describe calls (EC2, Auto Scaling)."""
        return {"Name": f"tag:{self.key}", "Values": [self.value]}


def unique(ids: Iterable[str]) -> list[str]:
    """Drop repeated ids, keeping the order the user wrote them in."""
    return list(dict.fromkeys(ids))


def listed(ids: Iterable[str]) -> str:
    """Render ids the way error messages and logs show them: ``i-1, i-2``."""
    return ", ".join(ids)


class TargetedParameters(ActionParameters):
    """Parameters choosing resources by a list of ids or by one tag: exactly one of the two.

    Subclasses declare the ids field (``ids_field``), name the resources for messages
    (``resources``, a rule, so that each language names them) and define ``tag_key`` /
    ``tag_value`` with their own descriptions.
    """

    ids_field: ClassVar[str]
    resources: ClassVar[Rule]

    @model_validator(mode="after")
    def _one_target(self) -> TargetedParameters:
        check_one_target(
            ids_field=self.ids_field,
            ids=getattr(self, self.ids_field),
            tag_key=getattr(self, "tag_key", None),
            tag_value=getattr(self, "tag_value", None),
            resources=self.resources,
        )
        return self

    def chosen_ids(self) -> list[str]:
        """Return the ids given, without repeats, in the order written; empty when a tag chooses."""
        return unique(getattr(self, self.ids_field))

    def choose(self, *, by_ids: Callable[[list[str]], T], by_tag: Callable[[Tag], T]) -> T:
        """Return what ``by_ids`` finds for the ids given, or else what ``by_tag`` finds for the tag.

        The validator let through exactly one of the two, so every action reads the choice here.
        """
        ids = self.chosen_ids()
        return by_ids(ids) if ids else by_tag(self.tag)  # type: ignore[arg-type]

    @property
    def tag(self) -> Tag | None:
        """The chosen tag, or None when ids choose."""
        tag_key, tag_value = getattr(self, "tag_key", None), getattr(self, "tag_value", None)
        return None if tag_key is None or tag_value is None else Tag(tag_key, tag_value)
