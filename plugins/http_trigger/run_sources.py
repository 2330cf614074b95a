"""Who started a run, and the run id each starter gives it: one vocabulary for the API, pages and payloads.

Airflow records a run's type and ``triggered_by``, but not whether the HTTP trigger or Airflow's
own trigger button created a manual run. The run id says it: each source of the plugin writes its
own prefix, so history, pages and notifications read the source back from the run alone.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from airflow.utils.types import DagRunTriggeredByType, DagRunType


class TriggerSource(StrEnum):
    """How a run of a job was started."""

    HTTP = "http"
    """A caller POSTed to the job's trigger URL with its token."""
    MANUAL = "manual"
    """Someone pressed Run now (the plugin's page or Airflow's own trigger button)."""
    CLI = "cli"
    """``http-trigger jobs trigger`` or Airflow's CLI."""
    SCHEDULE = "schedule"
    """The job's cron schedule."""
    BACKFILL = "backfill"
    ASSET = "asset"


# Airflow's own record of who asked for a run, per source the plugin starts runs for.
TRIGGERED_BY: dict[TriggerSource, DagRunTriggeredByType] = {
    TriggerSource.HTTP: DagRunTriggeredByType.REST_API,
    TriggerSource.MANUAL: DagRunTriggeredByType.UI,
    TriggerSource.CLI: DagRunTriggeredByType.CLI,
}
_RUN_ID_PREFIX = {
    TriggerSource.HTTP: "http",
    TriggerSource.MANUAL: DagRunType.MANUAL.value,
    TriggerSource.CLI: "cli",
}


def new_run_id(source: TriggerSource) -> str:
    """Return a run id that names ``source`` and never collides, even for runs started in one burst."""
    moment = datetime.now(timezone.utc).isoformat()
    return f"{_RUN_ID_PREFIX[source]}__{moment}_{secrets.token_hex(4)}"


def _value(field: Any) -> str | None:
    value = getattr(field, "value", field)
    return str(value) if value is not None else None


def source_of(*, run_id: str, run_type: Any, triggered_by: Any = None) -> TriggerSource:
    """Tell how the run ``run_id`` was started, from what Airflow stores about it.

    Tasks see no ``triggered_by``; the run id alone tells the plugin's own HTTP and CLI starts.
    """
    for source in (TriggerSource.HTTP, TriggerSource.CLI):
        if run_id.startswith(f"{_RUN_ID_PREFIX[source]}__"):
            return source
    kind = _value(run_type)
    if kind == DagRunType.SCHEDULED.value:
        return TriggerSource.SCHEDULE
    if kind == DagRunType.BACKFILL_JOB.value:
        return TriggerSource.BACKFILL
    if kind == DagRunType.ASSET_TRIGGERED.value:
        return TriggerSource.ASSET
    if _value(triggered_by) == DagRunTriggeredByType.CLI.value:
        return TriggerSource.CLI
    return TriggerSource.MANUAL
