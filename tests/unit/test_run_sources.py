"""Each source's run id names it, and the source is read back from what Airflow stores."""

from __future__ import annotations

import pytest
from airflow.utils.types import DagRunTriggeredByType, DagRunType

from http_trigger.run_sources import TRIGGERED_BY, TriggerSource, new_run_id, source_of


@pytest.mark.parametrize("source", list(TRIGGERED_BY))
def test_a_run_started_by_the_plugin_reads_back_as_its_source(source):
    run_id = new_run_id(source)
    assert source_of(run_id=run_id, run_type=DagRunType.MANUAL, triggered_by=TRIGGERED_BY[source]) is source


@pytest.mark.parametrize("source", [TriggerSource.HTTP, TriggerSource.CLI])
def test_the_run_id_alone_tells_http_and_cli_starts_as_tasks_see_no_triggered_by(source):
    assert source_of(run_id=new_run_id(source), run_type="manual") is source


def test_run_ids_of_one_burst_never_collide():
    assert len({new_run_id(TriggerSource.HTTP) for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    ("run_id", "run_type", "triggered_by", "source"),
    [
        ("scheduled__2026-03-01T00:00:00+00:00", DagRunType.SCHEDULED, DagRunTriggeredByType.TIMETABLE, "schedule"),
        ("backfill__2026-03-01T00:00:00+00:00", DagRunType.BACKFILL_JOB, DagRunTriggeredByType.BACKFILL, "backfill"),
        ("asset_triggered__2026-03-01", DagRunType.ASSET_TRIGGERED, DagRunTriggeredByType.ASSET, "asset"),
        ("manual__2026-03-01T00:00:00+00:00", DagRunType.MANUAL, DagRunTriggeredByType.CLI, "cli"),
        ("manual__2026-03-01T00:00:00+00:00", "manual", "rest_api", "manual"),
    ],
)
def test_runs_airflow_started_read_back_from_their_type_and_starter(run_id, run_type, triggered_by, source):
    assert source_of(run_id=run_id, run_type=run_type, triggered_by=triggered_by) == source
