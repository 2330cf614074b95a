"""The Redshift actions against moto; assertions read the clusters' status and snapshots in moto."""

from __future__ import annotations

import re

import boto3
import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from pydantic import ValidationError

from http_trigger.actions.redshift import (
    RedshiftClustersParameters,
    RedshiftPauseClustersOperator,
    RedshiftResumeClustersOperator,
    RedshiftSnapshotClusterOperator,
    RedshiftSnapshotParameters,
)
from http_trigger.run_contract import ERROR_XCOM_KEY

from .support import REGION, RecordingTaskInstance, moto_account, run


class Account:
    """The moto account of a test: Redshift clusters tagged by environment."""

    def __init__(self) -> None:
        self.redshift = boto3.client("redshift", region_name=REGION)

    def cluster(self, identifier: str, *, env: str) -> str:
        self.redshift.create_cluster(
            ClusterIdentifier=identifier,
            NodeType="ra3.xlplus",
            MasterUsername="admin",
            MasterUserPassword="Password1",
            Tags=[{"Key": "Env", "Value": env}],
        )
        return identifier

    def status(self, identifier: str) -> str:
        return self.redshift.describe_clusters(ClusterIdentifier=identifier)["Clusters"][0]["ClusterStatus"]

    def manual_snapshots(self, identifier: str) -> dict[str, dict]:
        snapshots = self.redshift.describe_cluster_snapshots(ClusterIdentifier=identifier)["Snapshots"]
        return {s["SnapshotIdentifier"]: s for s in snapshots if s["SnapshotType"] == "manual"}


@pytest.fixture
def account():
    with moto_account():
        yield Account()


class TestRedshiftParameters:
    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({}, "give cluster_identifiers, or tag_key and tag_value, to choose the clusters"),
            ({"cluster_identifiers": ["Analytics"]}, r"cluster_identifiers\.0\n  String should match pattern"),
            ({"cluster_identifiers": ["a"], "tag_key": "Env", "tag_value": "test"}, "not both"),
        ],
    )
    def test_clusters_refuse(self, data, message):
        with pytest.raises(ValidationError, match=message):
            RedshiftClustersParameters.model_validate(data)

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"cluster_identifier": "one", "retention_days": 0}, "must be -1 \\(keep\\) or from 1 to 3653 days"),
            ({"cluster_identifier": "one", "retention_days": 4000}, "must be -1"),
            ({"cluster_identifier": "one", "snapshot_identifier": "a--b"}, "snapshot_identifier\n  String should"),
            ({}, r"cluster_identifier\n  Field required"),
        ],
    )
    def test_snapshot_refuses(self, data, message):
        with pytest.raises(ValidationError, match=message):
            RedshiftSnapshotParameters.model_validate(data)


class TestRedshiftPauseClustersOperator:
    def test_pauses_clusters_by_identifier(self, account):
        account.cluster("analytics", env="test")
        account.cluster("reporting", env="test")

        result = run(RedshiftPauseClustersOperator, {"cluster_identifiers": ["analytics", "reporting"]})

        assert (account.status("analytics"), account.status("reporting")) == ("paused", "paused")
        assert result == {
            "cluster_identifiers": ["analytics", "reporting"],
            "statuses": {"analytics": "paused", "reporting": "paused"},
            "waited": True,
        }

    def test_pauses_only_the_tagged_clusters(self, account):
        account.cluster("analytics-test", env="test")
        account.cluster("analytics-prod", env="prod")

        result = run(RedshiftPauseClustersOperator, {"tag_key": "Env", "tag_value": "test"})

        assert account.status("analytics-test") == "paused"
        assert account.status("analytics-prod") == "available"
        assert result["cluster_identifiers"] == ["analytics-test"]

    def test_leaves_a_paused_cluster_paused(self, account):
        account.cluster("analytics", env="test")
        account.redshift.pause_cluster(ClusterIdentifier="analytics")

        result = run(RedshiftPauseClustersOperator, {"cluster_identifiers": ["analytics"]})

        assert result["statuses"] == {"analytics": "paused"}

    def test_an_unknown_cluster_fails_naming_it(self, account):
        account.cluster("analytics", env="test")
        ti = RecordingTaskInstance()

        with pytest.raises(AirflowException, match="No Redshift cluster warehouse"):
            run(RedshiftPauseClustersOperator, {"cluster_identifiers": ["analytics", "warehouse"]}, ti=ti)
        assert account.status("analytics") == "available"
        assert ti.pushed[ERROR_XCOM_KEY] == "AirflowException: No Redshift cluster warehouse"

    def test_fails_naming_the_tag_when_no_cluster_has_it(self, account):
        account.cluster("analytics", env="test")

        with pytest.raises(AirflowException, match="No Redshift cluster is tagged Env=staging"):
            run(RedshiftPauseClustersOperator, {"tag_key": "Env", "tag_value": "staging"})


class TestRedshiftResumeClustersOperator:
    def test_resumes_paused_clusters(self, account):
        account.cluster("analytics", env="test")
        account.redshift.pause_cluster(ClusterIdentifier="analytics")

        result = run(RedshiftResumeClustersOperator, {"tag_key": "Env", "tag_value": "test"})

        assert account.status("analytics") == "available"
        assert result["statuses"] == {"analytics": "available"}

    def test_reads_parameters_from_the_dag_run_conf(self, account):
        account.cluster("analytics", env="test")
        account.redshift.pause_cluster(ClusterIdentifier="analytics")

        run(RedshiftResumeClustersOperator, None, conf={"cluster_identifiers": ["analytics"]})

        assert account.status("analytics") == "available"


class TestRedshiftSnapshotClusterOperator:
    def test_creates_a_named_snapshot_and_waits_until_available(self, account):
        account.cluster("analytics", env="test")

        result = run(
            RedshiftSnapshotClusterOperator,
            {"cluster_identifier": "analytics", "snapshot_identifier": "before-upgrade", "retention_days": 7},
        )

        snapshot = account.manual_snapshots("analytics")["before-upgrade"]
        assert snapshot["Status"] == "available"
        assert result == {
            "cluster_identifier": "analytics",
            "snapshot_identifier": "before-upgrade",
            "status": "available",
            "waited": True,
        }

    def test_names_a_snapshot_after_the_cluster_and_time(self, account):
        account.cluster("analytics", env="test")

        result = run(RedshiftSnapshotClusterOperator, {"cluster_identifier": "analytics"})

        assert re.fullmatch(r"analytics-\d{8}-\d{6}", result["snapshot_identifier"])
        assert list(account.manual_snapshots("analytics")) == [result["snapshot_identifier"]]

    def test_a_used_snapshot_name_fails_naming_it(self, account):
        account.cluster("analytics", env="test")
        parameters = {"cluster_identifier": "analytics", "snapshot_identifier": "nightly"}
        run(RedshiftSnapshotClusterOperator, parameters)

        with pytest.raises(
            AirflowException,
            match="Creating snapshot nightly of Redshift cluster analytics failed: .*ClusterSnapshotAlreadyExists",
        ):
            run(RedshiftSnapshotClusterOperator, parameters)

    def test_an_unknown_cluster_fails_naming_it(self, account):
        message = "Creating snapshot nightly of Redshift cluster warehouse failed: .*ClusterNotFound"
        with pytest.raises(AirflowException, match=message):
            parameters = {"cluster_identifier": "warehouse", "snapshot_identifier": "nightly"}
            run(RedshiftSnapshotClusterOperator, parameters)

    def test_invalid_parameters_fail_without_retry_naming_the_field(self, account):
        with pytest.raises(AirflowFailException, match="retention_days: must be -1"):
            run(RedshiftSnapshotClusterOperator, {"cluster_identifier": "analytics", "retention_days": 0})
