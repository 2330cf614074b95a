"""The Aurora actions run against moto's in-process RDS; assertions read clusters and snapshots in moto."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from pydantic import ValidationError

from http_trigger.actions.aurora import (
    AuroraCreateDbClusterSnapshotOperator,
    AuroraCreateDbClusterSnapshotParameters,
    AuroraDbClustersParameters,
    AuroraStartDbClusterOperator,
    AuroraStopDbClusterOperator,
)
from http_trigger.actions.backups import JOB_TAG, SOURCE_TAG

from .rds_support import cluster_states, create_cluster, job_id, tags
from .support import REGION, run


class TestParameterModels:
    @pytest.mark.parametrize(
        ("model", "data", "message"),
        [
            (AuroraDbClustersParameters, {}, "give db_cluster_identifiers, or tag_key and tag_value"),
            (
                AuroraCreateDbClusterSnapshotParameters,
                {"db_cluster_identifiers": ["c"], "snapshot_identifier_template": "{db_instance_id}"},
                r"snapshot_identifier_template\n  Value error, unknown placeholder \{db_instance_id\}",
            ),
            (
                AuroraCreateDbClusterSnapshotParameters,
                {"db_cluster_identifiers": ["c"], "tags": {"": "empty"}},
                r"tags\n  Value error, tag key '' must be 1-128 characters",
            ),
        ],
    )
    def test_refuses(self, model, data, message):
        with pytest.raises(ValidationError, match=message):
            model.model_validate(data)


class TestAuroraStartDbClusterOperator:
    def test_starts_stopped_clusters_by_id(self, rds):
        create_cluster(rds, "shop", stopped=True)
        create_cluster(rds, "blog")

        result = run(AuroraStartDbClusterOperator, {"db_cluster_identifiers": ["shop", "blog"]})

        assert cluster_states(rds, "shop", "blog") == {"shop": "available", "blog": "available"}
        assert (result["changed"], result["unchanged"], result["waited"]) == (["shop"], ["blog"], True)

    def test_fails_naming_an_unknown_cluster(self, rds):
        with pytest.raises(AirflowException, match=f"Aurora DB cluster missing does not exist in {REGION}"):
            run(AuroraStartDbClusterOperator, {"db_cluster_identifiers": ["missing"]})


class TestAuroraStopDbClusterOperator:
    def test_stops_the_tagged_clusters(self, rds):
        create_cluster(rds, "shop")
        create_cluster(rds, "prod-shop", env="prod")

        result = run(AuroraStopDbClusterOperator, {"tag_key": "Env", "tag_value": "test"})

        assert cluster_states(rds, "shop", "prod-shop") == {"shop": "stopped", "prod-shop": "available"}
        assert result["changed"] == ["shop"]

    def test_does_not_wait_when_told_not_to(self, rds):
        create_cluster(rds, "shop")
        parameters = {"db_cluster_identifiers": ["shop"], "wait_until_final_state": False}
        result = run(AuroraStopDbClusterOperator, parameters)
        assert result["waited"] is False
        assert cluster_states(rds, "shop") == {"shop": "stopped"}


class TestAuroraCreateDbClusterSnapshotOperator:
    def test_keeps_the_newest_n_of_this_jobs_cluster_snapshots(self, rds):
        create_cluster(rds, "shop")
        rds.create_db_cluster_snapshot(DBClusterIdentifier="shop", DBClusterSnapshotIdentifier="shop-by-hand")
        results = [
            run(
                AuroraCreateDbClusterSnapshotOperator,
                {
                    "db_cluster_identifiers": ["shop"],
                    "snapshot_identifier_template": f"{{db_cluster_id}}-run{n}",
                    "keep_newest": 2,
                    "tags": {"Backup": "weekly"},
                },
            )
            for n in range(1, 4)
        ]

        snapshots = rds.describe_db_cluster_snapshots(DBClusterIdentifier="shop", SnapshotType="manual")[
            "DBClusterSnapshots"
        ]
        remaining = {snapshot["DBClusterSnapshotIdentifier"] for snapshot in snapshots}
        assert remaining == {"shop-by-hand", "shop-run2", "shop-run3"}
        assert results[2]["deleted_snapshots"] == ["shop-run1"]
        [newest] = [s for s in snapshots if s["DBClusterSnapshotIdentifier"] == "shop-run3"]
        assert newest["Status"] == "available"
        assert tags(newest) == {"Backup": "weekly", JOB_TAG: job_id(), SOURCE_TAG: "shop"}

    def test_invalid_conf_fails_without_retry_naming_the_field(self, rds):
        message = r"db_cluster_identifiers\.0: String should match pattern"
        with pytest.raises(AirflowFailException, match=message):
            run(AuroraCreateDbClusterSnapshotOperator, None, conf={"db_cluster_identifiers": ["-bad"]})
