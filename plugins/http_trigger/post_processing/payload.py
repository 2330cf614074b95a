"""The JSON document every post-processing step sends: what ran, how it ended, where its log is."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from http_trigger import urls
from http_trigger.run_contract import ERROR_XCOM_KEY
from http_trigger.run_sources import source_of

if TYPE_CHECKING:
    from airflow.sdk import Context

# Every key a payload may carry, in the order receivers see them; ``error`` only on failure.
PAYLOAD_KEYS: tuple[str, ...] = (
    "name",
    "trigger_job_id",
    "status",
    "dag_id",
    "dag_run_id",
    "trigger_source",
    "started_at",
    "finished_at",
    "log_url",
    "error",
)


def build_payload(context: Context, *, job_id: int, job_name: str, status: str) -> dict[str, Any]:
    """
    Describe the job's run for a notification receiver.

    Keys: ``name`` (the job's name), ``trigger_job_id`` (the job's integer id), ``status``
    (``success`` or ``failure``), ``dag_id``, ``dag_run_id``, ``trigger_source`` (a
    :class:`~http_trigger.run_sources.TriggerSource`: ``http``, ``manual``, ``cli``,
    ``schedule``, ``backfill`` or ``asset``), ``started_at`` (the run's start, ISO 8601), ``finished_at`` (now,
    ISO 8601 UTC), ``log_url`` (the run's page in the Airflow UI) and, on failure when the action
    left one, ``error``: a one-line summary of why the action failed.

    The error is read from the XCom a failing action pushes under :data:`~http_trigger.run_contract.ERROR_XCOM_KEY`,
    looked up on this task's upstream tasks, since a task cannot see another task's exception.
    """
    dag_run = context["dag_run"]
    run_id: str = dag_run.run_id
    payload: dict[str, Any] = {
        "name": job_name,
        "trigger_job_id": job_id,
        "status": status,
        "dag_id": dag_run.dag_id,
        "dag_run_id": run_id,
        "trigger_source": source_of(run_id=run_id, run_type=dag_run.run_type).value,
        "started_at": dag_run.start_date.isoformat() if dag_run.start_date else None,
        "finished_at": datetime.now(timezone.utc).isoformat(),
        "log_url": urls.run_url(dag_run.dag_id, run_id),
    }

    ti, task = context.get("ti"), context.get("task")
    if status == "failure" and ti is not None and task is not None:
        for upstream_task_id in sorted(task.upstream_task_ids):
            error = ti.xcom_pull(task_ids=upstream_task_id, key=ERROR_XCOM_KEY)
            if error:
                payload["error"] = str(error)
                break
    return payload


def payload_json(payload: dict[str, Any]) -> str:
    """Serialise a payload as a message body (SNS, SQS): compact JSON, non-ASCII characters kept as is."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
