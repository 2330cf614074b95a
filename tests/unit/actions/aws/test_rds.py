"""The RDS helpers against moto's in-process RDS: assertions read the instances, clusters and snapshots."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from airflow.providers.amazon.aws.hooks.rds import RdsHook
from airflow.sdk.exceptions import AirflowException

from http_trigger.actions.aws import rds
from http_trigger.actions.aws.rds import DB_CLUSTERS, DB_INSTANCES
from http_trigger.actions.backups import JOB_TAG
from http_trigger.actions.targets import Tag
from http_trigger.actions.waiting import WaitLimits

from ..rds_support import create_cluster, create_db
from ..support import REGION, moto_account

JOB = "nightly_db_snapshots"
LIMITS = WaitLimits(delay=0, max_attempts=5)


@pytest.fixture
def client() -> Iterator[object]:
    with moto_account():
        yield boto3.client("rds", region_name=REGION)


@pytest.fixture
def hook(client) -> RdsHook:
    return RdsHook(aws_conn_id=None, region_name=REGION)


def db_status(client, identifier: str) -> str:
    return client.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]["DBInstanceStatus"]


class TestLookups:
    def test_describes_one_instance_or_cluster(self, client, hook):
        create_db(client, "orders")
        create_cluster(client, "shop")

        assert rds.describe_one(hook, DB_INSTANCES, "orders")["DBInstanceStatus"] == "available"
        assert rds.describe_one(hook, DB_CLUSTERS, "shop")["DBClusterIdentifier"] == "shop"

    def test_a_missing_resource_fails_naming_it_and_the_region(self, hook):
        with pytest.raises(AirflowException, match=f"Aurora DB cluster gone does not exist in {REGION}"):
            rds.describe_one(hook, DB_CLUSTERS, "gone")

    def test_a_tag_chooses_what_selects_keeps(self, client, hook):
        create_db(client, "orders")
        create_db(client, "billing")
        create_db(client, "blog", env="prod")

        chosen = rds.tagged(
            hook, DB_INSTANCES, Tag("Env", "test"), selects=lambda db: db["DBInstanceIdentifier"] != "billing"
        )

        assert [db["DBInstanceIdentifier"] for db in chosen] == ["orders"]

    def test_a_tag_nothing_carries_fails_naming_it_and_the_label(self, client, hook):
        create_db(client, "orders")

        with pytest.raises(AirflowException, match=r"No RDS DB instance \(available\) is tagged Env=staging"):
            rds.tagged(hook, DB_INSTANCES, Tag("Env", "staging"), label="(available)")


class TestChanges:
    def test_changes_each_resource_and_waits_for_the_final_state(self, client, hook):
        create_db(client, "orders")
        create_db(client, "billing")
        identifiers = ["orders", "billing"]

        rds.change_each(
            DB_INSTANCES,
            identifiers,
            lambda i: client.stop_db_instance(DBInstanceIdentifier=i),
            verb="Stopping",
        )
        rds.wait_for(
            hook,
            DB_INSTANCES,
            identifiers,
            waiter="db_instance_stopped",
            final_state="stopped",
            limits=LIMITS,
        )

        assert [db_status(client, identifier) for identifier in identifiers] == ["stopped", "stopped"]

    def test_a_refused_change_fails_naming_the_resource(self, client, hook):
        message = "Starting RDS DB instance gone failed: .*DBInstanceNotFound"
        with pytest.raises(AirflowException, match=message):
            rds.change_each(
                DB_INSTANCES,
                ["gone"],
                lambda i: client.start_db_instance(DBInstanceIdentifier=i),
                verb="Starting",
            )

    def test_modifies_the_class_and_waits_until_it_is_applied(self, client, hook):
        create_db(client, "orders")

        rds.modify_instance_classes(hook, ["orders"], "db.t3.large")
        rds.wait_for_class(hook, ["orders"], "db.t3.large", limits=LIMITS)

        [db] = client.describe_db_instances(DBInstanceIdentifier="orders")["DBInstances"]
        assert (db["DBInstanceClass"], db["DBInstanceStatus"]) == ("db.t3.large", "available")

    def test_the_class_wait_fails_naming_instances_whose_class_is_not_applied(self, client, hook):
        create_db(client, "orders")

        message = "RDS DB instances orders were not all available as db.t3.large after 2 checks"
        with pytest.raises(AirflowException, match=message):
            rds.wait_for_class(hook, ["orders"], "db.t3.large", limits=WaitLimits(delay=0, max_attempts=2))


class TestSnapshots:
    def test_creates_tagged_snapshots_and_rotation_keeps_this_jobs_newest(self, client, hook):
        create_db(client, "orders")
        client.create_db_snapshot(DBInstanceIdentifier="orders", DBSnapshotIdentifier="orders-by-hand")
        for n in range(3):
            made = {"orders": f"orders-run{n}"}
            rds.create_snapshots(hook, DB_INSTANCES, made, job=JOB, tags={"Backup": "nightly"})
            rds.wait_for_snapshots(hook, DB_INSTANCES, list(made.values()), limits=LIMITS)

        deleted = rds.rotate_snapshots(hook, DB_INSTANCES, made, job=JOB, keep=2)

        assert deleted == ["orders-run0"]
        snapshots = client.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
        assert {s["DBSnapshotIdentifier"] for s in snapshots} == {
            "orders-by-hand",
            "orders-run1",
            "orders-run2",
        }
        [newest] = client.describe_db_snapshots(DBSnapshotIdentifier="orders-run2")["DBSnapshots"]
        assert {t["Key"]: t["Value"] for t in newest["TagList"]}[JOB_TAG] == JOB

    def test_a_taken_identifier_fails_naming_it_and_the_source(self, client, hook):
        create_cluster(client, "shop")
        client.create_db_cluster_snapshot(DBClusterIdentifier="shop", DBClusterSnapshotIdentifier="shop-1")

        message = "Creating Aurora DB cluster snapshot shop-1 of Aurora DB cluster shop failed"
        with pytest.raises(AirflowException, match=message):
            rds.create_snapshots(hook, DB_CLUSTERS, {"shop": "shop-1"}, job=JOB, tags={})
