"""The RDS actions run against moto's in-process RDS; assertions read the state in moto."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from airflow.sdk.exceptions import AirflowException
from pydantic import ValidationError

from http_trigger.actions.backups import JOB_TAG, SOURCE_TAG
from http_trigger.actions.rds import (
    RdsCreateDbSnapshotOperator,
    RdsCreateDbSnapshotParameters,
    RdsDbInstancesParameters,
    RdsModifyDbInstanceClassOperator,
    RdsModifyDbInstanceClassParameters,
    RdsRebootDbInstanceOperator,
    RdsStartDbInstanceOperator,
    RdsStopDbInstanceOperator,
)
from http_trigger.run_contract import ERROR_XCOM_KEY

from .rds_support import create_cluster, create_db, db_states, job_id, tags
from .support import REGION, RecordingTaskInstance, run


class TestParameterModels:
    @pytest.mark.parametrize(
        ("model", "data", "message"),
        [
            (RdsDbInstancesParameters, {}, "give db_instance_identifiers, or tag_key and tag_value"),
            (
                RdsDbInstancesParameters,
                {"db_instance_identifiers": ["1db"]},
                r"db_instance_identifiers\.0\n  String should match pattern",
            ),
            (
                RdsDbInstancesParameters,
                {"db_instance_identifiers": ["db"], "tag_key": "Env", "tag_value": "x"},
                "give either db_instance_identifiers or tag_key and tag_value, not both",
            ),
            (RdsDbInstancesParameters, {"tag_key": "Env"}, "tag_value is required with tag_key"),
            (
                RdsModifyDbInstanceClassParameters,
                {"db_instance_identifiers": ["db"]},
                r"db_instance_class\n  Field required",
            ),
            (
                RdsModifyDbInstanceClassParameters,
                {"db_instance_identifiers": ["db"], "db_instance_class": "t3.large"},
                r"db_instance_class\n  String should match pattern",
            ),
            (
                RdsCreateDbSnapshotParameters,
                {"db_instance_identifiers": ["db"], "snapshot_identifier_template": "{datetime}-x"},
                r"snapshot_identifier_template\n  Value error, '\{datetime\}-x' gives identifiers "
                r"like '20000101-000000-x'; a snapshot identifier starts with a letter",
            ),
            (
                RdsCreateDbSnapshotParameters,
                {"db_instance_identifiers": ["db"], "snapshot_identifier_template": "{db_instance_id}_x"},
                r"snapshot_identifier_template\n  Value error, .* gives identifiers like 'db_x'",
            ),
            (
                RdsCreateDbSnapshotParameters,
                {"db_instance_identifiers": ["db"], "snapshot_identifier_template": "{db_cluster_id}-{date}"},
                r"snapshot_identifier_template\n  Value error, unknown placeholder \{db_cluster_id\}",
            ),
            (
                RdsCreateDbSnapshotParameters,
                {"db_instance_identifiers": ["db"], "keep_newest": 1001},
                r"keep_newest\n  Input should be less than or equal to 1000",
            ),
        ],
    )
    def test_refuses(self, model, data, message):
        with pytest.raises(ValidationError, match=message):
            model.model_validate(data)


class TestRdsStartDbInstanceOperator:
    def test_starts_stopped_instances_by_id_and_leaves_available_ones(self, rds):
        create_db(rds, "orders", stopped=True)
        create_db(rds, "billing")

        result = run(RdsStartDbInstanceOperator, {"db_instance_identifiers": ["orders", "billing"]})

        assert db_states(rds, "orders", "billing") == {"orders": "available", "billing": "available"}
        assert result == {
            "identifiers": ["orders", "billing"],
            "changed": ["orders"],
            "unchanged": ["billing"],
            "waited": True,
        }

    def test_starts_only_the_tagged_instances(self, rds):
        create_db(rds, "orders", stopped=True)
        create_db(rds, "prod-orders", env="prod", stopped=True)

        result = run(RdsStartDbInstanceOperator, {"tag_key": "Env", "tag_value": "test"})

        assert db_states(rds, "orders", "prod-orders") == {"orders": "available", "prod-orders": "stopped"}
        assert result["changed"] == ["orders"]

    def test_fails_naming_an_unknown_instance(self, rds):
        message = f"RDS DB instance nothing-here does not exist in {REGION}"
        with pytest.raises(AirflowException, match=message):
            run(RdsStartDbInstanceOperator, {"db_instance_identifiers": ["nothing-here"]})

    def test_refuses_an_aurora_member_naming_its_cluster_before_starting_any(self, rds):
        create_db(rds, "orders", stopped=True)
        create_cluster(rds, "shop")
        rds.create_db_instance(
            DBInstanceIdentifier="shop-1",
            DBInstanceClass="db.r5.large",
            Engine="aurora-postgresql",
            DBClusterIdentifier="shop",
        )

        message = (
            r"Cannot start RDS DB instances: shop-1 belongs to Aurora DB cluster shop; "
            "start or stop the cluster instead"
        )
        with pytest.raises(AirflowException, match=message):
            run(RdsStartDbInstanceOperator, {"db_instance_identifiers": ["orders", "shop-1"]})
        assert db_states(rds, "orders") == {"orders": "stopped"}

    def test_reports_its_error_for_the_failure_payload(self, rds):
        ti = RecordingTaskInstance()
        with pytest.raises(AirflowException):
            run(RdsStartDbInstanceOperator, {"db_instance_identifiers": ["missing"]}, ti=ti)
        expected = f"AirflowException: RDS DB instance missing does not exist in {REGION}"
        assert ti.pushed[ERROR_XCOM_KEY] == expected


class TestRdsStopDbInstanceOperator:
    def test_stops_the_tagged_instances_and_waits(self, rds):
        create_db(rds, "orders")
        create_db(rds, "reports")
        create_db(rds, "prod-orders", env="prod")

        result = run(RdsStopDbInstanceOperator, {"tag_key": "Env", "tag_value": "test"})

        assert db_states(rds, "orders", "reports", "prod-orders") == {
            "orders": "stopped",
            "reports": "stopped",
            "prod-orders": "available",
        }
        assert (sorted(result["changed"]), result["waited"]) == (["orders", "reports"], True)

    def test_a_tag_leaves_aurora_members_to_their_cluster(self, rds):
        create_db(rds, "orders")
        create_cluster(rds, "shop")
        rds.create_db_instance(
            DBInstanceIdentifier="shop-1",
            DBInstanceClass="db.r5.large",
            Engine="aurora-postgresql",
            DBClusterIdentifier="shop",
            Tags=[{"Key": "Env", "Value": "test"}],
        )

        result = run(RdsStopDbInstanceOperator, {"tag_key": "Env", "tag_value": "test"})

        assert result["identifiers"] == ["orders"]
        assert db_states(rds, "orders", "shop-1") == {"orders": "stopped", "shop-1": "available"}

    def test_fails_naming_the_tag_when_nothing_has_it(self, rds):
        create_db(rds, "orders")
        with pytest.raises(
            AirflowException, match=r"No RDS DB instance \(outside Aurora clusters\) is tagged Env=staging"
        ):
            run(RdsStopDbInstanceOperator, {"tag_key": "Env", "tag_value": "staging"})


class TestRdsRebootDbInstanceOperator:
    def test_reboots_available_instances_and_waits(self, rds):
        create_db(rds, "orders")

        result = run(RdsRebootDbInstanceOperator, {"db_instance_identifiers": ["orders"]})

        assert result == {"identifiers": ["orders"], "changed": ["orders"], "unchanged": [], "waited": True}
        assert db_states(rds, "orders") == {"orders": "available"}

    def test_refuses_a_stopped_instance_naming_it(self, rds):
        create_db(rds, "orders", stopped=True)
        with pytest.raises(AirflowException, match="Cannot reboot RDS DB instances: orders is stopped"):
            run(RdsRebootDbInstanceOperator, {"db_instance_identifiers": ["orders"]})
        assert db_states(rds, "orders") == {"orders": "stopped"}

    def test_a_tag_chooses_only_available_instances(self, rds):
        create_db(rds, "orders")
        create_db(rds, "archive", stopped=True)

        parameters = {"tag_key": "Env", "tag_value": "test", "force_failover": False}
        result = run(RdsRebootDbInstanceOperator, parameters)

        assert result["identifiers"] == ["orders"]


class TestRdsCreateDbSnapshotOperator:
    def test_snapshots_instances_by_id_with_tags(self, rds):
        create_db(rds, "orders")
        create_db(rds, "billing")

        result = run(
            RdsCreateDbSnapshotOperator,
            {"db_instance_identifiers": ["orders", "billing"], "tags": {"Backup": "nightly"}},
        )

        stamp = datetime.now(timezone.utc).strftime("%Y%m%d")
        assert set(result["snapshots"]) == {"orders", "billing"}
        for source, snapshot_id in result["snapshots"].items():
            assert snapshot_id.startswith(f"{source}-{stamp}-")
            [snapshot] = rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot_id)["DBSnapshots"]
            assert (snapshot["DBInstanceIdentifier"], snapshot["Status"]) == (source, "available")
            assert tags(snapshot) == {"Backup": "nightly", JOB_TAG: job_id(), SOURCE_TAG: source}

    def test_keeps_the_newest_n_of_this_jobs_snapshots(self, rds):
        create_db(rds, "orders")
        create_db(rds, "billing")
        rds.create_db_snapshot(DBInstanceIdentifier="orders", DBSnapshotIdentifier="orders-by-hand")
        for n in range(1, 5):
            run(
                RdsCreateDbSnapshotOperator,
                {
                    "tag_key": "Env",
                    "tag_value": "test",
                    "snapshot_identifier_template": f"{{db_instance_id}}-run{n}",
                    "keep_newest": 2,
                },
            )

        snapshots = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
        remaining = {snapshot["DBSnapshotIdentifier"] for snapshot in snapshots}
        assert remaining == {"orders-by-hand", "orders-run3", "orders-run4", "billing-run3", "billing-run4"}

    def test_fails_naming_a_taken_identifier_and_the_instance(self, rds):
        create_db(rds, "orders")
        rds.create_db_snapshot(DBInstanceIdentifier="orders", DBSnapshotIdentifier="orders-golden")

        message = "Creating RDS DB snapshot orders-golden of RDS DB instance orders failed: .*AlreadyExists"
        with pytest.raises(AirflowException, match=message):
            run(
                RdsCreateDbSnapshotOperator,
                {
                    "db_instance_identifiers": ["orders"],
                    "snapshot_identifier_template": "{db_instance_id}-golden",
                },
            )

    def test_refuses_a_template_giving_two_instances_the_same_identifier(self, rds):
        create_db(rds, "orders")
        create_db(rds, "billing")
        with pytest.raises(AirflowException, match=r"the same identifier; add \{db_instance_id\}"):
            run(
                RdsCreateDbSnapshotOperator,
                {
                    "db_instance_identifiers": ["orders", "billing"],
                    "snapshot_identifier_template": "nightly-{date}",
                },
            )
        assert rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []


class TestRdsModifyDbInstanceClassOperator:
    def test_changes_the_class_immediately_and_waits(self, rds):
        create_db(rds, "orders")
        create_db(rds, "billing")

        result = run(
            RdsModifyDbInstanceClassOperator,
            {"db_instance_identifiers": ["orders", "billing"], "db_instance_class": "db.t3.large"},
        )

        classes = {
            db["DBInstanceIdentifier"]: (db["DBInstanceClass"], db["DBInstanceStatus"])
            for db in rds.describe_db_instances()["DBInstances"]
        }
        assert classes == {"orders": ("db.t3.large", "available"), "billing": ("db.t3.large", "available")}
        assert result == {
            "db_instance_class": "db.t3.large",
            "changed": ["orders", "billing"],
            "unchanged": [],
            "waited": True,
        }

    def test_leaves_instances_of_the_class_alone(self, rds):
        create_db(rds, "orders")
        conf = {"tag_key": "Env", "tag_value": "test", "db_instance_class": "db.t3.micro"}
        result = run(RdsModifyDbInstanceClassOperator, None, conf=conf)
        assert (result["changed"], result["unchanged"], result["waited"]) == ([], ["orders"], False)

    def test_refuses_a_stopped_instance_naming_it(self, rds):
        create_db(rds, "orders", stopped=True)
        message = "Only available RDS DB instances can change class: orders is stopped"
        with pytest.raises(AirflowException, match=message):
            run(
                RdsModifyDbInstanceClassOperator,
                {"db_instance_identifiers": ["orders"], "db_instance_class": "db.t3.large"},
            )
