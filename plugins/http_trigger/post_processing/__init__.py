"""The post-processing catalogue: what can run after a job's action, on success or on failure.

Like the action catalogue, it is the one source of truth: the job model validates a step's
parameters with ``parameters_model`` and the DAG builder instantiates ``operator_class``::

    operator_class(task_id=..., parameters=<dict>, job_id=<int>, job_name=<str>,
                   status=<"success" | "failure">)

Every operator sends the document built by :func:`http_trigger.post_processing.payload.build_payload`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pydantic
from airflow.sdk import BaseOperator

from http_trigger.post_processing.webhook import WebhookParameters, WebhookPostProcessingOperator


@dataclass(frozen=True)
class PostProcessingType:
    """One kind of notification: how it is named and shown, what it takes, what sends it."""

    name: str
    title: str
    parameters_model: type[pydantic.BaseModel]
    operator_class: type[BaseOperator]


_POST_PROCESSING_TYPES: tuple[PostProcessingType, ...] = (
    PostProcessingType(
        name="webhook",
        title="Webhook",
        parameters_model=WebhookParameters,
        operator_class=WebhookPostProcessingOperator,
    ),
)


def _index(kinds: tuple[PostProcessingType, ...]) -> dict[str, PostProcessingType]:
    """Key the post-processing types by name, refusing a name used twice (caught at import)."""
    index: dict[str, PostProcessingType] = {}
    for kind in kinds:
        if kind.name in index:
            raise ValueError(f"Post-processing type {kind.name!r} is defined twice in the catalogue")
        index[kind.name] = kind
    return index


POST_PROCESSING: dict[str, PostProcessingType] = _index(_POST_PROCESSING_TYPES)


def get_post_processing(name: str) -> PostProcessingType:
    """Return the post-processing type called ``name``; the KeyError lists the known names."""
    try:
        return POST_PROCESSING[name]
    except KeyError:
        known = ", ".join(sorted(POST_PROCESSING))
        raise KeyError(f"Unknown post-processing type {name!r}; known types: {known}") from None
