"""Request and response bodies of the plugin's HTTP API (named by role, as Airflow's own API does)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from http_trigger.job_model import JobBody


class TriggerResponse(BaseModel):
    """The trigger's success answer; ``result`` and ``trigger_job_id`` never change meaning."""

    result: Literal["ok"] = "ok"
    trigger_job_id: int = Field(description="The id of the job that started.")
    dag_id: str
    dag_run_id: str = Field(description="The run's id, as in Airflow's REST API, to follow the run.")


class JobResponse(JobBody):
    """A job as the API shows it: its spec, its DAG, and for editors the trigger URL and token."""

    id: int
    dag_id: str
    version: str = Field(description="Send it back in If-Match to update only what you read.")
    is_paused: bool | None = Field(description="None until Airflow has loaded the job's DAG.")
    trigger_url: str | None
    token: str | None = Field(description="Shown only to users allowed to edit the job.")
    curl: str | None


class JobCollectionResponse(BaseModel):
    """Every job the user may read, and the spec files that could not be loaded."""

    jobs: list[JobResponse]
    total_entries: int
    spec_errors: list[str]


class JobEnabledBody(BaseModel):
    """Enable or disable a job."""

    enabled: bool
