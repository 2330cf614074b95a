"""The post-processing catalogue: what can run after a job's action, on success or on failure.

Like the action catalogue, it is the one source of truth: the job model validates a step's
parameters with ``parameters_model`` and the DAG builder instantiates ``operator_class``::

    operator_class(task_id=..., parameters=<dict>, job_id=<int>, job_name=<str>,
                   status=<"success" | "failure">, retries=..., retry_delay=...)

Every operator subclasses :class:`~http_trigger.post_processing.base.PostProcessingOperator` and
sends the document built by :func:`http_trigger.post_processing.payload.build_payload`.
Kinds: ``email`` (SMTP connection), ``slack`` (incoming webhook), ``webhook`` (HTTP POST),
``sns`` (publish to a topic), ``sqs`` (send to a queue).
"""

from __future__ import annotations

from http_trigger.catalogue import Catalogue
from http_trigger.post_processing import mail, slack, sns, sqs, webhook
from http_trigger.post_processing.base import PostProcessingType

__all__ = ["POST_PROCESSING", "PostProcessingType", "get_post_processing"]

# One line per kind; each module declares its own POST_PROCESSING_TYPE.
_POST_PROCESSING_TYPES: tuple[PostProcessingType, ...] = (
    mail.POST_PROCESSING_TYPE,
    slack.POST_PROCESSING_TYPE,
    webhook.POST_PROCESSING_TYPE,
    sns.POST_PROCESSING_TYPE,
    sqs.POST_PROCESSING_TYPE,
)


POST_PROCESSING: Catalogue[PostProcessingType] = Catalogue("post-processing", _POST_PROCESSING_TYPES)


def get_post_processing(name: str) -> PostProcessingType:
    """Return the post-processing type called ``name``; the KeyError lists the known names."""
    return POST_PROCESSING.require(name)
